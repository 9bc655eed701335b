//! Spinning instead of sleeping between the two directions of a forwarded session.
//!
//! A relay in the middle of a request round trip adds two thread wake-ups to it: its
//! forwarding thread, asleep in a `read`, is woken once by the request and once by the
//! response. On an idle machine a wake-up costs several microseconds (the CPU has to leave
//! its idle state), which is most of what a relay adds. A [`Spin`] pair lets each
//! direction's thread poll its reader without sleeping for a short window after the
//! *other* direction forwarded something — the moment a reply becomes likely — so that
//! the reply is picked up as it arrives:
//!
//! - each side sleeps in `poll` on its reader and on a doorbell (an `eventfd`);
//! - after forwarding, a side rings the other side's doorbell ([`Spin::forwarded`]);
//! - a side whose doorbell rang polls its reader with a zero timeout, yielding the CPU
//!   between polls, for up to the window, then sleeps again; when a yield shows that other
//!   threads want the CPU (it took 20 µs or more), it stops polling early, so that on a
//!   busy machine it takes no time from the peers;
//! - a window that runs out before the reply lets the next rings pass without polling
//!   (1, 2, 4 … up to 64 for misses in a row; polling at every ring again once it catches
//!   a reply), so a peer slower than the window costs little CPU.
//!
//! The price is CPU time: at most one window of polling per forwarded chunk, on one thread
//! at a time in a request/response exchange (about 500 µs per message with
//! [`DEFAULT_WINDOW`]; a session of 100 messages a second costs about 5 % of one core).
//! A zero window turns it off. Only readers with a file descriptor (pipes, sockets) can
//! spin, and only on Linux: elsewhere [`pair`] fails with [`io::ErrorKind::Unsupported`]
//! and [`Spin`] has no values, so the same code compiles everywhere and forwarding sleeps
//! as before.

use std::io;
use std::time::Duration;

#[cfg(target_os = "linux")]
mod linux;

/// The window [`pair`] is usually given: longer than most adapters take to answer a cheap
/// request, short enough to cost little CPU.
pub const DEFAULT_WINDOW: Duration = Duration::from_micros(500);

/// One direction's side of a [`pair`]: [`wait_readable`](Spin::wait_readable) before
/// reading, [`forwarded`](Spin::forwarded) after forwarding.
#[cfg(target_os = "linux")]
pub use linux::Spin;

/// One direction's side of a [`pair`]; on this system there is none ([`pair`] always
/// fails), so its methods can never be called.
#[cfg(not(target_os = "linux"))]
#[derive(Debug)]
pub enum Spin {}

#[cfg(not(target_os = "linux"))]
impl Spin {
    /// Waits until the reader has something to read (never called: no `Spin` exists here).
    pub fn wait_readable(&self) {
        match *self {}
    }

    /// Tells the other side this one forwarded (never called: no `Spin` exists here).
    pub fn forwarded(&self) {
        match *self {}
    }
}

/// A reader a side can spin on: one with a file descriptor (a pipe, a socket, stdin).
#[cfg(unix)]
pub trait Pollable: std::os::fd::AsFd {}
#[cfg(unix)]
impl<T: std::os::fd::AsFd + ?Sized> Pollable for T {}

/// A reader a side can spin on (none on this system: [`pair`] fails).
#[cfg(not(unix))]
pub trait Pollable {}
#[cfg(not(unix))]
impl<T: ?Sized> Pollable for T {}

/// The two sides for a session's two directions: the first for the direction reading `a`,
/// the second for the one reading `b` (each side keeps a copy of its reader's descriptor
/// to poll; the readers themselves stay with the caller). Fails with
/// [`io::ErrorKind::Unsupported`] where spinning is not available (not Linux), or with the
/// system's error when a descriptor cannot be copied or a doorbell made.
pub fn pair(a: &impl Pollable, b: &impl Pollable, window: Duration) -> io::Result<(Spin, Spin)> {
    #[cfg(target_os = "linux")]
    {
        linux::pair(
            a.as_fd().try_clone_to_owned()?,
            b.as_fd().try_clone_to_owned()?,
            window,
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b, window);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "spinning needs Linux (eventfd)",
        ))
    }
}
