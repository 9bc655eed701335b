//! The writers: exact headers, one write per message, no interleaving across threads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_wireformat::{ErrorKind, FrameReader, FrameWriter, SharedFrameWriter};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

/// Records every `write` call separately; accepts at most `max_write` bytes per call.
#[derive(Clone, Default)]
struct Recorder {
    writes: Arc<Mutex<Vec<Vec<u8>>>>,
    flushes: Arc<Mutex<usize>>,
    max_write: usize,
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = if self.max_write == 0 {
            buf.len()
        } else {
            buf.len().min(self.max_write)
        };
        self.writes.lock().unwrap().push(buf[..n].to_vec());
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        *self.flushes.lock().unwrap() += 1;
        Ok(())
    }
}

#[test]
fn one_write_per_message_exact_header() {
    let rec = Recorder::default();
    let mut writer = FrameWriter::new(rec.clone());
    writer.write_frame(b"{\"seq\":1}").unwrap();
    writer
        .write_message(&json!({"text": "h\u{e9}llo \u{1f980}"}))
        .unwrap();
    writer.write_frame(b"").unwrap();
    let writes = rec.writes.lock().unwrap().clone();
    assert_eq!(
        writes,
        vec![
            b"Content-Length: 9\r\n\r\n{\"seq\":1}".to_vec(),
            "Content-Length: 22\r\n\r\n{\"text\":\"h\u{e9}llo \u{1f980}\"}"
                .as_bytes()
                .to_vec(),
            b"Content-Length: 0\r\n\r\n".to_vec(),
        ]
    );
    assert_eq!(*rec.flushes.lock().unwrap(), 3);
}

#[test]
fn write_then_read_round_trip() {
    let mut wire = Vec::new();
    let messages: Vec<Value> = (0..50)
        .map(|i| json!({"seq": i, "type": "event", "event": "output", "body": {"output": "\u{1f600}".repeat(i)}}))
        .collect();
    let mut writer = FrameWriter::new(&mut wire);
    for m in &messages {
        writer.write_message(m).unwrap();
    }
    let mut reader = FrameReader::new(&wire[..]);
    for m in &messages {
        assert_eq!(&reader.read_message::<Value>().unwrap().unwrap(), m);
    }
    assert!(reader.read_message::<Value>().unwrap().is_none());
}

#[test]
fn unserializable_value_writes_nothing() {
    let rec = Recorder::default();
    let mut writer = FrameWriter::new(rec.clone());
    let mut bad = HashMap::new();
    bad.insert((1, 2), 3);
    let err = writer.write_message(&bad).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Serialize);
    assert!(err.is_recoverable());
    assert!(err.to_string().contains("key must be a string"), "{err}");
    assert!(rec.writes.lock().unwrap().is_empty());
    writer.write_message(&json!({"ok": true})).unwrap();
    assert_eq!(rec.writes.lock().unwrap().len(), 1);
}

#[test]
fn io_errors_are_fatal() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "peer went away"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let err = FrameWriter::new(Broken).write_frame(b"{}").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(!err.is_recoverable());
    assert_eq!(
        err.io_error().map(|e| e.kind()),
        Some(io::ErrorKind::BrokenPipe)
    );
}

#[test]
fn shared_writer_never_interleaves() {
    // The sink takes at most 7 bytes per call, so each message needs many write calls:
    // without the lock, threads would interleave inside messages.
    let rec = Recorder {
        max_write: 7,
        ..Recorder::default()
    };
    let writer = SharedFrameWriter::new(rec.clone());
    let threads = 8;
    let per_thread = 200;
    std::thread::scope(|s| {
        for t in 0..threads {
            let writer = writer.clone();
            s.spawn(move || {
                for i in 0..per_thread {
                    let pad = "x".repeat((t * 31 + i * 7) % 300);
                    writer
                        .write_message(&json!({"thread": t, "i": i, "pad": pad}))
                        .unwrap();
                }
            });
        }
    });
    let wire: Vec<u8> = rec.writes.lock().unwrap().concat();
    let mut reader = FrameReader::new(&wire[..]);
    let mut next = vec![0u64; threads];
    let mut total = 0;
    while let Some(v) = reader.read_message::<Value>().unwrap() {
        let t = v["thread"].as_u64().unwrap() as usize;
        assert_eq!(v["i"].as_u64().unwrap(), next[t], "thread {t} out of order");
        next[t] += 1;
        total += 1;
    }
    assert_eq!(total, threads * per_thread);
}
