//! `dapkit show`: a trace as a timeline a person can read, or one JSON object per record.

use crate::error::{CliError, Exit};
use crate::trace_open;
use clap::Args;
use dapkit_trace::ReadErrorKind;
use dapkit_trace::summary::{Entry, Filter, Summary, Timeline, Tone, passes};
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
    let stdout = io::stdout();
    // Followed output goes out line by line; otherwise it is buffered.
    let mut out: Box<dyn Write> = if args.follow {
        Box::new(stdout.lock())
    } else {
        Box::new(io::BufWriter::with_capacity(1 << 16, stdout.lock()))
    };
    let mut timeline = Timeline::new(reader);
    let mut line = Vec::with_capacity(512);
    // The summary text of `--json`, before it is written as a JSON string.
    let mut text = String::with_capacity(256);
    let result = (|| -> Result<(), CliError> {
        loop {
            let entry = match timeline.next_ref() {
                Ok(Some(entry)) => entry,
                Ok(None) => return Ok(()),
                // A bad line, or a last line cut short (a recorder still writing, or
                // killed): reported, and the rest is shown.
                Err(e) if e.is_recoverable() || e.kind() == ReadErrorKind::Truncated => {
                    tracing::warn!("{}: {e}", args.file.display());
                    continue;
                }
                Err(e) => return Err(CliError::usage(format!("{}: {e}", args.file.display()))),
            };
            if !passes(&args.filters, entry) {
                continue;
            }
            // Each record is formatted into one buffer and written with one call.
            line.clear();
            let formatted = if args.json {
                write_json(&mut line, entry, &mut text)
            } else {
                write_line(&mut line, entry, colour)
            };
            let written = formatted.and_then(|()| out.write_all(&line));
            match written {
                Ok(()) => {}
                Err(e) if trace_open::is_broken_pipe(&e) => return Ok(()),
                Err(e) => return Err(CliError::io("cannot write to standard output", e)),
            }
        }
    })();
    let flushed = out.flush();
    result?;
    match flushed {
        Err(e) if !trace_open::is_broken_pipe(&e) => {
            Err(CliError::io("cannot write to standard output", e))
        }
        _ => Ok(Exit::Ok),
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
/// Written member by member into `out` (numbers through itoa, strings through
/// [`json_string`], the summary written by the entry into `text`, a buffer kept across
/// records): no serializer state and no string of its own per record, on the tool's hot
/// path. Returns a result like [`write_line`], its alternative; writing into a `Vec`
/// cannot fail.
fn write_json(out: &mut Vec<u8>, entry: &Entry, text: &mut String) -> io::Result<()> {
    let f = &entry.facts;
    let mut num = itoa::Buffer::new();
    out.extend_from_slice(b"{\"record\":");
    out.extend_from_slice(num.format(entry.number).as_bytes());
    out.extend_from_slice(b",\"line\":");
    out.extend_from_slice(num.format(entry.line).as_bytes());
    out.extend_from_slice(b",\"offsetUs\":");
    out.extend_from_slice(num.format(entry.record.offset_us).as_bytes());
    out.extend_from_slice(b",\"time\":");
    json_string(out, &entry.record.time);
    out.extend_from_slice(b",\"dir\":\"");
    out.extend_from_slice(entry.record.direction.as_str().as_bytes());
    out.extend_from_slice(b"\",\"client\":");
    out.extend_from_slice(num.format(entry.record.client).as_bytes());
    out.extend_from_slice(b",\"kind\":\"");
    out.extend_from_slice(f.kind.as_str().as_bytes());
    out.push(b'"');
    if let Some(seq) = f.seq {
        out.extend_from_slice(b",\"seq\":");
        out.extend_from_slice(num.format(seq).as_bytes());
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
        out.extend_from_slice(num.format(rs).as_bytes());
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
        out.extend_from_slice(num.format(p.request_record).as_bytes());
        out.extend_from_slice(b",\"latencyUs\":");
        out.extend_from_slice(num.format(p.latency_us).as_bytes());
    }
    out.extend_from_slice(b",\"summary\":");
    text.clear();
    // Writing into a `String` cannot fail.
    let _ = entry.write_summary(text);
    json_string(out, text);
    out.extend_from_slice(b"}\n");
    Ok(())
}

/// `text` as a JSON string, escaped as serde_json escapes it, by dapkit-types' own string
/// writer (the one its encoders use).
fn json_string(out: &mut Vec<u8>, text: &str) {
    dapkit_types::private::write_str(out, text);
}
