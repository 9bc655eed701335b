//! The fuzz targets' checks (`trace/fuzz`) over their committed corpus, so that `cargo
//! test` covers them without a nightly compiler; plus inputs built here (truncated and
//! damaged traces, gzip) that the corpus may lack.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn trace_reader_corpus() {
    let seeds = corpus("trace_reader");
    assert!(seeds.len() >= 8, "seeds: {}", seeds.len());
    for (name, input) in &seeds {
        eprintln!("{name}");
        common::check_trace(input);
        // Every prefix: a trace cut anywhere.
        for cut in (0..input.len()).step_by(7) {
            common::check_trace(&input[..cut]);
        }
    }
}

#[test]
fn trace_tools_corpus() {
    // The reader's seeds are traces: the same inputs, through the tools.
    let seeds = corpus("trace_reader");
    for (name, input) in &seeds {
        eprintln!("{name}");
        common::check_tools(input);
        for cut in (0..input.len()).step_by(13) {
            common::check_tools(&input[..cut]);
        }
    }
}

#[cfg(feature = "tap")]
#[test]
fn tap_split_corpus() {
    let seeds = corpus("tap_split");
    assert!(seeds.len() >= 4, "seeds: {}", seeds.len());
    for (name, input) in &seeds {
        eprintln!("{name}");
        common::check_tap(input);
    }
}
