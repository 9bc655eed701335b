//! `dapkit show TRACE --html OUT.html`: the trace as one self-contained HTML page
//! (written by `dapkit_trace::html`).

use crate::error::{CliError, Exit};
use crate::trace_open;
use dapkit_trace::html::{HtmlError, write_html};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Writes the page for `trace` to `out` (`-` is standard output) and prints what it holds.
pub fn run(trace: &Path, out: &Path) -> Result<Exit, CliError> {
    if out != Path::new("-")
        && trace != Path::new("-")
        && let (Ok(a), Ok(b)) = (trace.canonicalize(), out.canonicalize())
        && a == b
    {
        return Err(CliError::usage(format!(
            "--html {} would overwrite the trace it shows",
            out.display()
        )));
    }
    let reader = trace_open::open(trace).map_err(|e| {
        if trace == Path::new("-") || e.to_string().contains(&trace.display().to_string()) {
            e
        } else {
            CliError::usage(format!("{}: {e}", trace.display()))
        }
    })?;
    let title = if trace == Path::new("-") {
        "standard input".to_owned()
    } else {
        trace.file_name().map_or_else(
            || trace.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let written = if out == Path::new("-") {
        write_html(reader, io::stdout().lock(), &title)
    } else {
        let file = File::create(out)
            .map_err(|e| CliError::io(format!("cannot create {}", out.display()), e))?;
        let written = write_html(reader, file, &title);
        if written.is_err() {
            // Leave no half page behind.
            let _ = std::fs::remove_file(out);
        }
        written
    };
    let stats = match written {
        Ok(stats) => stats,
        Err(HtmlError::Write(e)) if out == Path::new("-") && trace_open::is_broken_pipe(&e) => {
            return Ok(Exit::Ok);
        }
        Err(HtmlError::Write(e)) => {
            return Err(CliError::io(format!("cannot write {}", out.display()), e));
        }
        Err(HtmlError::Read(e)) => {
            return Err(CliError::usage(format!("{}: {e}", trace.display())));
        }
    };
    if out != Path::new("-") {
        let line = format!(
            "{}: {} record{}, {} finding{}",
            out.display(),
            stats.records,
            if stats.records == 1 { "" } else { "s" },
            stats.findings,
            if stats.findings == 1 { "" } else { "s" },
        );
        let mut stdout = io::stdout().lock();
        match writeln!(stdout, "{line}") {
            Err(e) if !trace_open::is_broken_pipe(&e) => {
                return Err(CliError::io("cannot write to standard output", e));
            }
            _ => {}
        }
    }
    Ok(Exit::Ok)
}
