//! `dapkit show`: a trace as a timeline a person can read, or one JSON object per record.

use crate::error::{CliError, Exit};
use crate::trace_open;
use clap::Args;
use dapkit_trace::summary::{Entry, Filter, Summary, Timeline, Tone, passes};
use dapkit_trace::{Direction, ReadErrorKind};
use dapkit_types::private::{WriteJson, write_bytes, write_escaped};
use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

/// Show a trace as a timeline: offset, arrow, seq, command or event, and a summary.
///
/// Responses are paired with their requests and show the latency. Colours are used when
/// standard output is a terminal and NO_COLOR is not set.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The trace (plain or gzip); `-` reads standard input.
    pub file: PathBuf,
    /// One JSON object per record, for scripts.
    #[arg(long)]
    pub json: bool,
    /// Only records matching: `dir=c2a|a2c`, `command=NAME`, `event=NAME`. Repeatable: a
    /// record must match one of the `dir` filters and one of the command/event filters.
    #[arg(long = "filter", value_name = "KEY=VALUE")]
    pub filters: Vec<Filter>,
    /// Keep reading as the file grows (as a recorder writes it), until interrupted (Ctrl-C).
    #[arg(long)]
    pub follow: bool,
    /// Write the trace as one self-contained HTML page (sequence view, filters, latency
    /// chart, validation findings) to this file instead; `-` writes it to standard output.
    #[arg(long, value_name = "OUT.html", conflicts_with_all = ["json", "filters", "follow"])]
    pub html: Option<PathBuf>,
}

/// Runs `dapkit show`.
pub fn run(args: ShowArgs) -> Result<Exit, CliError> {
    if let Some(out) = &args.html {
        return crate::show_html::run(&args.file, out);
    }
    let reader = if args.follow {
        trace_open::open_follow(&args.file)?
    } else {
        trace_open::open(&args.file)?
    };
    let colour = !args.json
        && io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut out = io::stdout().lock();
    let mut timeline = Timeline::new(reader);
    // Records are formatted into one buffer, written out when it holds 64 KiB (followed
    // output: at once, line by line), with no copy into a buffered writer first.
    let flush_at = if args.follow { 0 } else { 1 << 16 };
    let mut lines = Vec::with_capacity(flush_at + 4096);
    let mut read = Ok(());
    let mut open = true;
    while open {
        let entry = match timeline.next_ref() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            // A bad line, or a last line cut short (a recorder still writing, or killed):
            // reported, and the rest is shown.
            Err(e) if e.is_recoverable() || e.kind() == ReadErrorKind::Truncated => {
                tracing::warn!("{}: {e}", args.file.display());
                continue;
            }
            Err(e) => {
                read = Err(CliError::usage(format!("{}: {e}", args.file.display())));
                break;
            }
        };
        if !passes(&args.filters, entry) {
            continue;
        }
        if args.json {
            write_json(&mut lines, entry);
        } else {
            // Writing into a `Vec` cannot fail.
            let _ = write_line(&mut lines, entry, colour);
        }
        if lines.len() > flush_at {
            open = write_out(&mut out, &lines)?;
            lines.clear();
        }
    }
    // What was read before an error is shown too.
    if open && write_out(&mut out, &lines)? {
        match out.flush() {
            Err(e) if !trace_open::is_broken_pipe(&e) => {
                return Err(CliError::io("cannot write to standard output", e));
            }
            _ => {}
        }
    }
    read?;
    Ok(Exit::Ok)
}

/// Writes `bytes` out: `false` when the reader has gone (a closed pipe: `dapkit show … |
/// head`), which ends the output quietly.
fn write_out(out: &mut impl Write, bytes: &[u8]) -> Result<bool, CliError> {
    match out.write_all(bytes) {
        Ok(()) => Ok(true),
        Err(e) if trace_open::is_broken_pipe(&e) => Ok(false),
        Err(e) => Err(CliError::io("cannot write to standard output", e)),
    }
}

/// The offset in seconds with milliseconds: `   12.345`.
fn offset(us: u64) -> String {
    format!("{:>3}.{:03}", us / 1_000_000, (us / 1000) % 1000)
}

/// An entry's summary as `Display`, written straight from the entry.
struct SummaryText<'a>(&'a Entry);

impl fmt::Display for SummaryText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_summary(f)
    }
}

fn write_line(out: &mut Vec<u8>, entry: &Entry, colour: bool) -> io::Result<()> {
    let client = if entry.record.client == 0 {
        String::new()
    } else {
        format!(" [client {}]", entry.record.client)
    };
    if !colour {
        return writeln!(
            out,
            "{}{client} {}",
            offset(entry.record.offset_us),
            SummaryText(entry)
        );
    }
    let s = entry.summary();
    let style = match s.tone {
        Tone::Request => "\x1b[36m",
        Tone::Ok => "\x1b[32m",
        Tone::Failed => "\x1b[1;31m",
        Tone::Event => "\x1b[33m",
        Tone::Invalid => "\x1b[1;35m",
    };
    let Summary {
        arrow,
        seq,
        name,
        detail,
        ..
    } = &s;
    let detail_style = if s.tone == Tone::Failed { style } else { "" };
    writeln!(
        out,
        "\x1b[2m{}\x1b[0m{client} {style}{arrow} {seq} {name}\x1b[0m {detail_style}{detail}\x1b[0m",
        offset(entry.record.offset_us)
    )
}

/// One record of `show --json`: `{"record":…,"line":…,"offsetUs":…,"time":…,"dir":…,
/// "client":…,"kind":…,` then `seq`, `command`, `event`, `requestSeq`, `success`,
/// `message`, `requestRecord`, `latencyUs` where known, then `"summary":…}`.
///
/// Written member by member into `out` (numbers and strings by dapkit-types' own writers,
/// with fixed-size stores; the summary written by the entry straight into the line, through
/// [`JsonText`]): no serializer state and no string of its own per record, on the tool's hot
/// path.
fn write_json(out: &mut Vec<u8>, entry: &Entry) {
    let f = &entry.facts;
    out.extend_from_slice(b"{\"record\":");
    entry.number.write_json(out);
    out.extend_from_slice(b",\"line\":");
    entry.line.write_json(out);
    out.extend_from_slice(b",\"offsetUs\":");
    entry.record.offset_us.write_json(out);
    out.extend_from_slice(b",\"time\":");
    json_string(out, &entry.record.time);
    out.extend_from_slice(match entry.record.direction {
        Direction::ClientToAdapter => b",\"dir\":\"c2a\",\"client\":",
        Direction::AdapterToClient => b",\"dir\":\"a2c\",\"client\":",
    });
    entry.record.client.write_json(out);
    out.extend_from_slice(b",\"kind\":\"");
    write_bytes(out, f.kind.as_str().as_bytes());
    out.push(b'"');
    if let Some(seq) = f.seq {
        out.extend_from_slice(b",\"seq\":");
        seq.write_json(out);
    }
    for (key, text) in [
        (&b",\"command\":"[..], f.command.as_deref()),
        (&b",\"event\":"[..], f.event.as_deref()),
    ] {
        if let Some(text) = text {
            out.extend_from_slice(key);
            json_string(out, text);
        }
    }
    if let Some(rs) = f.request_seq {
        out.extend_from_slice(b",\"requestSeq\":");
        rs.write_json(out);
    }
    if let Some(ok) = f.success {
        out.extend_from_slice(if ok {
            b",\"success\":true"
        } else {
            b",\"success\":false"
        });
    }
    if let Some(m) = &f.message {
        out.extend_from_slice(b",\"message\":");
        json_string(out, m);
    }
    if let Some(p) = entry.pair() {
        out.extend_from_slice(b",\"requestRecord\":");
        p.request_record.write_json(out);
        out.extend_from_slice(b",\"latencyUs\":");
        p.latency_us.write_json(out);
    }
    out.extend_from_slice(b",\"summary\":\"");
    // Writing into a `Vec` cannot fail.
    let _ = entry.write_summary(&mut JsonText(out));
    out.extend_from_slice(b"\"}\n");
}

/// Writes text into a JSON string being written, escaped: a summary goes into the line of
/// `--json` piece by piece, between quotes, with no string of its own.
struct JsonText<'a>(&'a mut Vec<u8>);

impl fmt::Write for JsonText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_escaped(self.0, s);
        Ok(())
    }
}

/// `text` as a JSON string, escaped as serde_json escapes it, by dapkit-types' own string
/// writer (the one its encoders use).
fn json_string(out: &mut Vec<u8>, text: &str) {
    dapkit_types::private::write_str(out, text);
}
