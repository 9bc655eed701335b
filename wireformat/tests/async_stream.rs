//! The async layer: codec with `FramedRead`, recovering streams, sinks, real TCP on
//! loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_wireformat::{
    DapCodec, ErrorKind, FrameStream, Limits, MessageCodec, MessageStream, message_sink,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{FramedRead, FramedWrite};

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn framed_read_with_dap_codec() {
    rt().block_on(async {
        let mut data = frame(b"{\"seq\":1}");
        data.extend(frame("{\"t\":\"\u{1f980}\"}".as_bytes()));
        let frames: Vec<_> = FramedRead::new(&data[..], DapCodec::new())
            .map(|f| f.unwrap())
            .collect()
            .await;
        assert_eq!(frames.len(), 2);
        assert_eq!(&frames[0][..], b"{\"seq\":1}");
        assert_eq!(&frames[1][..], "{\"t\":\"\u{1f980}\"}".as_bytes());
    });
}

#[test]
fn framed_write_with_dap_codec_is_exact() {
    rt().block_on(async {
        let mut out = Vec::new();
        let mut sink = FramedWrite::new(&mut out, DapCodec::new());
        sink.send(&b"{}"[..]).await.unwrap();
        sink.send(b"[1]".to_vec()).await.unwrap();
        drop(sink);
        assert_eq!(
            out,
            b"Content-Length: 2\r\n\r\n{}Content-Length: 3\r\n\r\n[1]"
        );
    });
}

#[test]
fn message_stream_recovers_from_bad_bodies_and_junk() {
    rt().block_on(async {
        let mut data = frame(br#"{"seq":1,"command":"launch""#); // broken JSON
        data.extend(b"junk line\r\n");
        data.extend(frame(br#"{"seq":2,"type":"request","command":"threads"}"#));
        data.extend(frame(&[b'x'; 100])); // over the body limit below
        data.extend(frame(br#"{"seq":3}"#));
        let frames = FrameStream::new(&data[..])
            .with_resync(true)
            .with_limits(Limits {
                max_body_bytes: 64,
                ..Limits::DEFAULT
            });
        let mut stream = MessageStream::<_, Value>::from_frames(frames);
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidJson);
        assert_eq!((err.seq(), err.command()), (Some(1), Some("launch")));
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Skipped);
        assert_eq!(err.prefix(), b"junk line\r\n");
        let v = stream.next().await.unwrap().unwrap();
        assert_eq!(v["command"], "threads");
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
        assert_eq!(err.length(), Some(100));
        let v = stream.next().await.unwrap().unwrap();
        assert_eq!(v["seq"], 3);
        assert!(stream.next().await.is_none());
        assert!(stream.next().await.is_none());
    });
}

#[test]
fn stream_ends_after_fatal_error() {
    rt().block_on(async {
        let data = b"Content-Length: 10\r\n\r\nabc";
        let mut stream = FrameStream::new(&data[..]);
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert!(!err.is_recoverable());
        assert!(stream.next().await.is_none());
    });
}

#[test]
fn huge_claim_does_not_reserve() {
    rt().block_on(async {
        let data = b"Content-Length: 4611686018427387904\r\n\r\n0123456789";
        let mut stream = FrameStream::new(&data[..]).with_limits(Limits {
            max_body_bytes: usize::MAX,
            ..Limits::DEFAULT
        });
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(err.prefix(), b"0123456789");
    });
}

#[test]
fn sink_and_stream_over_tcp_loopback_in_small_pieces() {
    rt().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let count = 300;
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let mut stream = MessageStream::<_, Value>::new(socket);
            let mut seen = Vec::new();
            while let Some(msg) = stream.next().await {
                seen.push(msg.unwrap());
            }
            seen
        });
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.set_nodelay(true).unwrap();
        // Half of the messages go through the sink, the other half byte by byte by hand.
        let (read_half, write_half) = client.into_split();
        drop(read_half);
        let mut sink = message_sink(write_half);
        for i in 0..count / 2 {
            sink.send(json!({"seq": i, "text": "\u{e9}\u{1f980}".repeat(i)}))
                .await
                .unwrap();
        }
        let mut raw = sink.into_inner();
        for i in count / 2..count {
            let body = json!({"seq": i, "text": "\u{e9}\u{1f980}".repeat(i)}).to_string();
            for b in frame(body.as_bytes()) {
                raw.write_all(&[b]).await.unwrap();
            }
        }
        raw.shutdown().await.unwrap();
        drop(raw);
        let seen = tokio::time::timeout(Duration::from_secs(30), server)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.len(), count);
        for (i, v) in seen.iter().enumerate() {
            assert_eq!(v["seq"], i);
            assert_eq!(v["text"].as_str().unwrap().chars().count(), 2 * i);
        }
    });
}

#[test]
fn message_codec_both_ways() {
    rt().block_on(async {
        let (a, b) = tokio::io::duplex(64);
        let mut writer = FramedWrite::new(a, MessageCodec::<Value>::new());
        let mut reader = FramedRead::new(b, MessageCodec::<Value>::new());
        let send = async {
            for i in 0..20 {
                writer.send(json!({"seq": i})).await.unwrap();
            }
            drop(writer);
        };
        let recv = async {
            let mut got = Vec::new();
            while let Some(v) = reader.next().await {
                got.push(v.unwrap()["seq"].as_u64().unwrap());
            }
            got
        };
        let ((), got) = tokio::join!(send, recv);
        assert_eq!(got, (0..20).collect::<Vec<u64>>());
    });
}
