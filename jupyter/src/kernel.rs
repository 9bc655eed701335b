//! The kernel's channels: control and shell (requests and their replies, matched by the
//! request's `msg_id` in the reply's `parent_header`), IOPub (debug events, outputs,
//! status), heartbeat. One reader task per channel routes what arrives; when the kernel is
//! gone every waiter is released with the reason.

use crate::connection_file::ConnectionInfo;
use crate::error::Error;
use crate::heartbeat;
use crate::wire::{Message, Session};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use zeromq::{
    DealerSendHalf, DealerSocket, ReqSocket, Socket, SocketOptions, SocketRecv, SocketSend,
    SubSocket,
};

/// The two request channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Control,
    Shell,
}

/// Most requests waiting for a reply at once (a client can grow this map; beyond the
/// bound a request fails at once).
pub(crate) const MAX_PENDING: usize = 4096;

/// Longest wait for a message to enter a channel's send queue (ZeroMQ applies
/// backpressure when the kernel does not read).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What the reader tasks share with the callers.
#[derive(Default)]
struct Routes {
    /// Replies awaited on control and shell, by the request's `msg_id`.
    replies: HashMap<String, oneshot::Sender<Message>>,
    /// IOPub messages belonging to a request (execute outputs), by its `msg_id`.
    watchers: HashMap<String, mpsc::UnboundedSender<Message>>,
    /// Where `debug_event` contents go (the DAP client being served).
    events: Option<mpsc::Sender<Value>>,
    /// Why the kernel is gone, once it is.
    gone: Option<String>,
}

pub(crate) struct Kernel {
    pub session: Session,
    pub info: ConnectionInfo,
    control: tokio::sync::Mutex<DealerSendHalf>,
    shell: tokio::sync::Mutex<DealerSendHalf>,
    routes: Mutex<Routes>,
    gone_tx: watch::Sender<Option<String>>,
    /// Set once IOPub delivered a message (the subscription is in place).
    iopub_ready: watch::Sender<bool>,
    /// The kernel process's own session id (from its kernel_info_reply): an IOPub status
    /// from another session means the kernel was restarted.
    kernel_session: Mutex<Option<String>>,
    /// When the heartbeat last answered.
    last_pong: Mutex<Option<Instant>>,
    /// Set once a correctly signed reply arrived: the key is right.
    key_confirmed: std::sync::atomic::AtomicBool,
}

/// Timeouts and intervals of a connection.
#[derive(Debug, Clone)]
pub(crate) struct Timing {
    pub connect: Duration,
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
}

impl Kernel {
    fn routes(&self) -> MutexGuard<'_, Routes> {
        // A panic while holding this lock cannot leave the maps inconsistent.
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connects the four channels and starts their reader tasks.
    pub async fn connect(
        info: ConnectionInfo,
        timing: &Timing,
    ) -> Result<(Arc<Kernel>, Vec<JoinHandle<()>>), Error> {
        let connect_timeout = timing.connect;
        let options = move || {
            let mut options = SocketOptions::default();
            options.connect_timeout(connect_timeout);
            options
        };
        let connect_err =
            |channel: &'static str, endpoint: &str, e: zeromq::ZmqError| Error::Connect {
                channel,
                endpoint: endpoint.to_owned(),
                reason: format!("{e} (is the kernel running?)"),
            };
        let iopub_ep = info.endpoint(info.iopub_port);
        let mut iopub = SubSocket::with_options(options());
        iopub
            .connect(&iopub_ep)
            .await
            .map_err(|e| connect_err("iopub", &iopub_ep, e))?;
        iopub
            .subscribe("")
            .await
            .map_err(|e| connect_err("iopub", &iopub_ep, e))?;
        let control_ep = info.endpoint(info.control_port);
        let mut control = DealerSocket::with_options(options());
        control
            .connect(&control_ep)
            .await
            .map_err(|e| connect_err("control", &control_ep, e))?;
        let shell_ep = info.endpoint(info.shell_port);
        let mut shell = DealerSocket::with_options(options());
        shell
            .connect(&shell_ep)
            .await
            .map_err(|e| connect_err("shell", &shell_ep, e))?;
        let hb_ep = info.endpoint(info.hb_port);
        let mut hb = ReqSocket::with_options(options());
        hb.connect(&hb_ep)
            .await
            .map_err(|e| connect_err("hb", &hb_ep, e))?;

        let (control_tx, control_rx) = control.split();
        let (shell_tx, shell_rx) = shell.split();
        let kernel = Arc::new(Kernel {
            session: Session::new(&info.key),
            info,
            control: tokio::sync::Mutex::new(control_tx),
            shell: tokio::sync::Mutex::new(shell_tx),
            routes: Mutex::new(Routes::default()),
            gone_tx: watch::channel(None).0,
            iopub_ready: watch::channel(false).0,
            kernel_session: Mutex::new(None),
            last_pong: Mutex::new(None),
            key_confirmed: std::sync::atomic::AtomicBool::new(false),
        });
        let tasks = vec![
            tokio::spawn(reply_loop(kernel.clone(), control_rx, "control")),
            tokio::spawn(reply_loop(kernel.clone(), shell_rx, "shell")),
            tokio::spawn(iopub_loop(kernel.clone(), iopub)),
            tokio::spawn({
                let kernel = kernel.clone();
                let (interval, timeout) = (timing.heartbeat_interval, timing.heartbeat_timeout);
                let beat = heartbeat::run(hb, hb_ep, options, interval, timeout, {
                    let kernel = kernel.clone();
                    move |at| {
                        *kernel.last_pong.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
                    }
                });
                async move { kernel.set_gone(beat.await) }
            }),
        ];
        Ok((kernel, tasks))
    }

    /// Marks the kernel gone (first reason wins) and releases every waiter.
    pub fn set_gone(&self, reason: String) {
        let (replies, watchers) = {
            let mut routes = self.routes();
            if routes.gone.is_some() {
                return;
            }
            tracing::warn!("the kernel is gone: {reason}");
            routes.gone = Some(reason.clone());
            routes.events = None;
            (
                std::mem::take(&mut routes.replies),
                std::mem::take(&mut routes.watchers),
            )
        };
        drop(replies);
        drop(watchers);
        self.gone_tx.send_replace(Some(reason));
    }

    /// Why the kernel is gone, if it is.
    pub fn gone(&self) -> Option<String> {
        self.routes().gone.clone()
    }

    /// Watches for the kernel going away.
    pub fn watch_gone(&self) -> watch::Receiver<Option<String>> {
        self.gone_tx.subscribe()
    }

    pub fn set_kernel_session(&self, session: Option<String>) {
        *self
            .kernel_session
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = session;
    }

    /// Whether the heartbeat answered within `within`.
    pub fn heartbeat_alive(&self, within: Duration) -> bool {
        self.last_pong
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| t.elapsed() <= within)
    }

    /// Waits (up to `timeout`) until IOPub has delivered a message.
    pub async fn iopub_ready(&self, timeout: Duration) -> bool {
        let mut rx = self.iopub_ready.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|ready| *ready))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Sets (or clears) where `debug_event`s go; returns whether another sink was replaced.
    pub fn set_event_sink(&self, sink: Option<mpsc::Sender<Value>>) -> bool {
        let mut routes = self.routes();
        let had = routes.events.is_some();
        if routes.gone.is_none() || sink.is_none() {
            routes.events = sink;
        }
        had
    }

    /// Sends request `msg_type` with `content` (JSON bytes) on `channel`; returns the
    /// reply's receiver and the request's `msg_id`. With `watch`, IOPub messages whose
    /// parent is this request are delivered to the returned receiver too.
    pub async fn send(
        &self,
        channel: Channel,
        msg_type: &str,
        content: &[u8],
        watch: bool,
    ) -> Result<Sent, Error> {
        let (msg_id, message) = self.session.request(msg_type, content);
        let (tx, rx) = oneshot::channel();
        let iopub = {
            let mut routes = self.routes();
            if let Some(reason) = &routes.gone {
                return Err(Error::KernelGone(reason.clone()));
            }
            if routes.replies.len() >= MAX_PENDING {
                return Err(Error::Protocol(format!(
                    "{MAX_PENDING} requests already wait for the kernel's reply; `{msg_type}` not sent"
                )));
            }
            routes.replies.insert(msg_id.clone(), tx);
            if watch {
                let (wtx, wrx) = mpsc::unbounded_channel();
                routes.watchers.insert(msg_id.clone(), wtx);
                Some(wrx)
            } else {
                None
            }
        };
        let sending = async {
            match channel {
                Channel::Control => self.control.lock().await.send(message).await,
                Channel::Shell => self.shell.lock().await.send(message).await,
            }
        };
        let mut gone = self.watch_gone();
        let failed = tokio::select! {
            sent = tokio::time::timeout(SEND_TIMEOUT, sending) => match sent {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("sending `{msg_type}` on the {} channel failed: {e}", channel.name())),
                Err(_) => Some(format!(
                    "sending `{msg_type}` on the {} channel did not finish within {SEND_TIMEOUT:?}",
                    channel.name()
                )),
            },
            () = async { let _ = gone.wait_for(|g| g.is_some()).await; } => {
                Some(self.gone().unwrap_or_default())
            }
        };
        if let Some(reason) = failed {
            self.forget(&msg_id);
            return Err(Error::KernelGone(reason));
        }
        Ok(Sent {
            msg_id,
            reply: rx,
            iopub,
        })
    }

    /// Stops waiting for `msg_id`'s reply and IOPub messages.
    pub fn forget(&self, msg_id: &str) {
        let mut routes = self.routes();
        routes.replies.remove(msg_id);
        routes.watchers.remove(msg_id);
    }

    /// Waits for the reply of a sent request, failing when the kernel is gone or after
    /// `timeout`.
    pub async fn reply(
        &self,
        msg_type: &str,
        reply: oneshot::Receiver<Message>,
        msg_id: &str,
        timeout: Option<Duration>,
    ) -> Result<Message, Error> {
        let wait = async {
            reply.await.map_err(|_| {
                Error::KernelGone(
                    self.gone()
                        .unwrap_or_else(|| "the connection closed".into()),
                )
            })
        };
        match timeout {
            None => wait.await,
            Some(after) => match tokio::time::timeout(after, wait).await {
                Ok(r) => r,
                Err(_) => {
                    self.forget(msg_id);
                    Err(Error::Timeout {
                        msg_type: msg_type.to_owned(),
                        after,
                        hint: Some(self.timeout_hint()),
                    })
                }
            },
        }
    }

    /// Why a request may have got no reply.
    pub fn timeout_hint(&self) -> String {
        if self
            .key_confirmed
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            "the kernel answered other requests, so it runs and the key is right; it did not \
             answer this one (ipykernel sends no reply when its handler raises, e.g. on \
             missing arguments)"
                .to_owned()
        } else if self.heartbeat_alive(Duration::from_secs(5)) {
            "the kernel's heartbeat answers, so it is running: a kernel silently drops \
             messages whose signature does not match its key, so the `key` of the connection \
             file is likely wrong (or the kernel is busy)"
                .to_owned()
        } else {
            "the kernel's heartbeat is silent too: is the kernel running at the connection \
             file's address?"
                .to_owned()
        }
    }
}

/// A sent request.
pub(crate) struct Sent {
    pub msg_id: String,
    pub reply: oneshot::Receiver<Message>,
    pub iopub: Option<mpsc::UnboundedReceiver<Message>>,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Control => "control",
            Channel::Shell => "shell",
        }
    }
}

async fn reply_loop(kernel: Arc<Kernel>, mut socket: zeromq::DealerRecvHalf, channel: &str) {
    loop {
        let message = match socket.recv().await {
            Ok(m) => m,
            Err(e) => {
                kernel.set_gone(format!("the {channel} channel closed: {e}"));
                return;
            }
        };
        let message = match kernel.session.decode(message) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("dropped a message on the {channel} channel: {e}");
                continue;
            }
        };
        kernel
            .key_confirmed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let waiter = message
            .parent_id()
            .and_then(|id| kernel.routes().replies.remove(id));
        match waiter {
            Some(tx) => {
                let _ = tx.send(message);
            }
            None => tracing::debug!(
                "a `{}` on the {channel} channel nobody waits for (parent {:?})",
                message.msg_type(),
                message.parent_id()
            ),
        }
    }
}

async fn iopub_loop(kernel: Arc<Kernel>, mut socket: SubSocket) {
    loop {
        let message = match socket.recv().await {
            Ok(m) => m,
            Err(e) => {
                kernel.set_gone(format!("the iopub channel closed: {e}"));
                return;
            }
        };
        let message = match kernel.session.decode(message) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("dropped a message on the iopub channel: {e}");
                continue;
            }
        };
        kernel.iopub_ready.send_replace(true);
        match message.msg_type() {
            "debug_event" => {
                let sink = kernel.routes().events.clone();
                if let Some(sink) = sink {
                    // Bounded: waits while the client's queue is full.
                    let _ = sink.send(message.content.clone()).await;
                } else {
                    tracing::debug!(
                        "a debug_event with no DAP client connected: {}",
                        message.content
                    );
                }
            }
            "status" => {
                let state = message.content["execution_state"].as_str().unwrap_or("");
                let from = message.header["session"].as_str();
                let ours = kernel
                    .kernel_session
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                if state == "dead" {
                    kernel.set_gone("the kernel reported status `dead` on IOPub".into());
                } else if state == "starting"
                    && ours.is_some()
                    && from.is_some()
                    && ours.as_deref() != from
                {
                    kernel.set_gone(
                        "the kernel restarted (IOPub status `starting` from a new kernel session)"
                            .into(),
                    );
                }
            }
            "shutdown_reply" => {
                let restart = message.content["restart"].as_bool().unwrap_or(false);
                kernel.set_gone(if restart {
                    "the kernel is restarting (IOPub shutdown_reply with restart: true)".into()
                } else {
                    "the kernel shut down (IOPub shutdown_reply)".into()
                });
            }
            _ => {}
        }
        if let Some(parent) = message.parent_id() {
            let watcher = kernel.routes().watchers.get(parent).cloned();
            if let Some(watcher) = watcher {
                let _ = watcher.send(message);
            }
        }
    }
}
