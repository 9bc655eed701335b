//! `dapkit import`: a trace from two raw byte captures, for traffic recorded without
//! dapkit (socat, strace, tcpflow, an adapter's own log of its streams).

use crate::error::{CliError, Exit};
use clap::Args;
use dapkit_trace::{Header, TraceWriter};
use serde_json::json;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

/// Build a trace from two raw captures: what the client sent and what the adapter sent,
/// each a byte stream of `Content-Length` frames.
///
/// The captures have no times, so the order between them is rebuilt from the protocol: a
/// response comes after its request, and what the adapter sends after a response follows
/// from that request (events stay in the adapter's order). Every byte of both streams is
/// kept; bytes that are not frames become invalid records with the reason.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Every byte the client sent to the adapter.
    #[arg(long, value_name = "FILE")]
    client_stream: PathBuf,
    /// Every byte the adapter sent to the client.
    #[arg(long, value_name = "FILE")]
    adapter_stream: PathBuf,
    /// The trace to write (gzip when the name ends in `.gz`).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs `dapkit import`.
pub fn run(args: ImportArgs) -> Result<Exit, CliError> {
    let open = |path: &PathBuf| {
        File::open(path)
            .map(|f| BufReader::with_capacity(1 << 16, f))
            .map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))
    };
    let client = open(&args.client_stream)?;
    let adapter = open(&args.adapter_stream)?;
    let header = Header::new(json!({
        "import": {
            "clientStream": args.client_stream.display().to_string(),
            "adapterStream": args.adapter_stream.display().to_string(),
            "order": "reconstructed from request/response pairing",
        }
    }));
    let mut writer = TraceWriter::create(&args.out, &header)
        .map_err(|e| CliError::io("cannot write the trace", e))?;
    let report = dapkit_trace::import::import(client, adapter, &mut writer)
        .map_err(|e| CliError::io("import failed", e))?;
    writer
        .finish()
        .map_err(|e| CliError::io(format!("cannot write {}", args.out.display()), e))?;
    if report.invalid_records > 0 {
        tracing::warn!(
            "{} records hold bytes that are not valid messages",
            report.invalid_records
        );
    }
    if report.conflicts > 0 {
        tracing::warn!(
            "the two captures contradict each other {} times (a response before its request); the order there is a guess",
            report.conflicts
        );
    }
    println!(
        "{}: {} client and {} adapter records ({} invalid, {} unpaired responses, {} order conflicts)",
        args.out.display(),
        report.client_records,
        report.adapter_records,
        report.invalid_records,
        report.unpaired_responses,
        report.conflicts
    );
    Ok(Exit::Ok)
}
