//! Client session speed on loopback TCP, in one run:
//!
//! - `roundtrip/blocking_loop` vs `roundtrip/client`: one request/response round trip against
//!   the same in-process responder, by a hand-written blocking socket loop doing the same
//!   framing (and a JSON parse of the response) versus `dapkit_session::Client`. Target: the
//!   client within 1.3x of the loop.
//! - `events/client`: small `output` events per second through the client's event stream.
//!   Target: at least 200,000 per second.
//!
//! The ratios are printed after the measurements.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../session/benches/support/responder.rs"]
mod support;
use support::{EVENTS_PER_FLOOD, read_frame, responder, write_frame};

use criterion::{Criterion, Throughput, criterion_group};
use dapkit_session::{Client, ClientOptions};
use dapkit_types::messages::ThreadsRequest;
use serde_json::Value;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn roundtrip(c: &mut Criterion) {
    let addr = responder();
    let mut g = c.benchmark_group("roundtrip");
    g.throughput(Throughput::Elements(1));

    // Baseline: blocking socket, hand-written framing, the response parsed as JSON.
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let (mut line, mut body, mut out) = (String::new(), Vec::new(), Vec::new());
    let mut seq = 0u64;
    g.bench_function("blocking_loop", |b| {
        b.iter(|| {
            seq += 1;
            out.clear();
            let req = format!(r#"{{"seq":{seq},"type":"request","command":"threads"}}"#);
            write_frame(&mut out, req.as_bytes());
            writer.write_all(&out).unwrap();
            assert!(read_frame(&mut reader, &mut line, &mut body));
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["request_seq"].as_u64(), Some(seq));
        })
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (r, w) = stream.into_split();
        let (client, events) = Client::start(r, w, ClientOptions::new());
        std::mem::forget(events);
        client
    });
    g.bench_function("client", |b| {
        b.iter(|| {
            rt.block_on(async {
                let resp = client.request::<ThreadsRequest>(None).await.unwrap();
                assert_eq!(resp.body.threads.len(), 1);
            })
        })
    });
    g.finish();
}

fn events(c: &mut Criterion) {
    let addr = responder();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (client, mut events) = rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (r, w) = stream.into_split();
        Client::start(r, w, ClientOptions::new().with_event_capacity(4096))
    });
    let mut g = c.benchmark_group("events");
    g.throughput(Throughput::Elements(EVENTS_PER_FLOOD as u64));
    g.sample_size(20);
    g.bench_function("client", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let pending = client.send_raw("flood", None).unwrap();
                    let mut n = 0;
                    while n < EVENTS_PER_FLOOD {
                        events.recv().await.unwrap();
                        n += 1;
                    }
                    pending.response().await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, roundtrip, events);

fn main() {
    let started = std::time::SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    report(started);
}

/// Prints the ratios from the criterion estimates written by this run (`started`) only.
fn report(started: std::time::SystemTime) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion");
    let mean = |group: &str, f: &str| -> Option<f64> {
        let p = dir.join(group).join(f).join("new/estimates.json");
        let fresh = std::fs::metadata(&p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started);
        if !fresh {
            return None;
        }
        let v: Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    if let (Some(base), Some(ours)) = (
        mean("roundtrip", "blocking_loop"),
        mean("roundtrip", "client"),
    ) {
        let ratio = ours / base;
        let verdict = if ratio <= 1.3 { "meets" } else { "MISSES" };
        println!(
            "ratio roundtrip: client takes {ratio:.2}x the blocking loop's time ({verdict} the 1.3x target); client {:.1} us, loop {:.1} us",
            ours / 1e3,
            base / 1e3
        );
    } else {
        println!("ratio roundtrip: not measured in this run");
    }
    if let Some(ns) = mean("events", "client") {
        let per_sec = EVENTS_PER_FLOOD as f64 / (ns / 1e9);
        let verdict = if per_sec >= 200_000.0 {
            "meets"
        } else {
            "MISSES"
        };
        println!(
            "events: {per_sec:.0} output events/s through the client ({verdict} the 200,000/s target)"
        );
    }
    let _ = Duration::ZERO;
}
