//! `dapkit import` run as a user would, on real captures (`tests/fixtures/traffic`: debugpy,
//! gdb, lldb-dap) and on bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_trace::tap::StreamRebuilder;
use dapkit_trace::{Direction, TraceReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn traffic(session: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/traffic")
        .join(session)
        .join(file)
}

fn import(client: &Path, adapter: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dapkit"))
        .arg("import")
        .arg("--client-stream")
        .arg(client)
        .arg("--adapter-stream")
        .arg(adapter)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run dapkit import")
}

/// Each direction of a trace, rebuilt as bytes.
fn streams(trace: &Path) -> (Vec<u8>, Vec<u8>, usize) {
    let mut reader = TraceReader::open(trace).unwrap();
    assert!(
        reader.header().adapter.get("import").is_some(),
        "{:?}",
        reader.header()
    );
    let (mut c, mut a, mut n) = (Vec::new(), Vec::new(), 0);
    let (mut rc, mut ra) = (StreamRebuilder::new(), StreamRebuilder::new());
    while let Some(r) = reader.next_record().unwrap() {
        n += 1;
        match r.direction {
            Direction::ClientToAdapter => rc.push(&r, &mut c),
            Direction::AdapterToClient => ra.push(&r, &mut a),
        }
    }
    (c, a, n)
}

#[test]
fn import_real_captures_keeps_every_byte_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for (session, client_msgs, adapter_msgs) in [
        ("debugpy-launch", 29, 54),
        ("debugpy-attach", 12, 24),
        ("gdb-dap-c", 22, 46),
        ("lldb-dap-c", 22, 47),
    ] {
        let out = dir.path().join(format!("{session}.jsonl.gz"));
        let client = traffic(session, "from-client.dap");
        let adapter = traffic(session, "from-adapter.dap");
        let result = import(&client, &adapter, &out);
        assert_eq!(
            result.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&result.stdout),
            format!(
                "{}: {client_msgs} client and {adapter_msgs} adapter records (0 invalid, 0 unpaired responses, 0 order conflicts)\n",
                out.display()
            )
        );
        let (c, a, n) = streams(&out);
        assert!(
            c == std::fs::read(&client).unwrap(),
            "{session}: client stream"
        );
        assert!(
            a == std::fs::read(&adapter).unwrap(),
            "{session}: adapter stream"
        );
        assert_eq!(n, client_msgs + adapter_msgs);
    }
}

#[test]
fn import_bad_input_gives_invalid_records_or_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // Random bytes: kept as invalid records, counted, exit 0.
    let mut x: u32 = 2_463_534_242;
    let random: Vec<u8> = (0..10_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect();
    let junk = dir.path().join("junk.dap");
    std::fs::write(&junk, &random).unwrap();
    let adapter = traffic("gdb-dap-c", "from-adapter.dap");
    let out = dir.path().join("junk.jsonl");
    let result = import(&junk, &adapter, &out);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(result.status.code(), Some(0));
    assert!(
        stdout.contains("46 adapter records") && !stdout.contains("(0 invalid"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&result.stderr).contains("not valid messages"));
    let (c, a, _) = streams(&out);
    assert!(c == random);
    assert!(a == std::fs::read(&adapter).unwrap());

    // A capture cut inside a frame: the rest is one invalid record.
    let full = std::fs::read(traffic("debugpy-attach", "from-adapter.dap")).unwrap();
    let cut = dir.path().join("cut.dap");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let out = dir.path().join("cut.jsonl");
    let result = import(&traffic("debugpy-attach", "from-client.dap"), &cut, &out);
    assert_eq!(result.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&result.stdout).contains("(1 invalid"));
    let (_, a, _) = streams(&out);
    assert!(a == full[..full.len() / 2]);

    // A missing file: exit 2, one line naming it.
    let missing = dir.path().join("missing.dap");
    let result = import(&missing, &adapter, &dir.path().join("x.jsonl"));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2));
    assert!(
        stderr.starts_with("dapkit: error: cannot read ") && stderr.contains("missing.dap"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
}
