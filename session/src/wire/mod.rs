//! What the client side and the adapter side have in common underneath their public
//! types (crate-private):
//!
//! - [`queue`]: the outgoing queue: `seq` allocation, the waiters of requests sent
//!   (client requests, adapter reverse requests) keyed by their `seq`, and queueing of
//!   the frame, all under one lock;
//! - [`writer`]: the writer task: framing, batching, flush acknowledgements, close;
//! - [`reader`]: the next whole frame for a reader task, and what a bad message becomes
//!   in a diagnostic;
//! - [`tasks`]: the reader and writer task handles a session handle keeps;
//! - [`text`]: the wording both sides' errors and diagnostics share.

pub(crate) mod queue;
pub(crate) mod reader;
pub(crate) mod tasks;
pub(crate) mod text;
pub(crate) mod writer;

pub(crate) use queue::{Claim, Outgoing, QueueError, SendQueue};
pub(crate) use tasks::Tasks;
