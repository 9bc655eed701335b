//! The recorder (`dapkit record`'s forwarding and recording): every byte forwarded and
//! recorded byte-exact, a record written without waiting for the end even after the
//! recorder went to sleep, and a failing trace never stalls the forwarding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_trace::record::{Recorder, forward};
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

/// A recorder writing the trace file `path` in a temporary directory (kept while the
/// first value lives).
fn file_recorder() -> (tempfile::TempDir, std::path::PathBuf, Recorder) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let writer = TraceWriter::create(&path, &Header::new(serde_json::json!({}))).unwrap();
    let recorder = Recorder::start(Tap::new(writer, false), TraceWriter::finish).unwrap();
    (dir, path, recorder)
}

/// What the forwarding thread writes, handed to the test as it is written.
struct Out(mpsc::Sender<Vec<u8>>);

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = self.0.send(buf.to_vec());
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `forward` on a thread of its own from the pieces `peer` receives to `out`, client 0.
fn spawn_forward(
    peer: mpsc::Receiver<Vec<u8>>,
    out: impl Write + Send + 'static,
    direction: Direction,
    recorder: &Recorder,
) -> std::thread::JoinHandle<io::Result<u64>> {
    let record = recorder.handle();
    std::thread::spawn(move || forward(Peer(peer, Vec::new()), out, direction, 0, record))
}

#[test]
fn forwarded_bytes_are_recorded_byte_exact_before_the_next_chunk_is_read() {
    let (_dir, path, recorder) = file_recorder();
    let (to_peer, peer) = mpsc::channel();
    let (out, forwarded) = mpsc::channel();
    let copy = spawn_forward(peer, Out(out), Direction::ClientToAdapter, &recorder);
    let first = frame(r#"{"seq":1,"type":"request","command":"initialize"}"#);
    let second = frame(r#"{"seq":2,"type":"request","command":"threads"}"#);
    // A frame in three pieces, junk, and a frame, each forwarded before the next is sent.
    let pieces: [&[u8]; 5] = [
        &first[..10],
        &first[10..30],
        &first[30..],
        b"junk\n",
        &second,
    ];
    let mut sent = Vec::new();
    let wait = Duration::from_secs(10);
    for (i, piece) in pieces.iter().enumerate() {
        to_peer.send(piece.to_vec()).unwrap();
        sent.extend_from_slice(piece);
        assert_eq!(forwarded.recv_timeout(wait).unwrap(), *piece);
        // The chunk before this one was recorded before this one was read: a killed
        // recorder would lose at most the chunk in flight.
        // (The junk is known to end only when the next frame begins.)
        let recorded = std::fs::read_to_string(&path).unwrap();
        let initialize = recorded.contains(r#""command":"initialize""#);
        match i {
            0 | 1 => assert!(!initialize, "a frame recorded before it was whole"),
            2 => {} // being recorded now, or already
            _ => assert!(initialize, "after piece {i}: {recorded}"),
        }
    }
    drop(to_peer);
    let n = copy.join().unwrap().unwrap();
    recorder.finish().unwrap();
    assert_eq!(n, sent.len() as u64);
    assert_eq!(stream(&path, Direction::ClientToAdapter), sent);
    assert!(stream(&path, Direction::AdapterToClient).is_empty());
}

/// Two directions through one recorder: a reply read after its request was forwarded is
/// recorded after it, even when the request's own thread is still busy forwarding.
#[test]
fn the_trace_keeps_the_wire_order_across_directions() {
    let (_dir, path, recorder) = file_recorder();
    // client → adapter: the adapter side answers each request it receives at once.
    let (to_c2a, c2a_in) = mpsc::channel();
    let (to_a2c, a2c_in) = mpsc::channel::<Vec<u8>>();
    let (to_client, client_gets) = mpsc::channel();
    struct Answering(mpsc::Sender<Vec<u8>>);
    impl Write for Answering {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let text = String::from_utf8_lossy(buf);
            if let Some(at) = text.find(r#""seq":"#) {
                let seq: String = text[at + 6..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                let reply = format!(
                    r#"{{"seq":{seq},"type":"response","request_seq":{seq},"success":true,"command":"threads"}}"#
                );
                let _ = self.0.send(frame(&reply));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let c2a = spawn_forward(
        c2a_in,
        Answering(to_a2c),
        Direction::ClientToAdapter,
        &recorder,
    );
    let a2c = spawn_forward(
        a2c_in,
        Out(to_client),
        Direction::AdapterToClient,
        &recorder,
    );
    for seq in 1..=200 {
        let request = format!(r#"{{"seq":{seq},"type":"request","command":"threads"}}"#);
        to_c2a.send(frame(&request)).unwrap();
        client_gets.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    drop(to_c2a);
    c2a.join().unwrap().unwrap();
    a2c.join().unwrap().unwrap();
    recorder.finish().unwrap();
    let mut reader = TraceReader::open(&path).unwrap();
    let mut kinds = Vec::new();
    while let Some(record) = reader.next_record().unwrap() {
        kinds.push(record.direction);
    }
    assert_eq!(kinds.len(), 400);
    for (i, pair) in kinds.chunks(2).enumerate() {
        assert_eq!(
            pair,
            [Direction::ClientToAdapter, Direction::AdapterToClient],
            "exchange {i}: the reply recorded before its request"
        );
    }
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
    // Many chunks: forwarding must go on while the recorder fails.
    let body = r#"{"seq":1,"type":"event","event":"output"}"#;
    let (to_peer, peer) = mpsc::channel();
    let mut sent = Vec::new();
    for _ in 0..1024 {
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

/// A request/response exchange over real pipes through two spinning forwarders (what
/// `dapkit record` runs on Linux): every byte arrives in order both ways and the trace
/// holds both streams byte-exact, whether replies come at once or after a window ran out.
#[cfg(target_os = "linux")]
#[test]
fn spinning_forwarders_forward_and_record_both_directions_byte_exact() {
    use dapkit_trace::record::forward_spinning;

    fn pipe() -> (std::fs::File, std::fs::File) {
        let (r, w) = std::io::pipe().expect("a pipe");
        (
            std::fs::File::from(std::os::fd::OwnedFd::from(r)),
            std::fs::File::from(std::os::fd::OwnedFd::from(w)),
        )
    }
    let (_dir, path, recorder) = file_recorder();
    // client → (c2a pipe) → forwarder → (adapter-in pipe) → adapter
    // adapter → (a2c pipe) → forwarder → (client-in pipe) → client
    let (c2a_read, mut client_out) = pipe();
    let (mut adapter_in, adapter_in_write) = pipe();
    let (a2c_read, mut adapter_out) = pipe();
    let (mut client_in, client_in_write) = pipe();
    let (c2a_spin, a2c_spin) =
        dapkit_trace::spin::pair(&c2a_read, &a2c_read, Duration::from_micros(200)).unwrap();
    // One forwarding thread per direction, each with its side of the pair.
    let spawn = |from: std::fs::File, to: std::fs::File, direction, spin| {
        let record = recorder.handle();
        std::thread::spawn(move || forward_spinning(from, to, direction, 0, record, &spin))
    };
    let c2a = spawn(
        c2a_read,
        adapter_in_write,
        Direction::ClientToAdapter,
        c2a_spin,
    );
    let a2c = spawn(
        a2c_read,
        client_in_write,
        Direction::AdapterToClient,
        a2c_spin,
    );
    // The adapter answers each frame with a response frame, the slow ones after the
    // forwarder's window has run out.
    let adapter = std::thread::spawn(move || {
        let mut sent = Vec::new();
        for i in 1..=40u32 {
            let request = frame(&format!(
                r#"{{"seq":{i},"type":"request","command":"threads"}}"#
            ));
            let mut got = vec![0u8; request.len()];
            adapter_in.read_exact(&mut got).unwrap();
            assert_eq!(got, request, "request {i} arrived changed");
            if i % 10 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
            let response = frame(&format!(
                r#"{{"seq":{i},"type":"response","request_seq":{i},"success":true,"command":"threads"}}"#
            ));
            adapter_out.write_all(&response).unwrap();
            sent.extend_from_slice(&response);
        }
        sent
    });
    let mut sent = Vec::new();
    let mut received = Vec::new();
    for i in 1..=40u32 {
        let request = frame(&format!(
            r#"{{"seq":{i},"type":"request","command":"threads"}}"#
        ));
        client_out.write_all(&request).unwrap();
        sent.extend_from_slice(&request);
        let response = frame(&format!(
            r#"{{"seq":{i},"type":"response","request_seq":{i},"success":true,"command":"threads"}}"#
        ));
        let mut got = vec![0u8; response.len()];
        client_in.read_exact(&mut got).unwrap();
        assert_eq!(got, response, "response {i} arrived changed");
        received.extend_from_slice(&got);
    }
    let adapter_sent = adapter.join().unwrap();
    assert_eq!(received, adapter_sent);
    drop(client_out);
    assert_eq!(c2a.join().unwrap().unwrap(), sent.len() as u64);
    let mut rest = Vec::new();
    assert_eq!(
        client_in.read_to_end(&mut rest).unwrap(),
        0,
        "nothing after the end"
    );
    assert_eq!(a2c.join().unwrap().unwrap(), adapter_sent.len() as u64);
    recorder.finish().unwrap();
    assert_eq!(stream(&path, Direction::ClientToAdapter), sent);
    assert_eq!(stream(&path, Direction::AdapterToClient), adapter_sent);
}
