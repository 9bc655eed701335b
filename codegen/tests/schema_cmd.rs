//! The `dapkit-codegen` commands on temporary copies of the workspace:
//!
//! - `schema update|check`: integrity checks of the base schema and of every extension
//!   schema, updates from a local file and from a loopback HTTP server, drift reports;
//! - `generate [--check]`: `--check` passes on a fresh copy, fails without writing when a
//!   generated file is altered or missing, and `generate` restores the committed bytes;
//! - the real binary (read-only) on the real workspace: `generate --check`, `schema check`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::process::ExitCode;

use clap::Parser;
use dapkit_codegen::cli::{Cli, Command};
use dapkit_codegen::generate::{self as gen_cmd, Layout, OUTPUT_DIR};
use dapkit_codegen::vendor::{Outcome, VendorError, execute};
use serde_json::{Value, json};

const SCHEMA: &str = "schema/debugAdapterProtocol.json";
const UPSTREAM: &str = "schema/UPSTREAM";
const EXTENSIONS: &str = "schema/extensions";
const EXT_DIR: &str = "schema/extensions/debugpy";
const EXT: &str = "schema/extensions/debugpy/debugProtocolCustom.json";
const EXT_UPSTREAM: &str = "schema/extensions/debugpy/UPSTREAM";
const TYPES: &str = "dap-types/src/generated/types.rs";
const MESSAGES: &str = "dap-types/src/generated/messages.rs";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Copies the directory `from` (recursively) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary workspace tree holding a copy of `schema/` (the base schema, its UPSTREAM and
/// the extensions) and, from [`Tree::with_generated`], of the generated files; removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn new() -> Tree {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dapkit-codegen-cmd-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&workspace_root().join("schema"), &dir.join("schema"));
        Tree(dir)
    }

    /// Also copies `dap-types/src/generated/*.rs`.
    fn with_generated() -> Tree {
        let tree = Tree::new();
        copy_dir(&workspace_root().join(OUTPUT_DIR), &tree.path(OUTPUT_DIR));
        tree
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap()
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(rel);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn upstream(&self) -> Value {
        serde_json::from_slice(&self.read(UPSTREAM)).unwrap()
    }

    fn layout(&self) -> Layout {
        Layout::workspace(&self.0)
    }

    /// `dapkit-codegen schema <args>` on this tree (parsed as the binary parses them).
    fn run(&self, args: &[&str]) -> Result<Outcome, VendorError> {
        match parse("schema", args).command {
            Command::Schema(command) => execute(&self.layout(), &command),
            other => panic!("parsed as {other:?}"),
        }
    }

    /// `dapkit-codegen generate <args>` on this tree.
    fn generate(&self, args: &[&str]) -> ExitCode {
        match parse("generate", args).command {
            Command::Generate { check } => gen_cmd::run(&self.layout(), check),
            other => panic!("parsed as {other:?}"),
        }
    }

    /// The generated files that `generate --check` finds stale in this tree.
    fn stale(&self) -> Vec<String> {
        let (schemas, version) = gen_cmd::read_inputs(&self.layout()).unwrap();
        gen_cmd::stale(
            &self.layout(),
            &gen_cmd::generate(&schemas, &version).unwrap(),
        )
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `dapkit-codegen <command> <args>` parsed.
fn parse(command: &str, args: &[&str]) -> Cli {
    let argv = ["dapkit-codegen", command]
        .into_iter()
        .chain(args.iter().copied());
    Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{command} {args:?}: {e}"))
}

fn vendored_schema() -> Value {
    serde_json::from_slice(&std::fs::read(workspace_root().join(SCHEMA)).unwrap()).unwrap()
}

/// The vendored schema with one definition added, one property removed and one enum changed.
fn modified_schema() -> Vec<u8> {
    let mut s = vendored_schema();
    let defs = s["definitions"].as_object_mut().unwrap();
    defs.insert(
        "FrobnicateArguments".into(),
        json!({"type": "object", "properties": {"level": {"type": "integer"}}}),
    );
    let body = &mut defs["StoppedEvent"]["allOf"][1]["properties"]["body"];
    assert!(body["properties"]["threadId"].is_object());
    body["properties"]
        .as_object_mut()
        .unwrap()
        .remove("threadId");
    let reasons = body["properties"]["reason"]["_enum"]
        .as_array_mut()
        .unwrap();
    let before = reasons.len();
    reasons.retain(|v| v != "goto");
    assert_eq!(reasons.len(), before - 1);
    reasons.push(json!("frobnicated"));
    serde_json::to_vec_pretty(&s).unwrap()
}

/// Report lines that describe changes.
fn change_lines(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|l| l.starts_with("+ ") || l.starts_with("- ") || l.starts_with("~ "))
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------- a tiny loopback HTTP server ----------

fn with_length(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in body.chunks(size) {
        r.extend_from_slice(format!("{:x};note=1\r\n", chunk.len()).as_bytes());
        r.extend_from_slice(chunk);
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"0\r\nX-Trailer: 1\r\n\r\n");
    r
}

fn until_close(body: &[u8]) -> Vec<u8> {
    let mut r = b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    r.extend_from_slice(body);
    r
}

/// Serves exactly `requests` connections (or gives up after 20 s), answering each
/// `GET <path>` from `routes` and anything else with 404. Returns the request heads.
struct Server {
    base: String,
    handle: JoinHandle<Vec<String>>,
}

impl Server {
    fn start(routes: Vec<(&'static str, Vec<u8>)>, requests: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut heads = Vec::new();
            while heads.len() < requests && Instant::now() < deadline {
                let mut conn = match listener.accept() {
                    Ok((c, _)) => c,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => break,
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match conn.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                let response = routes
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, r)| r.clone())
                    .unwrap_or_else(|| {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found".to_vec()
                    });
                let _ = conn.write_all(&response);
                let _ = conn.shutdown(std::net::Shutdown::Write);
                heads.push(head);
            }
            heads
        });
        Server { base, handle }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn finish(self) -> Vec<String> {
        self.handle.join().unwrap()
    }
}

// ---------- check ----------

#[test]
fn check_passes_on_a_fresh_copy() {
    let tree = Tree::new();
    let out = tree.run(&["check"]).unwrap();
    assert_eq!(out.code, 0);
    assert!(out.report.starts_with("ok: "), "{}", out.report);
    assert!(out.report.contains("DAP 1.71"), "{}", out.report);
    let sha = sha256_hex(&tree.read(SCHEMA));
    assert_eq!(tree.upstream()["sha256"], json!(sha));
}

#[test]
fn check_fails_after_flipping_one_byte() {
    let tree = Tree::new();
    let mut bytes = tree.read(SCHEMA);
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    tree.write(SCHEMA, &bytes);
    let err = tree.run(&["check"]).unwrap_err();
    assert!(matches!(err, VendorError::Integrity(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("sha256 mismatch"), "{msg}");
    assert!(msg.contains(&sha256_hex(&bytes)), "{msg}");
    assert_eq!(err.exit_code(), 1);
}

#[test]
fn check_names_a_broken_upstream_record() {
    let tree = Tree::new();
    let mut record = tree.upstream();
    record.as_object_mut().unwrap().remove("sha256");
    tree.write(UPSTREAM, record.to_string().as_bytes());
    let msg = tree.run(&["check"]).unwrap_err().to_string();
    assert!(
        msg.contains("schema/UPSTREAM") && msg.contains("`sha256` is missing"),
        "{msg}"
    );
}

#[test]
fn check_rejects_a_vendored_file_that_is_not_a_dap_schema() {
    let tree = Tree::new();
    let bytes = br#"{"$schema": "http://json-schema.org/draft-04/schema#", "definitions": {}}"#;
    tree.write(SCHEMA, bytes);
    let mut record = tree.upstream();
    record["sha256"] = json!(sha256_hex(bytes));
    tree.write(UPSTREAM, record.to_string().as_bytes());
    let err = tree.run(&["check"]).unwrap_err();
    assert!(matches!(err, VendorError::NotDapSchema(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("lacks ProtocolMessage, Request, Response, Event")
    );
}

// ---------- check: extensions ----------

#[test]
fn check_verifies_every_extension_on_a_fresh_copy() {
    let tree = Tree::new();
    let out = tree.run(&["check"]).unwrap();
    assert_eq!(out.code, 0, "{}", out.report);
    let bytes = tree.read(EXT);
    let sha = sha256_hex(&bytes);
    let record: Value = serde_json::from_slice(&tree.read(EXT_UPSTREAM)).unwrap();
    assert_eq!(record["sha256"], json!(sha));
    assert_eq!(record["size"], json!(bytes.len()));
    let line = format!(
        "ok: {EXT} matches {EXT_UPSTREAM} (debugpy 1.8.22, {} bytes, sha256 {sha})",
        bytes.len()
    );
    assert!(out.report.lines().any(|l| l == line), "{}", out.report);
    let features = std::fs::read_dir(tree.path(EXTENSIONS))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_dir())
        .count();
    let ext_lines = out
        .report
        .lines()
        .filter(|l| l.starts_with("ok: schema/extensions/"))
        .count();
    assert!(features >= 1);
    assert_eq!(
        ext_lines, features,
        "one line per extension: {}",
        out.report
    );
}

#[test]
fn check_fails_after_flipping_one_byte_of_an_extension() {
    let tree = Tree::new();
    let expected = sha256_hex(&tree.read(EXT));
    let mut bytes = tree.read(EXT);
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    tree.write(EXT, &bytes);
    let err = tree.run(&["check"]).unwrap_err();
    assert!(matches!(err, VendorError::Integrity(_)), "{err:?}");
    assert_eq!(err.exit_code(), 1);
    let msg = err.to_string();
    assert!(msg.contains("sha256 mismatch"), "{msg}");
    assert!(msg.contains(EXT), "names the file: {msg}");
    assert!(msg.contains(&expected), "names the expected sha256: {msg}");
    assert!(
        msg.contains(&sha256_hex(&bytes)),
        "names the actual sha256: {msg}"
    );
}

#[test]
fn check_rejects_extensions_it_cannot_verify() {
    let expect_err = |tree: &Tree, want: &str| {
        let err = tree.run(&["check"]).unwrap_err();
        assert!(matches!(err, VendorError::Integrity(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(want), "expected {want:?} in: {msg}");
    };
    let record = || -> Value {
        serde_json::from_slice(&std::fs::read(workspace_root().join(EXT_UPSTREAM)).unwrap())
            .unwrap()
    };

    // Same bytes, wrong recorded size.
    let tree = Tree::new();
    let mut r = record();
    let size = r["size"].as_u64().unwrap();
    r["size"] = json!(size + 1);
    tree.write(EXT_UPSTREAM, r.to_string().as_bytes());
    expect_err(&tree, &format!("({size} bytes) but {EXT_UPSTREAM} records"));

    // A record that is not JSON, or lacks the digest.
    let tree = Tree::new();
    tree.write(EXT_UPSTREAM, b"{");
    expect_err(&tree, &format!("{EXT_UPSTREAM}: not valid JSON"));
    let mut r = record();
    r.as_object_mut().unwrap().remove("sha256");
    tree.write(EXT_UPSTREAM, r.to_string().as_bytes());
    expect_err(&tree, "`sha256` is missing");

    // No record at all.
    let tree = Tree::new();
    std::fs::remove_file(tree.path(EXT_UPSTREAM)).unwrap();
    expect_err(&tree, &format!("{EXT_UPSTREAM} is missing"));

    // A second .json file would be read by `generate` but is not described by UPSTREAM.
    let tree = Tree::new();
    tree.write(&format!("{EXT_DIR}/extra.json"), b"{}");
    expect_err(
        &tree,
        "2 .json files (debugProtocolCustom.json, extra.json)",
    );

    // The recorded upstream path names another file.
    let tree = Tree::new();
    let mut r = record();
    r["path"] = json!("somewhere/else.json");
    tree.write(EXT_UPSTREAM, r.to_string().as_bytes());
    expect_err(&tree, "whose file name is not debugProtocolCustom.json");

    // Every failing extension is listed, each on its own line.
    let tree = Tree::new();
    copy_dir(&tree.path(EXT_DIR), &tree.path("schema/extensions/zz-copy"));
    tree.write("schema/extensions/zz-copy/debugProtocolCustom.json", b"{}");
    tree.write(EXT, b"{}");
    let msg = tree.run(&["check"]).unwrap_err().to_string();
    assert_eq!(msg.lines().count(), 2, "{msg}");
    assert!(msg.lines().next().unwrap().contains(EXT), "{msg}");
    assert!(
        msg.lines()
            .nth(1)
            .unwrap()
            .contains("schema/extensions/zz-copy/debugProtocolCustom.json"),
        "{msg}"
    );
}

// ---------- update ----------

#[test]
fn update_from_a_local_path() {
    let tree = Tree::new();
    let new = modified_schema();
    let file = tree.write("new.json", &new);
    let file = file.to_str().unwrap();

    let out = tree.run(&["update", "--from", file]).unwrap();
    assert_eq!(out.code, 0);
    assert_eq!(tree.read(SCHEMA), new, "exact bytes are vendored");
    let record = tree.upstream();
    assert_eq!(record["sha256"], json!(sha256_hex(&new)));
    assert_eq!(
        record["protocolVersion"],
        json!("1.71"),
        "kept from previous record"
    );
    assert_eq!(
        record["source"],
        json!("copied from a local file named new.json")
    );
    assert_eq!(
        record["upstream"],
        json!(
            "https://raw.githubusercontent.com/microsoft/debug-adapter-protocol/main/debugAdapterProtocol.json"
        )
    );
    let date = record["date"].as_str().unwrap();
    assert!(
        date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
        "{date}"
    );
    assert!(
        out.report
            .contains("drift: 1 definition added, 0 removed, 1 changed"),
        "{}",
        out.report
    );
    assert!(
        out.report.contains("+ definition FrobnicateArguments"),
        "{}",
        out.report
    );
    assert!(
        out.report.contains("protocolVersion kept at 1.71"),
        "{}",
        out.report
    );
    assert_eq!(tree.run(&["check"]).unwrap().code, 0);

    // Same file again: nothing to do.
    let again = tree.run(&["update", "--from", file]).unwrap();
    assert!(
        again.report.contains("already up to date"),
        "{}",
        again.report
    );

    // Same bytes with a new version: the record changes, the schema does not.
    let out = tree
        .run(&["update", "--from", file, "--version=1.72"])
        .unwrap();
    assert_eq!(tree.upstream()["protocolVersion"], json!("1.72"));
    assert!(out.report.contains("drift: none"), "{}", out.report);
    assert_eq!(tree.read(SCHEMA), new);
}

#[test]
fn update_from_a_loopback_http_server() {
    let tree = Tree::new();
    let new = modified_schema();
    let mut with_version = serde_json::from_slice::<Value>(&new).unwrap();
    with_version["title"] = json!("Debug Adapter Protocol (test)");
    let titled = serde_json::to_vec(&with_version).unwrap();
    let server = Server::start(
        vec![
            ("/length.json", with_length(&new)),
            ("/chunked.json", chunked(&titled, 777)),
            ("/close.json", until_close(&new)),
            (
                "/moved",
                b"HTTP/1.1 302 Found\r\nLocation: /length.json\r\nContent-Length: 0\r\n\r\n"
                    .to_vec(),
            ),
        ],
        5,
    );

    let url = server.url("/length.json");
    tree.run(&["update", "--from", &url, "--version", "1.72"])
        .unwrap();
    assert_eq!(tree.read(SCHEMA), new);
    let record = tree.upstream();
    assert_eq!(record["upstream"], json!(url));
    assert_eq!(record["source"], json!(format!("fetched from {url}")));
    assert_eq!(record["protocolVersion"], json!("1.72"));

    let out = tree
        .run(&["update", "--from", &server.url("/chunked.json")])
        .unwrap();
    assert_eq!(tree.read(SCHEMA), titled);
    assert_eq!(
        change_lines(&out.report),
        vec![r#"~ (schema): title: "Debug Adapter Protocol" -> "Debug Adapter Protocol (test)""#]
    );
    assert_eq!(tree.upstream()["protocolVersion"], json!("1.72"), "kept");

    tree.run(&["update", "--from", &server.url("/close.json")])
        .unwrap();
    assert_eq!(tree.read(SCHEMA), new);

    tree.write(SCHEMA, b"{}");
    tree.run(&["update", "--from", &server.url("/moved")])
        .unwrap();
    assert_eq!(tree.read(SCHEMA), new, "redirect followed");
    assert_eq!(tree.run(&["check"]).unwrap().code, 0);

    let heads = server.finish();
    assert_eq!(heads.len(), 5);
    assert!(
        heads[0].starts_with("GET /length.json HTTP/1.1\r\n"),
        "{}",
        heads[0]
    );
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains(&format!("host: {}\r\n", &server_authority(&url))),
        "{}",
        heads[0]
    );
    assert!(heads[4].starts_with("GET /length.json "), "{}", heads[4]);
}

fn server_authority(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn http_404_is_a_clear_error_and_changes_nothing() {
    let tree = Tree::new();
    let server = Server::start(vec![], 2);
    let url = server.url("/nope.json");
    let before = (tree.read(SCHEMA), tree.read(UPSTREAM));
    let err = tree.run(&["update", "--from", &url]).unwrap_err();
    assert!(matches!(err, VendorError::Fetch(_)), "{err:?}");
    assert_eq!(err.to_string(), format!("HTTP 404 Not Found from {url}"));
    let err = tree.run(&["check", "--upstream", &url]).unwrap_err();
    assert!(err.to_string().contains("HTTP 404"), "{err}");
    assert_eq!((tree.read(SCHEMA), tree.read(UPSTREAM)), before);
    assert_eq!(server.finish().len(), 2);
}

#[test]
fn unreachable_server_is_a_clear_error() {
    let tree = Tree::new();
    // Bind then drop a listener to get a port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/x.json");
    let msg = tree
        .run(&["update", "--from", &url])
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with(&format!("cannot connect to {url}")),
        "{msg}"
    );
}

#[test]
fn non_dap_json_is_rejected() {
    let tree = Tree::new();
    let before = tree.read(SCHEMA);
    let cases: [(&str, &[u8], &str); 4] = [
        ("a.json", br#"{"name": "not a schema"}"#, "no `$schema` key"),
        (
            "b.json",
            br#"{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {}}"#,
            "expected \"http://json-schema.org/draft-04/schema#\"",
        ),
        (
            "c.json",
            br#"{"$schema": "http://json-schema.org/draft-04/schema#", "definitions": {"Request": {}, "Event": {}}}"#,
            "not a DAP schema: `definitions` lacks ProtocolMessage, Response",
        ),
        ("d.json", b"{\"$schema\": ", "not valid JSON"),
    ];
    for (name, bytes, expected) in cases {
        let path = tree.write(name, bytes);
        let path = path.to_str().unwrap();
        let err = tree.run(&["update", "--from", path]).unwrap_err();
        assert!(
            matches!(err, VendorError::NotDapSchema(_)),
            "{name}: {err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with(path) && msg.contains(expected),
            "{name}: {msg}"
        );
        let err = tree.run(&["check", "--upstream", path]).unwrap_err();
        assert!(err.to_string().contains(expected), "{name}: {err}");
    }
    assert_eq!(tree.read(SCHEMA), before);
}

// ---------- drift ----------

#[test]
fn drift_report_lists_exactly_the_changes() {
    let tree = Tree::new();
    let upstream = tree.write("upstream.json", &modified_schema());
    let out = tree
        .run(&["check", "--upstream", upstream.to_str().unwrap()])
        .unwrap();
    assert_eq!(out.code, 1, "{}", out.report);
    assert!(
        out.report
            .contains("differs from the vendored copy: 1 definition added, 0 removed, 1 changed"),
        "{}",
        out.report
    );
    assert_eq!(
        change_lines(&out.report),
        vec![
            "+ definition FrobnicateArguments",
            r#"~ StoppedEvent.body.reason: _enum added "frobnicated"; removed "goto""#,
            "- property StoppedEvent.body.threadId",
        ]
    );
}

#[test]
fn drift_resolves_allof_and_reports_base_changes_once() {
    let tree = Tree::new();
    let mut s = vendored_schema();
    let defs = s["definitions"].as_object_mut().unwrap();
    // A base-class change (inherited by every request) and a required-set change.
    defs["Request"]["allOf"][1]["properties"]["command"]["description"] = json!("changed");
    defs["Source"]["required"] = json!(["name"]);
    // Moving ProtocolMessage's `seq` into ErrorResponse's own allOf member changes layout only.
    let seq = defs["ProtocolMessage"]["properties"]["seq"].clone();
    defs["ErrorResponse"]["allOf"][1]["properties"]["seq"] = seq;
    let upstream = tree.write("upstream.json", &serde_json::to_vec(&s).unwrap());
    let out = tree
        .run(&["check", "--upstream", upstream.to_str().unwrap()])
        .unwrap();
    assert_eq!(out.code, 1);
    assert_eq!(
        change_lines(&out.report),
        vec![
            "~ ErrorResponse: allOf layout changed (resolved content identical)",
            "~ Request.command: description changed",
            r#"~ Source: required added "name""#,
        ]
    );
}

#[test]
fn identical_upstream_exits_zero() {
    let tree = Tree::new();
    let same = tree.write("same.json", &tree.read(SCHEMA));
    let out = tree
        .run(&["check", "--upstream", same.to_str().unwrap()])
        .unwrap();
    assert_eq!(out.code, 0);
    assert!(out.report.contains("is byte-identical"), "{}", out.report);

    // Same content, reformatted, served over HTTP.
    let compact = serde_json::to_vec(&vendored_schema()).unwrap();
    let server = Server::start(vec![("/s.json", with_length(&compact))], 1);
    let out = tree
        .run(&["check", "--upstream", &server.url("/s.json")])
        .unwrap();
    assert_eq!(out.code, 0, "{}", out.report);
    assert!(
        out.report.contains("same content, different formatting"),
        "{}",
        out.report
    );
    assert!(change_lines(&out.report).is_empty());
    server.finish();
}

// ---------- command line ----------

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["schema", "update"][..],
        &["schema", "update", "--from"],
        &["schema", "update", "--from", "a", "--from", "b"],
        &["schema", "check", "--frobnicate"],
        &["schema", "frobnicate"],
        &["schema"],
        &["generate", "--frobnicate"],
        &["generate", "--check", "--check"],
        &[],
    ] {
        let argv = std::iter::once("dapkit-codegen").chain(args.iter().copied());
        let err = Cli::try_parse_from(argv).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
        let text = err.to_string();
        assert!(text.contains("error:") || text.contains("Usage:"), "{text}");
    }
}

#[test]
fn binary_reports_usage_errors_on_stderr() {
    let (code, _, stderr) = binary(&["schema", "frobnicate"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("error: unrecognized subcommand 'frobnicate'"),
        "{stderr}"
    );
    let (code, stdout, _) = binary(&["schema", "help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("check"), "{stdout}");
}

#[test]
fn binary_help_and_version() {
    let (code, stdout, stderr) = binary(&["--help"]);
    assert_eq!(code, Some(0), "{stderr}");
    for word in [
        "generate",
        "schema",
        "--root",
        "--schema",
        "--extensions",
        "--out",
    ] {
        assert!(stdout.contains(word), "--help lacks {word}: {stdout}");
    }
    let (code, stdout, _) = binary(&["generate", "--help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("--check"), "{stdout}");
    let (code, stdout, _) = binary(&["--version"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        stdout.trim(),
        format!("dapkit-codegen {}", env!("CARGO_PKG_VERSION"))
    );
}

/// Runs the real binary in `dir`: exit code, stdout, stderr.
fn binary_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dapkit-codegen"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn binary_works_on_the_workspace_it_runs_in() {
    // A copy of the workspace with one generated file altered: `generate` run from a
    // subdirectory of the copy restores the copy, and leaves this workspace alone.
    let tree = Tree::with_generated();
    let committed = tree.read(TYPES);
    tree.write(TYPES, b"// altered\n");
    let ours = std::fs::metadata(workspace_root().join(TYPES))
        .unwrap()
        .modified()
        .unwrap();
    let (code, _, stderr) = binary_in(&tree.path("dap-types"), &["generate", "--check"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(TYPES), "{stderr}");
    let (code, stdout, stderr) = binary_in(&tree.path("dap-types/src"), &["generate"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        tree.read(TYPES) == committed,
        "the copy was not regenerated"
    );
    let after = std::fs::metadata(workspace_root().join(TYPES))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(ours, after, "the binary wrote to its own workspace");

    // --root names the copy from anywhere; explicit paths need no workspace at all.
    tree.write(MESSAGES, b"// altered\n");
    let outside = std::env::temp_dir();
    let root = tree.0.to_str().unwrap();
    let (code, _, stderr) = binary_in(&outside, &["--root", root, "generate", "--check"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(MESSAGES) && !stderr.contains(TYPES),
        "{stderr}"
    );
    let out = tree.path("elsewhere");
    let (code, stdout, stderr) = binary_in(
        &outside,
        &[
            "generate",
            "--schema",
            tree.path(SCHEMA).to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    // The same code; only the header's input paths are spelled from where it ran.
    let body = |text: &[u8]| {
        let text = String::from_utf8_lossy(text).into_owned();
        text.split_once("\n\n")
            .map(|(_, body)| body.to_owned())
            .unwrap()
    };
    assert!(body(&std::fs::read(out.join("types.rs")).unwrap()) == body(&committed));
    let (code, stdout, _) = binary_in(
        &outside,
        &[
            "schema",
            "check",
            "--schema",
            tree.path(SCHEMA).to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("debugProtocolCustom.json matches"),
        "{stdout}"
    );
}

#[test]
fn binary_without_a_workspace_says_what_to_pass() {
    let empty = Tree::new();
    std::fs::remove_dir_all(empty.path("schema")).unwrap();
    let (code, _, stderr) = binary_in(&empty.0, &["generate"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no dapkit workspace found") && stderr.contains("--root"),
        "{stderr}"
    );
}

/// Runs the real `dapkit-codegen` binary in this workspace: exit code, stdout, stderr.
fn binary(args: &[&str]) -> (Option<i32>, String, String) {
    binary_in(&workspace_root(), args)
}

#[test]
fn binary_schema_check_passes_on_the_workspace() {
    let (code, stdout, stderr) = binary(&["schema", "check"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("ok: {SCHEMA} matches")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("ok: {EXT} matches")), "{stdout}");
}

// ---------- generate ----------

#[test]
fn generate_check_passes_on_a_fresh_copy_and_writes_nothing() {
    let tree = Tree::with_generated();
    let before = (tree.read(TYPES), tree.read(MESSAGES));
    assert_eq!(tree.generate(&["--check"]), ExitCode::SUCCESS);
    assert_eq!(tree.stale(), Vec::<String>::new());
    assert!((tree.read(TYPES), tree.read(MESSAGES)) == before);
}

#[test]
fn generate_check_fails_on_an_altered_file_and_generate_restores_it() {
    let tree = Tree::with_generated();
    let committed = tree.read(TYPES);
    let messages = tree.read(MESSAGES);

    let mut altered = committed.clone();
    altered.push(b'\n');
    tree.write(TYPES, &altered);
    assert_eq!(tree.generate(&["--check"]), ExitCode::FAILURE);
    assert!(tree.read(TYPES) == altered, "--check modified {TYPES}");
    assert!(
        tree.read(MESSAGES) == messages,
        "--check modified {MESSAGES}"
    );
    assert_eq!(tree.stale(), vec![TYPES.to_owned()]);

    assert_eq!(tree.generate(&[]), ExitCode::SUCCESS);
    let restored = tree.read(TYPES);
    assert!(
        restored == committed,
        "{TYPES} not restored: {} bytes, committed {}",
        restored.len(),
        committed.len()
    );
    assert!(tree.read(MESSAGES) == messages);
    assert_eq!(tree.generate(&["--check"]), ExitCode::SUCCESS);
}

#[test]
fn generate_check_fails_on_a_missing_file_and_generate_restores_it() {
    let tree = Tree::with_generated();
    let committed = tree.read(MESSAGES);
    std::fs::remove_file(tree.path(MESSAGES)).unwrap();
    assert_eq!(tree.generate(&["--check"]), ExitCode::FAILURE);
    assert!(!tree.path(MESSAGES).exists(), "--check created {MESSAGES}");
    assert_eq!(tree.stale(), vec![MESSAGES.to_owned()]);

    assert_eq!(tree.generate(&[]), ExitCode::SUCCESS);
    assert!(tree.read(MESSAGES) == committed, "{MESSAGES} not restored");
    assert_eq!(tree.generate(&["--check"]), ExitCode::SUCCESS);
}

#[test]
fn generate_reports_bad_arguments_and_missing_inputs() {
    let tree = Tree::with_generated();
    let before = tree.read(TYPES);
    std::fs::remove_file(tree.path(UPSTREAM)).unwrap();
    assert_eq!(tree.generate(&[]), ExitCode::FAILURE);
    assert!(
        tree.read(TYPES) == before,
        "a failed generate wrote {TYPES}"
    );
}

#[test]
fn binary_generate_check_passes_on_the_workspace() {
    // Only the read-only `--check` is run on the real workspace.
    let (code, stdout, stderr) = binary(&["generate", "--check"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("generated files are up to date"),
        "{stdout}"
    );
}
