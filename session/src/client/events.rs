//! [`Events`]: the receiving end of a session's events, with [`Events::wait_for`].
//!
//! Events travel through a bounded channel (capacity set with
//! [`ClientOptions::with_event_capacity`](crate::client::ClientOptions::with_event_capacity)).
//! When it is full the reader task waits, which stops reading from the connection: no
//! event is ever dropped, but responses stall too until events are taken. A client that
//! awaits requests must therefore keep receiving events (in another task, or between
//! requests) once more than the capacity may pile up. Dropping [`Events`] discards all
//! later events.
//!
//! [`Events::wait_for`] keeps the events it passes over in a backlog of at most the same
//! capacity. When the backlog is full it stops with [`WaitError::BacklogFull`] instead of
//! taking more: no event is dropped, and the caller takes the backlog with
//! [`Events::recv`] (or drops it with [`Events::clear_backlog`]).

use super::error::WaitError;
use dapkit_types::Event;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;

/// The events of one session, in arrival order (typed; unknown events are
/// [`Event::Custom`]). The stream ends when the session closes.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::Receiver<Event>,
    /// Events [`Events::wait_for`] passed over, delivered first by later calls.
    backlog: VecDeque<Event>,
    /// The most events the backlog holds.
    capacity: usize,
}

impl Events {
    pub(crate) fn new(rx: mpsc::Receiver<Event>, capacity: usize) -> Self {
        Events {
            rx,
            backlog: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// The next event; `None` once the session is closed and every event was taken.
    pub async fn recv(&mut self) -> Option<Event> {
        match self.backlog.pop_front() {
            Some(e) => Some(e),
            None => self.rx.recv().await,
        }
    }

    /// The next event if one is already there.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.backlog.pop_front().or_else(|| self.rx.try_recv().ok())
    }

    /// Waits up to `timeout` for the first event that satisfies `predicate`.
    ///
    /// Events that do not match are kept, in order, and returned by later calls of
    /// [`recv`](Events::recv), [`try_recv`](Events::try_recv) and `wait_for` (see
    /// [`backlog_len`](Events::backlog_len), [`clear_backlog`](Events::clear_backlog)).
    /// The backlog holds at most the event capacity
    /// ([`ClientOptions::with_event_capacity`](crate::client::ClientOptions::with_event_capacity));
    /// once it is full this returns [`WaitError::BacklogFull`] without taking further
    /// events, so none is lost.
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&Event) -> bool,
        timeout: Duration,
    ) -> Result<Event, WaitError> {
        if let Some(i) = self.backlog.iter().position(&mut predicate) {
            if let Some(e) = self.backlog.remove(i) {
                return Ok(e);
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.backlog.len() >= self.capacity {
                return Err(WaitError::BacklogFull(self.capacity));
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Err(_) => return Err(WaitError::Timeout(timeout)),
                Ok(None) => return Err(WaitError::Closed),
                Ok(Some(e)) if predicate(&e) => return Ok(e),
                Ok(Some(e)) => self.backlog.push_back(e),
            }
        }
    }

    /// Waits up to `timeout` for the event named `name` (e.g. `"stopped"`, or a custom
    /// event's name).
    pub async fn wait_for_named(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<Event, WaitError> {
        self.wait_for(|e| e.event() == Some(name), timeout).await
    }

    /// How many passed-over events wait in the backlog.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// Drops the passed-over events.
    pub fn clear_backlog(&mut self) {
        self.backlog.clear();
    }
}
