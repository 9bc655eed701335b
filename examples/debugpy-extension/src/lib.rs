//! Two real adapters' protocol extensions, typed by `dapkit_codegen::Extension` in this
//! crate's `build.rs`: what an adapter author's crate does for its own adapter's extension.
//! [`debugpy`]: debugpy's (`pydevdSystemInfo`, `setDebuggerProperty`, `setPydevdSourceMap`,
//! `pydevdAuthorize`, the `pydevdInputRequested` event); [`jupyter`]: the Jupyter
//! debugger's additions (`dumpCell`, `debugInfo`, `inspectVariables`,
//! `richInspectVariables`, `copyToGlobals`). Its tests decode recorded real messages of
//! both adapters into these types and encode them back to the same JSON.
//!
//! ```
//! use dapkit_example_extension::debugpy::{PydevdSystemInfoRequest, PydevdSystemInfoResponse};
//! use dapkit_types::traits::Request as _;
//! use dapkit_types::{ProtocolMessage, Request, Response};
//!
//! // Build a request and send it as a `Custom` request.
//! let request = PydevdSystemInfoRequest::from_arguments(7, None);
//! let wire = ProtocolMessage::Request(Request::from_extension(&request)?).to_vec();
//! assert!(std::str::from_utf8(&wire).unwrap_or_default().contains(r#""command":"pydevdSystemInfo""#));
//!
//! // Its response arrives as a `Custom` response; get it typed.
//! let msg = ProtocolMessage::from_slice(br#"{"seq":9,"type":"response","request_seq":7,
//!     "success":true,"command":"pydevdSystemInfo","body":{"python":{"version":"3.11.7"},
//!     "platform":{"name":"linux"},"process":{"pid":42},"pydevd":{"usingCython":true}}}"#)?;
//! let ProtocolMessage::Response(response) = &msg else { panic!("a response") };
//! let info: PydevdSystemInfoResponse = response.extension().expect("pydevdSystemInfo")?;
//! assert_eq!(info.body.process.pid, Some(42));
//! # Ok::<(), dapkit_types::Error>(())
//! ```

/// debugpy's extension messages and types, generated from
/// `schema/extensions/debugpy/debugProtocolCustom.json`.
pub mod debugpy {
    include!(concat!(env!("OUT_DIR"), "/debugProtocolCustom.rs"));
}

/// The Jupyter debugger's additions to the DAP (`dumpCell`, `debugInfo`, `inspectVariables`,
/// `richInspectVariables`, `copyToGlobals`), generated from
/// `schema/extensions/jupyter/jupyterDebugProtocol.json`: what ipykernel's debugger answers
/// on a kernel's control channel.
pub mod jupyter {
    include!(concat!(env!("OUT_DIR"), "/jupyterDebugProtocol.rs"));
}
