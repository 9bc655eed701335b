//! Against a real peer: debugpy's adapter over TCP on 127.0.0.1, driven through this
//! crate's sync reader and writer (and, separately, its async stream and sink).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_wireformat::{FrameReader, FrameWriter};
use serde_json::{Value, json};
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Python interpreter that has debugpy: `DAPKIT_PEER_PYTHON`, or `.peers/venv` of the
/// workspace.
fn peer_python() -> PathBuf {
    let p = match std::env::var_os("DAPKIT_PEER_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.peers/venv/bin/python"),
    };
    assert!(
        p.exists(),
        "debugpy peer not installed: {} is missing; run `bash .ci/install-peers` from the \
         workspace root (or set DAPKIT_PEER_PYTHON)",
        p.display()
    );
    let has_debugpy = Command::new(&p)
        .args(["-c", "import debugpy.adapter"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_debugpy,
        "debugpy peer not installed: {} cannot import debugpy; run `bash .ci/install-peers` \
         from the workspace root (or set DAPKIT_PEER_PYTHON)",
        p.display()
    );
    p
}

/// The running adapter process and a scratch directory; both cleaned up on drop, also
/// when the test fails.
struct Adapter {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Adapter {
    fn start(tag: &str) -> Adapter {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dir = std::env::temp_dir().join(format!(
            "dapkit-wireformat-{tag}-{}-{}",
            std::process::id(),
            port
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(peer_python())
            .args(["-m", "debugpy.adapter", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start debugpy adapter");
        Adapter { child, dir, port }
    }

    /// Connects, retrying until the adapter listens; keeps the first socket that connects.
    fn connect(&mut self) -> TcpStream {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match TcpStream::connect(("127.0.0.1", self.port)) {
                Ok(s) => return s,
                Err(e) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!(
                            "debugpy adapter exited early ({status}) before accepting; if the \
                             peer is broken, run `bash .ci/install-peers` from the workspace root"
                        );
                    }
                    assert!(Instant::now() < deadline, "adapter never accepted: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn initialize_request() -> Value {
    json!({
        "seq": 1, "type": "request", "command": "initialize",
        "arguments": {
            "clientID": "dapkit-wireformat-test", "adapterID": "debugpy",
            "pathFormat": "path", "linesStartAt1": true, "columnsStartAt1": true,
            "supportsRunInTerminalRequest": false, "locale": "en-us"
        }
    })
}

fn assert_initialize_response(resp: &Value) {
    assert_eq!(resp["type"], "response", "{resp}");
    assert_eq!(resp["request_seq"], 1, "{resp}");
    assert_eq!(resp["success"], true, "{resp}");
    let caps = &resp["body"];
    assert_eq!(caps["supportsConfigurationDoneRequest"], true, "{caps}");
    assert_eq!(caps["supportsConditionalBreakpoints"], true, "{caps}");
    assert_eq!(caps["supportsExceptionInfoRequest"], true, "{caps}");
    let filters: Vec<&str> = caps["exceptionBreakpointFilters"]
        .as_array()
        .expect("exceptionBreakpointFilters")
        .iter()
        .filter_map(|f| f["filter"].as_str())
        .collect();
    assert!(filters.contains(&"uncaught"), "{filters:?}");
}

#[test]
fn debugpy_initialize_launch_configuration_done_terminated() {
    let mut adapter = Adapter::start("sync");
    let program = adapter.dir.join("hello.py");
    // Multi-byte output checks that Content-Length counts bytes on both ends.
    std::fs::write(&program, "print('dapkit h\\u00e9llo \\U0001F980 done')\n").unwrap();

    let socket = adapter.connect();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = FrameWriter::new(socket.try_clone().unwrap());
    let mut reader = FrameReader::new(BufReader::new(socket));
    let deadline = Instant::now() + Duration::from_secs(90);
    let next = |reader: &mut FrameReader<BufReader<TcpStream>>| -> Value {
        assert!(Instant::now() < deadline, "debugpy session took too long");
        match reader.read_message::<Value>() {
            Ok(Some(v)) => v,
            Ok(None) => panic!("debugpy closed the connection early"),
            Err(e) => panic!("reading from debugpy: {e}"),
        }
    };

    writer.write_message(&initialize_request()).unwrap();
    let resp = loop {
        let msg = next(&mut reader);
        if msg["type"] == "response" {
            break msg;
        }
        assert_eq!(msg["type"], "event", "{msg}");
    };
    assert_initialize_response(&resp);

    writer
        .write_message(&json!({
            "seq": 2, "type": "request", "command": "launch",
            "arguments": {
                "program": program.to_str().unwrap(),
                "cwd": adapter.dir.to_str().unwrap(),
                "console": "internalConsole",
                "python": [peer_python().to_str().unwrap()],
                "justMyCode": true
            }
        }))
        .unwrap();

    let mut sent_configuration_done = false;
    let mut responses = Vec::new();
    let mut stdout = String::new();
    loop {
        let msg = next(&mut reader);
        match (msg["type"].as_str(), msg["event"].as_str()) {
            (Some("event"), Some("initialized")) => {
                assert!(!sent_configuration_done, "second initialized event");
                writer
                    .write_message(&json!({
                        "seq": 3, "type": "request", "command": "configurationDone"
                    }))
                    .unwrap();
                sent_configuration_done = true;
            }
            (Some("event"), Some("output")) if msg["body"]["category"] == "stdout" => {
                stdout.push_str(msg["body"]["output"].as_str().unwrap_or(""));
            }
            (Some("event"), Some("terminated")) => break,
            (Some("response"), _) => {
                assert_eq!(msg["success"], true, "{msg}");
                responses.push(msg["command"].as_str().unwrap_or("").to_owned());
            }
            _ => {}
        }
    }
    assert!(sent_configuration_done, "never saw the initialized event");
    assert!(responses.iter().any(|c| c == "launch"), "{responses:?}");
    assert!(
        responses.iter().any(|c| c == "configurationDone"),
        "{responses:?}"
    );
    assert!(
        stdout.contains("dapkit h\u{e9}llo \u{1f980} done"),
        "program output not seen: {stdout:?}"
    );
}

#[cfg(feature = "tokio")]
#[test]
fn debugpy_initialize_through_async_stream_and_sink() {
    use dapkit_wireformat::{MessageStream, message_sink};
    use futures_util::{SinkExt, StreamExt};

    let mut adapter = Adapter::start("async");
    let socket = adapter.connect();
    socket.set_nonblocking(true).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let socket = tokio::net::TcpStream::from_std(socket).unwrap();
        let (read, write) = socket.into_split();
        let mut sink = message_sink(write);
        let mut stream = MessageStream::<_, Value>::new(read);
        sink.send(initialize_request()).await.unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let msg = stream.next().await.expect("adapter closed").unwrap();
                if msg["type"] == "response" {
                    return msg;
                }
            }
        })
        .await
        .expect("no initialize response within 30 s");
        assert_initialize_response(&resp);
        sink.send(json!({"seq": 2, "type": "request", "command": "disconnect"}))
            .await
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let msg = stream.next().await.expect("adapter closed").unwrap();
                if msg["type"] == "response" {
                    return msg;
                }
            }
        })
        .await
        .expect("no disconnect response within 30 s");
        assert_eq!(resp["command"], "disconnect", "{resp}");
        assert_eq!(resp["request_seq"], 2, "{resp}");
    });
}
