//! Content-Length framing for the Debug Adapter Protocol.
//!
//! A DAP message on the wire is a header block, `Content-Length: N\r\n\r\n`, followed by
//! exactly `N` bytes of UTF-8 JSON. This crate reads and writes such frames:
//!
//! * [`FrameReader`] over any [`std::io::BufRead`] yields [`Frame`]s (body bytes, without
//!   a copy when the body sits in the reader's buffer) or typed messages through serde;
//! * [`FrameWriter`] over any [`std::io::Write`] writes each message with one write, and
//!   [`SharedFrameWriter`] lets several threads write without interleaving messages;
//! * with the `tokio` feature, `DapCodec` and `MessageCodec` are tokio-util codecs,
//!   `FrameStream` / `MessageStream` are streams that keep going after recoverable errors,
//!   and `message_sink` gives a sink of serializable messages.
//!
//! Reading is lenient (header names in any case, other headers ignored, bare `\n` line
//! ends), bounded by [`Limits`] (a peer announcing a huge body costs nothing until the
//! bytes arrive; an over-limit body is skipped and reported), and recovering: an
//! [`Error`] says through [`Error::is_recoverable`] whether reading can go on. Resync mode
//! ([`FrameReader::with_resync`]) skips junk up to the next `Content-Length` header.
//! Writing is exact: `Content-Length: N\r\n\r\n`.
//!
//! The crate does not know DAP's message types: any `T: Deserialize` / `Serialize` works.
//!
//! # Sync
//!
//! ```
//! use dapkit_wireformat::{FrameReader, FrameWriter};
//! use serde_json::{Value, json};
//!
//! let mut wire = Vec::new();
//! let mut writer = FrameWriter::new(&mut wire);
//! writer.write_message(&json!({"seq": 1, "type": "request", "command": "initialize"}))?;
//! writer.write_frame(br#"{"seq":2,"type":"event","event":"initialized"}"#)?;
//!
//! let mut reader = FrameReader::new(&wire[..]);
//! let first: Value = reader.read_message()?.expect("a message");
//! assert_eq!(first["command"], "initialize");
//! let frame = reader.read_frame()?.expect("a frame");
//! assert!(frame.starts_with(b"{\"seq\":2"));
//! assert!(reader.read_frame()?.is_none()); // clean end of stream
//! # Ok::<(), dapkit_wireformat::Error>(())
//! ```
//!
//! Recoverable errors can be reported and skipped:
//!
//! ```
//! use dapkit_wireformat::{ErrorKind, FrameReader};
//!
//! let wire = b"Content-Length: 3\r\n\r\nnopContent-Length: 2\r\n\r\n{}";
//! let mut reader = FrameReader::new(&wire[..]);
//! let err = reader.read_message::<serde_json::Value>().unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::InvalidJson);
//! assert!(err.is_recoverable());
//! assert_eq!(reader.read_frame()?.as_deref(), Some(&b"{}"[..]));
//! # Ok::<(), dapkit_wireformat::Error>(())
//! ```
//!
//! # Async (feature `tokio`)
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # fn main() -> Result<(), dapkit_wireformat::Error> {
//! use dapkit_wireformat::{MessageStream, message_sink};
//! use futures_util::{SinkExt, StreamExt};
//! use serde_json::{Value, json};
//!
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! rt.block_on(async {
//!     let (client, server) = tokio::io::duplex(64 * 1024);
//!     let mut sink = message_sink(client);
//!     sink.send(json!({"seq": 1, "type": "request", "command": "threads"})).await?;
//!
//!     let mut stream = MessageStream::<_, Value>::new(server);
//!     let request = stream.next().await.expect("a message")?;
//!     assert_eq!(request["command"], "threads");
//!     Ok(())
//! })
//! # }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```

mod error;
mod header;
mod limits;
mod message;
mod read;
mod summary;
mod write;

#[cfg(feature = "tokio")]
mod codec;
#[cfg(feature = "tokio")]
mod stream;

pub use error::{Error, ErrorKind, PREFIX_LEN};
pub use limits::Limits;
pub use read::{Frame, FrameReader};
pub use write::{FrameWriter, SharedFrameWriter};

#[cfg(feature = "tokio")]
pub use codec::{DapCodec, MessageCodec};
#[cfg(feature = "tokio")]
pub use stream::{FrameStream, MessageSink, MessageStream, message_sink};
