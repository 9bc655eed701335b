//! `--record`: a dapkit trace of every message on both sides of the translation.
//!
//! Client ids in the trace: `0` is the upstream side (the proxy ↔ the adapter, as the
//! adapter sees it), `1`, `2`, … are the proxy's clients in the order they connected (as
//! each client sees its messages). Records go to a writer thread through a bounded
//! channel ([`RECORD_QUEUE`] messages); when it is full the proxy waits for the disk, so
//! memory stays bounded and nothing is dropped.

use dapkit_trace::{Direction, Header, TraceWriter};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// How many records wait for the writer thread before the proxy waits for it.
pub const RECORD_QUEUE: usize = 4096;

enum Item {
    Message(Direction, u32, Vec<u8>),
    Invalid(Direction, u32, Vec<u8>, String),
}

/// A handle on the recording (cheap to clone).
#[derive(Clone)]
pub(crate) struct Recorder {
    tx: Arc<Mutex<Option<SyncSender<Item>>>>,
    thread: Arc<Mutex<Option<JoinHandle<std::io::Result<()>>>>>,
    path: PathBuf,
}

impl Recorder {
    /// Creates the trace file (gzip if its name ends in `.gz`) and starts the writer.
    pub fn create(path: &Path, adapter: serde_json::Value) -> std::io::Result<Recorder> {
        let header =
            Header::new(adapter).with_tool(concat!("dapkit-proxy ", env!("CARGO_PKG_VERSION")));
        let mut writer = TraceWriter::create(path, &header)?;
        let (tx, rx) = sync_channel::<Item>(RECORD_QUEUE);
        let thread = std::thread::Builder::new()
            .name("dapkit-proxy-record".into())
            .spawn(move || {
                for item in rx {
                    match item {
                        Item::Message(dir, client, body) => writer.message(dir, client, &body)?,
                        Item::Invalid(dir, client, bytes, error) => {
                            writer.invalid(dir, client, &bytes, &error)?
                        }
                    }
                }
                writer.finish()
            })?;
        Ok(Recorder {
            tx: Arc::new(Mutex::new(Some(tx))),
            thread: Arc::new(Mutex::new(Some(thread))),
            path: path.to_owned(),
        })
    }

    fn send(&self, item: Item) {
        let tx = match self.tx.lock() {
            Ok(tx) => tx.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        // Finished already: nothing more is recorded.
        let Some(tx) = tx else { return };
        if tx.send(item).is_err() {
            tracing::warn!(
                "recording to {} stopped: the writer failed",
                self.path.display()
            );
        }
    }

    /// Records one message body.
    pub fn message(&self, dir: Direction, client: u32, body: &[u8]) {
        self.send(Item::Message(dir, client, body.to_vec()));
    }

    /// Records bytes that were not a message.
    pub fn invalid(&self, dir: Direction, client: u32, bytes: &[u8], error: &str) {
        self.send(Item::Invalid(dir, client, bytes.to_vec(), error.to_owned()));
    }

    /// Stops recording: what is queued is written, the file is finished (later records
    /// are ignored). The first call does it.
    pub fn finish(&self) -> std::io::Result<()> {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        match thread {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the trace writer panicked"))),
            None => Ok(()),
        }
    }
}
