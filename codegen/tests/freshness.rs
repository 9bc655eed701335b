//! The committed generated files match what the generator makes from the vendored schema,
//! byte for byte; generation is deterministic; every generated file is marked `@generated`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use dapkit_codegen::generate::{Generated, Layout, OUTPUT_DIR, generate, read_inputs};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn generate_from_workspace() -> Generated {
    let (schemas, version) = match read_inputs(&Layout::workspace(workspace_root())) {
        Ok(inputs) => inputs,
        Err(e) => panic!("reading the schema inputs: {e}"),
    };
    match generate(&schemas, &version) {
        Ok(g) => g,
        Err(e) => panic!("generating from the vendored schema: {e}"),
    }
}

/// `None` when equal; else the 1-based number of the first differing line and both lines.
fn first_difference(expected: &str, actual: &str) -> Option<(usize, String, String)> {
    if expected == actual {
        return None;
    }
    let mut e = expected.split_inclusive('\n');
    let mut a = actual.split_inclusive('\n');
    let mut n = 1;
    loop {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (x, y) => {
                let show = |l: Option<&str>| match l {
                    Some(l) => format!("{l:?}"),
                    None => "<end of file>".to_owned(),
                };
                return Some((n, show(x), show(y)));
            }
        }
    }
}

fn check_file(name: &str, generated: &str) {
    let rel = format!("{OUTPUT_DIR}/{name}");
    let committed = std::fs::read_to_string(workspace_root().join(&rel))
        .unwrap_or_else(|e| panic!("{rel}: cannot read: {e}"));
    if let Some((line, want, have)) = first_difference(generated, &committed) {
        panic!(
            "{rel} is stale: it differs from what the generator makes from the schema at line {line}\n  \
             generated: {want}\n  committed: {have}\n\
             run `cargo run -p dapkit-codegen -- generate` and commit the result"
        );
    }
}

#[test]
fn committed_types_are_fresh() {
    let g = generate_from_workspace();
    check_file("types.rs", &g.types);
}

#[test]
fn committed_messages_are_fresh() {
    let g = generate_from_workspace();
    check_file("messages.rs", &g.messages);
}

#[test]
fn generation_is_deterministic() {
    let first = generate_from_workspace();
    let second = generate_from_workspace();
    assert!(
        first.types == second.types,
        "two generations of types.rs differ at {:?}",
        first_difference(&first.types, &second.types)
    );
    assert!(
        first.messages == second.messages,
        "two generations of messages.rs differ at {:?}",
        first_difference(&first.messages, &second.messages)
    );
}

#[test]
fn generated_files_are_marked_generated() {
    let g = generate_from_workspace();
    let dir = workspace_root().join(OUTPUT_DIR);
    let mut files: Vec<(String, String)> = vec![
        ("generated types.rs".into(), g.types),
        ("generated messages.rs".into(), g.messages),
    ];
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{OUTPUT_DIR}: {e}"));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|x| x == "rs") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("readable generated file");
            files.push((format!("{OUTPUT_DIR}/{name}"), text));
        }
    }
    assert!(
        files.len() >= 4,
        "expected committed types.rs and messages.rs"
    );
    for (name, text) in files {
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.contains("@generated"),
            "{name}: first line does not contain `@generated`: {first:?}"
        );
    }
}

#[test]
fn first_difference_names_the_line() {
    assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
    assert_eq!(
        first_difference("a\nb\nc\n", "a\nx\nc\n"),
        Some((2, "\"b\\n\"".into(), "\"x\\n\"".into()))
    );
    assert_eq!(
        first_difference("a\n", "a\nb\n"),
        Some((2, "<end of file>".into(), "\"b\\n\"".into()))
    );
}
