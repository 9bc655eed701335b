//! The hub: the state one proxied session shares between its clients, and what happens to
//! each message.
//!
//! - Client → adapter ([`Hub::on_client_message`], run on the client's reader task):
//!   role check, local answers (a later client's `initialize`, `launch`, `attach`,
//!   `configurationDone`; `dapkitProxy/takeControl`; refusals), translation
//!   (`cancel.requestId`, merged breakpoints), then the request goes upstream through the
//!   session [`Client`] with an upstream `seq`; the [`Table`] remembers whose it was.
//! - Adapter → clients ([`Hub::on_upstream`], run on the adapter connection's reader task,
//!   in arrival order, without waiting except for the controller's full queue):
//!   responses back to their sender with its own `request_seq`, events to every joined
//!   client (and into the join snapshot), reverse requests to the controller or the first
//!   client that declared the capability.
//!
//! Lock order (never the other way round): the breakpoint lock, then the session's send
//! lock (inside `send_message_bytes`), then the state lock, then a client's writer slot
//! (a message written at once, [`ClientTx::push_now`](crate::client::ClientTx)), then
//! [`Table`] (a leaf: each of its methods takes its lock alone). No lock is held across an
//! `await`.

use crate::breakpoints::{Breakpoints, MergeKey, slice_body};
use crate::client::{self, ClientTx, Out};
use crate::message::{Members, compose, event_tail, response_tail};
use crate::record::Recorder;
use crate::{LastClientExit, ProxyOptions, roles};
use bytes::Bytes;
use dapkit_session::Client;
use dapkit_session::client::BoxFuture;
use dapkit_trace::Direction;
use dapkit_transport::Connection;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The custom request that makes its sender the controller.
pub const TAKE_CONTROL: &str = "dapkitProxy/takeControl";
/// The custom event that tells every client who the controller is.
pub const CONTROL_CHANGED: &str = "dapkitProxy/controlChanged";
/// How many `output` events a joining client is given.
pub const OUTPUT_HISTORY: usize = 100;

/// Requests whose success means the debuggee runs again (the current stop is over).
const RESUMING: &[&str] = &[
    "continue",
    "next",
    "stepIn",
    "stepOut",
    "stepBack",
    "reverseContinue",
    "goto",
    "restartFrame",
];

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why a request went upstream, which decides what its response does.
#[derive(Debug)]
enum Purpose {
    Plain,
    /// The first client's `initialize`: the response's body is cached.
    Initialize,
    /// A request whose success ends the current stop.
    Resume,
    /// A merged breakpoint request: the client gets the entries at `indices`.
    Merged {
        key: MergeKey,
        indices: Vec<usize>,
    },
    /// The proxy's own request (a union after a client left, a disconnect): the response
    /// goes to nobody.
    Internal {
        key: Option<MergeKey>,
    },
}

#[derive(Debug)]
struct Forwarded {
    client: u32,
    client_seq: i64,
    command: String,
    purpose: Purpose,
}

#[derive(Default)]
struct TableInner {
    /// Upstream `seq` → the request it carries.
    forwarded: HashMap<i64, Forwarded>,
    /// (client, client `seq`) → upstream `seq`, for `cancel.requestId`.
    by_client: HashMap<(u32, i64), i64>,
    /// Upstream reverse request `seq` → (client asked, command).
    reverse: HashMap<i64, (u32, String)>,
    /// (client, client-side `seq` of the reverse request) → upstream `seq`.
    reverse_by_client: HashMap<(u32, i64), i64>,
}

/// The translation table between upstream and client `seq`s.
#[derive(Default)]
pub(crate) struct Table {
    inner: Mutex<TableInner>,
}

impl Table {
    fn insert(&self, upstream_seq: i64, f: Forwarded) {
        let mut t = lock(&self.inner);
        if f.client != 0 {
            t.by_client.insert((f.client, f.client_seq), upstream_seq);
        }
        t.forwarded.insert(upstream_seq, f);
    }

    fn take(&self, upstream_seq: i64) -> Option<Forwarded> {
        let mut t = lock(&self.inner);
        let f = t.forwarded.remove(&upstream_seq)?;
        t.by_client.remove(&(f.client, f.client_seq));
        Some(f)
    }

    fn upstream_of(&self, client: u32, client_seq: i64) -> Option<i64> {
        lock(&self.inner)
            .by_client
            .get(&(client, client_seq))
            .copied()
    }

    /// Called by a client's writer as it gives a reverse request its client-side `seq`.
    pub fn register_reverse(&self, client: u32, client_seq: i64, upstream_seq: i64) {
        lock(&self.inner)
            .reverse_by_client
            .insert((client, client_seq), upstream_seq);
    }

    fn expect_reverse(&self, upstream_seq: i64, client: u32, command: String) {
        lock(&self.inner)
            .reverse
            .insert(upstream_seq, (client, command));
    }

    fn answer_reverse(&self, client: u32, client_seq: i64) -> Option<(i64, String)> {
        let mut t = lock(&self.inner);
        let upstream = t.reverse_by_client.remove(&(client, client_seq))?;
        let (_, command) = t.reverse.remove(&upstream)?;
        Some((upstream, command))
    }

    /// Forgets `client`: returns the reverse requests it owed an answer to.
    fn forget_client(&self, client: u32) -> Vec<(i64, String)> {
        let mut t = lock(&self.inner);
        t.by_client.retain(|(c, _), _| *c != client);
        t.reverse_by_client.retain(|(c, _), _| *c != client);
        let owed: Vec<i64> = t
            .reverse
            .iter()
            .filter(|(_, (c, _))| *c == client)
            .map(|(s, _)| *s)
            .collect();
        owed.into_iter()
            .filter_map(|s| t.reverse.remove(&s).map(|(_, cmd)| (s, cmd)))
            .collect()
    }

    fn take_all(&self) -> Vec<(i64, Forwarded)> {
        let mut t = lock(&self.inner);
        t.by_client.clear();
        t.forwarded.drain().collect()
    }
}

/// What a joining client is told about the adapter.
#[derive(Clone, Debug)]
enum Caps {
    Pending,
    Ready(String),
    Failed(String),
}

/// Why the proxy ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The last client left and the policy is `detach` or `terminate`.
    LastClientLeft,
    /// [`ProxyHandle::shutdown`](crate::ProxyHandle::shutdown).
    Shutdown,
}

struct Entry {
    tx: ClientTx,
    joined: bool,
    owner: bool,
    run_in_terminal: bool,
    start_debugging: bool,
}

#[derive(Default)]
struct State {
    clients: BTreeMap<u32, Entry>,
    next_id: u32,
    controller: Option<u32>,
    started: bool,
    initialized: bool,
    stopped: Option<Bytes>,
    outputs: VecDeque<Bytes>,
    breakpoints: HashMap<MergeKey, Vec<Value>>,
    disconnect_forwarded: bool,
    adapter_gone: bool,
    tasks: Vec<JoinHandle<()>>,
}

/// The shared state of one proxied session.
pub(crate) struct Hub {
    upstream: Client,
    state: Mutex<State>,
    table: Arc<Table>,
    bps: Mutex<Breakpoints>,
    caps: watch::Sender<Caps>,
    options: ProxyOptions,
    recorder: Option<Recorder>,
    ending: watch::Sender<Option<Ending>>,
}

impl Hub {
    pub fn new(upstream: Client, options: ProxyOptions, recorder: Option<Recorder>) -> Hub {
        Hub {
            upstream,
            state: Mutex::new(State {
                next_id: 1,
                ..State::default()
            }),
            table: Arc::new(Table::default()),
            bps: Mutex::new(Breakpoints::default()),
            caps: watch::Sender::new(Caps::Pending),
            options,
            recorder,
            ending: watch::Sender::new(None),
        }
    }

    pub fn table(&self) -> &Arc<Table> {
        &self.table
    }

    pub fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_ref()
    }

    pub fn upstream(&self) -> &Client {
        &self.upstream
    }

    pub fn ending(&self) -> watch::Receiver<Option<Ending>> {
        self.ending.subscribe()
    }

    pub fn end(&self, why: Ending) {
        self.ending.send_if_modified(|e| {
            if e.is_some() {
                return false;
            }
            *e = Some(why);
            true
        });
    }

    pub fn disconnect_forwarded(&self) -> bool {
        lock(&self.state).disconnect_forwarded
    }

    /// The client tasks started so far (taken, to be joined at the end).
    pub fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut lock(&self.state).tasks)
    }

    /// How many clients are connected.
    pub fn client_count(&self) -> usize {
        lock(&self.state).clients.len()
    }

    /// A new client connection: it becomes the controller if there is none.
    pub fn add_client(self: &Arc<Self>, connection: Connection) -> u32 {
        let (reader, writer) = connection.into_split();
        let mut state = lock(&self.state);
        let id = state.next_id;
        state.next_id += 1;
        let (tx, task) = client::start(
            id,
            reader,
            writer,
            self.clone(),
            self.options.client_queue,
            self.options.limits,
        );
        if state.controller.is_none() {
            state.controller = Some(id);
        }
        let role = if state.controller == Some(id) {
            "controller"
        } else {
            "observer"
        };
        tracing::info!("client {id} connected ({role})");
        state.clients.insert(
            id,
            Entry {
                tx,
                joined: false,
                owner: false,
                run_in_terminal: false,
                start_debugging: false,
            },
        );
        state.tasks.retain(|t| !t.is_finished());
        state.tasks.push(task);
        id
    }

    fn behind(&self) -> String {
        format!(
            "disconnected: this client fell behind ({} messages waiting for it, the proxy's \
             bound per client); the others go on",
            self.options.client_queue
        )
    }

    /// Queues `out` for client `id` without waiting: an observer whose queue is full is
    /// disconnected; the controller's full queue gives back what must be waited for.
    fn deliver_now(&self, id: u32, out: Out) -> Option<Blocked> {
        let state = lock(&self.state);
        let entry = state.clients.get(&id)?;
        match entry.tx.push_now(out) {
            Ok(()) | Err(TrySendError::Closed(_)) => None,
            Err(TrySendError::Full(out)) if state.controller == Some(id) => {
                Some(Blocked(entry.tx.clone(), out))
            }
            Err(TrySendError::Full(_)) => {
                entry.tx.kill_with(|| self.behind());
                None
            }
        }
    }

    /// Queues `out` for client `id`: an observer whose queue is full is disconnected, the
    /// controller is waited for.
    async fn deliver(&self, id: u32, out: Out) {
        if let Some(blocked) = self.deliver_now(id, out) {
            blocked.wait().await;
        }
    }

    /// Queues one message per joined client (`make` builds it from the client's id and
    /// whether it is the controller), with [`deliver_now`](Hub::deliver_now)'s rules.
    fn broadcast_now(&self, make: impl Fn(u32, bool) -> Out) -> Option<Blocked> {
        let state = lock(&self.state);
        let mut wait = None;
        for (&id, entry) in &state.clients {
            if !entry.joined {
                continue;
            }
            let is_controller = state.controller == Some(id);
            match entry.tx.try_push(make(id, is_controller)) {
                Ok(()) | Err(TrySendError::Closed(_)) => {}
                Err(TrySendError::Full(out)) if is_controller => {
                    wait = Some(Blocked(entry.tx.clone(), out));
                }
                Err(TrySendError::Full(_)) => entry.tx.kill_with(|| self.behind()),
            }
        }
        wait
    }

    /// [`broadcast_now`](Hub::broadcast_now), waiting for the controller.
    async fn broadcast(&self, make: impl Fn(u32, bool) -> Out) {
        if let Some(blocked) = self.broadcast_now(make) {
            blocked.wait().await;
        }
    }

    fn reply_now(&self, id: u32, request_seq: i64, tail: Bytes) -> Option<Blocked> {
        self.deliver_now(
            id,
            Out::Msg {
                request_seq: Some(request_seq),
                tail,
            },
        )
    }

    async fn reply(&self, id: u32, request_seq: i64, tail: Bytes) {
        if let Some(blocked) = self.reply_now(id, request_seq, tail) {
            blocked.wait().await;
        }
    }

    async fn reply_ok(&self, id: u32, request_seq: i64, command: &str, body: Option<&str>) {
        self.reply(id, request_seq, response_tail(command, true, body, None))
            .await;
    }

    async fn reply_error(&self, id: u32, request_seq: i64, command: &str, message: &str) {
        self.reply(
            id,
            request_seq,
            response_tail(command, false, None, Some(message)),
        )
        .await;
    }

    /// Sends a request upstream with the next upstream `seq`; `tail` is everything but
    /// the `seq`.
    fn forward(
        &self,
        client: u32,
        client_seq: i64,
        command: &str,
        tail: &[u8],
        purpose: Purpose,
    ) -> Result<i64, dapkit_session::RequestError> {
        let table = &self.table;
        let recorder = self.recorder.as_ref();
        self.upstream.send_message_bytes(|seq| {
            let seq = i64::from(seq);
            let body = compose(seq, None, tail);
            if let Some(r) = recorder {
                r.message(Direction::ClientToAdapter, 0, &body);
            }
            table.insert(
                seq,
                Forwarded {
                    client,
                    client_seq,
                    command: command.to_owned(),
                    purpose,
                },
            );
            Ok(body)
        })
    }

    /// Sends a message that needs no answer upstream (a response to a reverse request).
    fn send_upstream(&self, request_seq: i64, tail: &[u8]) {
        let recorder = self.recorder.as_ref();
        let sent = self.upstream.send_message_bytes(|seq| {
            let body = compose(i64::from(seq), Some(request_seq), tail);
            if let Some(r) = recorder {
                r.message(Direction::ClientToAdapter, 0, &body);
            }
            Ok(body)
        });
        if let Err(e) = sent {
            tracing::warn!("cannot answer the adapter's request {request_seq}: {e}");
        }
    }

    /// One message from client `id`.
    pub async fn on_client_message(self: &Arc<Self>, id: u32, bytes: Bytes) {
        if let Some(r) = &self.recorder {
            r.message(Direction::ClientToAdapter, id, &bytes);
        }
        let m = match Members::parse(&bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("client {id}: skipped a message that is not a JSON object: {e}");
                return;
            }
        };
        match m.str("type").as_deref() {
            Some("request") => self.on_request(id, &m).await,
            Some("response") => self.on_reverse_response(id, &m),
            other => tracing::warn!(
                "client {id}: ignored a message of type {other:?} (seq {:?}): clients send requests and responses",
                m.int("seq")
            ),
        }
    }

    async fn on_request(self: &Arc<Self>, id: u32, m: &Members<'_>) {
        let command = m.str("command");
        let Some(seq) = m.int("seq") else {
            tracing::warn!(
                "client {id}: a request without an integer `seq` (command {command:?}) cannot be answered; ignored"
            );
            return;
        };
        let Some(command) = command else {
            self.reply_error(id, seq, "", "the request has no `command`")
                .await;
            return;
        };
        let (is_controller, is_owner) = {
            let state = lock(&self.state);
            let owner = state.clients.get(&id).is_some_and(|e| e.owner);
            (state.controller == Some(id), owner)
        };
        match command.as_str() {
            "initialize" => return self.initialize(id, seq, m).await,
            "launch" | "attach" | "configurationDone" if !is_owner => {
                return self.reply_ok(id, seq, &command, None).await;
            }
            "disconnect" if !is_controller => {
                self.reply_ok(id, seq, &command, None).await;
                self.deliver(id, Out::Close).await;
                return;
            }
            TAKE_CONTROL => return self.take_control(id, seq).await,
            _ => {}
        }
        // The arguments are decoded only where the proxy looks into them.
        let merged = matches!(
            command.as_str(),
            "setBreakpoints"
                | "setFunctionBreakpoints"
                | "setDataBreakpoints"
                | "setExceptionBreakpoints"
        );
        let look = merged || command == "cancel" || (!is_controller && command == "evaluate");
        let arguments: Value = if look {
            m.get("arguments")
                .and_then(|a| serde_json::from_str(a.get()).ok())
                .unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        if !is_controller {
            let context = arguments.get("context").and_then(Value::as_str);
            if !roles::observer_may_send(&command, context) {
                let why = format!("observer cannot send {command}");
                return self.reply_error(id, seq, &command, &why).await;
            }
        }
        let sent = if command == "cancel" && arguments.get("requestId").is_some() {
            let Some(upstream) = arguments
                .get("requestId")
                .and_then(Value::as_i64)
                .and_then(|r| self.table.upstream_of(id, r))
            else {
                // Answered already (or never sent): nothing to cancel.
                return self.reply_ok(id, seq, &command, None).await;
            };
            let mut args = arguments.clone();
            args["requestId"] = upstream.into();
            let tail = m.tail_with(&["seq"], &[("arguments", &args.to_string())]);
            self.forward(id, seq, &command, &tail, Purpose::Plain)
        } else if let Some(key) = merged.then(|| MergeKey::of(&command, &arguments)).flatten() {
            let mut bps = lock(&self.bps);
            let merged = bps.set(id, &key, &arguments);
            let tail = m.tail_with(&["seq"], &[("arguments", &merged.arguments.to_string())]);
            let purpose = Purpose::Merged {
                key,
                indices: merged.indices,
            };
            self.forward(id, seq, &command, &tail, purpose)
        } else {
            if command == "disconnect" {
                lock(&self.state).disconnect_forwarded = true;
            }
            let purpose = if RESUMING.contains(&command.as_str()) {
                Purpose::Resume
            } else {
                Purpose::Plain
            };
            self.forward(id, seq, &command, &m.tail(&["seq"]), purpose)
        };
        if let Err(e) = sent {
            let why = format!("the proxy cannot reach the adapter: {e}");
            self.reply_error(id, seq, &command, &why).await;
        }
    }

    async fn initialize(self: &Arc<Self>, id: u32, seq: i64, m: &Members<'_>) {
        let arguments: Value = m
            .get("arguments")
            .and_then(|a| serde_json::from_str(a.get()).ok())
            .unwrap_or(Value::Null);
        let declared = |name: &str| arguments.get(name).and_then(Value::as_bool) == Some(true);
        let first = {
            let mut state = lock(&self.state);
            let started = state.started;
            let Some(entry) = state.clients.get_mut(&id) else {
                return;
            };
            entry.run_in_terminal = declared("supportsRunInTerminalRequest");
            entry.start_debugging = declared("supportsStartDebuggingRequest");
            if !started {
                entry.owner = true;
                entry.joined = true;
                state.started = true;
            }
            !started
        };
        if first {
            if let Err(e) = self.forward(
                id,
                seq,
                "initialize",
                &m.tail(&["seq"]),
                Purpose::Initialize,
            ) {
                let why = format!("the proxy cannot reach the adapter: {e}");
                self.caps.send_replace(Caps::Failed(why.clone()));
                self.reply_error(id, seq, "initialize", &why).await;
            }
            return;
        }
        let mut caps = self.caps.subscribe();
        let caps = match caps.wait_for(|c| !matches!(c, Caps::Pending)).await {
            Ok(c) => c.clone(),
            Err(_) => Caps::Failed("the proxy is shutting down".into()),
        };
        match caps {
            Caps::Ready(body) => self.join(id, seq, &body),
            Caps::Failed(why) => self.reply_error(id, seq, "initialize", &why).await,
            Caps::Pending => {}
        }
    }

    /// Answers a later client's `initialize` from the cache and sends it the snapshot, in
    /// one step under the state lock (no live event can come between).
    fn join(&self, id: u32, seq: i64, caps: &str) {
        let mut state = lock(&self.state);
        let controller = state.controller;
        let mut out = vec![Out::Msg {
            request_seq: Some(seq),
            tail: response_tail("initialize", true, Some(caps), None),
        }];
        let event = |tail: Bytes| Out::Msg {
            request_seq: None,
            tail,
        };
        if state.initialized {
            out.push(event(event_tail("initialized", None)));
        }
        for bps in state.breakpoints.values() {
            for bp in bps {
                let body = json!({"reason": "new", "breakpoint": bp}).to_string();
                out.push(event(event_tail("breakpoint", Some(&body))));
            }
        }
        if let Some(stop) = &state.stopped {
            out.push(event(stop.clone()));
        }
        for o in &state.outputs {
            out.push(event(o.clone()));
        }
        out.push(event(control_tail(controller, id)));
        let Some(entry) = state.clients.get_mut(&id) else {
            return;
        };
        entry.joined = true;
        for o in out {
            if entry.tx.try_push(o).is_err() {
                entry.tx.kill(format!(
                    "disconnected: the join snapshot does not fit the client's queue of {}",
                    self.options.client_queue
                ));
                break;
            }
        }
    }

    async fn take_control(&self, id: u32, seq: i64) {
        let previous = {
            let mut state = lock(&self.state);
            state.controller.replace(id)
        };
        let body = json!({"controller": id}).to_string();
        self.reply_ok(id, seq, TAKE_CONTROL, Some(&body)).await;
        if previous != Some(id) {
            tracing::info!("client {id} took control (was {previous:?})");
            self.announce_controller(Some(id)).await;
        }
    }

    async fn announce_controller(&self, controller: Option<u32>) {
        self.broadcast(|client, _| Out::Msg {
            request_seq: None,
            tail: control_tail(controller, client),
        })
        .await;
    }

    fn on_reverse_response(&self, id: u32, m: &Members<'_>) {
        let Some(request_seq) = m.int("request_seq") else {
            tracing::warn!("client {id}: a response without an integer `request_seq`; ignored");
            return;
        };
        let Some((upstream, _command)) = self.table.answer_reverse(id, request_seq) else {
            tracing::warn!(
                "client {id}: a response to request {request_seq}, which the proxy did not send it; ignored"
            );
            return;
        };
        self.send_upstream(upstream, &m.tail(&["seq", "request_seq"]));
    }

    /// Client `id`'s connection ended (or it was disconnected).
    pub async fn client_gone(&self, id: u32) {
        let (was_controller, new_controller, remaining, started) = {
            let mut state = lock(&self.state);
            if state.clients.remove(&id).is_none() {
                return;
            }
            let was = state.controller == Some(id);
            if was {
                let next = state
                    .clients
                    .iter()
                    .find(|(_, e)| e.joined)
                    .or_else(|| state.clients.iter().next())
                    .map(|(id, _)| *id);
                state.controller = next;
            }
            (was, state.controller, state.clients.len(), state.started)
        };
        tracing::info!("client {id} left ({remaining} remain)");
        for (upstream, command) in self.table.forget_client(id) {
            let why = format!("the client asked to answer `{command}` (client {id}) left");
            self.send_upstream(upstream, &response_tail(&command, false, None, Some(&why)));
        }
        {
            let mut bps = lock(&self.bps);
            for (key, merged) in bps.remove(id) {
                let tail = crate::message::tail_of(&[
                    ("type", "\"request\""),
                    ("command", &crate::message::json_str(key.command())),
                    ("arguments", &merged.arguments.to_string()),
                ]);
                if let Err(e) = self.forward(
                    0,
                    0,
                    key.command(),
                    &tail,
                    Purpose::Internal {
                        key: Some(key.clone()),
                    },
                ) {
                    tracing::warn!("cannot remove client {id}'s breakpoints upstream: {e}");
                }
            }
        }
        if was_controller && new_controller.is_some() {
            self.announce_controller(new_controller).await;
        }
        if remaining == 0 && started {
            match self.options.on_last_client_exit {
                LastClientExit::Keep => {
                    tracing::info!(
                        "the last client left; waiting for the next (--on-last-client-exit keep)"
                    );
                }
                LastClientExit::Detach | LastClientExit::Terminate => {
                    let terminate = self.options.on_last_client_exit == LastClientExit::Terminate;
                    let args = json!({"terminateDebuggee": terminate}).to_string();
                    let tail = crate::message::tail_of(&[
                        ("type", "\"request\""),
                        ("command", "\"disconnect\""),
                        ("arguments", &args),
                    ]);
                    lock(&self.state).disconnect_forwarded = true;
                    if let Err(e) =
                        self.forward(0, 0, "disconnect", &tail, Purpose::Internal { key: None })
                    {
                        tracing::warn!("cannot send disconnect to the adapter: {e}");
                    }
                    self.end(Ending::LastClientLeft);
                }
            }
        }
    }

    /// One message from the adapter, handled on the adapter connection's reader task in
    /// arrival order, without waiting; what is returned (the controller's queue is full)
    /// is awaited before the next message is read.
    pub fn on_upstream(self: &Arc<Self>, bytes: Bytes) -> Option<BoxFuture<()>> {
        if let Some(r) = &self.recorder {
            r.message(Direction::AdapterToClient, 0, &bytes);
        }
        let m = match Members::parse(&bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("adapter: skipped a message that is not a JSON object: {e}");
                return None;
            }
        };
        let blocked = match m.str("type").as_deref() {
            Some("event") => self.on_event(&m),
            Some("response") => self.on_response(&m),
            Some("request") => return self.on_reverse_request(&m),
            other => {
                tracing::warn!(
                    "adapter: ignored a message of type {other:?} (seq {:?})",
                    m.int("seq")
                );
                None
            }
        };
        blocked.map(|b| Box::pin(b.wait()) as BoxFuture<()>)
    }

    fn on_event(&self, m: &Members<'_>) -> Option<Blocked> {
        let tail = m.tail(&["seq"]);
        {
            let mut state = lock(&self.state);
            match m.str("event").as_deref() {
                Some("output") => {
                    if state.outputs.len() == OUTPUT_HISTORY {
                        state.outputs.pop_front();
                    }
                    state.outputs.push_back(tail.clone());
                }
                Some("stopped") => state.stopped = Some(tail.clone()),
                Some("continued") => state.stopped = None,
                Some("initialized") => state.initialized = true,
                Some("capabilities") => {
                    let update = m
                        .get("body")
                        .and_then(|b| serde_json::from_str::<Value>(b.get()).ok())
                        .and_then(|b| b.get("capabilities").cloned());
                    if let Some(Value::Object(update)) = update {
                        self.caps.send_modify(|c| {
                            if let Caps::Ready(body) = c {
                                if let Ok(Value::Object(mut all)) = serde_json::from_str(body) {
                                    all.extend(update);
                                    *body = Value::Object(all).to_string();
                                }
                            }
                        });
                    }
                }
                _ => {}
            }
        }
        self.broadcast_now(|_, _| Out::Msg {
            request_seq: None,
            tail: tail.clone(),
        })
    }

    fn on_response(&self, m: &Members<'_>) -> Option<Blocked> {
        let Some(request_seq) = m.int("request_seq") else {
            tracing::warn!("adapter: a response without an integer `request_seq`; ignored");
            return None;
        };
        let Some(forwarded) = self.table.take(request_seq) else {
            tracing::warn!(
                "adapter: a response to request {request_seq} ({:?}), which the proxy did not send; ignored",
                m.str("command")
            );
            return None;
        };
        let success = m.bool("success") == Some(true);
        let body = || -> Value {
            m.get("body")
                .and_then(|b| serde_json::from_str(b.get()).ok())
                .unwrap_or(Value::Null)
        };
        let mut tail = None;
        match forwarded.purpose {
            Purpose::Initialize => {
                let caps = if success {
                    Caps::Ready(
                        m.get("body")
                            .map_or_else(|| "{}".to_owned(), |b| b.get().to_owned()),
                    )
                } else {
                    Caps::Failed(
                        m.str("message")
                            .unwrap_or_else(|| "the adapter refused initialize".into()),
                    )
                };
                self.caps.send_replace(caps);
            }
            Purpose::Resume if success => lock(&self.state).stopped = None,
            Purpose::Merged { key, indices } if success => {
                let mut body = body();
                self.remember_breakpoints(key, &body);
                slice_body(&mut body, &indices);
                tail = Some(m.tail_with(&["seq", "request_seq"], &[("body", &body.to_string())]));
            }
            Purpose::Internal { key: Some(key) } if success => {
                self.remember_breakpoints(key, &body());
            }
            _ => {}
        }
        if forwarded.client == 0 {
            return None;
        }
        let tail = tail.unwrap_or_else(|| m.tail(&["seq", "request_seq"]));
        self.reply_now(forwarded.client, forwarded.client_seq, tail)
    }

    fn remember_breakpoints(&self, key: MergeKey, body: &Value) {
        if key == MergeKey::Exception {
            return;
        }
        let all = body
            .get("breakpoints")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        lock(&self.state).breakpoints.insert(key, all);
    }

    fn on_reverse_request(self: &Arc<Self>, m: &Members<'_>) -> Option<BoxFuture<()>> {
        let Some(upstream_seq) = m.int("seq") else {
            tracing::warn!(
                "adapter: a request without an integer `seq` cannot be answered; ignored"
            );
            return None;
        };
        let command = m.str("command").unwrap_or_default();
        let target = {
            let state = lock(&self.state);
            let declared = |e: &Entry| match command.as_str() {
                "runInTerminal" => e.run_in_terminal,
                "startDebugging" => e.start_debugging,
                _ => false,
            };
            let controller = state
                .controller
                .filter(|c| state.clients.get(c).is_some_and(|e| e.joined));
            controller
                .filter(|c| state.clients.get(c).is_some_and(declared))
                .or_else(|| {
                    state
                        .clients
                        .iter()
                        .find(|(_, e)| e.joined && declared(e))
                        .map(|(id, _)| *id)
                })
                .or(controller)
        };
        let Some(target) = target else {
            let why = format!("no client of the proxy can answer `{command}`");
            self.send_upstream(
                upstream_seq,
                &response_tail(&command, false, None, Some(&why)),
            );
            return None;
        };
        self.table.expect_reverse(upstream_seq, target, command);
        let out = Out::Reverse {
            upstream_seq,
            tail: m.tail(&["seq"]),
        };
        match self.deliver_now(target, out) {
            None => {
                self.forget_if_gone(target);
                None
            }
            Some(blocked) => {
                let hub = self.clone();
                Some(Box::pin(async move {
                    blocked.wait().await;
                    hub.forget_if_gone(target);
                }))
            }
        }
    }

    /// If client `target` is gone (it may leave while a reverse request is queued for it:
    /// its queue is dropped then), the adapter gets `success: false` for what it owed.
    fn forget_if_gone(&self, target: u32) {
        if !lock(&self.state).clients.contains_key(&target) {
            for (upstream, command) in self.table.forget_client(target) {
                let why = format!("the client asked to answer `{command}` (client {target}) left");
                self.send_upstream(upstream, &response_tail(&command, false, None, Some(&why)));
            }
        }
    }

    /// The adapter's connection ended: requests still waiting get an error response,
    /// then every client's connection is closed once what is queued for it is written.
    pub async fn adapter_gone(&self) {
        lock(&self.state).adapter_gone = true;
        self.caps.send_if_modified(|c| {
            if matches!(c, Caps::Pending) {
                *c = Caps::Failed("the adapter closed the connection".into());
                true
            } else {
                false
            }
        });
        for (_, f) in self.table.take_all() {
            if f.client != 0 {
                let tail = response_tail(
                    &f.command,
                    false,
                    None,
                    Some("the adapter closed the connection before answering"),
                );
                self.reply(f.client, f.client_seq, tail).await;
            }
        }
        self.close_all().await;
    }

    /// Closes every client's connection after what is queued for it.
    pub async fn close_all(&self) {
        let txs: Vec<ClientTx> = lock(&self.state)
            .clients
            .values()
            .map(|e| e.tx.clone())
            .collect();
        for tx in txs {
            if let Err(TrySendError::Full(_)) = tx.try_push(Out::Close) {
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(1), tx.push(Out::Close))
                        .await;
            }
        }
    }
}

/// A message for the controller, whose queue is full: the adapter's messages wait for it.
pub(crate) struct Blocked(ClientTx, Out);

impl Blocked {
    async fn wait(self) {
        self.0.push(self.1).await;
    }
}

/// The `dapkitProxy/controlChanged` event as client `client` gets it.
fn control_tail(controller: Option<u32>, client: u32) -> Bytes {
    let role = if controller == Some(client) {
        "controller"
    } else {
        "observer"
    };
    let body = json!({"controller": controller, "clientId": client, "role": role}).to_string();
    event_tail(CONTROL_CHANGED, Some(&body))
}
