//! Windows named pipes (`\\.\pipe\name`), client and server side, on tokio's
//! `net::windows::named_pipe`. Compiled only on Windows; not tested in this project's CI.

use std::io;

use tokio::net::windows::named_pipe::{ClientOptions, NamedPipeServer, ServerOptions};

use crate::connection::{BoxedReader, BoxedWriter};

/// The full pipe name for a generated suffix.
pub(crate) fn unique_name(suffix: &str) -> String {
    format!(r"\\.\pipe\dapkit-{suffix}")
}

/// One connect attempt. A missing pipe (`NotFound`) or a busy one (`ERROR_PIPE_BUSY`) is
/// an ordinary error that the retry loop retries.
pub(crate) fn connect(name: &str) -> io::Result<(BoxedReader, BoxedWriter)> {
    let client = ClientOptions::new().open(name)?;
    let (r, w) = tokio::io::split(client);
    Ok((Box::new(r), Box::new(w)))
}

/// A pipe server: one instance waits for a client; after each accept a new instance is
/// created for the next client.
pub(crate) struct PipeListener {
    name: String,
    next: NamedPipeServer,
}

impl PipeListener {
    pub(crate) fn bind(name: &str) -> io::Result<Self> {
        let next = ServerOptions::new()
            .first_pipe_instance(true)
            .create(name)?;
        Ok(PipeListener {
            name: name.to_owned(),
            next,
        })
    }

    pub(crate) async fn accept(&mut self) -> io::Result<(BoxedReader, BoxedWriter)> {
        self.next.connect().await?;
        let fresh = ServerOptions::new().create(&self.name)?;
        let connected = std::mem::replace(&mut self.next, fresh);
        let (r, w) = tokio::io::split(connected);
        Ok((Box::new(r), Box::new(w)))
    }
}
