//! Typed decode and encode of real recorded traffic against `serde_json::Value`, in one run.
//!
//! Targets (issue: typed layer): decoding bytes into `ProtocolMessage` at least 1.5x faster
//! than `serde_json::from_slice::<Value>` on the same bytes; encoding likewise against
//! `serde_json::to_vec(&Value)`. After the measurements the bench prints the ratios.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group};
use dapkit_types::ProtocolMessage;
use serde_json::Value;
use std::hint::black_box;

fn bodies() -> Vec<Vec<u8>> {
    let streams = dapkit_tests::traffic().expect("recorded traffic under tests/fixtures/traffic");
    streams.into_iter().flat_map(|s| s.bodies).collect()
}

fn decode(c: &mut Criterion) {
    let bodies = bodies();
    let total: usize = bodies.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("value", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(serde_json::from_slice::<Value>(black_box(body)).unwrap());
            }
        })
    });
    g.bench_function("typed", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(ProtocolMessage::from_slice(black_box(body)).unwrap());
            }
        })
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let bodies = bodies();
    let values: Vec<Value> = bodies
        .iter()
        .map(|b| serde_json::from_slice(b).unwrap())
        .collect();
    let typed: Vec<ProtocolMessage> = bodies
        .iter()
        .map(|b| ProtocolMessage::from_slice(b).unwrap())
        .collect();
    let total: usize = bodies.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("value", |b| {
        b.iter(|| {
            for v in &values {
                black_box(serde_json::to_vec(black_box(v)).unwrap());
            }
        })
    });
    g.bench_function("typed", |b| {
        b.iter(|| {
            for m in &typed {
                black_box(black_box(m).to_vec());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, decode, encode);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    report();
}

/// Prints baseline/typed time ratios from this run's criterion estimates.
fn report() {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dapkit_tests::workspace_root().join("target"))
        .join("criterion");
    let mean = |group: &str, f: &str| -> Option<f64> {
        let p = dir.join(group).join(f).join("new/estimates.json");
        let v: Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    for (group, target) in [("decode", 1.5), ("encode", 1.5)] {
        if let (Some(base), Some(typed)) = (mean(group, "value"), mean(group, "typed")) {
            let ratio = base / typed;
            let verdict = if ratio >= target { "meets" } else { "MISSES" };
            println!(
                "ratio {group}: typed is {ratio:.2}x faster than serde_json::Value ({verdict} the {target}x target)"
            );
        }
    }
}
