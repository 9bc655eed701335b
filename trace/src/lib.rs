//! The dapkit trace format: a Debug Adapter Protocol session kept as JSON Lines, every
//! message byte-exact as it was on the wire.
//!
//! A trace is a header record followed by one record per message (or per run of bytes
//! that was not a message). See `trace/README.md` for the format, versioned from day one
//! ([`FORMAT_VERSION`]).
//!
//! Reading and writing are synchronous and streaming: [`TraceReader`] yields one
//! [`Record`] at a time and [`TraceWriter`] flushes each record as it is written, so a
//! killed recorder loses at most the record in flight. Files whose name ends in `.gz`
//! are gzip-compressed; the reader also recognises gzip by its magic bytes.
//!
//! With the feature `tap`: [`tap`] splits raw byte streams into records (every byte kept),
//! [`redact`] takes secrets out, [`import`] builds a trace from two raw captures. With
//! `record`: [`record`] forwards a session's bytes unchanged while recording them.
//!
//! ```
//! use dapkit_trace::{Direction, Header, TraceReader, TraceWriter};
//!
//! let mut file = Vec::new();
//! let mut writer = TraceWriter::new(&mut file, &Header::new(serde_json::json!({"command": ["my-adapter"]})))?;
//! writer.message(Direction::ClientToAdapter, 0, br#"{"seq":1,"type":"request","command":"threads"}"#)?;
//! writer.invalid(Direction::AdapterToClient, 0, b"\xffnot json", "body is not valid JSON")?;
//! drop(writer);
//!
//! let mut reader = TraceReader::new(&file[..])?;
//! assert_eq!(reader.header().version, 1);
//! let first = reader.next_record()?.expect("a record");
//! assert_eq!(&*first.bytes(), br#"{"seq":1,"type":"request","command":"threads"}"#);
//! let second = reader.next_record()?.expect("a record");
//! assert_eq!(second.error(), Some("body is not valid JSON"));
//! assert!(reader.next_record()?.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod diff;
mod error;
mod flags;
mod format;
pub mod html;
mod reader;
pub mod replay;
pub mod summary;
pub mod text;
pub mod validate;
mod writer;

#[cfg(feature = "tap")]
pub mod import;
#[cfg(feature = "record")]
pub mod record;
#[cfg(feature = "tap")]
pub mod redact;
#[cfg(feature = "record")]
pub mod spin;
#[cfg(feature = "tap")]
pub mod tap;

pub use error::{ReadError, ReadErrorKind};
pub use format::{Direction, FORMAT_VERSION, Header, Payload, RawJson, Record, format_time};
pub use reader::{DEFAULT_MAX_LINE, TraceReader};
pub use writer::{TraceFile, TraceWriter};
