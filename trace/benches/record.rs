//! What recording costs a request round trip, in one run, over loopback TCP:
//!
//! - `roundtrip/direct`: a blocking client sends a `threads` request and reads the response
//!   from an in-process responder (a thread answering each frame).
//! - `roundtrip/relay`: the same through a plain forwarder (a blocking read → write loop
//!   per direction, on threads of its own): the cost of any man in the middle, one more
//!   hop each way.
//! - `roundtrip/record`: the same through the recorder `dapkit record` runs (`forward` both
//!   ways, the forwarding threads writing a trace file, flushed per record).
//!
//! The ratios record/direct (the target: ≤ 1.10) and record/relay (what recording adds to
//! the hop) are printed twice: from 31 interleaved rounds before the criterion
//! measurements (robust when the machine's load changes), and from criterion's means.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../session/benches/support/responder.rs"]
mod support;
use support::{read_frame, responder, write_frame};

use criterion::{Criterion, Throughput, criterion_group};
use dapkit_trace::record::{Recorder, forward};
use dapkit_trace::tap::Tap;
use dapkit_trace::{Direction, Header, TraceWriter};
use serde_json::Value;
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

/// What `forward` does, without recording: read, write, flush.
fn relay_loop(mut from: TcpStream, to: TcpStream) {
    let mut to = WriteHalf(to);
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf) {
        if to.write_all(&buf[..n]).is_err() || to.flush().is_err() {
            break;
        }
    }
}

/// A socket's sending side: dropping it sends EOF (the other clone keeps the socket open).
struct WriteHalf(TcpStream);

impl Write for WriteHalf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Drop for WriteHalf {
    fn drop(&mut self) {
        let _ = self.0.shutdown(std::net::Shutdown::Write);
    }
}

/// A man in the middle as `dapkit record` runs it (as in its own process): accepts one
/// client, connects to `adapter`, forwards both ways, one blocking thread per direction —
/// recording into `trace` (on the recorder's thread) when given.
fn middle(adapter: SocketAddr, trace: Option<std::path::PathBuf>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        client.set_nodelay(true).unwrap();
        let upstream = TcpStream::connect(adapter).unwrap();
        upstream.set_nodelay(true).unwrap();
        let (cr, cw) = (client.try_clone().unwrap(), client);
        let (ar, aw) = (upstream.try_clone().unwrap(), upstream);
        match trace {
            Some(path) => {
                let header = Header::new(serde_json::json!({"connect": adapter.to_string()}));
                let writer = TraceWriter::create(&path, &header).unwrap();
                let recorder =
                    Recorder::start(Tap::new(writer, false), TraceWriter::finish).unwrap();
                let record = recorder.handle();
                let c2a = std::thread::spawn(move || {
                    forward(cr, WriteHalf(aw), Direction::ClientToAdapter, 0, record)
                });
                let _ = forward(
                    ar,
                    WriteHalf(cw),
                    Direction::AdapterToClient,
                    0,
                    recorder.handle(),
                );
                let _ = c2a.join();
                recorder.finish().unwrap();
            }
            None => {
                let c2a = std::thread::spawn(move || relay_loop(cr, aw));
                relay_loop(ar, cw);
                let _ = c2a.join();
            }
        }
    });
    addr
}

/// A blocking client: one `threads` request per call, its response read and parsed.
struct BlockingClient {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    line: String,
    body: Vec<u8>,
    out: Vec<u8>,
    seq: u64,
}

impl BlockingClient {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        BlockingClient {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
            line: String::new(),
            body: Vec::new(),
            out: Vec::new(),
            seq: 0,
        }
    }

    fn round_trip(&mut self) {
        self.seq += 1;
        self.out.clear();
        let req = format!(
            r#"{{"seq":{},"type":"request","command":"threads"}}"#,
            self.seq
        );
        write_frame(&mut self.out, req.as_bytes());
        self.writer.write_all(&self.out).unwrap();
        assert!(read_frame(&mut self.reader, &mut self.line, &mut self.body));
        let v: Value = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(v["request_seq"].as_u64(), Some(self.seq));
    }
}

fn roundtrip(c: &mut Criterion) {
    let adapter = responder();
    let dir = tempfile::tempdir().unwrap();
    let mut direct = BlockingClient::connect(adapter);
    let mut relay = BlockingClient::connect(middle(adapter, None));
    let mut record = BlockingClient::connect(middle(adapter, Some(dir.path().join("bench.jsonl"))));

    // Interleaved rounds first (robust against a machine whose load changes): the median
    // of 31 rounds of 500 round trips each, per path.
    let mut rounds: [Vec<f64>; 3] = Default::default();
    for _ in 0..31 {
        for (times, client) in rounds
            .iter_mut()
            .zip([&mut direct, &mut relay, &mut record])
        {
            let start = std::time::Instant::now();
            for _ in 0..500 {
                client.round_trip();
            }
            times.push(start.elapsed().as_secs_f64() / 500.0 * 1e6);
        }
    }
    for times in &mut rounds {
        times.sort_by(f64::total_cmp);
    }
    let [d, r, w] = [rounds[0][15], rounds[1][15], rounds[2][15]];
    println!(
        "interleaved medians: direct {d:.1} µs, relay {r:.1} µs, record {w:.1} µs; record/direct {:.2}×, record/relay {:.2}×",
        w / d,
        w / r
    );

    let mut g = c.benchmark_group("roundtrip");
    g.throughput(Throughput::Elements(1));
    g.bench_function("direct", |b| b.iter(|| direct.round_trip()));
    g.bench_function("relay", |b| b.iter(|| relay.round_trip()));
    g.bench_function("record", |b| b.iter(|| record.round_trip()));
    g.finish();
    drop(record);
}

criterion_group!(benches, roundtrip);

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
    let mean = |f: &str| -> Option<f64> {
        let p = dir.join("roundtrip").join(f).join("new/estimates.json");
        let v: Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    if let (Some(direct), Some(relay), Some(record)) =
        (mean("direct"), mean("relay"), mean("record"))
    {
        let ratio = record / direct;
        println!(
            "round trip: direct {:.1} µs, relay {:.1} µs, record {:.1} µs; record/direct {ratio:.2}× ({} the ≤ 1.10× target), record/relay {:.2}×",
            direct / 1e3,
            relay / 1e3,
            record / 1e3,
            if ratio <= 1.10 { "meets" } else { "MISSES" },
            record / relay
        );
    }
}
