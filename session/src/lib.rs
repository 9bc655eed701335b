//! Client and adapter sessions for the Debug Adapter Protocol, on tokio.
//!
//! - [`client`]: the client side — send typed requests to a debug adapter, receive its
//!   events, answer its reverse requests (`runInTerminal` and `startDebugging` are refused
//!   unless the client opts in and declares the capability), disconnect cleanly.
//!
//! Connections come from [`dapkit_transport`] (TCP, Unix sockets, an adapter's stdio;
//! connect with retry, never probing) or from any `AsyncRead` + `AsyncWrite` pair.
//!
//! # Example: a breakpoint in a Python program, with debugpy
//!
//! Start `python -m debugpy --listen 127.0.0.1:5678 --wait-for-client app.py`, then:
//!
//! ```no_run
//! use dapkit_session::{Client, ClientOptions};
//! use dapkit_transport::{Endpoint, RetryPolicy, connect};
//! use dapkit_types::{Event, messages::*, types::*};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = Endpoint::Tcp("127.0.0.1:5678".parse()?);
//! let (client, mut events) = Client::connect(connect(&endpoint, &RetryPolicy::default()).await?, ClientOptions::new());
//! client.request::<InitializeRequest>(InitializeRequestArguments::new("debugpy")).await?;
//! let attach = serde_json::from_value(serde_json::json!({"connect": {"host": "127.0.0.1", "port": 5678}}))?;
//! let attached = client.send::<AttachRequest>(attach)?; // debugpy answers after configurationDone
//! events.wait_for_named("initialized", Duration::from_secs(10)).await?;
//! let source = Source::new().with_path("/abs/path/app.py");
//! let breakpoints = vec![SourceBreakpoint::new(12)];
//! client.request::<SetBreakpointsRequest>(SetBreakpointsArguments::new(source).with_breakpoints(breakpoints)).await?;
//! client.request::<ConfigurationDoneRequest>(None).await?;
//! attached.response().await?;
//! let Event::Stopped(stop) = events.wait_for_named("stopped", Duration::from_secs(30)).await? else { return Err("not a stopped event".into()) };
//! let trace = client.request::<StackTraceRequest>(StackTraceArguments::new(stop.body.thread_id.unwrap_or(1))).await?;
//! let mut args = EvaluateArguments::new("total");
//! args.frame_id = trace.body.stack_frames.first().map(|f| f.id);
//! println!("total = {}", client.request::<EvaluateRequest>(args).await?.body.result);
//! client.disconnect(None).await?;
//! # Ok(()) }
//! ```

pub mod adapter;
pub mod client;
mod wire;

pub use client::{Client, ClientOptions, Events, RequestError};
