//! One error type for every subcommand, printed as one line `dapkit: error: …`.

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

/// How a subcommand that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Nothing to report: exit 0.
    Ok,
    /// Findings or differences were reported: exit 1.
    Findings,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> ExitCode {
        match self {
            Exit::Ok => ExitCode::SUCCESS,
            Exit::Findings => ExitCode::from(1),
        }
    }
}

/// A failure: usage and I/O errors exit 2; other failures name their own code.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            code: 2,
            message: message.into(),
        }
    }

    /// An I/O error (exit 2), with what was being done.
    pub fn io(context: impl fmt::Display, error: impl fmt::Display) -> CliError {
        CliError {
            code: 2,
            message: format!("{context}: {error}"),
        }
    }

    /// A failure with its own exit code (for example the adapter exiting under a server).
    pub fn with_code(code: u8, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
        }
    }

    /// Prints the error as one line on stderr and returns the exit code.
    pub fn report(&self) -> ExitCode {
        let _ = writeln!(std::io::stderr(), "{}", self.line());
        ExitCode::from(self.code)
    }

    /// `dapkit: error: …` on one line: line ends as spaces, any other control character
    /// (a message may quote what a peer sent) spelled as an escape.
    fn line(&self) -> String {
        let one_line = self.message.replace('\n', " ");
        format!("dapkit: error: {}", dapkit_trace::text::escaped(&one_line))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<dapkit_trace::ReadError> for CliError {
    fn from(e: dapkit_trace::ReadError) -> CliError {
        CliError::usage(e.to_string())
    }
}

/// Help and version go to stdout with exit 0; argument errors print `dapkit: error: …`
/// (with clap's usage hint on the following lines) and exit 2.
pub fn clap_exit(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let rendered = e.render().to_string();
            let text = rendered.strip_prefix("error: ").unwrap_or(&rendered);
            let _ = write!(std::io::stderr(), "dapkit: error: {text}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_line_is_one_line_with_a_peers_controls_escaped() {
        let e = CliError::usage("replay diverged: record 3 (c\u{1b}[2J):\ntimed out\r");
        assert_eq!(
            e.line(),
            "dapkit: error: replay diverged: record 3 (c\\u{1b}[2J): timed out\\r"
        );
        assert_eq!(CliError::usage("plain é").line(), "dapkit: error: plain é");
    }
}
