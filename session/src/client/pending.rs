//! [`PendingRequest`]: a request on the wire, waiting for its response; and the decoding
//! of a response's bytes into its typed form, tolerant of adapter quirks.

use super::Client;
use super::error::RequestError;
use super::shared::{Reply, ReplyReceiver};
use dapkit_types::{ErrorResponse, ProtocolMessage, RawMessage, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// A request that was sent and waits for its response: await
/// [`response`](PendingRequest::response). Its [`seq`](PendingRequest::seq) is what
/// [`Client::cancel`] takes.
///
/// Dropping it forgets the request; a response that arrives later is reported as
/// [`Diagnostic::LateResponse`](super::Diagnostic::LateResponse).
#[must_use = "a request does nothing useful unless its response is awaited"]
pub struct PendingRequest<T> {
    client: Client,
    seq: i64,
    command: &'static str,
    rx: ReplyReceiver,
    timeout: Option<Duration>,
    decode: fn(Reply) -> Result<T, RequestError>,
    done: bool,
}

impl<T> fmt::Debug for PendingRequest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingRequest")
            .field("seq", &self.seq)
            .field("command", &self.command)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<T> PendingRequest<T> {
    pub(crate) fn new(
        client: Client,
        seq: i64,
        command: &'static str,
        rx: ReplyReceiver,
        timeout: Option<Duration>,
        decode: fn(Reply) -> Result<T, RequestError>,
    ) -> Self {
        PendingRequest {
            client,
            seq,
            command,
            rx,
            timeout,
            decode,
            done: false,
        }
    }

    /// The request's `seq`.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    /// Replaces the timeout (`None`: wait until the response comes or the session closes).
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Waits for the response and decodes it.
    pub async fn response(mut self) -> Result<T, RequestError> {
        let received = match self.timeout {
            Some(after) => match tokio::time::timeout(after, &mut self.rx).await {
                Ok(r) => r,
                Err(_) => {
                    self.done = true;
                    self.client.shared().abandon(self.seq, None);
                    return Err(RequestError::Timeout {
                        command: self.command.to_owned(),
                        seq: self.seq,
                        after,
                    });
                }
            },
            None => (&mut self.rx).await,
        };
        self.done = true;
        match received {
            Ok(Ok(reply)) => (self.decode)(reply),
            Ok(Err(e)) => Err(e),
            // The sender went away without an answer: the session is gone.
            Err(_) => Err(RequestError::Closed),
        }
    }
}

impl<T> Drop for PendingRequest<T> {
    fn drop(&mut self) {
        if !self.done {
            self.client.shared().abandon(self.seq, None);
        }
    }
}

/// Decodes a response into `T` (the success response type of the request).
///
/// `success: false` gives [`RequestError::Failed`]. A response that does not decode is
/// given a second chance with its known quirks mended (a missing or non-integer `seq`
/// becomes 0, a missing or `null` `body` becomes `{}`, a missing `success` becomes
/// `true`); if that fails too, [`RequestError::Malformed`] keeps it as JSON.
pub(crate) fn decode_typed<T: DeserializeOwned>(reply: Reply) -> Result<T, RequestError> {
    if reply.envelope.success == Some(false) {
        return Err(decode_error(&reply));
    }
    let first = match serde_json::from_slice::<T>(&reply.bytes) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    let malformed = |reason: String| RequestError::Malformed {
        message: Box::new(crate::wire::reader::raw(&reply.bytes)),
        reason,
    };
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&reply.bytes) else {
        return Err(malformed(first.to_string()));
    };
    let mut mended = mend_seq(&mut map);
    if map.get("body").is_none_or(Value::is_null) {
        map.insert("body".into(), Value::Object(Default::default()));
        mended = true;
    }
    if !map.contains_key("success") {
        map.insert("success".into(), Value::Bool(true));
        mended = true;
    }
    if !mended {
        return Err(malformed(first.to_string()));
    }
    serde_json::from_value(Value::Object(map)).map_err(|_| malformed(first.to_string()))
}

/// Decodes a response of any command (for [`Client::request_raw`]).
pub(crate) fn decode_any(reply: Reply) -> Result<Response, RequestError> {
    if reply.envelope.success == Some(false) {
        return Err(decode_error(&reply));
    }
    match ProtocolMessage::from_slice(&reply.bytes) {
        Ok(ProtocolMessage::Response(r)) => Ok(r),
        Ok(ProtocolMessage::Custom(raw)) => Ok(Response::Custom(raw)),
        Ok(_) => Err(RequestError::Malformed {
            message: Box::new(crate::wire::reader::raw(&reply.bytes)),
            reason: "the answer to a request is not a response".into(),
        }),
        Err(e) => Err(RequestError::Malformed {
            message: Box::new(RawMessage::default()),
            reason: e.to_string(),
        }),
    }
}

/// A failed response as [`RequestError::Failed`], mended like successes where needed
/// (`seq`, `command` taken from the request).
fn decode_error(reply: &Reply) -> RequestError {
    if let Ok(e) = serde_json::from_slice::<ErrorResponse>(&reply.bytes) {
        return RequestError::Failed(Box::new(e));
    }
    let raw = crate::wire::reader::raw(&reply.bytes);
    let mut map = raw.0.clone();
    mend_seq(&mut map);
    if !map.get("command").is_some_and(Value::is_string) {
        map.insert("command".into(), Value::String(reply.command.to_string()));
    }
    if !map.get("request_seq").is_some_and(Value::is_i64) {
        if let Some(rs) = reply.envelope.request_seq {
            map.insert("request_seq".into(), rs.into());
        }
    }
    // A body that is not an error body is kept aside, as `extra["body"]`.
    let body = map.remove("body");
    let mut attempt = map.clone();
    if let Some(b) = &body {
        attempt.insert("body".into(), b.clone());
    }
    if let Ok(e) = serde_json::from_value::<ErrorResponse>(Value::Object(attempt)) {
        return RequestError::Failed(Box::new(e));
    }
    match serde_json::from_value::<ErrorResponse>(Value::Object(map)) {
        Ok(mut e) => {
            if let Some(b) = body {
                e.extra.insert("body".into(), b);
            }
            RequestError::Failed(Box::new(e))
        }
        Err(e) => RequestError::Malformed {
            message: Box::new(raw),
            reason: format!("failed response does not decode: {e}"),
        },
    }
}

/// Replaces a missing or non-`i32` `seq` by 0; returns whether it did.
fn mend_seq(map: &mut serde_json::Map<String, Value>) -> bool {
    let fine = map
        .get("seq")
        .and_then(Value::as_i64)
        .is_some_and(|s| i32::try_from(s).is_ok());
    if !fine {
        map.insert("seq".into(), Value::from(0));
    }
    !fine
}
