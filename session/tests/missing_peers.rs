//! A test that needs a real peer that is not installed fails naming `.ci/install-peers`
//! (the lookups every real-peer test goes through).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::peers::{peer_path, program_on_path};

/// The panic message of `f`, which must panic.
fn failure(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("a missing peer must fail the test");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn a_peer_missing_from_the_workspace_names_install_peers() {
    let message = failure(|| {
        peer_path(
            "DAPKIT_TEST_UNSET_PEER_VARIABLE",
            ".peers/no-such-venv/bin/python",
            "no-such",
            "a Python",
        );
    });
    assert!(message.contains("bash .ci/install-peers"), "{message}");
    assert!(
        message.contains("no-such-venv"),
        "names the path looked for: {message}"
    );
    assert!(
        message.contains("DAPKIT_TEST_UNSET_PEER_VARIABLE"),
        "names the variable: {message}"
    );
}

#[test]
fn a_program_missing_from_path_names_install_peers() {
    let message = failure(|| {
        program_on_path(
            "DAPKIT_TEST_UNSET_PROGRAM_VARIABLE",
            "dapkit-no-such-program",
        );
    });
    assert!(message.contains("bash .ci/install-peers"), "{message}");
    assert!(message.contains("dapkit-no-such-program"), "{message}");
}

#[test]
fn an_installed_peer_is_found() {
    // The same lookups find what exists: the negative tests above are not vacuous.
    let cargo = program_on_path("DAPKIT_TEST_UNSET_PROGRAM_VARIABLE", "sh");
    assert!(cargo.is_file(), "{}", cargo.display());
    let manifest = peer_path(
        "DAPKIT_TEST_UNSET_PEER_VARIABLE",
        "session/Cargo.toml",
        "manifest",
        "a file",
    );
    assert!(manifest.is_file(), "{}", manifest.display());
}
