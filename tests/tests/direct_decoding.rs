//! The generated decoders (the only decoders of the generated types: `ProtocolMessage::from_slice`
//! and every type's serde `Deserialize` run them) against serde_json's reading of the same
//! JSON: a message gives the same typed result as its canonical spelling (serde_json's `Value`
//! printed again), so whitespace, escapes, number spellings and member order never change
//! it, and what serde_json rejects is never typed; on real traffic every message is typed;
//! and on damaged or unusual input (numbers at serde_json's edges, escapes, surrogates, deep
//! nesting, trailing commas, bytes inserted or removed anywhere) nothing panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_tests::{traffic, workspace_root};
use dapkit_types::ProtocolMessage;
use dapkit_types::private::typed_both;

/// Every recorded body, labelled.
fn recorded() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for stream in traffic().expect("recorded traffic") {
        for (i, body) in stream.bodies.into_iter().enumerate() {
            out.push((format!("{}/{} #{i}", stream.session, stream.side), body));
        }
    }
    out
}

/// Every hand-written quirk message (`message` of each fixture line, exact bytes).
fn quirks() -> Vec<(String, Vec<u8>)> {
    let dir = workspace_root().join("tests/fixtures/quirks");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let fields: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
                serde_json::from_str(line).unwrap();
            let at = format!("{}:{}", file.display(), n + 1);
            out.push((at, fields["message"].get().as_bytes().to_vec()));
        }
    }
    out
}

/// Checks one input: the decoders give the same typed message for it as for its canonical
/// spelling, or no typed message for either; returns whether it gave a typed message.
fn agree(at: &str, bytes: &[u8]) -> bool {
    let (direct, canonical) = typed_both(bytes);
    assert_eq!(
        direct,
        canonical,
        "{at}: the message and its canonical spelling decode differently:\n{}",
        String::from_utf8_lossy(bytes)
    );
    if let Some(d) = &direct {
        // And from_slice, which tries the direct path first, gives that message.
        assert_eq!(&ProtocolMessage::from_slice(bytes).unwrap(), d, "{at}");
    }
    direct.is_some()
}

#[test]
fn real_traffic_is_typed_as_its_canonical_spelling() {
    let msgs = recorded();
    assert!(
        msgs.len() > 200,
        "expected the recordings, got {}",
        msgs.len()
    );
    for (at, body) in &msgs {
        let (direct, canonical) = typed_both(body);
        assert!(
            direct.is_some(),
            "{at}: the decoders gave up on real traffic"
        );
        assert_eq!(
            direct, canonical,
            "{at}: the two spellings decode differently"
        );
    }
}

#[test]
fn quirks_agree() {
    let msgs = quirks();
    assert!(msgs.len() >= 40);
    let taken = msgs.iter().filter(|(at, b)| agree(at, b)).count();
    // Most quirks are typed messages; the rest (not JSON objects, unknown types) give up.
    assert!(
        taken * 2 > msgs.len(),
        "the decoders took only {taken} quirks"
    );
}

/// An `output` event whose `data` member (kept as JSON) is `value`, and a `stackTrace`
/// response whose first frame's `id` (an `i32`) is `value`.
fn wrapped(value: &str) -> [String; 2] {
    [
        format!(
            r#"{{"seq":1,"type":"event","event":"output","body":{{"output":"x","data":{value}}}}}"#
        ),
        format!(
            r#"{{"seq":2,"type":"response","request_seq":1,"success":true,"command":"stackTrace","body":{{"stackFrames":[{{"id":{value},"name":"f","line":1,"column":1}}]}}}}"#
        ),
    ]
}

#[test]
fn edge_values_agree_with_serde() {
    let deep = format!("{}1{}", "[".repeat(120), "]".repeat(120));
    let values = [
        // Numbers at serde_json's edges.
        "0",
        "-0",
        "7",
        "-7",
        "01",
        "1.",
        ".5",
        "1.0",
        "1e3",
        "1E+3",
        "-1.5e-3",
        "2147483647",
        "2147483648",
        "-2147483648",
        "-2147483649",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "1e400",
        "-",
        "--1",
        "+1",
        "0x10",
        "0.097006000000000009",
        "1-2",
        // Strings: escapes, surrogates, control characters.
        r#""plain""#,
        r#""a\"b\\c\/d\b\f\n\r\t""#,
        r#""\u00e9\u0000""#,
        r#""\ud83d\ude00""#,
        r#""\ud83d""#,
        r#""\ude00""#,
        r#""\ud83dx""#,
        r#""\ud83d\u0041""#,
        r#""\x""#,
        r#""\u12""#,
        "\"tab\there\"",
        "\"unterminated",
        r#""é ü 😀""#,
        // Literals and structure.
        "true",
        "false",
        "null",
        "nul",
        "truex",
        "[]",
        "[1,]",
        "[,1]",
        "[1 2]",
        "{}",
        r#"{"a":1,}"#,
        r#"{"a":1,"a":2}"#,
        r#"{"a" 1}"#,
        r#"{1:2}"#,
        " \t\r\n 5 ",
        deep.as_str(),
    ];
    let mut taken = 0;
    for v in values {
        for msg in wrapped(v) {
            taken += usize::from(agree(&format!("value {v:?}"), msg.as_bytes()));
        }
    }
    assert!(taken >= 20, "the decoders took only {taken} edge messages");
    // Nesting beyond serde_json's limit: no typed message, and nothing panics.
    let too_deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    for msg in wrapped(&too_deep) {
        let (direct, canonical) = typed_both(msg.as_bytes());
        assert!(direct.is_none() && canonical.is_none());
    }
    // Trailing bytes after the message.
    for tail in ["", " ", "\n", "x", "{}", ","] {
        let msg = format!(r#"{{"seq":1,"type":"request","command":"threads"}}{tail}"#);
        agree(&format!("tail {tail:?}"), msg.as_bytes());
    }
}

/// A member given twice: the last one wins whole, as in serde_json's reading, though the
/// decoders read a struct-typed member in place (into the message, a `Vec` item or an
/// `Option`): nothing of the earlier one stays in the later.
#[test]
fn duplicate_members_are_replaced_whole() {
    use dapkit_types::{Event, Request, Response};
    let decode = |msg: &str| {
        assert!(
            agree("duplicate member", msg.as_bytes()),
            "not typed: {msg}"
        );
        ProtocolMessage::from_slice(msg.as_bytes()).unwrap()
    };
    // A required struct-typed member (an event's `body`).
    let m = decode(
        r#"{"seq":1,"type":"event","event":"output","body":{"output":"a","category":"stderr","group":"start"},"body":{"output":"b"}}"#,
    );
    let ProtocolMessage::Event(Event::Output(e)) = m else {
        panic!("not an output event: {m:?}")
    };
    assert_eq!(e.body.output, "b");
    assert!(e.body.category.is_none() && e.body.group.is_none(), "{e:?}");
    // An optional struct-typed member inside an array item (a frame's `source`).
    let m = decode(
        r#"{"seq":2,"type":"response","request_seq":1,"success":true,"command":"stackTrace","body":{"stackFrames":[{"id":1,"name":"f","line":1,"column":1,"source":{"name":"a","path":"/a"},"source":{"name":"b"}},{"id":2,"name":"g","line":2,"column":1}]}}"#,
    );
    let ProtocolMessage::Response(Response::StackTrace(r)) = m else {
        panic!("not a stackTrace response: {m:?}")
    };
    let frames = &r.body.stack_frames;
    assert_eq!(frames.len(), 2);
    let source = frames[0].source.as_ref().unwrap();
    assert_eq!(source.name.as_deref(), Some("b"));
    assert!(source.path.is_none(), "{source:?}");
    assert!(frames[1].source.is_none() && frames[1].name == "g");
    // A request's `arguments`, and a required struct-typed member inside them.
    let m = decode(
        r#"{"seq":3,"type":"request","command":"setBreakpoints","arguments":{"source":{"path":"/x"},"breakpoints":[{"line":1}]},"arguments":{"source":{"path":"/y"},"source":{"name":"z"}}}"#,
    );
    let ProtocolMessage::Request(Request::SetBreakpoints(q)) = m else {
        panic!("not a setBreakpoints request: {m:?}")
    };
    assert!(q.arguments.breakpoints.is_none(), "{q:?}");
    assert_eq!(q.arguments.source.name.as_deref(), Some("z"));
    assert!(q.arguments.source.path.is_none(), "{q:?}");
}

/// A small deterministic generator (xorshift), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn damaged_messages_agree_or_give_up() {
    const TRICKY: &[u8] = b"{}[]\",:\\ -+.0123456789eEnultrfasx\t\n";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut inputs = recorded();
    inputs.extend(quirks());
    let (mut checked, mut taken) = (0usize, 0usize);
    for (at, body) in &inputs {
        for round in 0..24 {
            let mut b = body.clone();
            if b.is_empty() {
                continue;
            }
            let i = rng.below(b.len());
            match round % 4 {
                0 => {
                    b.remove(i);
                }
                1 => b.insert(i, TRICKY[rng.below(TRICKY.len())]),
                2 => b[i] = TRICKY[rng.below(TRICKY.len())],
                _ => {
                    let j = (i + 1 + rng.below(8)).min(b.len());
                    let span = b[i..j].to_vec();
                    b.splice(i..i, span);
                }
            }
            checked += 1;
            taken += usize::from(agree(&format!("{at} round {round}"), &b));
        }
    }
    assert!(checked > 5000, "checked only {checked} damaged messages");
    // Many damages (inside strings, duplicated digits) leave a typed message.
    assert!(
        taken > checked / 10,
        "the decoders took only {taken} of {checked}"
    );
}
