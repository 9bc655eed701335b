//! The proxy's speed on loopback TCP, in one run (ratios against a baseline measured in the
//! same run):
//!
//! - `roundtrip/direct` vs `roundtrip/proxy`: one `threads` round trip by a
//!   `dapkit_session::Client`, straight to an in-process responder versus through the proxy
//!   (which runs on its own 2-thread runtime, as it would in its own process). Target:
//!   through the proxy within 1.2x of direct. `roundtrip/proxy_1_thread` runs the proxy on a
//!   current-thread runtime instead (no hand-off between worker threads).
//! - `fanout/3_clients`: `output` events per second delivered to each of 3 clients.
//!   Target: at least 200,000 per second each.
//! - `fanout/3_clients_1_stalled`: the same with a 4th client that never reads (the proxy
//!   disconnects it when its queue, here 65,536 messages, is full). Target: the others keep
//!   the rate; the process's resident memory is printed before and after (it must stay
//!   flat once the stalled client is let go).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group};
use dapkit_proxy::{Adapter, Proxy, ProxyOptions};
use dapkit_session::{Client, ClientOptions};
use dapkit_transport::{Endpoint, RetryPolicy};
use dapkit_types::messages::ThreadsRequest;
use dapkit_wireformat::FrameStream;
use futures_util::StreamExt;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Instant;
use tokio::io::AsyncWriteExt;

const EVENTS_PER_FLOOD: usize = 20_000;
const FANOUT_QUEUE: usize = 65_536;

/// A blocking responder (the in-process adapter): answers every request with a one-thread
/// body; `flood` first sends `EVENTS_PER_FLOOD` small output events. A thread per
/// connection.
fn responder() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || serve(stream));
        }
    });
    addr
}

fn read_frame(reader: &mut BufReader<TcpStream>, line: &mut String, body: &mut Vec<u8>) -> bool {
    let mut len = None;
    loop {
        line.clear();
        if reader.read_line(line).unwrap_or(0) == 0 {
            return false;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("Content-Length: ") {
            len = v.parse::<usize>().ok();
        }
    }
    let Some(len) = len else { return false };
    body.resize(len, 0);
    reader.read_exact(body).is_ok()
}

fn frame(out: &mut Vec<u8>, body: &[u8]) {
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
}

fn serve(stream: TcpStream) {
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let (mut line, mut body, mut out) = (String::new(), Vec::new(), Vec::new());
    let mut seq = 0;
    while read_frame(&mut reader, &mut line, &mut body) {
        let req: Value = serde_json::from_slice(&body).unwrap();
        let command = req["command"].as_str().unwrap_or_default().to_owned();
        out.clear();
        if command == "flood" {
            for i in 0..EVENTS_PER_FLOOD {
                seq += 1;
                let ev = format!(
                    r#"{{"seq":{seq},"type":"event","event":"output","body":{{"category":"stdout","output":"line {i}\n"}}}}"#
                );
                frame(&mut out, ev.as_bytes());
            }
        }
        seq += 1;
        let resp = format!(
            r#"{{"seq":{seq},"type":"response","request_seq":{},"success":true,"command":"{command}","body":{{"threads":[{{"id":1,"name":"main"}}]}}}}"#,
            req["seq"]
        );
        frame(&mut out, resp.as_bytes());
        if writer.write_all(&out).is_err() {
            return;
        }
    }
}

/// A proxy in front of `adapter` on its own 2-thread runtime; returns where clients
/// connect (the runtime is leaked: it lives as long as the bench).
fn proxy_for(adapter: SocketAddr, options: ProxyOptions) -> SocketAddr {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    proxy_on(rt, adapter, options)
}

/// The same on a current-thread runtime driven by a thread of its own.
fn proxy_on_one_thread(adapter: SocketAddr) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let proxy = Proxy::start(
                &Endpoint::Tcp(([127, 0, 0, 1], 0).into()),
                &Adapter::Connect(Endpoint::Tcp(adapter), RetryPolicy::default()),
                ProxyOptions::new(),
            )
            .await
            .unwrap();
            tx.send(proxy.local_endpoint().tcp_addr().unwrap()).unwrap();
            let _ = proxy.run().await;
        });
    });
    rx.recv().unwrap()
}

fn proxy_on(rt: tokio::runtime::Runtime, adapter: SocketAddr, options: ProxyOptions) -> SocketAddr {
    let at = rt.block_on(async {
        let proxy = Proxy::start(
            &Endpoint::Tcp(([127, 0, 0, 1], 0).into()),
            &Adapter::Connect(Endpoint::Tcp(adapter), RetryPolicy::default()),
            options,
        )
        .await
        .unwrap();
        let at = proxy.local_endpoint().tcp_addr().unwrap();
        tokio::spawn(proxy.run());
        at
    });
    std::mem::forget(rt);
    at
}

async fn client(addr: SocketAddr) -> Client {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (r, w) = stream.into_split();
    let (client, events) = Client::start(r, w, ClientOptions::new().with_event_capacity(1 << 16));
    std::mem::forget(events);
    client
}

fn roundtrip(c: &mut Criterion) {
    let adapter = responder();
    let through = proxy_for(adapter, ProxyOptions::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let through_one = proxy_on_one_thread(adapter);
    let direct = rt.block_on(client(adapter));
    let proxied = |at| {
        rt.block_on(async {
            let c = client(at).await;
            c.request_raw(
                "initialize",
                Some(serde_json::json!({"adapterID": "bench"})),
            )
            .await
            .unwrap();
            c
        })
    };
    let (proxied, proxied_one) = (proxied(through), proxied(through_one));
    let mut g = c.benchmark_group("roundtrip");
    g.throughput(Throughput::Elements(1));
    for (name, client) in [
        ("direct", &direct),
        ("proxy", &proxied),
        ("proxy_1_thread", &proxied_one),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let resp = client.request::<ThreadsRequest>(None).await.unwrap();
                    assert_eq!(resp.body.threads.len(), 1);
                })
            })
        });
    }
    g.finish();
}

/// A raw client that counts frames.
struct Counter {
    frames: FrameStream<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    seq: u64,
}

impl Counter {
    async fn connect(at: SocketAddr) -> Counter {
        let s = tokio::net::TcpStream::connect(at).await.unwrap();
        s.set_nodelay(true).unwrap();
        let (r, w) = s.into_split();
        let mut c = Counter {
            frames: FrameStream::new(r),
            writer: w,
            seq: 0,
        };
        c.send("initialize").await;
        // The initialize response, then the controlChanged of later clients.
        c.frames.next().await.unwrap().unwrap();
        c
    }

    async fn send(&mut self, command: &str) {
        self.seq += 1;
        let body = format!(
            r#"{{"seq":{},"type":"request","command":"{command}"}}"#,
            self.seq
        );
        let mut out = Vec::new();
        frame(&mut out, body.as_bytes());
        self.writer.write_all(&out).await.unwrap();
    }

    async fn count(&mut self, n: usize) {
        for _ in 0..n {
            self.frames.next().await.unwrap().unwrap();
        }
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn fanout(c: &mut Criterion) {
    let mut g = c.benchmark_group("fanout");
    g.throughput(Throughput::Elements(EVENTS_PER_FLOOD as u64));
    g.sample_size(20);
    for stalled in [false, true] {
        // A client may be a whole flood behind (the readers share 2 cores with the proxy);
        // the stalled one is let go when that many wait for it.
        let through = proxy_for(
            responder(),
            ProxyOptions::new().with_client_queue(FANOUT_QUEUE),
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (mut clients, _stalled) = rt.block_on(async {
            let mut clients = Vec::new();
            for _ in 0..3 {
                clients.push(Counter::connect(through).await);
            }
            // The others' controlChanged on join.
            for c in clients.iter_mut().skip(1) {
                c.count(1).await;
            }
            let stalled = if stalled {
                Some(Counter::connect(through).await)
            } else {
                None
            };
            (clients, stalled)
        });
        let before = rss_kib();
        let name = if stalled {
            "3_clients_1_stalled"
        } else {
            "3_clients"
        };
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        clients[0].send("flood").await;
                        let mut joined = Vec::new();
                        for (i, mut c) in clients.drain(..).enumerate() {
                            let n = EVENTS_PER_FLOOD + usize::from(i == 0);
                            joined.push(tokio::spawn(async move {
                                c.count(n).await;
                                c
                            }));
                        }
                        for j in joined {
                            clients.push(j.await.unwrap());
                        }
                    }
                    start.elapsed()
                })
            })
        });
        println!(
            "fanout/{name}: resident memory {} KiB before, {} KiB after",
            before,
            rss_kib()
        );
    }
    g.finish();
}

criterion_group!(benches, roundtrip, fanout);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    report();
}

fn report() {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion");
    let mean = |group: &str, f: &str| -> Option<f64> {
        let p = dir.join(group).join(f).join("new/estimates.json");
        let v: Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    for f in ["proxy", "proxy_1_thread"] {
        if let (Some(base), Some(ours)) = (mean("roundtrip", "direct"), mean("roundtrip", f)) {
            let ratio = ours / base;
            let verdict = if ratio <= 1.2 { "meets" } else { "MISSES" };
            println!(
                "roundtrip/{f}: direct {:.1} us, through the proxy {:.1} us: {ratio:.2}x ({verdict} the 1.2x target)",
                base / 1000.0,
                ours / 1000.0
            );
        }
    }
    for f in ["3_clients", "3_clients_1_stalled"] {
        if let Some(ns) = mean("fanout", f) {
            let rate = EVENTS_PER_FLOOD as f64 / (ns / 1e9);
            let verdict = if rate >= 200_000.0 { "meets" } else { "MISSES" };
            println!(
                "fanout/{f}: {rate:.0} events/s to each client ({verdict} the 200,000/s target)"
            );
        }
    }
}
