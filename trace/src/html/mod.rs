//! A trace as one self-contained HTML page (`dapkit show --html`): a sequence view with a
//! lane per party, responses linked to their requests with the latency, validation
//! findings, filters, a latency chart per command. CSS and JavaScript are inline (the
//! templates `viewer.html`, `viewer.css` and `viewer.js` next to this file); the page loads
//! nothing from the network (its Content-Security-Policy allows no fetching at all, and only
//! its own script, by hash).
//!
//! Writing streams: one pass of [`validate_each`] (so [`Timeline`](crate::summary::Timeline)'s
//! bounded pairing and the bounded [`Validator`](crate::validate::Validator)), each record
//! and each finding appended to the output as one line as soon as it is known. Nothing of
//! the trace is kept in memory past its record.
//!
//! The data sits in `<script type="application/json">` blocks, which the browser never runs
//! nor parses as markup; the page's script reads them and puts every text into the
//! document as text (`textContent`), never as markup. Inside the blocks `&` is written
//! `&amp;` and `<` is written `&lt;` (so no `</script>` or `<!--` can end or change a
//! block); the script undoes exactly that, so each message's text is byte-exact.
//!
//! # The data lines
//!
//! The records block holds one line per record or finding, in trace order:
//!
//! - a record: three parts separated by tabs. First a JSON array `[number, offsetUs, dir,
//!   client, kind, name, answer, tone]`, which the page reads for every record when it
//!   opens (filters, counts, latencies); then a JSON array `[time, seq, requestSeq, detail,
//!   bytes]`, read only when the record is shown; then the message's JSON exactly as it was
//!   sent (nothing when the record holds bytes). `dir` is 0 (client to adapter) or 1;
//!   `kind` is 0 request, 1 response, 2 event, 3 other, 4 invalid; `answer` is `null`,
//!   `[requestRecord, latencyUs]`, `["duplicate", firstRecord]` or `["unknown"]`; `tone` is
//!   0 request, 1 ok, 2 failed, 3 event, 4 invalid; `detail` is the one-line summary's
//!   detail ([`Summary::without_pairing`]); `bytes` is `null` or `[base64, error]` for
//!   records that hold bytes.
//! - a finding: `{"finding": …}`, as `dapkit validate --json` prints it.
//!
//! ```
//! use dapkit_trace::{Direction, Header, TraceReader, TraceWriter};
//!
//! let mut trace = Vec::new();
//! let mut w = TraceWriter::new(&mut trace, &Header::new(serde_json::Value::Null))?;
//! w.message(Direction::ClientToAdapter, 0, br#"{"seq":1,"type":"request","command":"threads","x":"</script>"}"#)?;
//! drop(w);
//!
//! let mut page = Vec::new();
//! let stats = dapkit_trace::html::write_html(TraceReader::new(&trace[..])?, &mut page, "t.jsonl")?;
//! assert_eq!((stats.records, stats.findings), (1, 2)); // no initialize, never answered
//! let page = String::from_utf8(page)?;
//! assert!(page.contains(r#""x":"&lt;/script>"}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::summary::{Answer, Entry, Kind, Summary, Tone};
use crate::validate::{Finding, Step, validate_each};
use crate::{Direction, Payload, ReadError, TraceReader};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, BufRead, Write};

/// The page: markup with the places where the rest goes.
const PAGE: &str = include_str!("viewer.html");
/// The page's style sheet.
const STYLE: &str = include_str!("viewer.css");
/// The page's script.
const SCRIPT: &str = include_str!("viewer.js");

/// Where the pieces go in [`PAGE`].
const CSP_MARK: &str = "{{CSP}}";
const STYLE_MARK: &str = "{{STYLE}}";
const HEADER_MARK: &str = "{{HEADER}}";
const RECORDS_MARK: &str = "{{RECORDS}}";
const SCRIPT_MARK: &str = "{{SCRIPT}}";

/// What went wrong writing a page.
#[derive(Debug)]
pub enum HtmlError {
    /// The trace could not be read (an I/O error, or not a trace).
    Read(ReadError),
    /// The page could not be written.
    Write(io::Error),
}

impl fmt::Display for HtmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HtmlError::Read(e) => write!(f, "{e}"),
            HtmlError::Write(e) => write!(f, "cannot write the page: {e}"),
        }
    }
}

impl std::error::Error for HtmlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HtmlError::Read(e) => Some(e),
            HtmlError::Write(e) => Some(e),
        }
    }
}

/// What a page holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HtmlStats {
    /// Records written.
    pub records: u64,
    /// Validation findings written (errors and warnings).
    pub findings: u64,
}

/// Writes the page for a trace to `out`, streaming. `title` names the trace in the page
/// (its file name); it is data like the rest, never markup.
///
/// Unreadable lines of the trace are shown as findings; only an I/O error reading the
/// trace, or writing `out`, stops the writing.
pub fn write_html<R: BufRead, W: Write>(
    reader: TraceReader<R>,
    out: W,
    title: &str,
) -> Result<HtmlStats, HtmlError> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let (head, tail) = page_parts();
    let header = serde_json::json!({
        "title": title,
        "header": reader.header(),
    });
    let head = head.replacen(HEADER_MARK, &escape_str(&header.to_string()), 1);
    out.write_all(head.as_bytes()).map_err(HtmlError::Write)?;

    let mut stats = HtmlStats::default();
    let mut failed: Option<io::Error> = None;
    let mut line = Vec::with_capacity(1 << 12);
    validate_each(reader, |step| {
        if failed.is_some() {
            return;
        }
        line.clear();
        match step {
            Step::Entry(entry) => {
                stats.records += 1;
                record_line(entry, &mut line);
            }
            Step::Finding(finding) => {
                stats.findings += 1;
                finding_line(&finding, &mut line);
            }
        }
        line.push(b'\n');
        if let Err(e) = write_escaped(&mut out, &line) {
            failed = Some(e);
        }
    })
    .map_err(HtmlError::Read)?;
    if let Some(e) = failed {
        return Err(HtmlError::Write(e));
    }
    out.write_all(tail.as_bytes()).map_err(HtmlError::Write)?;
    out.flush().map_err(HtmlError::Write)?;
    Ok(stats)
}

/// The page before and after the records, with the style, the policy and the script in
/// place (the header still marked).
fn page_parts() -> (String, String) {
    let digest = BASE64.encode(Sha256::digest(SCRIPT.as_bytes()));
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    );
    let (head, tail) = PAGE.split_once(RECORDS_MARK).unwrap_or((PAGE, ""));
    let head = head
        .replacen(CSP_MARK, &csp, 1)
        .replacen(STYLE_MARK, STYLE, 1);
    let tail = tail.replacen(SCRIPT_MARK, SCRIPT, 1);
    (head, tail)
}

/// One record's data line (without the line end).
fn record_line(entry: &Entry, line: &mut Vec<u8>) {
    let r = &entry.record;
    let f = &entry.facts;
    let summary = Summary::without_pairing(entry);
    let answer = match &entry.answer {
        None => Value::Null,
        Some(Answer::Paired(p)) => serde_json::json!([p.request_record, p.latency_us]),
        Some(Answer::Duplicate { first }) => serde_json::json!(["duplicate", first]),
        Some(Answer::Unknown) => serde_json::json!(["unknown"]),
    };
    let (raw, bytes) = match &r.payload {
        Payload::Message(raw) => (Some(raw.get()), Value::Null),
        Payload::Bytes { bytes, error } => (
            None,
            serde_json::json!([BASE64.encode(bytes), error.as_deref()]),
        ),
    };
    let first = Facts(
        entry.number,
        r.offset_us,
        match r.direction {
            Direction::ClientToAdapter => 0,
            Direction::AdapterToClient => 1,
        },
        r.client,
        match f.kind {
            Kind::Request => 0,
            Kind::Response => 1,
            Kind::Event => 2,
            Kind::Other => 3,
            Kind::Invalid => 4,
        },
        f.name(),
        answer,
        match summary.tone {
            Tone::Request => 0,
            Tone::Ok => 1,
            Tone::Failed => 2,
            Tone::Event => 3,
            Tone::Invalid => 4,
        },
    );
    let second = More(&r.time, f.seq, f.request_seq, &summary.detail, bytes);
    // Numbers, strings and JSON values only: serializing cannot fail.
    let _ = serde_json::to_writer(&mut *line, &first);
    line.push(b'\t');
    let _ = serde_json::to_writer(&mut *line, &second);
    line.push(b'\t');
    if let Some(raw) = raw {
        line.extend_from_slice(raw.as_bytes());
    }
}

/// One finding's data line (without the line end).
fn finding_line(finding: &Finding, line: &mut Vec<u8>) {
    let _ = serde_json::to_writer(&mut *line, &serde_json::json!({ "finding": finding }));
}

/// The facts of a record the page reads when it opens, a JSON array (see the module docs).
#[derive(Serialize)]
struct Facts<'a>(u64, u64, u8, u32, u8, Option<&'a str>, Value, u8);

/// The facts of a record the page reads when it shows the record (see the module docs).
#[derive(Serialize)]
struct More<'a>(&'a str, Option<i64>, Option<i64>, &'a str, Value);

/// Writes `bytes` with `&` as `&amp;` and `<` as `&lt;`, the escaping of the data blocks.
fn write_escaped(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        let with: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            _ => continue,
        };
        out.write_all(&bytes[start..i])?;
        out.write_all(with)?;
        start = i + 1;
    }
    out.write_all(&bytes[start..])
}

fn escape_str(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn templates_have_their_marks_once_and_cannot_end_their_elements() {
        for mark in [CSP_MARK, STYLE_MARK, HEADER_MARK, RECORDS_MARK, SCRIPT_MARK] {
            assert_eq!(PAGE.matches(mark).count(), 1, "{mark} in viewer.html");
        }
        let (head, _) = PAGE.split_once(RECORDS_MARK).expect("records mark");
        assert!(head.contains(HEADER_MARK) && head.contains(STYLE_MARK));
        assert!(!STYLE.to_ascii_lowercase().contains("</style"));
        assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
        assert!(!SCRIPT.contains("{{") && !STYLE.contains("{{"));
        // The policy's hash is of the script element's whole text: nothing around it.
        assert!(PAGE.contains(&format!("<script>{SCRIPT_MARK}</script>")));
    }

    #[test]
    fn escaping_is_undone_exactly_by_the_page() {
        let mut out = Vec::new();
        write_escaped(&mut out, "a<b&lt;c&amp;</script><!--é".as_bytes()).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text, "a&lt;b&amp;lt;c&amp;amp;&lt;/script>&lt;!--é");
        assert!(!text.contains('<'));
        // Undone in one pass, as the page's script does (`unescapeData`), it is the input.
        let mut undone = String::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find('&') {
            undone.push_str(&rest[..i]);
            let (with, skip) = if rest[i..].starts_with("&lt;") {
                ("<", 4)
            } else {
                ("&", 5)
            };
            undone.push_str(with);
            rest = &rest[i + skip..];
        }
        undone.push_str(rest);
        assert_eq!(undone, "a<b&lt;c&amp;</script><!--é");
    }
}
