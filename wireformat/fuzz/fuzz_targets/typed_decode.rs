//! Fuzz target: reader + typed decode. Every frame is decoded as `serde_json::Value` through
//! `read_message` and as `dapkit_types::ProtocolMessage`; errors must be recoverable
//! decode errors with bounded evidence, and a message that decodes must survive a round
//! trip through the writer and the reader. The generated decoders give the same typed message
//! for a body as for its canonical spelling (serde_json's `Value` printed again).
#![no_main]

use dapkit_types::ProtocolMessage;
use dapkit_wireformat::{ErrorKind, FrameReader, FrameWriter, PREFIX_LEN};
use serde_json::Value;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let mut reader = FrameReader::new(input).with_resync(input.first() == Some(&b'#'));
    // Each round consumes input or ends, so the loop is bounded by the input length.
    for _ in 0..=input.len() + 1 {
        match reader.read_frame() {
            Ok(None) => return,
            Ok(Some(frame)) => {
                let body = frame.to_vec();
                let value: Result<Value, _> = serde_json::from_slice(&body);
                let typed = ProtocolMessage::from_slice(&body);
                let (direct, canonical) = dapkit_types::private::typed_both(&body);
                assert_eq!(direct, canonical, "the message and its canonical spelling decode differently");
                if let Ok(value) = &value {
                    // Through the writer and back.
                    let mut wire = Vec::new();
                    FrameWriter::new(&mut wire).write_message(value).unwrap();
                    let back: Value = FrameReader::new(&wire[..]).read_message().unwrap().unwrap();
                    assert_eq!(&back, value);
                    if value.is_object() {
                        let typed = typed.expect("every JSON object decodes as a ProtocolMessage");
                        let again = ProtocolMessage::from_slice(&typed.to_vec())
                            .expect("a re-encoded ProtocolMessage decodes");
                        assert_eq!(again.as_data().expect("encodes"), typed.as_data().expect("encodes"));
                    }
                } else {
                    assert!(
                        typed.is_err(),
                        "ProtocolMessage accepted a body that is not JSON"
                    );
                }
                // The same frame through read_message gives the same verdict.
                let mut one = Vec::new();
                FrameWriter::new(&mut one).write_frame(&body).unwrap();
                match FrameReader::new(&one[..]).read_message::<Value>() {
                    Ok(Some(v)) => assert_eq!(Some(&v), value.as_ref().ok()),
                    Ok(None) => panic!("frame vanished"),
                    Err(e) => {
                        assert!(value.is_err());
                        assert!(matches!(
                            e.kind(),
                            ErrorKind::InvalidJson | ErrorKind::InvalidMessage
                        ));
                        assert!(e.is_recoverable());
                        assert!(e.prefix().len() <= PREFIX_LEN);
                    }
                }
            }
            Err(e) => {
                assert!(e.prefix().len() <= PREFIX_LEN);
                if !e.is_recoverable() {
                    return;
                }
            }
        }
    }
    panic!("reader did not finish");
});
