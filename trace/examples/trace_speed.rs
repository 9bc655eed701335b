//! Helper of `trace/bench/trace_tools.sh`: generates a large trace from the recorded real
//! traffic, and measures dapkit-types decoding the same messages alone (the baseline).
//!
//! - `trace_speed generate OUT MIB`: writes a trace of about MIB MiB: the four recorded
//!   sessions, interleaved, repeated with `seq`/`request_seq` renumbered so that each side's
//!   `seq` keeps increasing. Prints `messages N bytes B` (B: message bytes).
//! - `trace_speed decode FILE MIB REPS`: loads the messages of the first MIB MiB of FILE
//!   into memory and decodes them all REPS times with `ProtocolMessage::from_slice`; prints
//!   `bytes B` (the message bytes loaded). The script runs it with 0 and with N passes under
//!   `/usr/bin/time` and takes the difference of the CPU times, so loading does not count.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../tests/support/traffic.rs"]
mod traffic;

use dapkit_trace::{Direction, Header, Record, TraceReader, TraceWriter};
use dapkit_types::ProtocolMessage;
use serde_json::Value;

fn usage() -> ! {
    eprintln!("usage: trace_speed generate OUT MIB | trace_speed decode FILE MIB REPS");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(cmd), Some(path), Some(mib)) = (args.first(), args.get(1), args.get(2)) else {
        usage()
    };
    let mib: u64 = mib.parse().unwrap_or_else(|_| usage());
    match cmd.as_str() {
        "generate" => generate(path, mib << 20),
        "decode" => {
            let reps = args
                .get(3)
                .and_then(|r| r.parse().ok())
                .unwrap_or_else(|| usage());
            decode(path, mib << 20, reps)
        }
        _ => usage(),
    }
}

fn generate(path: &str, size: u64) {
    let sessions: Vec<Vec<(Direction, Value)>> = traffic::SESSIONS
        .iter()
        .map(|s| {
            traffic::interleave(s)
                .into_iter()
                .map(|(d, b)| (d, serde_json::from_slice(&b).expect("json")))
                .collect()
        })
        .collect();
    let header = Header::new(serde_json::json!({"generated": "trace_speed"}));
    let mut w = TraceWriter::create(path, &header).expect("create the trace");
    let (mut client_base, mut adapter_base) = (0i64, 0i64);
    let (mut written, mut messages, mut bytes) = (0u64, 0u64, 0u64);
    let mut offset = 0u64;
    'outer: loop {
        for session in &sessions {
            let (mut client_max, mut adapter_max) = (0, 0);
            for (dir, msg) in session {
                let mut m = msg.clone();
                let (own, other) = match dir {
                    Direction::ClientToAdapter => (client_base, adapter_base),
                    Direction::AdapterToClient => (adapter_base, client_base),
                };
                let seq = m["seq"].as_i64().unwrap_or(0);
                m["seq"] = (seq + own).into();
                match dir {
                    Direction::ClientToAdapter => client_max = client_max.max(seq),
                    Direction::AdapterToClient => adapter_max = adapter_max.max(seq),
                }
                if let Some(rs) = m.get("request_seq").and_then(Value::as_i64) {
                    m["request_seq"] = (rs + other).into();
                }
                let body = serde_json::to_vec(&m).expect("encode");
                offset += 50;
                let record = Record::from_body(
                    "2026-11-26T13:30:00.000000Z".to_owned(),
                    offset,
                    *dir,
                    0,
                    &body,
                );
                w.write(&record).expect("write");
                messages += 1;
                bytes += body.len() as u64;
                written += body.len() as u64 + 90;
            }
            client_base += client_max;
            adapter_base += adapter_max;
            if written >= size {
                break 'outer;
            }
        }
    }
    w.finish().expect("finish");
    println!("messages {messages} bytes {bytes}");
}

fn decode(path: &str, limit: u64, reps: u32) {
    let mut reader = TraceReader::open(path).expect("open the trace");
    let mut bodies = Vec::new();
    let mut total = 0u64;
    while total < limit {
        let Some(record) = reader.next_record().expect("record") else {
            break;
        };
        let body = record.bytes().into_owned();
        total += body.len() as u64;
        bodies.push(body);
    }
    for _ in 0..reps {
        for b in &bodies {
            std::hint::black_box(
                ProtocolMessage::from_slice(std::hint::black_box(b)).expect("decodes"),
            );
        }
    }
    println!("bytes {total}");
}
