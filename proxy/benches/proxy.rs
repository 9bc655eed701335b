//! The proxy's speed on loopback TCP, in one run. Every figure is a ratio against a
//! baseline measured in the same run, in interleaved rounds (within a round the variants
//! take turns every 50 round trips; a fan-out round is one flood of each), and the medians
//! over the rounds are reported, so that a load change during the run hits both sides of a
//! ratio alike.
//!
//! Round trips: one `threads` request/response by a `dapkit_session::Client` (a
//! current-thread runtime on the bench's thread), always over loopback TCP. The "adapter
//! process" is a 2-thread tokio runtime holding the adapter(s) and the proxies:
//!
//! - `direct`: the client connects straight to an in-process adapter (a
//!   `dapkit_session::adapter::AdapterSession` answering `threads`) on a TCP listener.
//! - `proxy`: the client connects to the proxy, which reaches the same kind of in-process
//!   adapter through an in-memory duplex (`Adapter::io`). Target: within 1.2x of `direct`.
//! - `proxy_tcp_adapter`: the same adapter, but the proxy reaches it over loopback TCP
//!   (two sockets in the path instead of one).
//! - `direct_blocking` vs `proxy_blocking`: a blocking responder thread over TCP (an
//!   adapter in a separate process, in effect), straight and through the proxy.
//!
//! Fan-out: `output` events per second delivered to each of 3 clients (20,000-event
//! floods from the blocking responder, through a proxy whose client queues hold 65,536
//! messages), against the same with a 4th client that never reads. The stalled client is
//! replaced by a new one whenever the proxy has disconnected it, so every flood has a
//! stalled client to feed (its queue filling, or it being let go). Target: at least
//! 200,000 per second to each client in both, and memory flat: the process's resident
//! memory is sampled after every flood.
//!
//! `PROXY_BENCH_ROUNDS` (default 15) sets the rounds; `PROXY_BENCH_WORKERS` the adapter
//! process's worker threads; `PROXY_BENCH_ADAPTER_WRITE_THROUGH=0` makes the in-process
//! adapter write through its writer task instead of writing through from the task that
//! responds (the default; the same adapter for `direct` and `proxy`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../session/benches/support/responder.rs"]
mod support;
use support::{EVENTS_PER_FLOOD, responder, write_frame};

use dapkit_proxy::{Adapter, Proxy, ProxyHandle, ProxyOptions};
use dapkit_session::adapter::{AdapterOptions, AdapterSession};
use dapkit_session::{Client, ClientOptions};
use dapkit_transport::{Endpoint, RetryPolicy};
use dapkit_types::messages::{InitializeRequest, ThreadsRequest};
use dapkit_types::types::{Capabilities, Thread, ThreadsResponseBody};
use dapkit_wireformat::FrameStream;
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::runtime::Runtime;

const FANOUT_QUEUE: usize = 65_536;
/// Round trips per variant per round.
const TRIPS: usize = 2_000;
/// Round trips in a row before the next variant's turn.
const CHUNK: usize = 50;

/// The in-process adapter: a dapkit-session adapter answering `initialize` and `threads`.
async fn adapter_session<R, W>(reader: R, writer: W)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let options = AdapterOptions::new().with_write_through(adapter_write_through());
    let (session, mut requests) = AdapterSession::with_options(reader, writer, options);
    while let Some(req) = requests.next().await {
        let sent = match req.command() {
            "initialize" => session.respond::<InitializeRequest>(req, Some(Capabilities::new())),
            "threads" => session.respond::<ThreadsRequest>(
                req,
                ThreadsResponseBody::new(vec![Thread::new(1, "main")]),
            ),
            _ => session.respond_error(req, "not supported"),
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Whether the in-process adapter writes its responses itself
/// (`AdapterOptions::with_write_through`, as the proxy's upstream side does) rather than
/// through its writer task: `PROXY_BENCH_ADAPTER_WRITE_THROUGH=0` or `1` (default 1).
fn adapter_write_through() -> bool {
    !matches!(
        std::env::var("PROXY_BENCH_ADAPTER_WRITE_THROUGH").as_deref(),
        Ok("0")
    )
}

/// The in-process adapter on a TCP listener (the direct target): one session per
/// connection.
async fn adapter_listener() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            stream.set_nodelay(true).unwrap();
            let (r, w) = stream.into_split();
            tokio::spawn(adapter_session(r, w));
        }
    });
    addr
}

/// Starts a proxy on the current runtime; returns where clients connect and its handle.
async fn start_proxy(adapter: &Adapter, options: ProxyOptions) -> (SocketAddr, ProxyHandle) {
    let proxy = Proxy::start(&Endpoint::Tcp(([127, 0, 0, 1], 0).into()), adapter, options)
        .await
        .unwrap();
    let at = proxy.local_endpoint().tcp_addr().unwrap();
    let handle = proxy.handle();
    tokio::spawn(proxy.run());
    (at, handle)
}

fn tcp_adapter(addr: SocketAddr) -> Adapter {
    Adapter::Connect(Endpoint::Tcp(addr), RetryPolicy::default())
}

/// The "adapter process": a 2-thread runtime (leaked: it lives as long as the bench);
/// `PROXY_BENCH_WORKERS` sets another number of worker threads.
fn process_runtime() -> &'static Runtime {
    let workers = std::env::var("PROXY_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(2);
    Box::leak(Box::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .unwrap(),
    ))
}

async fn client(addr: SocketAddr) -> Client {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (r, w) = stream.into_split();
    let (client, events) = Client::start(r, w, ClientOptions::new().with_event_capacity(1 << 16));
    std::mem::forget(events);
    client
        .request_raw(
            "initialize",
            Some(serde_json::json!({"adapterID": "bench"})),
        )
        .await
        .unwrap();
    client
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn roundtrips(rounds: usize) {
    let process = process_runtime();
    let blocking = responder();
    let (direct_at, proxy_at, proxy_tcp_at, proxy_blocking_at) = process.block_on(async {
        let direct_at = adapter_listener().await;
        let (proxy_end, adapter_end) = tokio::io::duplex(256 * 1024);
        let (ar, aw) = tokio::io::split(adapter_end);
        tokio::spawn(adapter_session(ar, aw));
        let (pr, pw) = tokio::io::split(proxy_end);
        let (proxy_at, _) =
            start_proxy(&Adapter::io(pr, pw, "in-process"), ProxyOptions::new()).await;
        let (proxy_tcp_at, _) = start_proxy(&tcp_adapter(direct_at), ProxyOptions::new()).await;
        let (proxy_blocking_at, _) = start_proxy(&tcp_adapter(blocking), ProxyOptions::new()).await;
        (direct_at, proxy_at, proxy_tcp_at, proxy_blocking_at)
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let names = [
        "direct",
        "proxy",
        "proxy_tcp_adapter",
        "direct_blocking",
        "proxy_blocking",
    ];
    let clients = rt.block_on(async {
        vec![
            client(direct_at).await,
            client(proxy_at).await,
            client(proxy_tcp_at).await,
            client(blocking).await,
            client(proxy_blocking_at).await,
        ]
    });
    let trip = |c: &Client, n: usize| {
        rt.block_on(async {
            let start = Instant::now();
            for _ in 0..n {
                let resp = c.request::<ThreadsRequest>(None).await.unwrap();
                assert_eq!(resp.body.threads.len(), 1);
            }
            start.elapsed().as_secs_f64() * 1e6
        })
    };
    // Warm-up: every path once for a while.
    for c in &clients {
        trip(c, TRIPS / 2);
    }
    let mut us: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); 3];
    println!(
        "roundtrip: {rounds} rounds of {TRIPS} round trips per variant, the variants taking turns every {CHUNK}; load before: {}",
        loadavg()
    );
    for _ in 0..rounds {
        let mut t = vec![0.0; clients.len()];
        for _ in 0..TRIPS / CHUNK {
            for (total, c) in t.iter_mut().zip(&clients) {
                *total += trip(c, CHUNK);
            }
        }
        let t: Vec<f64> = t.into_iter().map(|total| total / TRIPS as f64).collect();
        ratios[0].push(t[1] / t[0]);
        ratios[1].push(t[2] / t[0]);
        ratios[2].push(t[4] / t[3]);
        for (all, one) in us.iter_mut().zip(t) {
            all.push(one);
        }
    }
    println!("roundtrip: load after: {}", loadavg());
    for (name, all) in names.iter().zip(us.iter_mut()) {
        let (lo, hi) = (
            all.iter().copied().fold(f64::MAX, f64::min),
            all.iter().copied().fold(0.0, f64::max),
        );
        println!(
            "roundtrip/{name}: median {:.1} us per round trip (rounds {lo:.1}-{hi:.1})",
            median(all)
        );
    }
    let labels = [
        ("proxy / direct (in-process adapter)", Some(1.2)),
        ("proxy_tcp_adapter / direct", None),
        ("proxy_blocking / direct_blocking", None),
    ];
    for ((label, target), r) in labels.into_iter().zip(ratios.iter_mut()) {
        let (lo, hi) = (
            r.iter().copied().fold(f64::MAX, f64::min),
            r.iter().copied().fold(0.0, f64::max),
        );
        let m = median(r);
        let verdict = match target {
            Some(t) if m <= t => format!(" (meets the {t}x target)"),
            Some(t) => format!(" (MISSES the {t}x target)"),
            None => String::new(),
        };
        println!("roundtrip ratio {label}: median {m:.2}x (rounds {lo:.2}-{hi:.2}){verdict}");
    }
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
        write_frame(&mut out, body.as_bytes());
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

/// One proxy with 3 counting clients (and maybe a stalled one).
struct Fanout {
    at: SocketAddr,
    handle: ProxyHandle,
    clients: Vec<Counter>,
    stalled: Option<Counter>,
    replaced: usize,
}

impl Fanout {
    async fn new(process: &'static Runtime) -> Fanout {
        let adapter = tcp_adapter(responder());
        let (at, handle) = process
            .spawn(async move {
                start_proxy(
                    &adapter,
                    ProxyOptions::new().with_client_queue(FANOUT_QUEUE),
                )
                .await
            })
            .await
            .unwrap();
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(Counter::connect(at).await);
        }
        // The others' controlChanged on join.
        for c in clients.iter_mut().skip(1) {
            c.count(1).await;
        }
        Fanout {
            at,
            handle,
            clients,
            stalled: None,
            replaced: 0,
        }
    }

    /// One flood; returns the events per second each client got.
    async fn flood(&mut self, with_stalled: bool) -> f64 {
        if with_stalled && self.handle.client_count() < 4 {
            if self.stalled.is_some() {
                self.replaced += 1;
            }
            // The one let go is closed (its socket is dropped) and a new one stalls.
            self.stalled = Some(Counter::connect(self.at).await);
        }
        let start = Instant::now();
        self.clients[0].send("flood").await;
        let mut joined = Vec::new();
        for (i, mut c) in self.clients.drain(..).enumerate() {
            let n = EVENTS_PER_FLOOD + usize::from(i == 0);
            joined.push(tokio::spawn(async move {
                c.count(n).await;
                c
            }));
        }
        for j in joined {
            self.clients.push(j.await.unwrap());
        }
        EVENTS_PER_FLOOD as f64 / start.elapsed().as_secs_f64()
    }
}

fn fanout(rounds: usize) {
    let process = process_runtime();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (mut plain, mut stalled) =
        rt.block_on(async { (Fanout::new(process).await, Fanout::new(process).await) });
    // Warm-up.
    rt.block_on(async {
        plain.flood(false).await;
        stalled.flood(true).await;
    });
    let rss_start = rss_kib();
    let (mut a, mut b, mut ratio, mut rss) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    println!(
        "fanout: {rounds} interleaved rounds of a {EVENTS_PER_FLOOD}-event flood each; load before: {}",
        loadavg()
    );
    rt.block_on(async {
        for _ in 0..rounds {
            let x = plain.flood(false).await;
            let y = stalled.flood(true).await;
            a.push(x);
            b.push(y);
            ratio.push(y / x);
            rss.push(rss_kib());
        }
    });
    println!("fanout: load after: {}", loadavg());
    let verdict = |r: f64| {
        if r >= 200_000.0 {
            "meets the 200,000/s target"
        } else {
            "MISSES the 200,000/s target"
        }
    };
    let (ma, mb) = (median(&mut a), median(&mut b));
    println!(
        "fanout/3_clients: median {ma:.0} events/s to each client ({})",
        verdict(ma)
    );
    println!(
        "fanout/3_clients_1_stalled: median {mb:.0} events/s to each client ({}); {} stalled clients were let go and replaced",
        verdict(mb),
        stalled.replaced
    );
    println!(
        "fanout ratio stalled / plain: median {:.2} (rounds {:.2}-{:.2})",
        median(&mut ratio),
        ratio.first().copied().unwrap_or(0.0),
        ratio.last().copied().unwrap_or(0.0)
    );
    let first_half = rss[..rss.len() / 2].iter().copied().max().unwrap_or(0);
    let second_half = rss[rss.len() / 2..].iter().copied().max().unwrap_or(0);
    println!(
        "fanout: resident memory {rss_start} KiB after warm-up; highest in the first half of the rounds {first_half} KiB, in the second half {second_half} KiB"
    );
    drop(rt);
    std::thread::sleep(Duration::from_millis(10));
}

fn main() {
    let rounds = std::env::var("PROXY_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    // `cargo bench` passes `--bench`; a name filter picks one part.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |part: &str| filter.is_empty() || filter.iter().any(|f| part.contains(f.as_str()));
    if wants("roundtrip") {
        roundtrips(rounds);
    }
    if wants("fanout") {
        fanout(rounds);
    }
}
