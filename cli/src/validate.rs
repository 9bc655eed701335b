//! `dapkit validate`: every message against the schema and the session against the
//! protocol's rules.

use crate::error::{CliError, Exit};
use crate::trace_open;
use clap::Args;
use dapkit_trace::validate::{RULES, Severity, rule, validate};
use std::io::{self, Write};
use std::path::PathBuf;

/// Check a trace: every message against the DAP schema, and the session against the
/// protocol's rules (each finding names its rule id; known real-world quirks are warnings).
///
/// Exit 0 when clean or only warnings, 1 with errors, 2 on usage or I/O errors.
#[derive(Debug, Args)]
#[command(after_help = rules_help())]
pub struct ValidateArgs {
    /// The trace (plain or gzip); `-` reads standard input.
    pub file: PathBuf,
    /// One JSON object per finding, then one `{"summary": …}` line.
    #[arg(long)]
    pub json: bool,
    /// Do not report this rule (repeatable). See the rule ids below.
    #[arg(long = "allow", value_name = "RULE")]
    pub allow: Vec<String>,
}

fn rules_help() -> String {
    let mut s = String::from("Rules:\n");
    for r in RULES {
        s.push_str(&format!(
            "  {:<40} {:<7} {}\n",
            r.id,
            r.severity.as_str(),
            r.description
        ));
    }
    s
}

/// Runs `dapkit validate`.
pub fn run(args: ValidateArgs) -> Result<Exit, CliError> {
    for id in &args.allow {
        if rule(id).is_none() {
            let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
            return Err(CliError::usage(format!(
                "unknown rule `{id}` for --allow (rules: {})",
                ids.join(", ")
            )));
        }
    }
    let reader = trace_open::open(&args.file)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let (mut errors, mut warnings) = (0u64, 0u64);
    let mut write_error: Option<io::Error> = None;
    let stats = validate(reader, |f| {
        if args.allow.iter().any(|a| a == f.rule) {
            return;
        }
        match f.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
        }
        if write_error.is_some() {
            return;
        }
        let written = if args.json {
            serde_json::to_writer(&mut out, &f)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
        } else {
            writeln!(out, "{f}")
        };
        if let Err(e) = written {
            write_error = Some(e);
        }
    })
    .map_err(|e| CliError::usage(format!("{}: {e}", args.file.display())))?;
    let summary = if args.json {
        serde_json::json!({"summary": {"records": stats.records, "errors": errors, "warnings": warnings}})
            .to_string()
    } else {
        format!(
            "{}: {}, {}, {}",
            args.file.display(),
            plural(stats.records, "record"),
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    };
    let result = match write_error {
        Some(e) => Err(e),
        None => writeln!(out, "{summary}").and_then(|()| out.flush()),
    };
    match result {
        Err(e) if !trace_open::is_broken_pipe(&e) => {
            return Err(CliError::io("cannot write to standard output", e));
        }
        _ => {}
    }
    Ok(if errors > 0 { Exit::Findings } else { Exit::Ok })
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
