//! Reverse requests (adapter → client): the handlers a client can install, the
//! `runInTerminal` handler [`run_in_terminal`] that really starts the command (only when
//! the client opted in), and the task that answers each reverse request.
//!
//! Safe by default: a reverse request is refused with an error response (`success:
//! false`, a message saying why) unless the client installed a handler for it **and**
//! declared the matching capability (`supportsRunInTerminalRequest`,
//! `supportsStartDebuggingRequest`) in the arguments of the `initialize` it sent. Any
//! other reverse request gets an error response and a
//! [`Diagnostic::UnhandledReverseRequest`]. At most
//! [`ClientOptions::with_reverse_request_limit`](super::ClientOptions::with_reverse_request_limit)
//! reverse requests are handled at once; one more is refused at once with an error
//! response saying so.

use super::error::Diagnostic;
use super::shared::Shared;
use dapkit_types::messages::{RunInTerminalResponse, StartDebuggingResponse};
use dapkit_types::types::{
    ResponseMessage, RunInTerminalRequestArguments, RunInTerminalResponseBody,
    StartDebuggingRequestArguments,
};
use dapkit_types::{ErrorResponse, Request};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future (what handlers return).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Handles `runInTerminal`: starts the command, returns the body of the response (the
/// process id), or an error message sent back as an error response.
pub type RunInTerminalHandler = Arc<
    dyn Fn(RunInTerminalRequestArguments) -> BoxFuture<Result<RunInTerminalResponseBody, String>>
        + Send
        + Sync,
>;

/// Handles `startDebugging`: starts the child session (or refuses, with a message sent
/// back as an error response).
pub type StartDebuggingHandler =
    Arc<dyn Fn(StartDebuggingRequestArguments) -> BoxFuture<Result<(), String>> + Send + Sync>;

/// The reverse-request handlers of one session (by default none: every reverse request
/// is refused).
#[derive(Clone, Default)]
pub(crate) struct Handlers {
    pub run_in_terminal: Option<RunInTerminalHandler>,
    pub start_debugging: Option<StartDebuggingHandler>,
}

/// The default number of reverse requests handled at once.
pub(crate) const DEFAULT_REVERSE_LIMIT: usize = 8;

/// The command and the usable `seq` of a reverse request; `None` (after a diagnostic)
/// when it has no integer `seq`, so no response can name it.
fn identify(shared: &Shared, request: &Request) -> Option<(String, i32)> {
    let command = request.command().unwrap_or("").to_owned();
    match request.seq().and_then(|s| i32::try_from(s).ok()) {
        Some(seq) => Some((command, seq)),
        None => {
            shared.diagnose(Diagnostic::ReverseRequestFailed {
                command,
                error: "the request has no integer `seq`; it cannot be answered".into(),
            });
            None
        }
    }
}

/// Refuses a reverse request at once with an error response carrying `reason` (used when
/// too many are in progress).
pub(crate) fn refuse(shared: &Shared, request: &Request, reason: String) {
    if let Some((command, request_seq)) = identify(shared, request) {
        respond(shared, command, request_seq, Err(reason));
    }
}

/// Why a reverse request the client has a handler for is still refused: the client did
/// not declare the capability in the `initialize` it sent.
fn undeclared(command: &str, capability: &str) -> String {
    format!(
        "`{command}` refused: this client did not declare `{capability}: true` in its `initialize` request"
    )
}

/// Answers one reverse request (runs in its own task, so the reader keeps reading).
pub(crate) async fn answer(shared: &Shared, handlers: &Handlers, request: Request) {
    let Some((command, request_seq)) = identify(shared, &request) else {
        return;
    };
    let declared = shared.declared();
    let answer = match request {
        Request::RunInTerminal(r) => match &handlers.run_in_terminal {
            None => Err(
                "`runInTerminal` refused: this client does not run commands for the debug adapter"
                    .into(),
            ),
            Some(_) if !declared.run_in_terminal => {
                Err(undeclared("runInTerminal", "supportsRunInTerminalRequest"))
            }
            Some(h) => h(r.arguments).await.map(Answer::RunInTerminal),
        },
        Request::StartDebugging(r) => match &handlers.start_debugging {
            None => Err("`startDebugging` is not supported by this client".into()),
            Some(_) if !declared.start_debugging => Err(undeclared(
                "startDebugging",
                "supportsStartDebuggingRequest",
            )),
            Some(h) => h(r.arguments).await.map(|()| Answer::StartDebugging),
        },
        _ => {
            shared.diagnose(Diagnostic::UnhandledReverseRequest {
                command: command.clone(),
                seq: i64::from(request_seq),
            });
            Err(format!("`{command}` is not supported by this client"))
        }
    };
    respond(shared, command, request_seq, answer);
}

/// Sends the response of reverse request `request_seq`: the handler's result, or an error
/// response (and a [`Diagnostic::ReverseRequestFailed`]).
fn respond(shared: &Shared, command: String, request_seq: i32, answer: Result<Answer, String>) {
    let sent = match answer {
        Ok(Answer::RunInTerminal(body)) => shared.send(
            |seq| encode(&RunInTerminalResponse::new(seq, request_seq, body)),
            None,
        ),
        Ok(Answer::StartDebugging) => shared.send(
            |seq| encode(&StartDebuggingResponse::new(seq, request_seq)),
            None,
        ),
        Err(error) => {
            shared.diagnose(Diagnostic::ReverseRequestFailed {
                command: command.clone(),
                error: error.clone(),
            });
            shared.send(
                |seq| {
                    encode(
                        &ErrorResponse::new(seq, request_seq, command.as_str())
                            .with_message(ResponseMessage::Other(error)),
                    )
                },
                None,
            )
        }
    };
    if let Err(e) = sent {
        shared.diagnose(Diagnostic::ReverseRequestFailed {
            command,
            error: format!("cannot send the response: {e}"),
        });
    }
}

/// A handler's successful outcome.
enum Answer {
    RunInTerminal(RunInTerminalResponseBody),
    StartDebugging,
}

fn encode<T: serde::Serialize>(message: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(message).map_err(|e| e.to_string())
}

/// The default `runInTerminal` handler: starts the command and leaves it running.
///
/// - `cwd` is the working directory (ignored when empty);
/// - `env` entries are set, and an entry whose value is `null` is removed from the
///   inherited environment;
/// - with `argsCanBeInterpretedByShell: true` the arguments are joined with spaces and run
///   by `sh -c` (`cmd /C` on Windows), so shell syntax in them takes effect; the response
///   then carries the shell's pid as both `processId` and `shellProcessId` (a shell that
///   `exec`s a simple command keeps that pid for the command itself);
/// - otherwise `args[0]` is executed directly with the other arguments verbatim, and the
///   response carries its `processId`.
///
/// The process gets no stdin and inherits stdout and stderr. On Unix it leads a new
/// process group, so that signals aimed at the client's group (Ctrl-C) do not reach it.
/// It is not killed when the handler returns or the session ends: the debuggee lives on
/// until it exits (a task reaps it then).
pub async fn run_in_terminal(
    args: RunInTerminalRequestArguments,
) -> Result<RunInTerminalResponseBody, String> {
    let Some((program, rest)) = args.args.split_first() else {
        return Err("runInTerminal: `args` is empty, there is nothing to run".into());
    };
    let via_shell = args.args_can_be_interpreted_by_shell == Some(true);
    let mut command = if via_shell {
        let line = args.args.join(" ");
        #[cfg(windows)]
        let mut c = {
            let mut c = tokio::process::Command::new("cmd");
            c.arg("/C").arg(line);
            c
        };
        #[cfg(not(windows))]
        let mut c = {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(line);
            c
        };
        c.kill_on_drop(false);
        c
    } else {
        let mut c = tokio::process::Command::new(program);
        c.args(rest);
        c
    };
    if !args.cwd.is_empty() {
        command.current_dir(&args.cwd);
    }
    for (key, value) in args.env.iter().flatten() {
        match value {
            Some(v) => command.env(key, v),
            None => command.env_remove(key),
        };
    }
    command
        .stdin(std::process::Stdio::null())
        .kill_on_drop(false);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command.spawn().map_err(|e| {
        let what = if via_shell {
            "a shell".to_owned()
        } else {
            format!("`{program}`")
        };
        if args.cwd.is_empty() {
            format!("runInTerminal: cannot start {what}: {e}")
        } else {
            format!("runInTerminal: cannot start {what} in `{}`: {e}", args.cwd)
        }
    })?;
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    // Reap the process when it exits; never kill it.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    let mut body = RunInTerminalResponseBody::new();
    if let Some(pid) = pid {
        body = body.with_process_id(pid);
        if via_shell {
            body = body.with_shell_process_id(pid);
        }
    }
    Ok(body)
}
