//! [`Tasks`]: the reader and writer task handles a session handle keeps, taken once to be
//! joined or aborted.

use super::queue::lock;
use std::sync::Mutex;
use tokio::task::JoinHandle;

pub(crate) struct Tasks {
    reader: Mutex<Option<JoinHandle<()>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Tasks {
    pub fn new(reader: JoinHandle<()>, writer: JoinHandle<()>) -> Self {
        Tasks {
            reader: Mutex::new(Some(reader)),
            writer: Mutex::new(Some(writer)),
        }
    }

    /// The reader task, unless taken already.
    pub fn take_reader(&self) -> Option<JoinHandle<()>> {
        lock(&self.reader).take()
    }

    /// The writer task, unless taken already.
    pub fn take_writer(&self) -> Option<JoinHandle<()>> {
        lock(&self.writer).take()
    }

    /// Stops the reader task (if not taken already) without waiting for it.
    pub fn abort_reader(&self) {
        if let Some(reader) = self.take_reader() {
            reader.abort();
        }
    }
}
