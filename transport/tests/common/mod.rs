//! Helpers shared by the integration tests: private temp dirs and process checks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A temporary directory removed (with its contents) on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dapkit-transport-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free loopback port: bind 127.0.0.1:0, read the port, close the listener.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Whether process `pid` is running (exists and is not a zombie): `/proc` on Linux,
/// `ps` elsewhere.
pub fn process_alive(pid: u32) -> bool {
    let state = if Path::new("/proc/self/stat").exists() {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                // the state follows the parenthesised command name
                let (_, rest) = stat.rsplit_once(')')?;
                rest.split_whitespace().next().map(str::to_owned)
            })
    } else {
        std::process::Command::new("ps")
            .args(["-o", "stat=", "-p", &pid.to_string()])
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    state.is_some_and(|s| !s.starts_with('Z') && !s.starts_with('X'))
}

/// Polls until `pid` is gone or `limit` passes; returns whether it is gone.
pub fn wait_gone(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !process_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    !process_alive(pid)
}

/// The python interpreter for plain scripts (no debugpy needed).
pub fn python3() -> String {
    std::env::var("DAPKIT_PEER_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}
