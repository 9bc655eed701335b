//! Framing benches over real recorded DAP traffic.
//!
//! Loads every `*.dap` file under `tests/fixtures/traffic/` of the workspace (raw
//! Content-Length framed streams recorded from real adapters and clients), replicates them
//! into one stream of about 8 MiB, and measures in one run:
//!
//! * `split_and_parse` (frames + `serde_json::Value` per body) against `parse_presplit`
//!   (the same bodies, split beforehand): the framing overhead;
//! * `frames_only` (no JSON) against `memchr_newlines` (a plain `memchr` scan for the line
//!   ends over the same bytes) and `memchr_full_scan` (a scan for a byte that never
//!   occurs: raw memory bandwidth);
//! * the same frames through a `BufReader` with 8 KiB buffer and, with the `tokio`
//!   feature, through the async codec;
//! * the same stream read from a file (`BufReader<File>`, 64 KiB): every byte is copied out
//!   of the page cache, as from a socket. `frames_only` over a `&[u8]` lends each body
//!   from the slice without reading it, so its GB/s is a header-parsing speed, not a
//!   throughput; `frames_file` is the throughput, and `split_and_parse_file` gives the
//!   framing overhead when bytes are copied.
//!
//! After criterion's output, `cargo bench` prints the ratios from an interleaved timing
//! of the same routines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[cfg(feature = "tokio")]
use criterion::BatchSize;
use criterion::{Criterion, Throughput};
use dapkit_wireformat::FrameReader;
use serde_json::Value;
use std::fs::File;
use std::hint::black_box;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TARGET_BYTES: usize = 8 * 1024 * 1024;

fn dap_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            dap_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "dap") {
            out.push(path);
        }
    }
}

/// The recorded traffic, replicated to about [`TARGET_BYTES`].
fn load_stream() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/traffic");
    let mut files = Vec::new();
    if root.is_dir() {
        dap_files(&root, &mut files);
    }
    files.sort();
    assert!(
        !files.is_empty(),
        "no *.dap files under tests/fixtures/traffic/ of the workspace: the framing benches \
         need the recorded traffic fixtures"
    );
    let mut one = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        // Each file must be a complete stream on its own.
        let mut reader = FrameReader::new(&bytes[..]);
        while let Some(frame) = reader.read_frame().unwrap() {
            serde_json::from_slice::<Value>(&frame)
                .unwrap_or_else(|e| panic!("{}: body is not JSON: {e}", f.display()));
        }
        one.extend_from_slice(&bytes);
    }
    let copies = TARGET_BYTES.div_ceil(one.len());
    let stream = one.repeat(copies);
    eprintln!(
        "framing bench: {} files, {} bytes, replicated {copies}x into {:.2} MiB",
        files.len(),
        one.len(),
        stream.len() as f64 / (1024.0 * 1024.0)
    );
    stream
}

fn split_and_parse(data: &[u8]) -> usize {
    let mut reader = FrameReader::new(data);
    let mut n = 0;
    while let Some(frame) = reader.read_frame().unwrap() {
        let v: Value = serde_json::from_slice(&frame).unwrap();
        black_box(&v);
        n += 1;
    }
    n
}

fn parse_presplit(bodies: &[&[u8]]) -> usize {
    let mut n = 0;
    for body in bodies {
        let v: Value = serde_json::from_slice(body).unwrap();
        black_box(&v);
        n += 1;
    }
    n
}

fn frames_only(data: &[u8]) -> usize {
    let mut reader = FrameReader::new(data);
    let mut bytes = 0;
    while let Some(frame) = reader.read_frame().unwrap() {
        bytes += black_box(frame.len());
    }
    bytes
}

fn frames_bufreader(data: &[u8]) -> usize {
    let mut reader = FrameReader::new(BufReader::with_capacity(8 * 1024, data));
    let mut bytes = 0;
    while let Some(frame) = reader.read_frame().unwrap() {
        bytes += black_box(frame.len());
    }
    bytes
}

/// A reader that copies: the stream read from a file through a 64 KiB `BufReader`.
fn file_reader(path: &Path) -> FrameReader<BufReader<File>> {
    FrameReader::new(BufReader::with_capacity(
        64 * 1024,
        File::open(path).unwrap(),
    ))
}

fn frames_file(path: &Path) -> usize {
    let mut reader = file_reader(path);
    let mut bytes = 0;
    while let Some(frame) = reader.read_frame().unwrap() {
        bytes += black_box(frame.len());
    }
    bytes
}

fn split_and_parse_file(path: &Path) -> usize {
    let mut reader = file_reader(path);
    let mut n = 0;
    while let Some(frame) = reader.read_frame().unwrap() {
        let v: Value = serde_json::from_slice(&frame).unwrap();
        black_box(&v);
        n += 1;
    }
    n
}

/// Reads the file whole, no framing: the cost of copying the bytes alone.
fn read_file(path: &Path) -> usize {
    use std::io::Read;
    let mut file = BufReader::with_capacity(64 * 1024, File::open(path).unwrap());
    let mut buf = [0u8; 64 * 1024];
    let mut bytes = 0;
    loop {
        match file.read(&mut buf).unwrap() {
            0 => return bytes,
            n => bytes += black_box(n),
        }
    }
}

fn memchr_newlines(data: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', data).count()
}

fn memchr_full_scan(data: &[u8]) -> usize {
    // 0x00 never occurs in the stream: the whole buffer is scanned.
    memchr::memchr(0, data).unwrap_or(data.len())
}

#[cfg(feature = "tokio")]
fn frames_codec(buf: &mut bytes::BytesMut) -> usize {
    use tokio_util::codec::Decoder;
    let mut codec = dapkit_wireformat::DapCodec::new();
    let mut bytes = 0;
    while let Some(frame) = codec.decode_eof(buf).unwrap() {
        bytes += black_box(frame.len());
    }
    bytes
}

fn presplit(data: &[u8]) -> Vec<&[u8]> {
    let mut bodies = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let mut reader = FrameReader::new(rest);
        let len = reader.read_frame().unwrap().unwrap().len();
        let remaining = reader.into_inner();
        // The body is the `len` bytes before what is left.
        let consumed = rest.len() - remaining.len();
        bodies.push(&rest[consumed - len..consumed]);
        rest = remaining;
    }
    bodies
}

fn benches(c: &mut Criterion, data: &[u8], bodies: &[&[u8]], file: &Path) {
    let mut g = c.benchmark_group("json");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("split_and_parse", |b| {
        b.iter(|| split_and_parse(black_box(data)))
    });
    g.bench_function("split_and_parse_file", |b| {
        b.iter(|| split_and_parse_file(black_box(file)))
    });
    g.bench_function("parse_presplit", |b| {
        b.iter(|| parse_presplit(black_box(bodies)))
    });
    g.finish();

    let mut g = c.benchmark_group("frames");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("frames_only", |b| b.iter(|| frames_only(black_box(data))));
    g.bench_function("frames_bufreader_8k", |b| {
        b.iter(|| frames_bufreader(black_box(data)))
    });
    g.bench_function("frames_file", |b| b.iter(|| frames_file(black_box(file))));
    g.bench_function("read_file", |b| b.iter(|| read_file(black_box(file))));
    #[cfg(feature = "tokio")]
    g.bench_function("frames_codec", |b| {
        b.iter_batched_ref(
            || bytes::BytesMut::from(data),
            frames_codec,
            BatchSize::LargeInput,
        )
    });
    g.bench_function("memchr_newlines", |b| {
        b.iter(|| memchr_newlines(black_box(data)))
    });
    g.bench_function("memchr_full_scan", |b| {
        b.iter(|| memchr_full_scan(black_box(data)))
    });
    g.finish();
}

/// Prints the ratios from interleaved rounds: in each round every routine runs once
/// untimed (warm caches whatever ran before it), then `REPEAT` timed runs. Reported per
/// routine: the best run (least disturbed by other load on the machine) and the median.
fn ratios(data: &[u8], bodies: &[&[u8]], file: &Path) {
    const REPEAT: usize = 10;
    const ROUNDS: usize = 15;
    let names = [
        "split_and_parse",
        "parse_presplit",
        "frames_only",
        "memchr_newlines",
        "memchr_full_scan",
        "split_parse_file",
        "frames_file",
        "read_file",
    ];
    let mut t: [Vec<f64>; 8] = Default::default();
    let time = |f: &dyn Fn() -> usize, out: &mut Vec<f64>| {
        black_box(f());
        for _ in 0..REPEAT {
            let start = Instant::now();
            black_box(f());
            out.push(start.elapsed().as_secs_f64());
        }
    };
    for _ in 0..ROUNDS {
        time(&|| split_and_parse(data), &mut t[0]);
        time(&|| parse_presplit(bodies), &mut t[1]);
        time(&|| frames_only(data), &mut t[2]);
        time(&|| memchr_newlines(data), &mut t[3]);
        time(&|| memchr_full_scan(data), &mut t[4]);
        time(&|| split_and_parse_file(file), &mut t[5]);
        time(&|| frames_file(file), &mut t[6]);
        time(&|| read_file(file), &mut t[7]);
    }
    for v in &mut t {
        v.sort_by(f64::total_cmp);
    }
    let best: Vec<f64> = t.iter().map(|v| v[0]).collect();
    let median: Vec<f64> = t.iter().map(|v| v[v.len() / 2]).collect();
    let gbps = |s: f64| data.len() as f64 / s / 1e9;
    println!(
        "\n== framing ratios: {ROUNDS} interleaved rounds x {REPEAT} runs, {} bytes, {} messages",
        data.len(),
        bodies.len()
    );
    println!(
        "{:<18} {:>10} {:>9} {:>10}",
        "routine", "best ms", "GB/s", "median ms"
    );
    for i in 0..names.len() {
        println!(
            "{:<18} {:>10.3} {:>9.2} {:>10.3}",
            names[i],
            best[i] * 1e3,
            gbps(best[i]),
            median[i] * 1e3
        );
    }
    let pct = |a: f64, b: f64| (a / b - 1.0) * 100.0;
    println!(
        "framing overhead (split_and_parse / parse_presplit - 1): best {:+.2} %, median {:+.2} % (target <= 5 %)",
        pct(best[0], best[1]),
        pct(median[0], median[1])
    );
    println!(
        "framing overhead over a copying reader (split_parse_file / parse_presplit - 1, includes reading the file): best {:+.2} %, median {:+.2} %",
        pct(best[5], best[1]),
        pct(median[5], median[1])
    );
    println!(
        "frames_file (framing + copying from a file): best {:.2} GB/s, median {:.2} GB/s; read_file alone: best {:.2} GB/s",
        gbps(best[6]),
        gbps(median[6]),
        gbps(best[7])
    );
    println!(
        "frames_only / memchr_newlines (frames lent from the slice, bodies not read): best {:.2}x, median {:.2}x (target <= 4x)",
        best[2] / best[3],
        median[2] / median[3]
    );
    println!(
        "frames_only / memchr_full_scan: best {:.2}x, median {:.2}x",
        best[2] / best[4],
        median[2] / median[4]
    );
}

fn main() {
    let data = load_stream();
    let bodies = presplit(&data);
    assert_eq!(split_and_parse(&data), bodies.len());
    assert_eq!(parse_presplit(&bodies), bodies.len());
    let body_bytes: usize = bodies.iter().map(|b| b.len()).sum();
    assert_eq!(frames_only(&data), body_bytes);
    assert_eq!(frames_bufreader(&data), body_bytes);
    let file = std::env::temp_dir().join(format!("dapkit-framing-{}.dap", std::process::id()));
    std::fs::write(&file, &data).unwrap();
    assert_eq!(frames_file(&file), body_bytes);
    assert_eq!(split_and_parse_file(&file), bodies.len());
    assert_eq!(read_file(&file), data.len());

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    benches(&mut c, &data, &bodies, &file);
    c.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        ratios(&data, &bodies, &file);
    }
    let _ = std::fs::remove_file(&file);
}
