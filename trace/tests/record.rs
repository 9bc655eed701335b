//! The recorder (`dapkit record`'s forwarding and recording): every byte forwarded and
//! recorded byte-exact, a record written without waiting for the end even after the
//! recorder went to sleep, and a failing trace never stalls the forwarding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_trace::record::{IDLE_AFTER, QUEUE_CHUNKS, Recorder, forward};
use dapkit_trace::tap::{StreamRebuilder, Tap};
use dapkit_trace::{Direction, Header, TraceReader, TraceWriter};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

fn frame(body: &str) -> Vec<u8> {
    let mut f = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    f.extend_from_slice(body.as_bytes());
    f
}

/// A peer whose bytes the test hands over one piece at a time (ends when the sender is
/// dropped), like a pipe.
struct Peer(mpsc::Receiver<Vec<u8>>, Vec<u8>);

impl Read for Peer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.1.is_empty() {
            match self.0.recv() {
                Ok(bytes) => self.1 = bytes,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.1.len());
        buf[..n].copy_from_slice(&self.1[..n]);
        self.1.drain(..n);
        Ok(n)
    }
}

/// The records of one direction in a trace file, as the stream they stand for.
fn stream(path: &std::path::Path, direction: Direction) -> Vec<u8> {
    let mut reader = TraceReader::open(path).expect("the trace opens");
    let mut rebuild = StreamRebuilder::new();
    let mut out = Vec::new();
    while let Some(record) = reader.next_record().expect("a record") {
        if record.direction == direction {
            rebuild.push(&record, &mut out);
        }
    }
    out
}

#[test]
fn forwarded_bytes_are_recorded_byte_exact_and_promptly_even_after_the_recorder_slept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let writer = TraceWriter::create(&path, &Header::new(serde_json::json!({}))).unwrap();
    let recorder = Recorder::start(Tap::new(writer, false), TraceWriter::finish).unwrap();
    let (to_peer, peer) = mpsc::channel();
    let record = recorder.handle();
    let copy = std::thread::spawn(move || {
        let mut out = Vec::new();
        let n = forward(
            Peer(peer, Vec::new()),
            &mut out,
            Direction::ClientToAdapter,
            0,
            record,
        );
        (n.unwrap(), out)
    });
    let first = frame(r#"{"seq":1,"type":"request","command":"initialize"}"#);
    // A frame in three pieces, junk, and a frame after the recorder has gone idle.
    let mut sent = Vec::new();
    for piece in [&first[..10], &first[10..30], &first[30..], b"junk\n"] {
        to_peer.send(piece.to_vec()).unwrap();
        sent.extend_from_slice(piece);
    }
    std::thread::sleep(IDLE_AFTER + Duration::from_millis(100));
    let last = frame(r#"{"seq":2,"type":"request","command":"threads"}"#);
    to_peer.send(last.clone()).unwrap();
    sent.extend_from_slice(&last);
    // The last frame is written while the session goes on (not at its end): the recorder
    // was woken by it. Bounded: 10 s.
    let written = (0..1000).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::fs::read_to_string(&path).is_ok_and(|t| t.contains(r#""command":"threads""#))
    });
    assert!(
        written,
        "the frame sent after the idle time was not recorded"
    );
    drop(to_peer);
    let (n, out) = copy.join().unwrap();
    recorder.finish().unwrap();
    assert_eq!(out, sent, "forwarded unchanged");
    assert_eq!(n, sent.len() as u64);
    assert_eq!(stream(&path, Direction::ClientToAdapter), sent);
    assert!(stream(&path, Direction::AdapterToClient).is_empty());
}

/// A trace file that fails once `broken` is set.
struct Breaking(Arc<AtomicBool>);

impl Write for Breaking {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.load(Ordering::Relaxed) {
            return Err(io::Error::other("disk gone"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.write(b"").map(|_| ())
    }
}

#[test]
fn a_failing_trace_never_stalls_forwarding_and_is_reported_at_the_end() {
    let broken = Arc::new(AtomicBool::new(false));
    let writer = TraceWriter::new(
        Breaking(Arc::clone(&broken)),
        &Header::new(serde_json::json!({})),
    )
    .unwrap();
    broken.store(true, Ordering::Relaxed);
    let recorder = Recorder::start(Tap::new(writer, false), |_| Ok(())).unwrap();
    // Far more chunks than the queue holds: forwarding must go on while the recorder fails.
    let body = r#"{"seq":1,"type":"event","event":"output"}"#;
    let (to_peer, peer) = mpsc::channel();
    let mut sent = Vec::new();
    for _ in 0..QUEUE_CHUNKS * 4 {
        let f = frame(body);
        sent.extend_from_slice(&f);
        to_peer.send(f).unwrap();
    }
    drop(to_peer);
    let record = recorder.handle();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let n = forward(
            Peer(peer, Vec::new()),
            &mut out,
            Direction::AdapterToClient,
            0,
            record,
        );
        let _ = done.send((n.unwrap(), out));
    });
    let (n, out) = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("forwarding finished although the trace failed");
    assert_eq!(n, sent.len() as u64);
    assert_eq!(out, sent);
    let err = recorder.finish().expect_err("the failure is reported");
    assert!(err.to_string().contains("disk gone"), "{err}");
}
