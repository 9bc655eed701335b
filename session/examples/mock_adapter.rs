//! A small debug adapter that "debugs" a text file, built on
//! [`dapkit_session::adapter`]; it speaks DAP over its stdin and stdout, so any DAP client
//! can drive it (the tests drive it with VS Code's own test client).
//!
//! The program is a text file: each line is a statement. The adapter supports:
//!
//! - `initialize` (with `supportsConfigurationDoneRequest`), `launch` with
//!   `{"program": "<path of the text file>", "stopOnEntry": false}`, `setBreakpoints`
//!   (verified on lines that exist and are not blank), `configurationDone`;
//! - `threads` (one thread), `stackTrace` (one frame, at the current line), `scopes`
//!   (one scope, `Locals`) and `variables`: `line` (the line's text), `lineNumber`, and
//!   `words` (nested: one child per word);
//! - `continue` (runs to the next breakpoint: a `stopped` event with reason
//!   `breakpoint`), `next` (the next line: reason `step`), `evaluate` (a variable's name
//!   gives its value; anything else is echoed);
//! - at the end of the file: `exited` (code 0) and `terminated`; then `disconnect`.
//!
//! Any other request gets an error response (the dropped request answers itself).
//!
//! Run it: `cargo run -p dapkit-session --example mock_adapter` (an optional `--stdio`
//! argument is accepted: stdio is the only transport here).

use dapkit_session::adapter::{AdapterSession, Incoming, Requests, StartupError};
use dapkit_types::Request;
use dapkit_types::messages::{
    ContinueRequest, DisconnectRequest, EvaluateRequest, ExitedEvent, LaunchRequest, NextRequest,
    OutputEvent, ScopesRequest, SetBreakpointsRequest, StackTraceRequest, StoppedEvent,
    TerminatedEvent, ThreadsRequest, VariablesRequest,
};
use dapkit_types::types::{
    Breakpoint, Capabilities, ContinueResponseBody, EvaluateResponseBody, ExitedEventBody,
    OutputEventBody, OutputEventBodyCategory, Scope, ScopesResponseBody, SetBreakpointsArguments,
    SetBreakpointsResponseBody, Source, StackFrame, StackTraceResponseBody, StoppedEventBody,
    StoppedEventBodyReason, Thread, ThreadsResponseBody, Variable, VariablesResponseBody,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The one thread of a text program.
const THREAD_ID: i32 = 1;
/// The `variablesReference` of the `Locals` scope.
const LOCALS: i32 = 1000;
/// The `variablesReference` of `words`, the nested variable.
const WORDS: i32 = 1001;

fn main() -> std::process::ExitCode {
    if let Some(arg) = std::env::args().nth(1).filter(|a| a != "--stdio") {
        eprintln!("mock_adapter: unknown argument {arg:?} (it speaks DAP on stdin/stdout)");
        return std::process::ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mock_adapter: cannot start the tokio runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        let (session, requests) = AdapterSession::new(tokio::io::stdin(), tokio::io::stdout());
        let result = run(&session, requests).await;
        // Writes what is queued (the last responses and events), then ends the output.
        session.close().await;
        match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mock_adapter: {e}");
                std::process::ExitCode::FAILURE
            }
        }
    });
    // tokio reads stdin on a blocking thread that waits until stdin closes; the session
    // is over, so do not wait for it.
    runtime.shutdown_background();
    code
}

/// The breakpoints the client set, by source path (lines as the client numbers them).
#[derive(Default)]
struct Breakpoints(HashMap<PathBuf, Vec<u64>>);

impl Breakpoints {
    /// Replaces the breakpoints of one source; a breakpoint is verified when its line
    /// exists in the file and is not blank.
    fn set(&mut self, args: &SetBreakpointsArguments, base: u64) -> SetBreakpointsResponseBody {
        let path = args.source.path.clone().unwrap_or_default();
        let lines = read_lines(Path::new(&path)).unwrap_or_default();
        let mut verified_lines = Vec::new();
        let breakpoints = args
            .breakpoints
            .iter()
            .flatten()
            .map(|bp| {
                let index = bp
                    .line
                    .checked_sub(base)
                    .and_then(|i| usize::try_from(i).ok());
                let exists = index
                    .and_then(|i| lines.get(i))
                    .is_some_and(|text| !text.trim().is_empty());
                if exists {
                    verified_lines.push(bp.line);
                }
                Breakpoint::new(exists)
                    .with_line(bp.line)
                    .with_source(args.source.clone())
            })
            .collect();
        self.0.insert(PathBuf::from(path), verified_lines);
        SetBreakpointsResponseBody::new(breakpoints)
    }

    fn has(&self, path: &Path, line: u64) -> bool {
        self.0.get(path).is_some_and(|lines| lines.contains(&line))
    }
}

/// The debuggee: a text file and the line it stopped at.
struct Program {
    path: PathBuf,
    lines: Vec<String>,
    /// The 0-based index of the current line.
    current: usize,
    /// The first line's number as the client counts (`linesStartAt1`).
    base: u64,
}

impl Program {
    fn line_number(&self) -> u64 {
        self.current as u64 + self.base
    }

    fn text(&self) -> &str {
        self.lines.get(self.current).map_or("", String::as_str)
    }

    fn source(&self) -> Source {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let mut source = Source::new().with_path(self.path.to_string_lossy());
        source.name = name;
        source
    }

    /// Runs from line `from` (0-based) to the first breakpoint at or after it; `false` at
    /// the end of the file.
    fn run_from(&mut self, from: usize, breakpoints: &Breakpoints) -> bool {
        let hit =
            (from..self.lines.len()).find(|&i| breakpoints.has(&self.path, i as u64 + self.base));
        match hit {
            Some(i) => {
                self.current = i;
                true
            }
            None => false,
        }
    }

    /// The value of a variable of the `Locals` scope.
    fn variable(&self, name: &str) -> Option<Variable> {
        Some(match name {
            "line" => Variable::new("line", format!("{:?}", self.text()), 0).with_type("string"),
            "lineNumber" => {
                Variable::new("lineNumber", self.line_number().to_string(), 0).with_type("int")
            }
            "words" => {
                let count = self.text().split_whitespace().count();
                Variable::new("words", format!("{count} words"), WORDS).with_type("list")
            }
            _ => return None,
        })
    }
}

fn read_lines(path: &Path) -> std::io::Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .map(str::to_owned)
        .collect())
}

async fn run(session: &AdapterSession, mut requests: Requests) -> Result<(), StartupError> {
    let capabilities = Capabilities::new()
        .with_supports_configuration_done_request(true)
        .with_supports_evaluate_for_hovers(true);
    let mut breakpoints = Breakpoints::default();

    // initialize → initialized → setBreakpoints… → configurationDone, with `launch` held
    // back until the configuration is done.
    let started = requests
        .start_up(capabilities, |req| match req.request() {
            Request::SetBreakpoints(r) => {
                let body = breakpoints.set(&r.arguments, line_base(session));
                let _ = session.respond::<SetBreakpointsRequest>(req, body);
            }
            // Anything else (setExceptionBreakpoints, ...) is dropped: an error response.
            _ => drop(req),
        })
        .await;
    let started = match started {
        Ok(s) => s,
        Err(StartupError::Disconnected(req)) => {
            let _ = session.respond::<DisconnectRequest>(*req, None);
            return Ok(());
        }
        Err(e) => return Err(e),
    };

    let mut program = match launch(session, started.launch, &breakpoints) {
        Some(p) => p,
        None => return serve_ended(session, requests).await,
    };

    while let Some(req) = requests.next().await {
        match req.request() {
            Request::Threads(_) => {
                let body = ThreadsResponseBody::new(vec![Thread::new(THREAD_ID, "main")]);
                let _ = session.respond::<ThreadsRequest>(req, body);
            }
            Request::StackTrace(_) => {
                let frame = StackFrame::new(1, "main", program.line_number(), 1)
                    .with_source(program.source());
                let mut body = StackTraceResponseBody::new(vec![frame]);
                body.total_frames = Some(1);
                let _ = session.respond::<StackTraceRequest>(req, body);
            }
            Request::Scopes(_) => {
                let body = ScopesResponseBody::new(vec![Scope::new("Locals", LOCALS, false)]);
                let _ = session.respond::<ScopesRequest>(req, body);
            }
            Request::Variables(r) => {
                let variables = match r.arguments.variables_reference {
                    LOCALS => ["line", "lineNumber", "words"]
                        .iter()
                        .filter_map(|n| program.variable(n))
                        .collect(),
                    WORDS => (program.text().split_whitespace().enumerate())
                        .map(|(i, w)| Variable::new(format!("[{i}]"), format!("{w:?}"), 0))
                        .collect(),
                    _ => Vec::new(),
                };
                let body = VariablesResponseBody::new(variables);
                let _ = session.respond::<VariablesRequest>(req, body);
            }
            Request::Evaluate(r) => {
                let expression = r.arguments.expression.trim().to_owned();
                let body = match program.variable(&expression) {
                    Some(v) => EvaluateResponseBody::new(v.value, v.variables_reference),
                    None => EvaluateResponseBody::new(expression, 0),
                };
                let _ = session.respond::<EvaluateRequest>(req, body);
            }
            Request::SetBreakpoints(r) => {
                let body = breakpoints.set(&r.arguments, program.base);
                let _ = session.respond::<SetBreakpointsRequest>(req, body);
            }
            Request::Continue(_) => {
                let _ = session.respond::<ContinueRequest>(req, ContinueResponseBody::new());
                if program.run_from(program.current + 1, &breakpoints) {
                    stopped(session, StoppedEventBodyReason::Breakpoint);
                } else {
                    return finish(session, requests).await;
                }
            }
            Request::Next(_) => {
                let _ = session.respond::<NextRequest>(req, None);
                if program.current + 1 < program.lines.len() {
                    program.current += 1;
                    stopped(session, StoppedEventBodyReason::Step);
                } else {
                    return finish(session, requests).await;
                }
            }
            Request::Disconnect(_) => {
                let _ = session.respond::<DisconnectRequest>(req, None);
                return Ok(());
            }
            _ => drop(req), // not supported: the client gets an error response
        }
    }
    Ok(())
}

/// The line number of the file's first line, as the client counts.
fn line_base(session: &AdapterSession) -> u64 {
    match session.client().and_then(|c| c.lines_start_at1) {
        Some(false) => 0,
        _ => 1,
    }
}

/// Reads the program, answers `launch`, and runs to the first breakpoint (or stops on
/// entry). `None` if the program cannot run (the client got an error, or it ended).
fn launch(session: &AdapterSession, req: Incoming, breakpoints: &Breakpoints) -> Option<Program> {
    let Request::Launch(launch) = req.request() else {
        let _ = session.respond_error(req, "this adapter supports `launch` only");
        return None;
    };
    let args = &launch.arguments.extra;
    let Some(path) = args
        .get("program")
        .and_then(|p| p.as_str())
        .map(PathBuf::from)
    else {
        let _ = session.respond_error(req, "`launch` needs `program`: the path of a text file");
        return None;
    };
    let stop_on_entry = args.get("stopOnEntry").and_then(|v| v.as_bool()) == Some(true);
    let lines = match read_lines(&path) {
        Ok(lines) => lines,
        Err(e) => {
            let text = format!("cannot read the program {}: {e}", path.display());
            let _ = session.respond_error(req, &text);
            return None;
        }
    };
    let _ = session.respond::<LaunchRequest>(req, None);
    let output = format!("running {} ({} lines)\n", path.display(), lines.len());
    let body = OutputEventBody::new(output).with_category(OutputEventBodyCategory::Console);
    let _ = session.send_event::<OutputEvent>(body);
    let mut program = Program {
        path,
        lines,
        current: 0,
        base: line_base(session),
    };
    if stop_on_entry {
        stopped(session, StoppedEventBodyReason::Entry);
    } else if program.run_from(0, breakpoints) {
        stopped(session, StoppedEventBodyReason::Breakpoint);
    } else {
        end(session);
        return None;
    }
    Some(program)
}

fn stopped(session: &AdapterSession, reason: StoppedEventBodyReason) {
    let body = StoppedEventBody::new(reason)
        .with_thread_id(THREAD_ID)
        .with_all_threads_stopped(true);
    let _ = session.send_event::<StoppedEvent>(body);
}

/// The program ran off its end.
fn end(session: &AdapterSession) {
    let _ = session.send_event::<ExitedEvent>(ExitedEventBody::new(0));
    let _ = session.send_event::<TerminatedEvent>(None);
}

async fn finish(session: &AdapterSession, requests: Requests) -> Result<(), StartupError> {
    end(session);
    serve_ended(session, requests).await
}

/// After the end: answers `disconnect`; anything else gets an error response.
async fn serve_ended(session: &AdapterSession, mut requests: Requests) -> Result<(), StartupError> {
    while let Some(req) = requests.next().await {
        if let Request::Disconnect(_) = req.request() {
            let _ = session.respond::<DisconnectRequest>(req, None);
            break;
        }
        let _ = session.respond_error(req, "the program has ended");
    }
    Ok(())
}
