//! Client and adapter sessions for the Debug Adapter Protocol, on tokio.
//!
//! - [`client`]: the client side — send typed requests to a debug adapter, receive its
//!   events, answer its reverse requests.

pub mod client;

pub use client::{Client, ClientOptions, Events, RequestError};
