//! Content-Length framing for the Debug Adapter Protocol.
