//! Typed decode and encode of real recorded traffic against `serde_json::Value`, in one run.
//!
//! Targets (issue 11): decoding bytes into `ProtocolMessage` at least 2x faster than
//! `serde_json::from_slice::<Value>` on the same bytes; encoding likewise against
//! `serde_json::to_vec(&Value)`. Also measured, without a target:
//!
//! - `decode/sonic_value` and `encode/sonic_value`: sonic-rs's untyped `Value`, the fast
//!   untyped parser a user would pick instead: the anchor to chase;
//! - `decode/serde_derive` and `encode/serde_derive`: a typed baseline a hand-written client
//!   would use: a `#[derive(Deserialize, Serialize)]` message struct with the envelope typed
//!   and the payloads (`arguments`, `body`) kept as `Value`;
//! - `fallback/*`: the same corpus with every `seq` spelled as a string, which breaks the
//!   schema of every message, so `ProtocolMessage::from_slice` takes its slow path (direct
//!   decoder gives up, serde's typed decode fails, the lenient decode keeps the message as
//!   JSON), against `Value` on the same bytes.
//!
//! After the measurements the bench prints the ratios, from this run's estimates only.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group};
use dapkit_types::ProtocolMessage;
use serde_json::Value;
use std::hint::black_box;

/// A message as a client written with serde derive would model it: the envelope typed, the
/// payloads as JSON values.
#[derive(serde::Deserialize, serde::Serialize)]
struct DerivedMessage {
    seq: i64,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    success: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arguments: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
}

/// The corpus with `seq` spelled as a string in every message: no message fits its schema.
fn broken_bodies() -> Vec<Vec<u8>> {
    bodies()
        .iter()
        .map(|b| {
            let mut v: Value = serde_json::from_slice(b).unwrap();
            let seq = v["seq"].to_string();
            v["seq"] = Value::String(seq);
            serde_json::to_vec(&v).unwrap()
        })
        .collect()
}

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
    g.bench_function("serde_derive", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(serde_json::from_slice::<DerivedMessage>(black_box(body)).unwrap());
            }
        })
    });
    g.bench_function("sonic_value", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(sonic_rs::from_slice::<sonic_rs::Value>(black_box(body)).unwrap());
            }
        })
    });
    g.finish();

    let broken = broken_bodies();
    let total: usize = broken.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("fallback");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("value", |b| {
        b.iter(|| {
            for body in &broken {
                black_box(serde_json::from_slice::<Value>(black_box(body)).unwrap());
            }
        })
    });
    g.bench_function("typed", |b| {
        b.iter(|| {
            for body in &broken {
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
    let derived: Vec<DerivedMessage> = bodies
        .iter()
        .map(|b| serde_json::from_slice(b).unwrap())
        .collect();
    let sonic: Vec<sonic_rs::Value> = bodies
        .iter()
        .map(|b| sonic_rs::from_slice(b).unwrap())
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
    g.bench_function("serde_derive", |b| {
        b.iter(|| {
            for m in &derived {
                black_box(serde_json::to_vec(black_box(m)).unwrap());
            }
        })
    });
    g.bench_function("sonic_value", |b| {
        b.iter(|| {
            for v in &sonic {
                black_box(sonic_rs::to_vec(black_box(v)).unwrap());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, decode, encode);

fn main() {
    let started = std::time::SystemTime::now();
    let broken = broken_bodies();
    assert!(
        broken
            .iter()
            .all(|b| !ProtocolMessage::from_slice(b).unwrap().is_standard()),
        "the fallback corpus must break the schema of every message"
    );
    benches();
    Criterion::default().configure_from_args().final_summary();
    report(started);
}

/// Prints baseline/typed time ratios from the criterion estimates written by this run
/// (`started`); a routine this run did not measure is reported as such, never with an
/// older run's figure.
fn report(started: std::time::SystemTime) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dapkit_tests::workspace_root().join("target"))
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
    for (group, target) in [("decode", 2.0), ("encode", 2.0)] {
        match (mean(group, "value"), mean(group, "typed")) {
            (Some(base), Some(typed)) => {
                let ratio = base / typed;
                let verdict = if ratio >= target { "meets" } else { "MISSES" };
                println!(
                    "ratio {group}: typed is {ratio:.2}x faster than serde_json::Value ({verdict} the {target}x target)"
                );
            }
            _ => println!("ratio {group}: not measured in this run"),
        }
    }
    for (group, base, what) in [
        (
            "decode",
            "serde_derive",
            "a serde-derive message (payloads as Value)",
        ),
        (
            "encode",
            "serde_derive",
            "a serde-derive message (payloads as Value)",
        ),
        ("decode", "sonic_value", "sonic-rs's Value (the anchor)"),
        ("encode", "sonic_value", "sonic-rs's Value (the anchor)"),
        (
            "fallback",
            "value",
            "serde_json::Value on schema-breaking messages",
        ),
    ] {
        match (mean(group, base), mean(group, "typed")) {
            (Some(base), Some(typed)) => println!(
                "ratio {group}: typed takes {:.2}x the time of {what} ({:.2}x as fast)",
                typed / base,
                base / typed
            ),
            _ => println!("ratio {group} vs {base}: not measured in this run"),
        }
    }
}
