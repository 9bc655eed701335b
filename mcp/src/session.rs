//! One debug session: the adapter behind an in-process `dapkit-proxy`, driven as the
//! controller by a `dapkit_session::Client` connected to that proxy (or, with `--join`,
//! a client of a proxy someone else started).
//!
//! An event task follows the session's events into a [`State`] (`watch` channel), so a
//! tool waits for the next stop, the program's end or its deadline without polling.

use crate::bound::{self, MAX_ITEMS, MAX_STRING, OUTPUT_KEPT, SNAPSHOT_BUDGET, put_str};
use crate::config::AdapterSpec;
use dapkit_proxy::{Adapter, Proxy, ProxyHandle, ProxyOptions};
use dapkit_session::{Client, ClientOptions, Events, RequestError};
use dapkit_transport::{Endpoint, RetryPolicy};
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How long requests to the adapter may take (a slow `evaluate` is answered with an error
/// naming the request, never a hang).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The wait for a launched program's first stop when `waitSeconds` is not given.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);
/// The longest wait a tool accepts.
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// Where the session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Being launched or attached.
    Starting,
    /// The program runs.
    Running,
    /// The program is stopped.
    Stopped,
    /// The program ended or the session closed.
    Exited,
}

/// The last stop.
#[derive(Clone, Debug)]
pub struct Stop {
    /// The stopped thread, when the adapter said.
    pub thread: Option<i32>,
    /// The adapter's reason (`breakpoint`, `step`, `pause`, …).
    pub reason: String,
    /// Its description or text.
    pub description: Option<String>,
    /// When the controller read the `stopped` event.
    pub at: std::time::Instant,
}

/// What the event task has seen.
#[derive(Clone, Debug)]
pub struct State {
    /// Where the session is.
    pub phase: Phase,
    /// Whether `initialized` came.
    pub initialized: bool,
    /// How many stops so far.
    pub stops: u64,
    /// The last stop (while stopped).
    pub stop: Option<Stop>,
    /// The debuggee's exit code, once `exited` came.
    pub exit_code: Option<i32>,
    /// Why the session ended, when it did without `terminated` (the proxy's error).
    pub ended: Option<String>,
}

/// Output lines kept per session, newest last, bounded by [`OUTPUT_KEPT`] bytes.
#[derive(Default)]
struct OutputLog {
    chunks: VecDeque<(String, String)>,
    bytes: usize,
    dropped: usize,
}

impl OutputLog {
    fn push(&mut self, category: String, text: &str) {
        let text = bound::cut_str(text, OUTPUT_KEPT / 4).to_owned();
        self.bytes += text.len();
        self.chunks.push_back((category, text));
        while self.bytes > OUTPUT_KEPT {
            match self.chunks.pop_front() {
                Some((_, t)) => {
                    self.bytes -= t.len();
                    self.dropped += 1;
                }
                None => break,
            }
        }
    }

    /// The last `lines` lines of the chunks in `category` (all but telemetry when `None`),
    /// at most `max` bytes.
    fn tail(&self, category: Option<&str>, lines: usize, max: usize) -> (String, bool) {
        let text: String = self
            .chunks
            .iter()
            .filter(|(c, _)| match category {
                Some(want) => c == want,
                None => c != "telemetry",
            })
            .map(|(_, t)| t.as_str())
            .collect();
        let all: Vec<&str> = text.split_inclusive('\n').collect();
        let from = all.len().saturating_sub(lines);
        let mut tail: String = all[from..].concat();
        let mut cut = from > 0 || self.dropped > 0;
        if tail.len() > max {
            let mut start = tail.len() - max;
            while !tail.is_char_boundary(start) {
                start += 1;
            }
            tail = tail[start..].to_owned();
            cut = true;
        }
        (tail, cut)
    }
}

/// A debug session the agent drives.
pub struct Session {
    /// Its name in tool calls (`s1`, `s2`, …).
    pub id: String,
    /// The adapter's name.
    pub adapter: String,
    /// The program launched (or what was attached to).
    pub target: String,
    /// Where a person's editor attaches (the proxy's address).
    pub proxy: Endpoint,
    /// Whether this session joined a proxy someone else started.
    pub joined: bool,
    client: Client,
    state: Arc<watch::Sender<State>>,
    output: Arc<Mutex<OutputLog>>,
    /// The latest state of each breakpoint the adapter has told about in a `breakpoint`
    /// event (bound later, moved, removed), by id; at most [`MAX_TRACKED`] of them.
    changed: Arc<Mutex<HashMap<i32, Breakpoint>>>,
    proxy_handle: Option<ProxyHandle>,
}

/// How many breakpoints' later states a session remembers (an adapter's `breakpoint`
/// events for further ids are not followed).
const MAX_TRACKED: usize = 4096;

/// The result of waiting for the program.
pub enum Outcome {
    /// It stopped.
    Stopped,
    /// It still runs at the deadline.
    Running,
    /// It ended.
    Exited,
}

fn text_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn request_error(command: &str, e: RequestError) -> String {
    match e {
        RequestError::Failed(_) => {
            let m = e
                .adapter_message()
                .unwrap_or_else(|| "no reason given".into());
            format!(
                "the adapter refused `{command}`: {}",
                bound::cut_str(&m, MAX_STRING)
            )
        }
        other => format!("`{command}`: {other}"),
    }
}

impl Session {
    /// Starts `spec`'s adapter behind a proxy on 127.0.0.1:0 and connects the controller.
    pub async fn start(id: String, spec: &AdapterSpec, target: String) -> Result<Session, String> {
        let listen = Endpoint::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let mut child = None;
        let adapter = if spec.tcp {
            let (started, endpoint) = start_tcp_adapter(spec)?;
            child = Some(started);
            Adapter::Connect(endpoint, RetryPolicy::default())
        } else {
            Adapter::Stdio(spec.command.clone())
        };
        let proxy = Proxy::start(&listen, &adapter, ProxyOptions::new())
            .await
            .map_err(|e| format!("cannot start adapter `{}`: {e}{}", spec.name, spec.hint()))?;
        let endpoint = proxy.local_endpoint().clone();
        let handle = proxy.handle();
        let (ended_tx, ended_rx) = watch::channel(None::<String>);
        tokio::spawn(async move {
            // A TCP adapter this session started lives as long as its proxy.
            let _child = child;
            let why = match proxy.run().await {
                Ok(e) => format!("the session ended ({e:?})"),
                Err(e) => e.to_string(),
            };
            let _ = ended_tx.send(Some(why));
        });
        let mut options = ClientOptions::new().with_request_timeout(Some(REQUEST_TIMEOUT));
        if spec.run_in_terminal {
            options = options.with_run_in_terminal();
        }
        let connection = dapkit_transport::connect(&endpoint, &RetryPolicy::default())
            .await
            .map_err(|e| format!("cannot connect to the session's proxy at {endpoint}: {e}"))?;
        let (client, events) = Client::connect(connection, options);
        Ok(Session::follow(
            id,
            spec.name.clone(),
            target,
            endpoint,
            false,
            client,
            events,
            Some(handle),
            Some(ended_rx),
        ))
    }

    /// Joins a proxy someone else started (`dapkit mcp --join ADDR`), as a client of it.
    pub async fn join(id: String, address: &Endpoint) -> Result<Session, String> {
        let connection = dapkit_transport::connect(address, &RetryPolicy::default())
            .await
            .map_err(|e| format!("cannot join the proxy at {address}: {e}"))?;
        let options = ClientOptions::new().with_request_timeout(Some(REQUEST_TIMEOUT));
        let (client, events) = Client::connect(connection, options);
        let session = Session::follow(
            id,
            "joined".into(),
            address.to_string(),
            address.clone(),
            true,
            client,
            events,
            None,
            None,
        );
        session.initialize("dapkit-mcp", false).await?;
        Ok(session)
    }

    #[allow(clippy::too_many_arguments)]
    fn follow(
        id: String,
        adapter: String,
        target: String,
        proxy: Endpoint,
        joined: bool,
        client: Client,
        mut events: Events,
        proxy_handle: Option<ProxyHandle>,
        ended: Option<watch::Receiver<Option<String>>>,
    ) -> Session {
        let tx = Arc::new(watch::Sender::new(State {
            phase: if joined {
                Phase::Running
            } else {
                Phase::Starting
            },
            initialized: false,
            stops: 0,
            stop: None,
            exit_code: None,
            ended: None,
        }));
        let rx = tx.clone();
        let output = Arc::new(Mutex::new(OutputLog::default()));
        let log = output.clone();
        let changed = Arc::new(Mutex::new(HashMap::new()));
        let changes = changed.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    Event::Initialized(_) => tx.send_modify(|s| s.initialized = true),
                    Event::Stopped(e) => {
                        let stop = Stop {
                            thread: e.body.thread_id,
                            reason: text_of(&e.body.reason),
                            description: e.body.description.clone().or(e.body.text.clone()),
                            at: std::time::Instant::now(),
                        };
                        tx.send_modify(|s| {
                            s.phase = Phase::Stopped;
                            s.stops += 1;
                            s.stop = Some(stop);
                        });
                    }
                    Event::Continued(_) => tx.send_modify(|s| {
                        if s.phase == Phase::Stopped {
                            s.phase = Phase::Running;
                        }
                    }),
                    Event::Exited(e) => tx.send_modify(|s| s.exit_code = Some(e.body.exit_code)),
                    Event::Terminated(_) => tx.send_modify(|s| s.phase = Phase::Exited),
                    Event::Breakpoint(e) => {
                        let Some(id) = e.body.breakpoint.id else {
                            continue;
                        };
                        if let Ok(mut map) = changes.lock() {
                            if text_of(&e.body.reason) == "removed" {
                                map.remove(&id);
                            } else if map.len() < MAX_TRACKED || map.contains_key(&id) {
                                map.insert(id, e.body.breakpoint.clone());
                            }
                        }
                    }
                    Event::Output(e) => {
                        let category = e
                            .body
                            .category
                            .as_ref()
                            .map(text_of)
                            .unwrap_or_else(|| "console".into());
                        // delve sends no `exited` event: it says the exit status in
                        // this console line (when the session is disconnected).
                        if category == "console"
                            && let Some(code) = delve_exit_status(&e.body.output)
                        {
                            tx.send_modify(|s| {
                                s.exit_code.get_or_insert(code);
                            });
                        }
                        if let Ok(mut log) = log.lock() {
                            log.push(category, &e.body.output);
                        }
                    }
                    _ => {}
                }
            }
            // The connection closed: the session is over.
            let why = match ended {
                Some(mut ended) => {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        ended.wait_for(Option::is_some),
                    )
                    .await;
                    ended.borrow().clone()
                }
                None => Some("the proxy closed the connection".into()),
            };
            tx.send_modify(|s| {
                s.phase = Phase::Exited;
                if s.ended.is_none() {
                    s.ended = why;
                }
            });
        });
        Session {
            id,
            adapter,
            target,
            proxy,
            joined,
            client,
            state: rx,
            output,
            changed,
            proxy_handle,
        }
    }

    /// The state now.
    pub fn state(&self) -> State {
        self.state.borrow().clone()
    }

    /// The controller's client (for tools that send requests).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `initialize`.
    pub async fn initialize(&self, adapter_id: &str, run_in_terminal: bool) -> Result<(), String> {
        let mut a = InitializeRequestArguments::new(adapter_id);
        a.client_id = Some("dapkit-mcp".into());
        a.client_name = Some("dapkit mcp".into());
        a.lines_start_at1 = Some(true);
        a.columns_start_at1 = Some(true);
        a.path_format = Some("path".into());
        a.supports_variable_type = Some(true);
        a.supports_variable_paging = Some(true);
        a.supports_run_in_terminal_request = Some(run_in_terminal);
        self.client
            .request::<InitializeRequest>(a)
            .await
            .map_err(|e| request_error("initialize", e))?;
        Ok(())
    }

    /// The configuration sequence after `launch`/`attach` was sent: waits for
    /// `initialized`, sets the breakpoints, sends `configurationDone`, waits for the
    /// `launch`/`attach` response. Returns the breakpoints' reports.
    pub async fn configure(
        &self,
        command: &str,
        start: dapkit_session::client::PendingRequest<dapkit_types::Response>,
        breakpoints: &[(String, Vec<SourceBreakpoint>)],
    ) -> Result<Vec<Value>, String> {
        let mut start = Box::pin(start.response());
        let mut state = self.state.subscribe();
        let mut answered = false;
        tokio::select! {
            r = &mut start => {
                r.map_err(|e| request_error(command, e))?;
                answered = true;
            }
            r = tokio::time::timeout(REQUEST_TIMEOUT, state.wait_for(|s| s.initialized || s.phase == Phase::Exited)) => {
                match r {
                    Err(_) => return Err(format!("the adapter sent no `initialized` event within {REQUEST_TIMEOUT:?} after `{command}`")),
                    Ok(Err(_)) => return Err("the session closed".into()),
                    Ok(Ok(_)) => {}
                }
            }
        }
        if answered {
            let r = tokio::time::timeout(
                REQUEST_TIMEOUT,
                state.wait_for(|s| s.initialized || s.phase == Phase::Exited),
            )
            .await;
            if !matches!(r, Ok(Ok(_))) {
                return Err(format!(
                    "the adapter sent no `initialized` event within {REQUEST_TIMEOUT:?} after `{command}`"
                ));
            }
        }
        if self.state().phase == Phase::Exited {
            return Err(self.ended_text());
        }
        let mut reports = Vec::new();
        for (path, list) in breakpoints {
            reports.extend(self.set_breakpoints(path, list.clone()).await?);
        }
        let caps = self.client.capabilities().unwrap_or_default();
        if caps.supports_configuration_done_request == Some(true) {
            self.client
                .request::<ConfigurationDoneRequest>(None)
                .await
                .map_err(|e| request_error("configurationDone", e))?;
        }
        if !answered {
            start.await.map_err(|e| request_error(command, e))?;
        }
        self.state.send_modify(|s| {
            if s.phase == Phase::Starting {
                s.phase = Phase::Running;
            }
        });
        Ok(reports)
    }

    /// Why the session is over, as a sentence.
    pub fn ended_text(&self) -> String {
        let s = self.state();
        match s.ended {
            Some(why) => format!("session {} is over: {why}", self.id),
            None => format!("session {} is over", self.id),
        }
    }

    /// `setBreakpoints` for one file; each breakpoint reported as requested and as bound.
    pub async fn set_breakpoints(
        &self,
        path: &str,
        list: Vec<SourceBreakpoint>,
    ) -> Result<Vec<Value>, String> {
        let requested: Vec<u64> = list.iter().map(|b| b.line).collect();
        let args =
            SetBreakpointsArguments::new(Source::new().with_path(path)).with_breakpoints(list);
        let answer = self
            .client
            .request::<SetBreakpointsRequest>(args)
            .await
            .map_err(|e| request_error("setBreakpoints", e))?;
        let bound = answer.body.breakpoints;
        let mut out = Vec::new();
        for (i, line) in requested.iter().enumerate() {
            out.push(match bound.get(i) {
                Some(b) => breakpoint_report(path, *line, b),
                None => {
                    let mut o = Map::new();
                    o.insert("path".into(), json!(bound::cut_str(path, MAX_STRING)));
                    o.insert("requestedLine".into(), json!(line));
                    o.insert("line".into(), Value::Null);
                    o.insert("verified".into(), json!(false));
                    o.insert(
                        "message".into(),
                        json!("the adapter answered without this breakpoint"),
                    );
                    Value::Object(o)
                }
            });
        }
        Ok(out)
    }

    /// Brings `reports` (from [`Session::set_breakpoints`]) up to what the adapter has
    /// said since in `breakpoint` events: one that bound once the code loaded (gdb's
    /// pending breakpoints), moved or lost its binding is reported as it is now.
    pub fn refresh_breakpoints(&self, reports: &mut [Value]) {
        let Ok(changed) = self.changed.lock() else {
            return;
        };
        for report in reports.iter_mut() {
            let id = report["id"].as_i64().and_then(|id| i32::try_from(id).ok());
            let (Some(id), Some(line), Some(path)) = (
                id,
                report["requestedLine"].as_u64(),
                report["path"].as_str().map(str::to_owned),
            ) else {
                continue;
            };
            if let Some(latest) = changed.get(&id) {
                *report = breakpoint_report(&path, line, latest);
            }
        }
    }

    /// Waits up to `wait` for a stop after `since` stops, or the end.
    pub async fn wait(&self, since: u64, wait: Duration) -> Outcome {
        let mut state = self.state.subscribe();
        let r = tokio::time::timeout(
            wait,
            state.wait_for(|s| s.stops > since || s.phase == Phase::Exited),
        )
        .await;
        match r {
            Ok(Ok(s)) if s.phase == Phase::Exited => Outcome::Exited,
            Ok(Ok(_)) => Outcome::Stopped,
            Ok(Err(_)) => Outcome::Exited,
            Err(_) => Outcome::Running,
        }
    }

    /// Waits (briefly) for `terminated` after `exited`, so the exit code and output are in.
    pub async fn settle_exit(&self) {
        let mut state = self.state.subscribe();
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            state.wait_for(|s| s.phase == Phase::Exited),
        )
        .await;
    }

    /// After the program ended without an exit code (delve ends with `terminated` alone
    /// and tells the exit status only when disconnected): disconnects, as a client does
    /// after `terminated`, and waits briefly for the status line. A joined session is left
    /// to the person who started it.
    pub async fn collect_exit_code(&self) {
        let s = self.state();
        if s.exit_code.is_some() || s.phase != Phase::Exited || self.joined {
            return;
        }
        if !self.client.is_closed() {
            let mut args = DisconnectArguments::new();
            args.terminate_debuggee = Some(true);
            let _ =
                tokio::time::timeout(Duration::from_secs(5), self.client.disconnect(Some(args)))
                    .await;
        }
        let mut state = self.state.subscribe();
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            state.wait_for(|s| s.exit_code.is_some()),
        )
        .await;
    }

    /// The thread to act on: the given one, the stopped one, or the first thread.
    pub async fn thread(&self, given: Option<i32>) -> Result<i32, String> {
        if let Some(t) = given {
            return Ok(t);
        }
        if let Some(t) = self.state().stop.and_then(|s| s.thread) {
            return Ok(t);
        }
        let threads = self
            .client
            .request::<ThreadsRequest>(None)
            .await
            .map_err(|e| request_error("threads", e))?;
        threads
            .body
            .threads
            .first()
            .map(|t| t.id)
            .ok_or_else(|| "the program has no threads".to_owned())
    }

    /// Marks the program as running after continue/step was accepted, unless it stopped
    /// again already (more than `since` stops).
    pub fn mark_running(&self, since: u64) {
        self.state.send_modify(|s| {
            if s.stops == since && s.phase == Phase::Stopped {
                s.phase = Phase::Running;
            }
        });
    }

    /// `{state: "exited", exitCode, outputTail}`.
    pub fn exited(&self) -> Value {
        let s = self.state();
        let (tail, cut) = self.output_tail(None, 20, 4096);
        let mut o = json!({
            "session": self.id,
            "state": "exited",
            "exitCode": s.exit_code,
            "outputTail": tail,
        });
        if cut {
            o["outputTailTruncated"] = json!(true);
        }
        if s.exit_code.is_none()
            && let Some(why) = s.ended
        {
            o["ended"] = json!(bound::cut_str(&why, MAX_STRING));
        }
        o
    }

    /// The last `lines` lines of output (of `category`, or all but telemetry).
    pub fn output_tail(&self, category: Option<&str>, lines: usize, max: usize) -> (String, bool) {
        match self.output.lock() {
            Ok(log) => log.tail(category, lines, max),
            Err(_) => (String::new(), false),
        }
    }

    /// Stack frames of `thread`, at most `levels`, each `{id, name, path, line, column}`.
    pub async fn frames(
        &self,
        thread: i32,
        levels: u32,
    ) -> Result<(Vec<StackFrame>, Option<u32>), String> {
        let mut args = StackTraceArguments::new(thread);
        args.levels = Some(levels);
        let trace = self
            .client
            .request::<StackTraceRequest>(args)
            .await
            .map_err(|e| request_error("stackTrace", e))?;
        let mut frames = trace.body.stack_frames;
        frames.truncate(levels as usize);
        Ok((frames, trace.body.total_frames))
    }

    /// A variable container's children: at most `count` (≤ [`MAX_ITEMS`]) from `start`.
    /// Returns the variables as JSON and whether more exist.
    pub async fn variables(
        &self,
        reference: i32,
        start: u32,
        count: u32,
        budget: &mut usize,
    ) -> Result<(Vec<Value>, bool), String> {
        let count = count.clamp(1, MAX_ITEMS as u32);
        let mut args = VariablesArguments::new(reference);
        if start > 0 {
            args.start = Some(start);
        }
        // One more than shown tells whether there are more.
        args.count = Some(count + 1);
        let answer = self
            .client
            .request::<VariablesRequest>(args)
            .await
            .map_err(|e| request_error("variables", e))?;
        let all = answer.body.variables;
        let mut more = all.len() > count as usize;
        let mut out = Vec::new();
        for v in all.into_iter().take(count as usize) {
            let value = variable_json(&v);
            let size = bound::json_len(&value);
            if size > *budget {
                more = true;
                break;
            }
            *budget -= size;
            out.push(value);
        }
        Ok((out, more))
    }

    /// The snapshot of the current stop: reason, thread, location with a source excerpt,
    /// up to `frames` frames, the top frame's locals and arguments expanded to `depth`.
    pub async fn snapshot(&self, frames: u32, depth: u32) -> Result<Value, String> {
        let state = self.state();
        if state.phase == Phase::Exited {
            return Ok(self.exited());
        }
        if state.phase != Phase::Stopped {
            return Ok(json!({"session": self.id, "state": "running"}));
        }
        let mut budget = SNAPSHOT_BUDGET;
        let stop = state.stop.clone();
        let thread = self.thread(stop.as_ref().and_then(|s| s.thread)).await?;
        let frames = frames.clamp(1, MAX_ITEMS as u32);
        let (stack, total) = self.frames(thread, frames).await?;
        let mut o = Map::new();
        o.insert("session".into(), json!(self.id));
        o.insert("state".into(), json!("stopped"));
        if let Some(s) = &stop {
            put_str(&mut o, "reason", &s.reason);
            if let Some(d) = &s.description {
                put_str(&mut o, "description", d);
            }
        }
        o.insert("thread".into(), json!(thread));
        if let Some(top) = stack.first() {
            let mut location = Map::new();
            put_str(&mut location, "function", &top.name);
            if let Some(path) = top.source.as_ref().and_then(|s| s.path.clone()) {
                put_str(&mut location, "path", &path);
                if let Some(excerpt) = excerpt(&path, top.line) {
                    location.insert("source".into(), json!(excerpt));
                }
            } else if let Some(name) = top.source.as_ref().and_then(|s| s.name.clone()) {
                put_str(&mut location, "path", &name);
            }
            location.insert("line".into(), json!(top.line));
            o.insert("location".into(), Value::Object(location));
        }
        let frame_list: Vec<Value> = stack.iter().map(frame_json).collect();
        for f in &frame_list {
            budget = budget.saturating_sub(bound::json_len(f));
        }
        o.insert("frames".into(), Value::Array(frame_list));
        if let Some(total) = total
            && total as usize > stack.len()
        {
            o.insert("framesTotal".into(), json!(total));
        }
        if let Some(top) = stack.first() {
            let scopes = self
                .client
                .request::<ScopesRequest>(ScopesArguments::new(top.id))
                .await
                .map_err(|e| request_error("scopes", e))?
                .body
                .scopes;
            let expand_any = !scopes.iter().any(is_local_scope);
            let mut out = Vec::new();
            for (i, scope) in scopes.iter().take(MAX_ITEMS).enumerate() {
                let mut s = Map::new();
                put_str(&mut s, "name", &scope.name);
                s.insert(
                    "variablesReference".into(),
                    json!(scope.variables_reference),
                );
                let expand = is_local_scope(scope) || (expand_any && i == 0 && !scope.expensive);
                if expand && scope.variables_reference > 0 {
                    let vars = self
                        .expand(scope.variables_reference, depth.min(4), &mut budget)
                        .await?;
                    s.insert("variables".into(), Value::Array(vars.0));
                    if vars.1 {
                        s.insert("more".into(), json!(true));
                    }
                }
                out.push(Value::Object(s));
            }
            o.insert("scopes".into(), Value::Array(out));
        }
        let mut snapshot = Value::Object(o);
        shrink(&mut snapshot);
        Ok(snapshot)
    }

    /// Children of `reference`, each structured child expanded `depth - 1` more levels,
    /// within `budget` bytes.
    async fn expand(
        &self,
        reference: i32,
        depth: u32,
        budget: &mut usize,
    ) -> Result<(Vec<Value>, bool), String> {
        let (mut vars, mut more) = self
            .variables(reference, 0, MAX_ITEMS as u32, budget)
            .await?;
        if depth > 1 {
            for v in vars.iter_mut() {
                let child = v
                    .get("variablesReference")
                    .and_then(Value::as_i64)
                    .and_then(|r| i32::try_from(r).ok())
                    .unwrap_or(0);
                if child <= 0 || *budget < 1024 {
                    continue;
                }
                let (children, child_more) =
                    Box::pin(self.expand(child, depth - 1, budget)).await?;
                v["children"] = Value::Array(children);
                if child_more {
                    v["more"] = json!(true);
                }
            }
        }
        if *budget < 256 {
            more = true;
        }
        Ok((vars, more))
    }

    /// Ends the session: `terminate` when supported, then `disconnect`
    /// (`terminateDebuggee` unless joined), then the proxy stops.
    pub async fn terminate(&self) -> Value {
        if self.state().phase != Phase::Exited && !self.joined {
            let caps = self.client.capabilities().unwrap_or_default();
            if caps.supports_terminate_request == Some(true) {
                let _ = self
                    .client
                    .request_with_timeout::<TerminateRequest>(None, Some(Duration::from_secs(5)))
                    .await;
                self.settle_exit().await;
            }
        }
        if !self.client.is_closed() {
            let mut args = DisconnectArguments::new();
            args.terminate_debuggee = Some(!self.joined);
            let _ =
                tokio::time::timeout(Duration::from_secs(10), self.client.disconnect(Some(args)))
                    .await;
        }
        self.settle_exit().await;
        if let Some(h) = &self.proxy_handle {
            h.shutdown();
        }
        let mut out = self.exited();
        out["terminated"] = json!(true);
        out
    }
}

/// The exit status in delve's console line `Process 1234 has exited with status 3`.
fn delve_exit_status(line: &str) -> Option<i32> {
    let rest = line.trim_end().strip_prefix("Process ")?;
    let (pid, status) = rest.split_once(" has exited with status ")?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    status.parse().ok()
}

/// Starts an adapter that listens on TCP: `{port}` in its arguments becomes a free
/// loopback port. Its stdout and stderr are discarded (stdout is the MCP channel); it is
/// killed when the returned child is dropped.
fn start_tcp_adapter(spec: &AdapterSpec) -> Result<(tokio::process::Child, Endpoint), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))?
        .port();
    let args: Vec<String> = spec
        .command
        .args
        .iter()
        .map(|a| a.to_string_lossy().replace("{port}", &port.to_string()))
        .collect();
    let child = tokio::process::Command::new(&spec.command.program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start adapter `{}` ({}): {e}{}",
                spec.name,
                spec.command.program.to_string_lossy(),
                spec.hint()
            )
        })?;
    let endpoint = Endpoint::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    Ok((child, endpoint))
}

/// The last guard of the snapshot bound: drops expanded children, then variables from
/// the end, until the snapshot fits [`SNAPSHOT_BUDGET`] (saying so with `truncated`).
fn shrink(snapshot: &mut Value) {
    if bound::json_len(snapshot) <= SNAPSHOT_BUDGET {
        return;
    }
    snapshot["truncated"] = json!(true);
    if let Some(scopes) = snapshot.get_mut("scopes").and_then(Value::as_array_mut) {
        for scope in scopes.iter_mut() {
            if let Some(vars) = scope.get_mut("variables").and_then(Value::as_array_mut) {
                for v in vars.iter_mut() {
                    if let Some(o) = v.as_object_mut() {
                        o.remove("children");
                    }
                }
            }
        }
    }
    while bound::json_len(snapshot) > SNAPSHOT_BUDGET {
        let popped = snapshot
            .get_mut("scopes")
            .and_then(Value::as_array_mut)
            .and_then(|scopes| {
                scopes.iter_mut().rev().find_map(|s| {
                    let vars = s.get_mut("variables")?.as_array_mut()?;
                    let v = vars.pop()?;
                    s["more"] = json!(true);
                    Some(v)
                })
            });
        if popped.is_none() {
            if let Some(frames) = snapshot.get_mut("frames").and_then(Value::as_array_mut)
                && frames.len() > 1
            {
                frames.truncate(frames.len() / 2);
                continue;
            }
            break;
        }
    }
}

fn is_local_scope(scope: &Scope) -> bool {
    let hint = scope.presentation_hint.as_ref().map(text_of);
    matches!(hint.as_deref(), Some("locals") | Some("arguments"))
        || matches!(scope.name.as_str(), "Locals" | "Local" | "Arguments")
}

/// A variable as the tools show it: strings cut, the reference kept for paging.
pub fn variable_json(v: &Variable) -> Value {
    let mut o = Map::new();
    put_str(&mut o, "name", &v.name);
    put_str(&mut o, "value", &v.value);
    if let Some(t) = &v.type_ {
        put_str(&mut o, "type", t);
    }
    if v.variables_reference > 0 {
        o.insert("variablesReference".into(), json!(v.variables_reference));
        if let Some(n) = v.named_variables {
            o.insert("namedVariables".into(), json!(n));
        }
        if let Some(n) = v.indexed_variables {
            o.insert("indexedVariables".into(), json!(n));
        }
    }
    Value::Object(o)
}

/// A frame as the tools show it.
pub fn frame_json(f: &StackFrame) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(f.id));
    put_str(&mut o, "name", bound::cut_str(&f.name, 256));
    if let Some(source) = &f.source
        && let Some(p) = source.path.as_ref().or(source.name.as_ref())
    {
        put_str(&mut o, "path", p);
    }
    o.insert("line".into(), json!(f.line));
    Value::Object(o)
}

/// Lines `line-5 ..= line+5` of `path`, the current one marked with `>`, each cut at 200
/// bytes; `None` when the file cannot be read.
fn excerpt(path: &str, line: u64) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let first = line.saturating_sub(5).max(1);
    let last = line + 5;
    let mut out = String::new();
    let reader = std::io::BufReader::new(file);
    for (i, text) in reader.split(b'\n').enumerate() {
        let n = i as u64 + 1;
        if n > last {
            break;
        }
        let text = text.ok()?;
        if n < first {
            continue;
        }
        let text = String::from_utf8_lossy(&text);
        let text = bound::cut_str(text.trim_end_matches('\r'), 200);
        let mark = if n == line { ">" } else { " " };
        out.push_str(&format!("{mark}{n:>5} | {text}\n"));
    }
    if out.is_empty() { None } else { Some(out) }
}

/// One breakpoint as requested and as the adapter bound it: where, whether, and why not.
fn breakpoint_report(path: &str, line: u64, b: &Breakpoint) -> Value {
    let mut o = Map::new();
    o.insert("path".into(), json!(bound::cut_str(path, MAX_STRING)));
    o.insert("requestedLine".into(), json!(line));
    if let Some(id) = b.id {
        o.insert("id".into(), json!(id));
    }
    o.insert("line".into(), json!(b.line));
    o.insert("verified".into(), json!(b.verified));
    let mut message = b.message.clone();
    if b.verified && b.line.is_some_and(|l| l != line) {
        message.get_or_insert_with(|| {
            format!(
                "moved by the adapter from line {line} to line {}",
                b.line.unwrap_or_default()
            )
        });
    }
    if !b.verified && message.is_none() {
        message = Some(
            "the adapter did not bind this breakpoint (no reason given; it may bind once the code is loaded)".into(),
        );
    }
    if let Some(m) = message {
        put_str(&mut o, "message", &m);
    }
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::delve_exit_status;

    #[test]
    fn delve_exit_status_lines_are_read_and_others_are_not() {
        assert_eq!(
            delve_exit_status("Process 27139 has exited with status 3\n"),
            Some(3)
        );
        assert_eq!(
            delve_exit_status("Process 1 has exited with status -1"),
            Some(-1)
        );
        assert_eq!(delve_exit_status("Process  has exited with status 3"), None);
        assert_eq!(
            delve_exit_status("Process 12 exited with status = 3 (0x00000003)"),
            None
        );
        assert_eq!(
            delve_exit_status("Process 12 has exited with status three"),
            None
        );
        assert_eq!(delve_exit_status("Detaching\n"), None);
    }
}
