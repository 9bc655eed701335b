//! README's "Typed messages for your adapter's protocol extension", followed by a crate
//! outside this workspace: its `Cargo.toml` dependencies and `build.rs` are the README's
//! own blocks (read from README.md, so the README cannot drift from what works); its
//! schema and its test are an adapter author's. The crate is built and its test run with
//! the cargo running this test, offline, dapkit's crates patched in from this checkout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The README's section, and its first fenced block of `lang` after `from`.
fn block<'a>(section: &'a str, lang: &str, from: usize) -> (&'a str, usize) {
    let fence = format!("```{lang}\n");
    let start = section[from..]
        .find(&fence)
        .map(|i| from + i + fence.len())
        .unwrap_or_else(|| panic!("README's section has no ```{lang} block"));
    let end = start + section[start..].find("```").expect("the block ends");
    (&section[start..end], end)
}

fn readme_section(root: &Path) -> String {
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let start = readme
        .find("## Typed messages for your adapter's protocol extension")
        .expect("README has the extension section");
    let rest = &readme[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_owned()
}

const SCHEMA: &str = r##"{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "title": "My adapter's additions",
  "type": "object",
  "definitions": {
    "ListTargetsRequest": {
      "allOf": [{"$ref": "#/definitions/Request"}, {
        "type": "object",
        "description": "Lists the targets the adapter can debug.",
        "properties": {
          "command": {"type": "string", "enum": ["listTargets"]},
          "arguments": {"$ref": "#/definitions/ListTargetsArguments"}
        },
        "required": ["command", "arguments"]
      }]
    },
    "ListTargetsArguments": {
      "type": "object",
      "description": "Arguments for 'listTargets' request.",
      "properties": {
        "filter": {"type": "string", "description": "Only targets whose name contains this."},
        "source": {"$ref": "#/definitions/Source", "description": "Only targets built from this source."}
      },
      "required": ["filter"]
    },
    "ListTargetsResponse": {
      "allOf": [{"$ref": "#/definitions/Response"}, {
        "type": "object",
        "description": "Response to 'listTargets' request.",
        "properties": {
          "body": {
            "type": "object",
            "properties": {"targets": {"type": "array", "items": {"type": "string"}}},
            "required": ["targets"]
          }
        },
        "required": ["body"]
      }]
    }
  }
}
"##;

const USE: &str = r##"
use dapkit_types::traits::Response as _;
use dapkit_types::{ProtocolMessage, Request, Response};
use my_adapter_types::my_adapter::{ListTargetsRequest, ListTargetsResponse, ListTargetsResponseBody};

#[test]
fn a_custom_request_typed_and_its_typed_response_sent() {
    let msg = ProtocolMessage::from_slice(
        br#"{"seq":3,"type":"request","command":"listTargets","arguments":{"filter":"app","source":{"path":"/src/app.c"},"extraFlag":true}}"#,
    )
    .unwrap();
    let ProtocolMessage::Request(request) = &msg else { panic!("a request") };
    let typed: ListTargetsRequest = request.extension().expect("listTargets").expect("typed");
    assert_eq!(typed.seq, 3);
    assert_eq!(typed.arguments.filter, "app");
    // A base definition from dapkit-types, and an undeclared member kept.
    assert_eq!(typed.arguments.source.as_ref().and_then(|s| s.path.as_deref()), Some("/src/app.c"));
    assert_eq!(typed.arguments.extra.get("extraFlag"), Some(&true.into()));
    // Back to the same message.
    let back = ProtocolMessage::Request(Request::from_extension(&typed).unwrap());
    assert_eq!(back, msg);

    let reply = ListTargetsResponse::from_body(7, typed.seq, ListTargetsResponseBody::new(vec!["app".into(), "app-test".into()]));
    let wire = ProtocolMessage::Response(Response::from_extension(&reply).unwrap()).to_vec();
    let text = String::from_utf8(wire.clone()).unwrap();
    assert!(text.contains(r#""command":"listTargets""#) && text.contains(r#""targets":["app","app-test"]"#), "{text}");
    let ProtocolMessage::Response(received) = ProtocolMessage::from_slice(&wire).unwrap() else { panic!("a response") };
    assert_eq!(received.extension::<ListTargetsResponse>().expect("listTargets").expect("typed"), reply);
}
"##;

/// Runs `cmd` in a process group of its own, which is killed (cargo, its compilers, the
/// test it runs) if it has not finished after `limit`.
fn run(mut cmd: Command, limit: Duration) -> std::process::Output {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cargo starts");
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let started = Instant::now();
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("cargo ran"),
        Err(_) => {
            // The group this test started, by its id (the child's pid).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{id}")])
                .status();
            panic!("cargo did not finish within {:?}", started.elapsed());
        }
    }
}

#[test]
fn a_crate_outside_the_workspace_generates_and_uses_extension_types_as_readme_says() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf();
    let section = readme_section(&root);
    let (toml, after) = block(&section, "toml", 0);
    let (rust, _) = block(&section, "rust,ignore", after);
    let build = rust
        .split("// src/lib.rs")
        .next()
        .and_then(|b| b.split_once("// build.rs\n"))
        .map(|(_, b)| b)
        .expect("README's build.rs");
    let lib = rust
        .split_once("// src/lib.rs\n")
        .map(|(_, l)| l)
        .expect("README's src/lib.rs");
    assert!(
        toml.contains("dapkit-types") && toml.contains("dapkit-codegen"),
        "{toml}"
    );

    let dir = TempDir(std::env::temp_dir().join(format!("dapkit-outside-{}", std::process::id())));
    let dir = &dir.0;
    let _ = std::fs::remove_dir_all(dir);
    for sub in ["src", "schema", "tests"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let path = |p: &str| root.join(p).display().to_string().replace('\\', "/");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"my-adapter-types\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n{toml}\n[patch.crates-io]\ndapkit-types = {{ path = \"{}\" }}\ndapkit-codegen = {{ path = \"{}\" }}\n",
            path("dap-types"),
            path("codegen")
        ),
    )
    .unwrap();
    // The versions this checkout is built with: the crate builds offline.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("build.rs"), build).unwrap();
    std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
    std::fs::write(dir.join("schema/my-adapter.json"), SCHEMA).unwrap();
    std::fs::write(dir.join("tests/use.rs"), USE).unwrap();

    // <target>/debug/deps/<this test>
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .expect("the target directory");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["test", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        // The target directory this test was built in: the dependencies the workspace
        // shares with the crate are built already.
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS");
    let out = run(cargo, Duration::from_secs(900));
    let text = format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the outside crate failed\n{text}");
    // Its one test ran and passed (cargo prints each test's name and outcome).
    assert!(
        text.contains("test a_custom_request_typed_and_its_typed_response_sent ... ok"),
        "its test ran\n{text}"
    );
}

/// A directory removed when the test ends, passed or failed.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
