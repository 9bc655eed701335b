//! The blocking adapter the benches of session, proxy and trace measure against: a thread
//! per connection, plain `Content-Length` framing by hand (no dapkit code in the baseline),
//! every request answered with a one-thread `threads` body; `flood` first sends
//! [`EVENTS_PER_FLOOD`] small `output` events. Shared with `#[path]`.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

/// `output` events sent before answering `flood`.
pub const EVENTS_PER_FLOOD: usize = 20_000;

/// A blocking responder: answers `threads` with a one-thread body; answers `flood` by first
/// sending `EVENTS_PER_FLOOD` small output events. One thread per connection.
pub fn responder() -> SocketAddr {
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

pub fn read_frame(
    reader: &mut BufReader<TcpStream>,
    line: &mut String,
    body: &mut Vec<u8>,
) -> bool {
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

pub fn write_frame(out: &mut Vec<u8>, body: &[u8]) {
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
                write_frame(&mut out, ev.as_bytes());
            }
        }
        seq += 1;
        let resp = format!(
            r#"{{"seq":{seq},"type":"response","request_seq":{},"success":true,"command":"{command}","body":{{"threads":[{{"id":1,"name":"main"}}]}}}}"#,
            req["seq"]
        );
        write_frame(&mut out, resp.as_bytes());
        if writer.write_all(&out).is_err() {
            return;
        }
    }
}
