//! Connecting to a listening peer: [`connect`] retries with backoff per [`RetryPolicy`]
//! until one `connect` succeeds and keeps that socket. It never probes (a throw-away
//! connect-and-close can be taken by the peer as its one client, as debugpy
//! `--listen --wait-for-client` does, and leave the real connection unanswered).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::{Duration, Instant};

use crate::child::spawn_stdio;
use crate::connection::{BoxedReader, BoxedWriter, Connection};
use crate::endpoint::Endpoint;

/// How [`connect`] retries: `max_tries` attempts, `interval` apart, the interval growing by
/// `growth` after each try up to `max_interval`, all within an optional overall `deadline`.
///
/// The default is 100 tries 300 ms apart (about 30 s), no growth, no deadline, each attempt
/// bounded by 10 s.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    interval: Duration,
    max_tries: u32,
    growth: f64,
    max_interval: Duration,
    deadline: Option<Duration>,
    attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            interval: Duration::from_millis(300),
            max_tries: 100,
            growth: 1.0,
            max_interval: Duration::from_secs(5),
            deadline: None,
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// A single attempt, no retry.
    pub fn once() -> Self {
        RetryPolicy::default().with_max_tries(1)
    }

    /// Sets the wait between the first and second try.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the number of attempts (at least 1 is made).
    pub fn with_max_tries(mut self, tries: u32) -> Self {
        self.max_tries = tries;
        self
    }

    /// Sets the factor the interval is multiplied by after each try (`1.0`: constant;
    /// values below 1, NaN or infinite are treated as `1.0`).
    pub fn with_growth(mut self, factor: f64) -> Self {
        self.growth = factor;
        self
    }

    /// Caps the interval when it grows.
    pub fn with_max_interval(mut self, max: Duration) -> Self {
        self.max_interval = max;
        self
    }

    /// Gives up once this much time has passed since the first try.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Bounds each single connect attempt.
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The wait between the first and second try.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The maximum number of attempts.
    pub fn max_tries(&self) -> u32 {
        self.max_tries.max(1)
    }

    /// The overall deadline, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The wait after failed try number `try_number` (1-based).
    pub fn delay_after(&self, try_number: u32) -> Duration {
        let growth = if self.growth.is_finite() && self.growth >= 1.0 {
            self.growth
        } else {
            1.0
        };
        let exponent = i32::try_from(try_number.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.interval.as_secs_f64() * growth.powi(exponent);
        let cap = if growth > 1.0 {
            self.max_interval.max(self.interval)
        } else {
            self.interval
        };
        if !secs.is_finite() || secs >= cap.as_secs_f64() {
            cap
        } else {
            Duration::from_secs_f64(secs)
        }
    }
}

/// Why [`connect`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectErrorKind {
    /// Every allowed try failed.
    Exhausted,
    /// The overall deadline passed.
    DeadlineExceeded,
    /// The cancellation signal fired.
    Cancelled,
    /// An error that retrying cannot fix (permission denied, invalid address).
    Fatal,
    /// The adapter process could not be started ([`Endpoint::Stdio`]).
    Spawn,
}

/// The error of [`connect`]: which endpoint, after how many tries and how long, and the
/// last OS error.
#[derive(Debug)]
pub struct ConnectError {
    endpoint: Endpoint,
    kind: ConnectErrorKind,
    tries: u32,
    elapsed: Duration,
    last: Option<io::Error>,
}

impl ConnectError {
    /// Why connecting failed.
    pub fn kind(&self) -> ConnectErrorKind {
        self.kind
    }

    /// The endpoint that could not be reached.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// How many connect attempts were made.
    pub fn tries(&self) -> u32 {
        self.tries
    }

    /// Time from the first attempt to giving up.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The OS error of the last attempt.
    pub fn last_error(&self) -> Option<&io::Error> {
        self.last.as_ref()
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ConnectErrorKind::Exhausted => "gave up",
            ConnectErrorKind::DeadlineExceeded => "deadline exceeded",
            ConnectErrorKind::Cancelled => "cancelled",
            ConnectErrorKind::Fatal => "failed",
            ConnectErrorKind::Spawn => "could not start the adapter",
        };
        write!(
            f,
            "connecting to {}: {what} after {} {} in {:.1} s",
            self.endpoint,
            self.tries,
            if self.tries == 1 { "try" } else { "tries" },
            self.elapsed.as_secs_f64()
        )?;
        if let Some(e) = &self.last {
            write!(f, "; last error: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.last
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Connects to `endpoint`, retrying per `policy`; the first successful connection is
/// returned (never closed and reopened). [`Endpoint::Stdio`] spawns the adapter instead
/// (no retry).
pub async fn connect(
    endpoint: &Endpoint,
    policy: &RetryPolicy,
) -> Result<Connection, ConnectError> {
    connect_cancellable(endpoint, policy, std::future::pending()).await
}

/// [`connect`] that stops, with [`ConnectErrorKind::Cancelled`], as soon as `cancel`
/// completes (e.g. `token.cancelled()`, a `oneshot` receiver, a `Notify::notified()`).
///
/// Cancelling abandons an attempt in flight; on a slow network that attempt may already
/// have reached the peer.
pub async fn connect_cancellable(
    endpoint: &Endpoint,
    policy: &RetryPolicy,
    cancel: impl Future<Output = ()>,
) -> Result<Connection, ConnectError> {
    let start = Instant::now();
    let mut cancel = pin!(cancel);
    let mut tries = 0u32;
    let mut last: Option<io::Error> = None;
    let error = |kind, tries, last| ConnectError {
        endpoint: endpoint.clone(),
        kind,
        tries,
        elapsed: start.elapsed(),
        last,
    };
    if let Endpoint::Stdio(command) = endpoint {
        return spawn_stdio(command).map_err(|e| {
            let source = io::Error::new(e.io_error().kind(), e.to_string());
            error(ConnectErrorKind::Spawn, 1, Some(source))
        });
    }
    loop {
        let mut attempt_timeout = policy.attempt_timeout;
        if let Some(deadline) = policy.deadline {
            attempt_timeout = attempt_timeout.min(deadline.saturating_sub(start.elapsed()));
        }
        tries += 1;
        let outcome = tokio::select! {
            biased;
            () = &mut cancel => return Err(error(ConnectErrorKind::Cancelled, tries - 1, last)),
            outcome = tokio::time::timeout(attempt_timeout, attempt(endpoint)) => outcome,
        };
        match outcome {
            Ok(Ok((reader, writer))) => {
                return Ok(Connection::new(reader, writer, endpoint.clone()));
            }
            Ok(Err(e)) if is_fatal(&e) => {
                return Err(error(ConnectErrorKind::Fatal, tries, Some(e)));
            }
            Ok(Err(e)) => last = Some(e),
            Err(_) => {
                last = Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "connect attempt timed out after {:.1} s",
                        attempt_timeout.as_secs_f64()
                    ),
                ));
            }
        }
        if tries >= policy.max_tries() {
            return Err(error(ConnectErrorKind::Exhausted, tries, last));
        }
        let delay = policy.delay_after(tries);
        if let Some(deadline) = policy.deadline {
            if start.elapsed() + delay >= deadline {
                return Err(error(ConnectErrorKind::DeadlineExceeded, tries, last));
            }
        }
        tokio::select! {
            biased;
            () = &mut cancel => return Err(error(ConnectErrorKind::Cancelled, tries, last)),
            () = tokio::time::sleep(delay) => {}
        }
    }
}

fn is_fatal(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
    )
}

async fn attempt(endpoint: &Endpoint) -> io::Result<(BoxedReader, BoxedWriter)> {
    match endpoint {
        Endpoint::Tcp(addr) => {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (r, w) = stream.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
        #[cfg(unix)]
        Endpoint::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path).await?;
            let (r, w) = stream.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
        #[cfg(windows)]
        Endpoint::Pipe(name) => crate::pipe::connect(name),
        Endpoint::Stdio(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a stdio endpoint is spawned, not connected to",
        )),
    }
}
