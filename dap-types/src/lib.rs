//! Typed, lossless Debug Adapter Protocol messages, generated from the official JSON schema.
//!
//! - [`ProtocolMessage`] is any message; [`Request`], [`Response`] and [`Event`] are typed by
//!   `command`/`event`, with `Custom` variants for names this crate does not know.
//! - [`messages`] holds one struct per message of the schema (`InitializeRequest`,
//!   `StoppedEvent`, ...); [`types`] holds every other schema type (`Capabilities`,
//!   `Source`, argument and body objects).
//! - [`traits`] ties each request to its arguments and response, each event to its body.
//! - [`Data`] gives `from_data`/`as_data`/`from_slice`/`to_vec`/`to_writer` on every type.
//!
//! Every object keeps the properties the schema does not declare in `extra` and writes them
//! back: decoding then encoding any message gives JSON equal to the input.
//!
//! Objects are `#[non_exhaustive]`: build them with `new` (required properties) and
//! `with_*` setters, so that a protocol version adding optional properties does not break
//! your code:
//!
//! ```
//! use dapkit_types::types::{Source, SourceBreakpoint, SetBreakpointsArguments};
//! use dapkit_types::messages::SetBreakpointsRequest;
//! use dapkit_types::traits::Request as _;
//!
//! let args = SetBreakpointsArguments::new(Source::new().with_path("/src/app.py"))
//!     .with_breakpoints(vec![SourceBreakpoint::new(12).with_condition("x > 3")]);
//! let req = SetBreakpointsRequest::from_arguments(5, args);
//! let json = serde_json::to_value(&req).unwrap_or_default();
//! assert_eq!(json["command"], "setBreakpoints");
//! assert_eq!(json["arguments"]["breakpoints"][0]["line"], 12);
//! ```

mod data;
mod error;
mod message;
#[doc(hidden)]
pub mod private;
mod raw;
mod read;
mod scan;
pub mod traits;
pub mod validate;

/// Every schema type that is not a message: capabilities, sources, breakpoints, argument
/// and body objects. Generated from the schema.
#[rustfmt::skip]
#[path = "generated/types.rs"]
pub mod types;

/// One struct per message of the schema, and the [`Request`], [`Response`] and [`Event`]
/// enums that dispatch on `command`/`event`. Generated from the schema.
#[rustfmt::skip]
#[path = "generated/messages.rs"]
pub mod messages;

pub use data::Data;
pub use error::Error;
pub use message::{Envelope, ProtocolMessage};
pub use messages::{DAP_VERSION, ErrorResponse, Event, Request, Response};
pub use raw::RawMessage;
pub use validate::{Validate, Violation};
