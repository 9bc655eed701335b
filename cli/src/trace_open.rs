//! Opening a trace named on the command line: a file (plain or gzip), `-` for standard
//! input, or a file followed as it grows (`show --follow`).

use crate::error::CliError;
use dapkit_trace::TraceReader;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

/// A trace reader over any input.
pub type Reader = TraceReader<Box<dyn BufRead + Send>>;

/// Opens `path` (`-` is standard input).
pub fn open(path: &Path) -> Result<Reader, CliError> {
    if path == Path::new("-") {
        return Ok(TraceReader::from_reader(BufReader::with_capacity(
            1 << 16,
            io::stdin(),
        ))?);
    }
    Ok(TraceReader::open(path)?)
}

/// Opens `path` and keeps reading as it grows: at its end the reader waits (polling every
/// `FOLLOW_POLL`, flushing standard output first) instead of ending, until the process is
/// interrupted. Standard input is read as it comes (it waits by itself).
pub fn open_follow(path: &Path) -> Result<Reader, CliError> {
    if path == Path::new("-") {
        return open(path);
    }
    let file =
        File::open(path).map_err(|e| CliError::io(format!("cannot open {}", path.display()), e))?;
    Ok(TraceReader::from_reader(BufReader::with_capacity(
        1 << 16,
        Follow { file },
    ))?)
}

/// How often a followed file is checked for new bytes.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// A file read past its end: a read that finds nothing waits and tries again.
struct Follow {
    file: File,
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.file.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            io::stdout().flush()?;
            std::thread::sleep(FOLLOW_POLL);
        }
    }
}

/// Whether an output error is the reader of a pipe going away (`dapkit show | head`),
/// which ends the output quietly.
pub fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}
