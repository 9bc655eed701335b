//! The MCP server: the tools, their arguments (JSON Schemas from schemars), and the
//! sessions they act on.

use crate::bound::{self, MAX_ANSWER, MAX_ARGUMENT, MAX_ITEMS, MAX_STRING, put_str};
use crate::config::Config;
use crate::session::{DEFAULT_WAIT, MAX_WAIT, Outcome, Phase, Session, frame_json};
use dapkit_transport::Endpoint;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::schema_for_type;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, JsonObject, ServerCapabilities, ServerConfig,
};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

/// The largest tool arguments accepted, as JSON.
pub const MAX_ARGUMENTS_JSON: usize = 1024 * 1024;
/// The most sessions at once.
pub const MAX_SESSIONS: usize = 32;

/// A breakpoint given with `launch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LaunchBreakpoint {
    /// The source file (absolute, or relative to `cwd`).
    pub path: String,
    /// The line (1-based).
    pub line: u64,
    /// Stop only when this expression is true.
    pub condition: Option<String>,
    /// Log this message (`{expr}` interpolated) instead of stopping.
    pub log_message: Option<String>,
}

/// `launch` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LaunchArgs {
    /// A preset (`debugpy`, `gdb`, `delve`, `lldb-dap`) or an adapter of the configuration
    /// file.
    pub adapter: String,
    /// The program to debug (a Python file, an executable, a Go package directory).
    pub program: String,
    /// Its command-line arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: Option<String>,
    /// Environment variables to set for it.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Stop at the program's entry.
    #[serde(default)]
    pub stop_on_entry: bool,
    /// Breakpoints set before the program starts.
    #[serde(default)]
    pub breakpoints: Vec<LaunchBreakpoint>,
    /// How long to wait for the first stop when there are breakpoints or stopOnEntry
    /// (seconds, default 30).
    pub wait_seconds: Option<f64>,
}

/// `attach` arguments: the adapter, and the adapter's own attach fields (for debugpy
/// `{"connect": {"host": "127.0.0.1", "port": 5678}}`, for gdb `{"pid": 1234}`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachArgs {
    /// A preset or an adapter of the configuration file.
    pub adapter: String,
    /// Breakpoints set before the program goes on.
    #[serde(default)]
    pub breakpoints: Vec<LaunchBreakpoint>,
    /// The adapter's attach arguments.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// `set_breakpoints` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetBreakpointsArgs {
    /// The session (from `launch`, `attach` or `sessions`).
    pub session: String,
    /// The source file.
    pub path: String,
    /// All breakpoints of the file (replacing the earlier ones); empty clears them.
    pub breakpoints: Vec<SourceBreakpoint>,
}

/// `continue` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContinueArgs {
    /// The session.
    pub session: String,
    /// The thread (default: the stopped one).
    pub thread: Option<i32>,
    /// How long to wait for the next stop (seconds, default 30); `{state: "running"}` after.
    pub wait_seconds: Option<f64>,
}

/// How to step.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// To the next line in this function (`next`).
    Over,
    /// Into the call (`stepIn`).
    In,
    /// Out of this function (`stepOut`).
    Out,
}

/// `step` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StepArgs {
    /// The session.
    pub session: String,
    /// over, in or out.
    pub kind: StepKind,
    /// The thread (default: the stopped one).
    pub thread: Option<i32>,
    /// How long to wait for the stop (seconds, default 30).
    pub wait_seconds: Option<f64>,
}

/// `snapshot` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnapshotArgs {
    /// The session.
    pub session: String,
    /// How many frames (default 10, at most 100).
    pub frames: Option<u32>,
    /// How deep locals are expanded (default 1: the locals; 2: their members; at most 4).
    pub depth: Option<u32>,
}

/// `variables` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VariablesArgs {
    /// The session.
    pub session: String,
    /// A `variablesReference` from a snapshot, variables or evaluate answer.
    pub reference: i32,
    /// The first child (for paging; default 0).
    pub start: Option<u32>,
    /// How many children (default and at most 100).
    pub count: Option<u32>,
}

/// `evaluate` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EvaluateArgs {
    /// The session.
    pub session: String,
    /// The expression.
    pub expression: String,
    /// The frame id (from a snapshot or stack; default: the top frame of the stopped thread).
    pub frame: Option<i32>,
    /// `watch` (default: an expression), `repl` (the debugger's console: statements in
    /// debugpy, gdb commands in gdb), `hover` or `clipboard`.
    pub context: Option<String>,
}

/// Arguments naming a session and optionally a thread.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ThreadArgs {
    /// The session.
    pub session: String,
    /// The thread (default: the stopped one, else the first).
    pub thread: Option<i32>,
}

/// `pause` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PauseArgs {
    /// The session.
    pub session: String,
    /// The thread (default: the first).
    pub thread: Option<i32>,
    /// How long to wait for the stop (seconds, default 30).
    pub wait_seconds: Option<f64>,
}

/// Arguments naming a session.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SessionArgs {
    /// The session.
    pub session: String,
}

/// `output` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OutputArgs {
    /// The session.
    pub session: String,
    /// How many lines from the end (default 50, at most 1000).
    pub tail: Option<u32>,
    /// Only this category (`stdout`, `stderr`, `console`, …; default all but telemetry).
    pub category: Option<String>,
}

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// The input schema of a tool, from its argument type.
fn schema<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    schema_for_type::<T>()
}

/// The MCP server.
#[derive(Clone)]
pub struct DebugServer {
    inner: Arc<Inner>,
    tool_router: ToolRouter<DebugServer>,
}

struct Inner {
    config: Config,
    sessions: Mutex<BTreeMap<String, Arc<Session>>>,
    next: AtomicU64,
}

type ToolResult = Result<Value, String>;

/// Every tool's answer: its JSON as text, or a tool error (`isError`) with a clear text.
fn answer(tool: &str, result: ToolResult) -> CallToolResult {
    match result {
        Ok(mut value) => {
            let mut text = value.to_string();
            if text.len() > MAX_ANSWER {
                // Every tool bounds its parts; this is the last guard.
                value = json!({
                    "truncated": true,
                    "length": text.len(),
                    "text": bound::cut_str(&text, MAX_ANSWER / 2),
                });
                text = value.to_string();
            }
            CallToolResult::success(vec![ContentBlock::text(text)])
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(format!(
            "{tool}: {}",
            bound::cut_str(&e, 4 * MAX_STRING)
        ))]),
    }
}

/// Parses tool arguments, refusing huge ones and naming what is wrong.
fn parse<T: DeserializeOwned>(args: JsonObject) -> Result<T, String> {
    let value = Value::Object(args);
    let size = bound::json_len(&value);
    if size > MAX_ARGUMENTS_JSON {
        return Err(format!(
            "the arguments are {size} bytes of JSON; at most {MAX_ARGUMENTS_JSON} are accepted"
        ));
    }
    check_strings(&value, "")?;
    serde_json::from_value(value).map_err(|e| format!("invalid arguments: {e}"))
}

fn check_strings(value: &Value, at: &str) -> Result<(), String> {
    match value {
        Value::String(s) if s.len() > MAX_ARGUMENT => Err(format!(
            "argument `{}` is {} bytes long; at most {MAX_ARGUMENT} are accepted",
            if at.is_empty() { "(value)" } else { at },
            s.len()
        )),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_strings(v, &format!("{at}[{i}]"))),
        Value::Object(o) => o.iter().try_for_each(|(k, v)| {
            check_strings(
                v,
                &if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                },
            )
        }),
        _ => Ok(()),
    }
}

fn wait_of(seconds: Option<f64>, default: Duration) -> Result<Duration, String> {
    match seconds {
        None => Ok(default),
        Some(s) if s.is_finite() && s >= 0.0 => Ok(Duration::from_secs_f64(s).min(MAX_WAIT)),
        Some(s) => Err(format!("waitSeconds must be a number ≥ 0, not {s}")),
    }
}

fn request_error(command: &str, e: dapkit_session::RequestError) -> String {
    match e.adapter_message() {
        Some(m) => format!(
            "the adapter refused `{command}`: {}",
            bound::cut_str(&m, MAX_STRING)
        ),
        None => format!("`{command}`: {e}"),
    }
}

impl DebugServer {
    /// A server with no sessions, starting adapters from `config`.
    pub fn new(config: Config) -> DebugServer {
        DebugServer {
            inner: Arc::new(Inner {
                config,
                sessions: Mutex::new(BTreeMap::new()),
                next: AtomicU64::new(1),
            }),
            tool_router: Self::tool_router(),
        }
    }

    /// Joins a proxy someone else started; the session appears in `sessions`.
    pub async fn join(&self, address: &Endpoint) -> Result<String, String> {
        let id = self.next_id();
        let session = Session::join(id.clone(), address).await?;
        self.inner
            .sessions
            .lock()
            .await
            .insert(id.clone(), Arc::new(session));
        Ok(id)
    }

    /// Ends every session (when the MCP client goes away).
    pub async fn shutdown(&self) {
        let sessions: Vec<Arc<Session>> = {
            let mut map = self.inner.sessions.lock().await;
            std::mem::take(&mut *map).into_values().collect()
        };
        for s in sessions {
            s.terminate().await;
        }
    }

    /// Calls the tool `name` with `arguments` without an MCP connection (for embedding
    /// and measurements); an unknown name is a tool error.
    pub async fn call(&self, name: &str, arguments: JsonObject) -> CallToolResult {
        match name {
            "launch" => self.launch(arguments).await,
            "attach" => self.attach(arguments).await,
            "set_breakpoints" => self.set_breakpoints(arguments).await,
            "continue" => self.resume(arguments).await,
            "step" => self.step(arguments).await,
            "snapshot" => self.snapshot(arguments).await,
            "variables" => self.variables(arguments).await,
            "evaluate" => self.evaluate(arguments).await,
            "stack" => self.stack(arguments).await,
            "threads" => self.threads(arguments).await,
            "output" => self.output(arguments).await,
            "pause" => self.pause(arguments).await,
            "terminate" => self.terminate(arguments).await,
            "sessions" => self.sessions(arguments).await,
            other => answer(
                "call",
                Err(format!("no tool `{}`", bound::cut_str(other, 100))),
            ),
        }
    }

    /// When the controller read the last `stopped` event of `session` (for measuring
    /// how long answers take after a stop).
    pub async fn stopped_at(&self, session: &str) -> Option<std::time::Instant> {
        let s = self.session(session).await.ok()?;
        s.state().stop.map(|stop| stop.at)
    }

    fn next_id(&self) -> String {
        format!("s{}", self.inner.next.fetch_add(1, Ordering::Relaxed))
    }

    async fn session(&self, id: &str) -> Result<Arc<Session>, String> {
        let map = self.inner.sessions.lock().await;
        map.get(id).cloned().ok_or_else(|| {
            let known: Vec<&str> = map.keys().map(String::as_str).collect();
            format!(
                "unknown session `{}` (sessions: {})",
                bound::cut_str(id, 100),
                if known.is_empty() {
                    "none; start one with launch or attach".to_owned()
                } else {
                    known.join(", ")
                }
            )
        })
    }

    async fn add(&self, session: Session) -> Result<Arc<Session>, String> {
        let session = Arc::new(session);
        let mut map = self.inner.sessions.lock().await;
        map.insert(session.id.clone(), session.clone());
        Ok(session)
    }

    async fn check_room(&self) -> Result<(), String> {
        let map = self.inner.sessions.lock().await;
        if map.len() >= MAX_SESSIONS {
            return Err(format!(
                "{MAX_SESSIONS} sessions are open; terminate one first"
            ));
        }
        Ok(())
    }

    /// After a start or resume: waits for the stop or the end and answers with the
    /// snapshot, `{state: "running"}` or `{state: "exited", …}`.
    async fn after_resume(&self, session: &Session, since: u64, wait: Duration) -> ToolResult {
        match session.wait(since, wait).await {
            Outcome::Stopped => session.snapshot(10, 1).await,
            Outcome::Running => Ok(json!({"session": session.id, "state": "running"})),
            Outcome::Exited => {
                session.settle_exit().await;
                session.collect_exit_code().await;
                Ok(session.exited())
            }
        }
    }

    async fn start(
        &self,
        command: &str,
        adapter: &str,
        target: String,
        arguments: Map<String, Value>,
        breakpoints: Vec<LaunchBreakpoint>,
        wait_first_stop: Option<Duration>,
    ) -> ToolResult {
        self.check_room().await?;
        let spec = self.inner.config.resolve(adapter)?;
        let id = self.next_id();
        let session = Session::start(id.clone(), &spec, target).await?;
        let session = self.add(session).await?;
        let result = async {
            session
                .initialize(&spec.adapter_id, spec.run_in_terminal)
                .await?;
            let pending = session
                .client()
                .send_raw(command, Some(Value::Object(arguments)))
                .map_err(|e| request_error(command, e))?;
            let mut by_file: Vec<(String, Vec<SourceBreakpoint>)> = Vec::new();
            for b in breakpoints {
                let mut sb = SourceBreakpoint::new(b.line);
                sb.condition = b.condition;
                sb.log_message = b.log_message;
                match by_file.iter_mut().find(|(p, _)| *p == b.path) {
                    Some((_, list)) => list.push(sb),
                    None => by_file.push((b.path, vec![sb])),
                }
            }
            let mut reports = session.configure(command, pending, &by_file).await?;
            let mut out = match wait_first_stop {
                Some(wait) => self.after_resume(&session, 0, wait).await?,
                None => json!({"session": session.id, "state": match session.state().phase {
                    Phase::Exited => "exited",
                    Phase::Stopped => "stopped",
                    _ => "running",
                }}),
            };
            if let Some(o) = out.as_object_mut() {
                o.insert("proxy".into(), json!(address(&session.proxy)));
                // What bound while the program started (gdb binds pending breakpoints
                // once the code is loaded) is reported as it is now.
                session.refresh_breakpoints(&mut reports);
                o.insert("breakpoints".into(), Value::Array(reports));
            }
            Ok::<Value, String>(out)
        }
        .await;
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
                // A failed start leaves nothing running.
                self.inner.sessions.lock().await.remove(&id);
                session.terminate().await;
                let s = session.state();
                let (tail, _) = session.output_tail(None, 10, 2048);
                let mut text = e.to_string();
                if let Some(why) = s.ended {
                    text.push_str(&format!(" ({})", bound::cut_str(&why, MAX_STRING)));
                }
                if !tail.trim().is_empty() {
                    text.push_str(&format!("; the last output: {tail}"));
                }
                Err(text)
            }
        }
    }
}

/// The preset's launch arguments for the common fields.
fn launch_arguments(preset: Option<&str>, a: &LaunchArgs) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!("dapkit mcp"));
    m.insert("request".into(), json!("launch"));
    m.insert("program".into(), json!(a.program));
    m.insert("args".into(), json!(a.args));
    if let Some(cwd) = &a.cwd {
        m.insert("cwd".into(), json!(cwd));
    }
    match preset {
        Some("debugpy") => {
            m.insert("type".into(), json!("python"));
            m.insert("console".into(), json!("internalConsole"));
            m.insert("stopOnEntry".into(), json!(a.stop_on_entry));
            if !a.env.is_empty() {
                m.insert("env".into(), json!(a.env));
            }
        }
        Some("gdb") => {
            m.insert(
                "stopAtBeginningOfMainSubprogram".into(),
                json!(a.stop_on_entry),
            );
            if !a.env.is_empty() {
                m.insert("env".into(), json!(a.env));
            }
        }
        Some("delve") => {
            m.insert("type".into(), json!("go"));
            m.insert("mode".into(), json!("debug"));
            m.insert("stopOnEntry".into(), json!(a.stop_on_entry));
            if !a.env.is_empty() {
                m.insert("env".into(), json!(a.env));
            }
        }
        _ => {
            m.insert("stopOnEntry".into(), json!(a.stop_on_entry));
            if !a.env.is_empty() {
                let list: Vec<String> = a.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                m.insert("env".into(), json!(list));
            }
        }
    }
    m
}

/// An address as a person types it into an editor: `127.0.0.1:PORT` for TCP.
fn address(endpoint: &Endpoint) -> String {
    match endpoint.tcp_addr() {
        Some(a) => a.to_string(),
        None => endpoint.to_string(),
    }
}

fn merged(defaults: &Map<String, Value>, given: Map<String, Value>) -> Map<String, Value> {
    let mut out = defaults.clone();
    out.extend(given);
    out
}

#[tool_router]
impl DebugServer {
    #[tool(
        description = "Start a program under a debugger. adapter: a preset (debugpy, gdb, delve, lldb-dap) or a configured adapter. With breakpoints or stopOnEntry, waits up to waitSeconds for the first stop and returns its snapshot. The answer names the session and the proxy address a person's editor can attach to.",
        input_schema = schema::<LaunchArgs>()
    )]
    async fn launch(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: LaunchArgs = parse(args)?;
            let spec = self.inner.config.resolve(&a.adapter)?;
            let wait = wait_of(a.wait_seconds, DEFAULT_WAIT)?;
            let arguments = merged(&spec.launch, launch_arguments(spec.preset, &a));
            let first_stop = (a.stop_on_entry || !a.breakpoints.is_empty()).then_some(wait);
            self.start(
                "launch",
                &a.adapter,
                a.program.clone(),
                arguments,
                a.breakpoints,
                first_stop,
            )
            .await
        }
        .await;
        answer("launch", result)
    }

    #[tool(
        description = "Attach a debugger to a running program. adapter: a preset or a configured adapter; the other fields are the adapter's attach arguments (debugpy: {\"connect\": {\"host\": \"127.0.0.1\", \"port\": 5678}}; gdb: {\"pid\": 1234}).",
        input_schema = schema::<AttachArgs>()
    )]
    async fn attach(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: AttachArgs = parse(args)?;
            let spec = self.inner.config.resolve(&a.adapter)?;
            let mut fields = a.fields;
            fields.insert("request".into(), json!("attach"));
            fields.entry("name").or_insert(json!("dapkit mcp"));
            let target = bound::cut_str(&Value::Object(fields.clone()).to_string(), 200).to_owned();
            let arguments = merged(&spec.attach, fields);
            self.start("attach", &a.adapter, target, arguments, a.breakpoints, None)
                .await
        }
        .await;
        answer("attach", result)
    }

    #[tool(
        description = "Set all breakpoints of a source file (replacing its earlier ones). Reports each as {requestedLine, line, verified, message}: one that did not bind says so and why; one the adapter moved shows where.",
        input_schema = schema::<SetBreakpointsArgs>()
    )]
    async fn set_breakpoints(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: SetBreakpointsArgs = parse(args)?;
            if a.breakpoints.len() > 1000 {
                return Err(format!(
                    "{} breakpoints in one file; at most 1000",
                    a.breakpoints.len()
                ));
            }
            let s = self.session(&a.session).await?;
            let list = s.set_breakpoints(&a.path, a.breakpoints).await?;
            Ok(json!({"session": s.id, "breakpoints": list}))
        }
        .await;
        answer("set_breakpoints", result)
    }

    #[tool(
        name = "continue",
        description = "Resume the program and wait (up to waitSeconds, default 30) for the next stop: returns its snapshot, {state: \"running\"} if none came in time (call again to wait again; nothing is restarted), or {state: \"exited\", exitCode, outputTail} when the program ended.",
        input_schema = schema::<ContinueArgs>()
    )]
    async fn resume(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: ContinueArgs = parse(args)?;
            let wait = wait_of(a.wait_seconds, DEFAULT_WAIT)?;
            let s = self.session(&a.session).await?;
            let state = s.state();
            match state.phase {
                Phase::Exited => return Ok(s.exited()),
                Phase::Stopped => {
                    let thread = s.thread(a.thread).await?;
                    s.client()
                        .request::<ContinueRequest>(ContinueArguments::new(thread))
                        .await
                        .map_err(|e| request_error("continue", e))?;
                    s.mark_running(state.stops);
                }
                // Already running: wait again.
                Phase::Running | Phase::Starting => {}
            }
            self.after_resume(&s, state.stops, wait).await
        }
        .await;
        answer("continue", result)
    }

    #[tool(
        description = "Step the stopped thread: kind over (next line), in (into the call) or out (out of the function); waits for the stop like continue and returns its snapshot.",
        input_schema = schema::<StepArgs>()
    )]
    async fn step(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: StepArgs = parse(args)?;
            let wait = wait_of(a.wait_seconds, DEFAULT_WAIT)?;
            let s = self.session(&a.session).await?;
            let state = s.state();
            match state.phase {
                Phase::Exited => return Ok(s.exited()),
                Phase::Stopped => {}
                _ => {
                    return Err(format!(
                        "session {} is running: pause it or wait with continue before stepping",
                        s.id
                    ));
                }
            }
            let thread = s.thread(a.thread).await?;
            let sent = match a.kind {
                StepKind::Over => s
                    .client()
                    .request::<NextRequest>(NextArguments::new(thread))
                    .await
                    .map(|_| ())
                    .map_err(|e| request_error("next", e)),
                StepKind::In => s
                    .client()
                    .request::<StepInRequest>(StepInArguments::new(thread))
                    .await
                    .map(|_| ())
                    .map_err(|e| request_error("stepIn", e)),
                StepKind::Out => s
                    .client()
                    .request::<StepOutRequest>(StepOutArguments::new(thread))
                    .await
                    .map(|_| ())
                    .map_err(|e| request_error("stepOut", e)),
            };
            sent?;
            s.mark_running(state.stops);
            self.after_resume(&s, state.stops, wait).await
        }
        .await;
        answer("step", result)
    }

    #[tool(
        description = "The current stop: reason and thread, location with a source excerpt (±5 lines, the current line marked >), up to `frames` frames, the top frame's locals and arguments expanded to `depth`. Strings are cut at 2 KiB (full length noted), collections at 100 elements (variablesReference kept for paging with the variables tool), the whole under 64 KiB.",
        input_schema = schema::<SnapshotArgs>()
    )]
    async fn snapshot(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: SnapshotArgs = parse(args)?;
            let s = self.session(&a.session).await?;
            s.snapshot(a.frames.unwrap_or(10), a.depth.unwrap_or(1).max(1))
                .await
        }
        .await;
        answer("snapshot", result)
    }

    #[tool(
        description = "The children of a variablesReference (from snapshot, variables or evaluate), `count` (at most 100) from `start`.",
        input_schema = schema::<VariablesArgs>()
    )]
    async fn variables(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: VariablesArgs = parse(args)?;
            if a.reference <= 0 {
                return Err(format!(
                    "reference must be a variablesReference > 0, not {}",
                    a.reference
                ));
            }
            let s = self.session(&a.session).await?;
            let mut budget = bound::SNAPSHOT_BUDGET;
            let start = a.start.unwrap_or(0);
            let (vars, more) = s
                .variables(
                    a.reference,
                    start,
                    a.count.unwrap_or(MAX_ITEMS as u32),
                    &mut budget,
                )
                .await?;
            let mut o = json!({"session": s.id, "reference": a.reference, "start": start, "variables": vars});
            if more {
                o["more"] = json!(true);
            }
            Ok(o)
        }
        .await;
        answer("variables", result)
    }

    #[tool(
        description = "Evaluate an expression in a frame (default: the top frame of the stopped thread). The result is cut at 2 KiB; a structured result has a variablesReference for the variables tool.",
        input_schema = schema::<EvaluateArgs>()
    )]
    async fn evaluate(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: EvaluateArgs = parse(args)?;
            let s = self.session(&a.session).await?;
            let mut e = EvaluateArguments::new(a.expression);
            e.frame_id = match a.frame {
                Some(f) => Some(f),
                None if s.state().phase == Phase::Stopped => {
                    let thread = s.thread(None).await?;
                    s.frames(thread, 1).await?.0.first().map(|f| f.id)
                }
                None => None,
            };
            let context = a.context.unwrap_or_else(|| "watch".into());
            e.context =
                Some(serde_json::from_value(json!(context)).map_err(|err| {
                    format!("context `{}`: {err}", bound::cut_str(&context, 100))
                })?);
            let r = s
                .client()
                .request::<EvaluateRequest>(e)
                .await
                .map_err(|err| request_error("evaluate", err))?;
            let mut o = Map::new();
            o.insert("session".into(), json!(s.id));
            put_str(&mut o, "result", &r.body.result);
            if let Some(t) = &r.body.type_ {
                put_str(&mut o, "type", t);
            }
            if r.body.variables_reference > 0 {
                o.insert(
                    "variablesReference".into(),
                    json!(r.body.variables_reference),
                );
            }
            Ok(Value::Object(o))
        }
        .await;
        answer("evaluate", result)
    }

    #[tool(
        description = "The stack of a thread (default: the stopped one), at most 100 frames.",
        input_schema = schema::<ThreadArgs>()
    )]
    async fn stack(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: ThreadArgs = parse(args)?;
            let s = self.session(&a.session).await?;
            let thread = s.thread(a.thread).await?;
            let (frames, total) = s.frames(thread, MAX_ITEMS as u32).await?;
            let mut o = json!({
                "session": s.id,
                "thread": thread,
                "frames": frames.iter().map(frame_json).collect::<Vec<_>>(),
            });
            if let Some(t) = total {
                o["framesTotal"] = json!(t);
            }
            Ok(o)
        }
        .await;
        answer("stack", result)
    }

    #[tool(
        description = "The program's threads (at most 100).",
        input_schema = schema::<SessionArgs>()
    )]
    async fn threads(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: SessionArgs = parse(args)?;
            let s = self.session(&a.session).await?;
            let threads = s
                .client()
                .request::<ThreadsRequest>(None)
                .await
                .map_err(|e| request_error("threads", e))?
                .body
                .threads;
            let list: Vec<Value> = threads
                .iter()
                .take(MAX_ITEMS)
                .map(|t| {
                    let mut o = Map::new();
                    o.insert("id".into(), json!(t.id));
                    put_str(&mut o, "name", bound::cut_str(&t.name, 256));
                    Value::Object(o)
                })
                .collect();
            let mut o = json!({"session": s.id, "threads": list});
            if threads.len() > MAX_ITEMS {
                o["threadsTotal"] = json!(threads.len());
            }
            Ok(o)
        }
        .await;
        answer("threads", result)
    }

    #[tool(
        description = "The program's output: the last `tail` lines (default 50, at most 1000; 32 KiB at most), of one category (stdout, stderr, console) or all.",
        input_schema = schema::<OutputArgs>()
    )]
    async fn output(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: OutputArgs = parse(args)?;
            let s = self.session(&a.session).await?;
            let lines = a.tail.unwrap_or(50).clamp(1, 1000) as usize;
            let (text, cut) = s.output_tail(a.category.as_deref(), lines, 32 * 1024);
            Ok(json!({"session": s.id, "output": text, "truncated": cut}))
        }
        .await;
        answer("output", result)
    }

    #[tool(
        description = "Pause the running program and wait (up to waitSeconds, default 30) for it to stop; returns the snapshot.",
        input_schema = schema::<PauseArgs>()
    )]
    async fn pause(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: PauseArgs = parse(args)?;
            let wait = wait_of(a.wait_seconds, DEFAULT_WAIT)?;
            let s = self.session(&a.session).await?;
            let state = s.state();
            match state.phase {
                Phase::Exited => return Ok(s.exited()),
                Phase::Stopped => return s.snapshot(10, 1).await,
                _ => {}
            }
            let thread = s.thread(a.thread).await?;
            s.client()
                .request::<PauseRequest>(PauseArguments::new(thread))
                .await
                .map_err(|e| request_error("pause", e))?;
            self.after_resume(&s, state.stops, wait).await
        }
        .await;
        answer("pause", result)
    }

    #[tool(
        description = "End a session: the program is terminated (a joined session is only left), the adapter and the proxy stop. Returns the exit code and the end of the output.",
        input_schema = schema::<SessionArgs>()
    )]
    async fn terminate(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let a: SessionArgs = parse(args)?;
            let s = self.session(&a.session).await?;
            self.inner.sessions.lock().await.remove(&s.id);
            Ok(s.terminate().await)
        }
        .await;
        answer("terminate", result)
    }

    #[tool(
        description = "The sessions: id, adapter, program, state, and the proxy address a person's editor can attach to (the agent keeps control until the editor sends dapkitProxy/takeControl).",
        input_schema = schema::<NoArgs>()
    )]
    async fn sessions(&self, args: JsonObject) -> CallToolResult {
        let result = async {
            let _: NoArgs = parse(args)?;
            let map = self.inner.sessions.lock().await;
            let list: Vec<Value> = map
                .values()
                .map(|s| {
                    let state = s.state();
                    let mut o = Map::new();
                    o.insert("session".into(), json!(s.id));
                    o.insert("adapter".into(), json!(s.adapter));
                    put_str(&mut o, "program", &s.target);
                    o.insert("state".into(), json!(state.phase));
                    o.insert("proxy".into(), json!(address(&s.proxy)));
                    o.insert("joined".into(), json!(s.joined));
                    if let Some(code) = state.exit_code {
                        o.insert("exitCode".into(), json!(code));
                    }
                    Value::Object(o)
                })
                .collect();
            Ok(json!({"sessions": list}))
        }
        .await;
        answer("sessions", result)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for DebugServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("dapkit-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Debug programs with real debuggers (debugpy, gdb, delve, lldb-dap): launch with breakpoints, then continue/step (they wait for the next stop and return a snapshot), evaluate, variables. Each session runs behind a DAP proxy whose address a person's editor can attach to.",
            )
    }
}
