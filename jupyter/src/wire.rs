//! The Jupyter wire protocol over ZeroMQ multipart messages: `[identities…, "<IDS|MSG>",
//! signature, header, parent_header, metadata, content, buffers…]`, signed with
//! HMAC-SHA256 over the four JSON parts (messaging spec 5.x, "The Wire Protocol").

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};
use zeromq::ZmqMessage;

const DELIMITER: &[u8] = b"<IDS|MSG>";

/// The protocol version written into headers.
pub(crate) const PROTOCOL_VERSION: &str = "5.4";

/// One side of a Jupyter session: signs what it sends, checks what it receives, numbers
/// message ids.
pub(crate) struct Session {
    id: String,
    mac: Option<Hmac<Sha256>>,
    counter: AtomicU64,
}

/// A received message: header, parent header and content as JSON (identities, metadata
/// and buffers are not used here).
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub header: Value,
    pub parent_header: Value,
    pub content: Value,
}

impl Message {
    pub fn msg_type(&self) -> &str {
        self.header["msg_type"].as_str().unwrap_or("")
    }

    /// The `msg_id` of the request this message answers or belongs to.
    pub fn parent_id(&self) -> Option<&str> {
        self.parent_header["msg_id"].as_str()
    }
}

impl Session {
    /// A new session (random id) signing with `key` (empty: no signatures).
    pub fn new(key: &str) -> Session {
        let mac = if key.is_empty() {
            None
        } else {
            // HMAC accepts keys of any length.
            Hmac::<Sha256>::new_from_slice(key.as_bytes()).ok()
        };
        Session {
            id: uuid::Uuid::new_v4().to_string(),
            mac,
            counter: AtomicU64::new(0),
        }
    }

    /// A new message id, unique in this process.
    pub fn next_msg_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}_{n}", self.id)
    }

    /// Encodes a request `msg_type` with `content` as a multipart message; returns its
    /// `msg_id` and the message.
    pub fn request(&self, msg_type: &str, content: &[u8]) -> (String, ZmqMessage) {
        let msg_id = self.next_msg_id();
        let header = json!({
            "msg_id": msg_id,
            "msg_type": msg_type,
            "username": "dapkit",
            "session": self.id,
            "date": humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
            "version": PROTOCOL_VERSION,
        });
        // Serializing a `Value` built above cannot fail.
        let header = serde_json::to_vec(&header).unwrap_or_default();
        let parts: [&[u8]; 4] = [&header, b"{}", b"{}", content];
        let signature = self.sign(&parts);
        let mut frames: Vec<Bytes> = Vec::with_capacity(6);
        frames.push(Bytes::from_static(DELIMITER));
        frames.push(Bytes::from(signature.into_bytes()));
        frames.extend(parts.iter().map(|p| Bytes::copy_from_slice(p)));
        let mut message = ZmqMessage::from(frames.remove(0));
        for frame in frames {
            message.push_back(frame);
        }
        (msg_id, message)
    }

    fn sign(&self, parts: &[&[u8]]) -> String {
        match &self.mac {
            None => String::new(),
            Some(mac) => {
                let mut mac = mac.clone();
                for part in parts {
                    mac.update(part);
                }
                hex::encode(mac.finalize().into_bytes())
            }
        }
    }

    /// Decodes and checks a received multipart message.
    pub fn decode(&self, message: ZmqMessage) -> Result<Message, String> {
        let frames = message.into_vec();
        let Some(at) = frames.iter().position(|f| &f[..] == DELIMITER) else {
            return Err(format!(
                "a {}-part message without the `<IDS|MSG>` delimiter",
                frames.len()
            ));
        };
        let rest = &frames[at + 1..];
        if rest.len() < 5 {
            return Err(format!(
                "a message with {} parts after the delimiter (at least 5: signature, header, \
                 parent_header, metadata, content)",
                rest.len()
            ));
        }
        if let Some(mac) = &self.mac {
            let mut mac = mac.clone();
            for part in &rest[1..5] {
                mac.update(part);
            }
            let signature = hex::decode(&rest[0]).unwrap_or_default();
            if mac.verify_slice(&signature).is_err() {
                return Err(
                    "a message whose signature does not match the key of the connection file"
                        .to_owned(),
                );
            }
        }
        let json = |i: usize, name: &str| {
            serde_json::from_slice::<Value>(&rest[i])
                .map_err(|e| format!("the {name} part is not JSON: {e}"))
        };
        Ok(Message {
            header: json(1, "header")?,
            parent_header: json(2, "parent_header")?,
            content: json(4, "content")?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_checks_its_own_messages() {
        let session = Session::new("secret");
        let (id, message) = session.request("kernel_info_request", b"{}");
        let frames = message.clone().into_vec();
        assert_eq!(&frames[0][..], DELIMITER);
        assert_eq!(frames[1].len(), 64, "hex of a SHA-256 HMAC");
        let decoded = session.decode(message).expect("own message verifies");
        assert_eq!(decoded.header["msg_id"], id.as_str());
        assert_eq!(decoded.msg_type(), "kernel_info_request");

        let other = Session::new("another key");
        let (_, message) = other.request("kernel_info_request", b"{}");
        let err = session.decode(message).expect_err("foreign signature");
        assert!(err.contains("signature"), "{err}");
    }

    #[test]
    fn signature_matches_a_known_hmac() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231 style
        // reference value published with the algorithm.
        let session = Session::new("key");
        let parts: [&[u8]; 2] = [b"The quick brown fox ", b"jumps over the lazy dog"];
        assert_eq!(
            session.sign(&parts),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert_eq!(Session::new("").sign(&parts), "");
    }

    #[test]
    fn malformed_messages_are_named() {
        let session = Session::new("");
        let err = session
            .decode(ZmqMessage::from(Bytes::from_static(b"x")))
            .expect_err("no delimiter");
        assert!(err.contains("delimiter"), "{err}");
        let mut short = ZmqMessage::from(Bytes::from_static(DELIMITER));
        short.push_back(Bytes::new());
        let err = session.decode(short).expect_err("too short");
        assert!(err.contains("1 parts"), "{err}");
    }
}
