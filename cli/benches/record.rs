//! What `dapkit record` adds to a request round trip, end to end, in one run: a client
//! talks over pipes to an adapter process, either directly or through `dapkit record --out
//! FILE -- ADAPTER` (the binary, as an editor would start it).
//!
//! - `echo/*`: the adapter is `cat` (every request comes straight back): the recorder's
//!   cost against the cheapest possible adapter.
//! - `gdb/*`: the adapter is gdb's DAP interpreter (`.peers/gdb-venv/bin/gdb -i dap`, from
//!   `bash .ci/install-peers`; skipped with a note when missing), answering `threads`.
//! - `debugpy/*`: debugpy's adapter (`.peers/venv/bin/python -m debugpy.adapter`, what
//!   editors start), initialized, answering `threads`. No debuggee is launched, so its
//!   answer is its error response ("Server is not available"): a real round trip through
//!   debugpy's message handling all the same, the cheapest one it has.
//!
//! Each pair is measured in 31 interleaved rounds (the medians give the ratios, robust when
//! the machine's load changes) and then by criterion. Target: record/direct ≤ 1.10.
//!
//! `DAPKIT_BASELINE_BIN=PATH` also measures another build of `dapkit` (e.g. the one before
//! a change) in the same interleaved rounds, so that two builds are compared under the same
//! load.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, criterion_group};
use serde_json::Value;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

/// A client of an adapter process over its stdin/stdout.
struct PipeClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    seq: u64,
    line: String,
    body: Vec<u8>,
}

impl PipeClient {
    fn spawn(argv: &[OsString]) -> PipeClient {
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {:?}: {e}", argv[0]));
        PipeClient {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
            seq: 0,
            line: String::new(),
            body: Vec::new(),
        }
    }

    fn send(&mut self, command: &str, arguments: &str) -> u64 {
        self.seq += 1;
        let body = format!(
            r#"{{"seq":{},"type":"request","command":"{command}","arguments":{arguments}}}"#,
            self.seq
        );
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(body.as_bytes());
        self.stdin.write_all(&frame).unwrap();
        self.stdin.flush().unwrap();
        self.seq
    }

    /// Reads one frame into `self.body`.
    fn read_frame(&mut self) {
        let mut len = None;
        loop {
            self.line.clear();
            assert!(
                self.stdout.read_line(&mut self.line).unwrap() > 0,
                "adapter closed"
            );
            let l = self.line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.strip_prefix("Content-Length: ") {
                len = v.parse::<usize>().ok();
            }
        }
        self.body.resize(len.expect("a Content-Length"), 0);
        self.stdout.read_exact(&mut self.body).unwrap();
    }

    /// `cat`: the request comes back as it was sent.
    fn echo_round_trip(&mut self) {
        let seq = self.send("threads", "{}");
        self.read_frame();
        let v: Value = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(v["seq"].as_u64(), Some(seq));
    }

    /// A real adapter: reads until the response to the request (skipping events).
    fn request(&mut self, command: &str, arguments: &str) -> Value {
        let seq = self.send(command, arguments);
        loop {
            self.read_frame();
            let v: Value = serde_json::from_slice(&self.body).unwrap();
            if v["type"] == "response" && v["request_seq"].as_u64() == Some(seq) {
                return v;
            }
        }
    }
}

impl Drop for PipeClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn recorded(out: &std::path::Path, adapter: &[OsString]) -> Vec<OsString> {
    recorded_by(env!("CARGO_BIN_EXE_dapkit").into(), out, adapter)
}

/// The same with `--spin-us 0`: forwarding threads that sleep until bytes come.
fn recorded_sleeping(out: &std::path::Path, adapter: &[OsString]) -> Vec<OsString> {
    let mut argv = recorded(out, &[]);
    argv.insert(argv.len() - 1, "--spin-us".into());
    argv.insert(argv.len() - 1, "0".into());
    argv.extend_from_slice(adapter);
    argv
}

/// CPU time used so far by a process's live threads (Linux `schedstat`), in µs.
fn cpu_us(pid: u32) -> Option<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e3)
}

/// The baseline build's command line, when `DAPKIT_BASELINE_BIN` names one.
fn baseline(out: &std::path::Path, adapter: &[OsString]) -> Option<Vec<OsString>> {
    let bin = std::env::var_os("DAPKIT_BASELINE_BIN")?;
    Some(recorded_by(bin, out, adapter))
}

fn recorded_by(dapkit: OsString, out: &std::path::Path, adapter: &[OsString]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        dapkit,
        "record".into(),
        "--out".into(),
        out.into(),
        "--".into(),
    ];
    argv.extend_from_slice(adapter);
    argv
}

/// Medians of 31 interleaved rounds of `n` round trips each, in µs, one per path.
fn interleaved(n: usize, paths: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed().as_secs_f64() / n as f64 * 1e6
    };
    let mut times = vec![Vec::new(); paths.len()];
    for _ in 0..31 {
        for (t, f) in times.iter_mut().zip(paths.iter_mut()) {
            t.push(time(&mut **f));
        }
    }
    times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[15]
        })
        .collect()
}

/// A recorded path of [`compare`]: its name, a round trip, the recorder's pid.
type Recorded<'a> = (&'a str, &'a mut dyn FnMut(), u32);

/// Prints the interleaved medians of each recorded path against the direct one, and the
/// CPU time each recorder used per round trip over the rounds.
fn compare(what: &str, n: usize, direct: &mut dyn FnMut(), recorded: Vec<Recorded<'_>>) {
    let mut names = Vec::new();
    let mut pids = Vec::new();
    let mut paths: Vec<&mut dyn FnMut()> = vec![direct];
    for (name, path, pid) in recorded {
        names.push(name);
        pids.push(pid);
        paths.push(path);
    }
    let before: Vec<Option<f64>> = pids.iter().map(|&p| cpu_us(p)).collect();
    let m = interleaved(n, &mut paths);
    let trips = (31 * n) as f64;
    for (i, name) in names.iter().enumerate() {
        let cpu = match (before[i], cpu_us(pids[i])) {
            (Some(a), Some(b)) => {
                format!("; recorder CPU {:.1} µs per round trip", (b - a) / trips)
            }
            _ => String::new(),
        };
        verdict(
            &format!("{what}, {name}, interleaved medians"),
            m[0],
            m[i + 1],
            &cpu,
        );
    }
}

/// [`compare`] over the clients of the direct path, `record` and `record --spin-us 0`,
/// and the baseline build's when given, each doing `trip`.
fn compare_clients(
    what: &str,
    n: usize,
    trip: &dyn Fn(&mut PipeClient),
    [direct, record, sleeping]: [&mut PipeClient; 3],
    base: Option<&mut PipeClient>,
) {
    let pid = |c: &PipeClient| c.child.id();
    let (record_pid, sleeping_pid) = (pid(record), pid(sleeping));
    let base_pid = base.as_deref().map(pid);
    let mut record_trip = || trip(record);
    let mut sleeping_trip = || trip(sleeping);
    let mut base_trip = base.map(|b| move || trip(b));
    let mut paths: Vec<Recorded<'_>> = vec![
        ("record", &mut record_trip, record_pid),
        ("record --spin-us 0", &mut sleeping_trip, sleeping_pid),
    ];
    if let (Some(f), Some(pid)) = (base_trip.as_mut(), base_pid) {
        paths.push(("baseline build", f, pid));
    }
    compare(what, n, &mut || trip(direct), paths);
}

fn verdict(what: &str, direct: f64, record: f64, cpu: &str) {
    let ratio = record / direct;
    println!(
        "{what}: direct {direct:.1} µs, record {record:.1} µs (+{:.1} µs{cpu}): record/direct {ratio:.2}× ({} the ≤ 1.10× target)",
        record - direct,
        if ratio <= 1.10 { "meets" } else { "MISSES" }
    );
}

fn echo(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let cat: Vec<OsString> = vec!["cat".into()];
    let mut direct = PipeClient::spawn(&cat);
    let mut record = PipeClient::spawn(&recorded(&dir.path().join("echo.jsonl"), &cat));
    let mut sleeping = PipeClient::spawn(&recorded_sleeping(&dir.path().join("sleep.jsonl"), &cat));
    let mut base = baseline(&dir.path().join("base.jsonl"), &cat).map(|a| PipeClient::spawn(&a));
    let clients = [&mut direct, &mut record, &mut sleeping];
    compare_clients(
        "echo (cat)",
        500,
        &PipeClient::echo_round_trip,
        clients,
        base.as_mut(),
    );
    let mut g = c.benchmark_group("echo");
    g.bench_function("direct", |b| b.iter(|| direct.echo_round_trip()));
    g.bench_function("record", |b| b.iter(|| record.echo_round_trip()));
    g.finish();
}

fn gdb_path() -> Option<PathBuf> {
    let p = std::env::var_os("DAPKIT_GDB")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.peers/gdb-venv/bin/gdb")
        });
    p.exists().then_some(p)
}

fn gdb(c: &mut Criterion) {
    let Some(gdb) = gdb_path() else {
        println!("gdb: skipped (no gdb; run `bash .ci/install-peers` or set DAPKIT_GDB)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let argv: Vec<OsString> = vec![
        gdb.into(),
        "--nx".into(),
        "-q".into(),
        "-iex".into(),
        "set debuginfod enabled off".into(),
        "-i".into(),
        "dap".into(),
    ];
    let start = |argv: &[OsString]| {
        let mut client = PipeClient::spawn(argv);
        client.request("initialize", r#"{"adapterID":"gdb","linesStartAt1":true}"#);
        client
    };
    let mut direct = start(&argv);
    let mut record = start(&recorded(&dir.path().join("gdb.jsonl"), &argv));
    let mut sleeping = start(&recorded_sleeping(&dir.path().join("sleep.jsonl"), &argv));
    let threads = |c: &mut PipeClient| {
        let v = c.request("threads", "{}");
        assert_eq!(v["success"], true, "{v}");
    };
    let mut base = baseline(&dir.path().join("base.jsonl"), &argv).map(|a| start(&a));
    let clients = [&mut direct, &mut record, &mut sleeping];
    compare_clients("gdb `threads`", 50, &threads, clients, base.as_mut());
    let mut g = c.benchmark_group("gdb");
    g.bench_function("direct", |b| b.iter(|| threads(&mut direct)));
    g.bench_function("record", |b| b.iter(|| threads(&mut record)));
    g.finish();
}

fn debugpy_python() -> Option<PathBuf> {
    let p = std::env::var_os("DAPKIT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.peers/venv/bin/python")
        });
    p.exists().then_some(p)
}

fn debugpy(c: &mut Criterion) {
    let Some(python) = debugpy_python() else {
        println!(
            "debugpy: skipped (no .peers/venv; run `bash .ci/install-peers` or set DAPKIT_PYTHON)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let argv: Vec<OsString> = vec![python.into(), "-m".into(), "debugpy.adapter".into()];
    let start = |argv: &[OsString]| {
        let mut client = PipeClient::spawn(argv);
        let v = client.request(
            "initialize",
            r#"{"adapterID":"debugpy","linesStartAt1":true}"#,
        );
        assert_eq!(v["success"], true, "{v}");
        client
    };
    let mut direct = start(&argv);
    let mut record = start(&recorded(&dir.path().join("debugpy.jsonl"), &argv));
    let mut sleeping = start(&recorded_sleeping(&dir.path().join("sleep.jsonl"), &argv));
    let threads = |c: &mut PipeClient| {
        let v = c.request("threads", "{}");
        assert_eq!(v["command"], "threads", "{v}");
    };
    let mut base = baseline(&dir.path().join("base.jsonl"), &argv).map(|a| start(&a));
    let clients = [&mut direct, &mut record, &mut sleeping];
    compare_clients(
        "debugpy adapter `threads`",
        50,
        &threads,
        clients,
        base.as_mut(),
    );
    let mut g = c.benchmark_group("debugpy");
    g.bench_function("direct", |b| b.iter(|| threads(&mut direct)));
    g.bench_function("record", |b| b.iter(|| threads(&mut record)));
    g.finish();
}

criterion_group!(benches, echo, gdb, debugpy);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    report();
}

fn report() {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion");
    let mean = |group: &str, f: &str| -> Option<f64> {
        let p = dir.join(group).join(f).join("new/estimates.json");
        let v: Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    for group in ["echo", "gdb", "debugpy"] {
        if let (Some(d), Some(r)) = (mean(group, "direct"), mean(group, "record")) {
            verdict(&format!("{group}, criterion means"), d / 1e3, r / 1e3, "");
        }
    }
}
