//! Traces built from the recorded real traffic (`tests/fixtures/traffic/*/from-*.dap`): each
//! raw stream is framed with dapkit-wireformat, and the two are interleaved by
//! request/response order (an adapter message goes out as soon as what it answers has;
//! a client message just before the adapter needs it), 1 ms apart.
//!
//! Shared by the trace crate's and the command line's tests (`#[path]`).

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use dapkit_trace::summary::{Facts, Kind};
use dapkit_trace::{Direction, Header, Record, TraceWriter};
use std::collections::HashSet;
use std::path::PathBuf;

/// The recorded sessions.
pub const SESSIONS: &[&str] = &[
    "debugpy-attach",
    "debugpy-launch",
    "gdb-dap-c",
    "lldb-dap-c",
];

fn traffic_dir(session: &str) -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("the crate is inside the workspace")
        .join("tests/fixtures/traffic")
        .join(session)
}

fn frames(session: &str, side: &str) -> Vec<Vec<u8>> {
    let path = traffic_dir(session).join(format!("{side}.dap"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = dapkit_wireformat::FrameReader::new(&raw[..]);
    let mut out = Vec::new();
    while let Some(frame) = reader
        .read_frame()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    {
        out.push(frame.as_bytes().to_vec());
    }
    out
}

fn facts(body: &[u8]) -> Facts {
    let msg = dapkit_types::ProtocolMessage::from_slice(body)
        .expect("recorded messages are JSON objects");
    Facts::of(&msg)
}

/// The messages of a recorded session in a plausible order, with their directions.
pub fn interleave(session: &str) -> Vec<(Direction, Vec<u8>)> {
    let client = frames(session, "from-client");
    let adapter = frames(session, "from-adapter");
    let (mut i, mut j) = (0, 0);
    let mut sent_by_client = HashSet::new();
    let mut out = Vec::new();
    while i < client.len() || j < adapter.len() {
        if let Some(body) = adapter.get(j) {
            let f = facts(body);
            let waits = f.kind == Kind::Response
                && f.request_seq.is_some_and(|s| !sent_by_client.contains(&s))
                && i < client.len();
            if !waits {
                out.push((Direction::AdapterToClient, body.clone()));
                j += 1;
                continue;
            }
        }
        let body = &client[i];
        let f = facts(body);
        if f.kind == Kind::Request {
            sent_by_client.insert(f.seq.unwrap_or_default());
        }
        out.push((Direction::ClientToAdapter, body.clone()));
        i += 1;
    }
    out
}

/// Writes messages as a trace: fixed times, offsets 1 ms apart.
pub fn write_trace(messages: &[(Direction, Vec<u8>)]) -> Vec<u8> {
    let header = Header::new(serde_json::json!({"import": "tests/fixtures/traffic"}))
        .with_tool("dapkit tests");
    let mut file = Vec::new();
    let mut w = TraceWriter::new(&mut file, &header).expect("header");
    for (n, (dir, body)) in messages.iter().enumerate() {
        let record = Record::from_body(
            "2026-11-26T13:30:00.000000Z".to_owned(),
            n as u64 * 1000,
            *dir,
            0,
            body,
        );
        w.write(&record).expect("write");
    }
    drop(w);
    file
}

/// The trace of a recorded session.
pub fn trace(session: &str) -> Vec<u8> {
    write_trace(&interleave(session))
}
