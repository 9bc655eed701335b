//! `dapkit show`: a trace as a timeline a person can read, or one JSON object per record.

use crate::error::{CliError, Exit};
use crate::trace_open;
use clap::Args;
use dapkit_trace::ReadErrorKind;
use dapkit_trace::summary::{Entry, Filter, Summary, Timeline, Tone, passes};
use serde::Serialize;
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
    let result = (|| -> Result<(), CliError> {
        loop {
            let entry = match timeline.next_entry() {
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
            if !passes(&args.filters, &entry) {
                continue;
            }
            // Each record is formatted into one buffer and written with one call.
            line.clear();
            let formatted = if args.json {
                write_json(&mut line, &entry)
            } else {
                write_line(&mut line, &entry, colour)
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

fn write_line(out: &mut Vec<u8>, entry: &Entry, colour: bool) -> io::Result<()> {
    let s = entry.summary();
    let client = if entry.record.client == 0 {
        String::new()
    } else {
        format!(" [client {}]", entry.record.client)
    };
    if !colour {
        return writeln!(out, "{}{client} {s}", offset(entry.record.offset_us));
    }
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

/// One record of `show --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonEntry<'a> {
    record: u64,
    line: u64,
    offset_us: u64,
    time: &'a str,
    dir: &'static str,
    client: u32,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_record: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_us: Option<u64>,
    /// Written straight into the output through its `Display` (no string of its own).
    #[serde(serialize_with = "display")]
    summary: Summary,
}

/// Serializes a value as the string its `Display` writes, without a string of its own.
fn display<T: std::fmt::Display, S: serde::Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

fn write_json(out: &mut Vec<u8>, entry: &Entry) -> io::Result<()> {
    let f = &entry.facts;
    let pair = entry.pair();
    let line = JsonEntry {
        record: entry.number,
        line: entry.line,
        offset_us: entry.record.offset_us,
        time: &entry.record.time,
        dir: entry.record.direction.as_str(),
        client: entry.record.client,
        kind: f.kind.as_str(),
        seq: f.seq,
        command: f.command.as_deref(),
        event: f.event.as_deref(),
        request_seq: f.request_seq,
        success: f.success,
        message: f.message.as_deref(),
        request_record: pair.map(|p| p.request_record),
        latency_us: pair.map(|p| p.latency_us),
        summary: entry.summary(),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}
