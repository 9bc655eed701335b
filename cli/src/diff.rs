//! `dapkit diff`: a semantic diff of two traces.

use crate::error::{CliError, Exit};
use crate::trace_open;
use clap::Args;
use dapkit_trace::diff::{Options, diff};
use std::io::{self, Write};
use std::path::PathBuf;

/// Compare two traces semantically: request/response pairs and events are aligned, and
/// seq, times and handles (thread, frame, variables, source and breakpoint ids…) are ignored.
///
/// Prints the first differences with their record numbers. Exit 0 when the traces are the
/// same, 1 when they differ, 2 on usage or I/O errors.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first trace (A); `-` reads standard input.
    pub a: PathBuf,
    /// The second trace (B).
    pub b: PathBuf,
    /// One JSON object per difference, then one `{"summary": …}` line.
    #[arg(long)]
    pub json: bool,
    /// Ignore absolute paths (only their file name is compared).
    #[arg(long)]
    pub ignore_paths: bool,
    /// Stop after this many differences.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max: usize,
    /// Leave out the events with this name in both traces (repeatable), e.g. debugpy's
    /// `debugpySockets`, whose ports differ by run.
    #[arg(long = "ignore-event", value_name = "NAME")]
    pub ignore_events: Vec<String>,
}

/// Runs `dapkit diff`.
pub fn run(args: DiffArgs) -> Result<Exit, CliError> {
    if args.a == args.b && args.a.as_os_str() == "-" {
        return Err(CliError::usage(
            "only one of the traces can be standard input",
        ));
    }
    let a = trace_open::open(&args.a).map_err(|e| CliError::usage(format!("trace A: {e}")))?;
    let b = trace_open::open(&args.b).map_err(|e| CliError::usage(format!("trace B: {e}")))?;
    let options = Options::default()
        .with_ignore_paths(args.ignore_paths)
        .with_max_differences(args.max)
        .with_ignore_events(args.ignore_events.iter().cloned());
    let report = diff(a, b, &options).map_err(|e| CliError::usage(e.to_string()))?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written = (|| -> io::Result<()> {
        for d in &report.differences {
            if args.json {
                serde_json::to_writer(&mut out, d)?;
                out.write_all(b"\n")?;
            } else {
                writeln!(out, "{d}")?;
            }
        }
        let n = report.differences.len();
        if args.json {
            let summary = serde_json::json!({"summary": {
                "same": report.is_same(), "differences": n, "truncated": report.truncated}});
            writeln!(out, "{summary}")?;
        } else if report.is_same() {
            writeln!(out, "same")?;
        } else {
            let more = if report.truncated {
                " (stopped; there are more)"
            } else {
                ""
            };
            let s = if n == 1 { "" } else { "s" };
            writeln!(out, "{n} difference{s}{more}")?;
        }
        out.flush()
    })();
    match written {
        Err(e) if !trace_open::is_broken_pipe(&e) => {
            return Err(CliError::io("cannot write to standard output", e));
        }
        _ => {}
    }
    Ok(if report.is_same() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}
