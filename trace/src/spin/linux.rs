//! [`Spin`](super::Spin) on Linux: an `eventfd` doorbell per side, `poll` on the reader
//! and the doorbell.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{EventfdFlags, PollFd, PollFlags, Timespec};

/// A `poll` timeout of zero: look, do not wait.
const NO_WAIT: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

/// A yield that takes this long means another thread ran on this CPU: stop polling.
const BUSY: Duration = Duration::from_micros(20);

/// One direction's side of a [`pair`](super::pair): its reader's descriptor, its doorbell
/// and the other side's.
#[derive(Debug)]
pub struct Spin {
    from: OwnedFd,
    bell: Arc<OwnedFd>,
    other: Arc<OwnedFd>,
    window: Duration,
    /// A yield at least this long ends the polling ([`BUSY`]; tests raise it).
    busy: Duration,
    /// How many rings to let pass without polling after the next miss (doubles with each
    /// miss in a row, up to [`MAX_SKIP`]; 0 after a hit).
    backoff: Cell<u32>,
    /// Rings still to let pass without polling.
    skip: Cell<u32>,
}

/// The most rings let pass without polling after windows that ran out in a row.
const MAX_SKIP: u32 = 64;

/// The two sides over the two descriptors (copies of each direction's reader's): see
/// [`super::pair`].
pub(super) fn pair(a: OwnedFd, b: OwnedFd, window: Duration) -> io::Result<(Spin, Spin)> {
    let flags = EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC;
    let bell_a = Arc::new(rustix::event::eventfd(0, flags)?);
    let bell_b = Arc::new(rustix::event::eventfd(0, flags)?);
    Ok((
        Spin {
            from: a,
            bell: Arc::clone(&bell_a),
            other: Arc::clone(&bell_b),
            window,
            busy: BUSY,
            backoff: Cell::new(0),
            skip: Cell::new(0),
        },
        Spin {
            from: b,
            bell: bell_b,
            other: bell_a,
            window,
            busy: BUSY,
            backoff: Cell::new(0),
            skip: Cell::new(0),
        },
    ))
}

impl Spin {
    /// Waits until the reader has something to read (bytes, its end or an error): asleep
    /// until the other side rings, then polling without sleeping for up to the window
    /// after each ring. Returns at once if there is something already. A failing `poll`
    /// returns too: the caller's `read` then blocks as it would without spinning.
    pub fn wait_readable(&self) {
        let mut until: Option<Instant> = None;
        loop {
            let spinning = match until {
                Some(t) if Instant::now() < t => true,
                Some(_) => {
                    // The window ran out before the reply: poll less often.
                    until = None;
                    self.missed();
                    false
                }
                None => false,
            };
            let mut fds = [
                PollFd::new(&self.from, PollFlags::IN),
                PollFd::new(&*self.bell, PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds, spinning.then_some(&NO_WAIT)) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return,
            }
            if !fds[0].revents().is_empty() {
                if until.is_some() {
                    self.hit();
                }
                return;
            }
            if !fds[1].revents().is_empty() {
                self.drain_bell();
                if !self.window.is_zero() && self.take_turn() {
                    until = Some(Instant::now() + self.window);
                }
            } else if spinning {
                // Nothing yet: let whatever else wants this CPU run (often the peer
                // whose reply we wait for), then look again. If something did run
                // (the yield took long), the CPUs are busy: polling would take time from
                // the peers, so sleep until the next ring instead. (Not a miss: the next
                // reply may well come within the window once the CPUs are free.)
                let before = Instant::now();
                std::thread::yield_now();
                if before.elapsed() >= self.busy {
                    until = None;
                }
            } else {
                until = None;
            }
        }
    }

    /// A window ran out: let the next rings pass without polling (1, 2, 4 … up to
    /// [`MAX_SKIP`] for misses in a row), so that a peer slower than the window (whose
    /// replies polling never catches) costs little CPU.
    fn missed(&self) {
        let backoff = (self.backoff.get() * 2).clamp(1, MAX_SKIP);
        self.backoff.set(backoff);
        self.skip.set(backoff);
    }

    /// Bytes came while polling: poll at every ring again.
    fn hit(&self) {
        self.backoff.set(0);
        self.skip.set(0);
    }

    /// Whether this ring starts a window (false while rings are let pass after misses).
    fn take_turn(&self) -> bool {
        match self.skip.get() {
            0 => true,
            n => {
                self.skip.set(n - 1);
                false
            }
        }
    }

    /// Rings the other side's doorbell: this side forwarded, a reply may follow.
    pub fn forwarded(&self) {
        if self.window.is_zero() {
            return;
        }
        // A full counter (never, in practice) already means "rang".
        let _ = rustix::io::write(self.other.as_fd(), &1u64.to_ne_bytes());
    }

    fn drain_bell(&self) {
        let mut count = [0u8; 8];
        let _ = rustix::io::read(self.bell.as_fd(), &mut count);
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A pair over two fresh pipes: side `a` reads `a_read` (written through `a_write`),
    /// side `b` reads a pipe kept open and never written.
    struct Fixture {
        a: Spin,
        b: Spin,
        a_read: std::fs::File,
        a_write: std::fs::File,
        _b_pipe: (std::io::PipeReader, std::io::PipeWriter),
    }

    fn fixture(window: Duration) -> Fixture {
        let (a_read, a_write) = std::io::pipe().expect("a pipe");
        let b_pipe = std::io::pipe().expect("a pipe");
        let (a, b) = pair(
            a_read.as_fd().try_clone_to_owned().expect("dup"),
            b_pipe.0.as_fd().try_clone_to_owned().expect("dup"),
            window,
        )
        .expect("a pair");
        Fixture {
            a,
            b,
            a_read: std::fs::File::from(OwnedFd::from(a_read)),
            a_write: std::fs::File::from(OwnedFd::from(a_write)),
            _b_pipe: b_pipe,
        }
    }

    #[test]
    fn wait_readable_returns_for_bytes_already_there_for_bytes_after_a_ring_and_for_the_end() {
        let Fixture {
            a,
            b,
            mut a_read,
            mut a_write,
            ..
        } = fixture(Duration::from_millis(50));
        // Bytes already there: found at once, no ring needed.
        a_write.write_all(b"x").expect("write");
        a.wait_readable();
        let mut one = [0u8; 1];
        a_read.read_exact(&mut one).expect("read");
        // The other side rings, then bytes come within the window: found (and not before
        // they came, whether the waiter polled all along or the machine was too busy).
        let written = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = Arc::clone(&written);
        let waiter = std::thread::spawn(move || {
            a.wait_readable();
            (a, seen.load(std::sync::atomic::Ordering::SeqCst))
        });
        b.forwarded();
        std::thread::sleep(Duration::from_millis(5));
        written.store(true, std::sync::atomic::Ordering::SeqCst);
        a_write.write_all(b"y").expect("write");
        let (a, after_the_bytes) = waiter.join().expect("the waiter");
        assert!(after_the_bytes, "returned before the bytes came");
        a_read.read_exact(&mut one).expect("read");
        assert_eq!(&one, b"y");
        // The reader's end is readable too (`read` then returns 0).
        drop(a_write);
        a.wait_readable();
        assert_eq!(a_read.read(&mut one).expect("read at the end"), 0);
    }

    #[test]
    fn windows_that_run_out_let_more_rings_pass_until_one_catches_a_reply() {
        let f = fixture(Duration::from_millis(1));
        let a = &f.a;
        // Which of the next rings start a window, after each step.
        let turns = |n: usize| (0..n).map(|_| a.take_turn()).collect::<Vec<_>>();
        assert_eq!(turns(2), [true, true], "every ring polls at first");
        a.missed();
        assert_eq!(turns(2), [false, true]);
        a.missed();
        a.missed();
        assert_eq!(turns(5), [false, false, false, false, true]);
        for _ in 0..10 {
            a.missed();
        }
        let after_many = turns(MAX_SKIP as usize + 1);
        assert_eq!(
            after_many.iter().filter(|t| !**t).count(),
            MAX_SKIP as usize
        );
        a.missed();
        a.hit();
        assert_eq!(turns(2), [true, true], "a hit polls at every ring again");
        // The real thing: a ring, no bytes within the window, bytes later: a miss. (The
        // busy threshold is raised: on a loaded machine polling would otherwise stop early,
        // which is not a miss.)
        let mut seen = Vec::new();
        for _ in 0..5 {
            let Fixture {
                a: mut c,
                b: d,
                a_read: mut c_read,
                a_write: mut c_write,
                ..
            } = fixture(Duration::from_millis(1));
            c.busy = Duration::MAX;
            let waiter = std::thread::spawn(move || {
                c.wait_readable();
                c
            });
            d.forwarded();
            std::thread::sleep(Duration::from_millis(100));
            c_write.write_all(b"z").expect("write");
            let c = waiter.join().expect("the waiter");
            let mut one = [0u8; 1];
            c_read.read_exact(&mut one).expect("read");
            seen.push((c.backoff.get(), c.skip.get()));
            if seen.last() == Some(&(1, 1)) {
                break;
            }
        }
        assert_eq!(
            seen.last(),
            Some(&(1, 1)),
            "the window ran out: the next ring passes ({seen:?})"
        );
        assert!(
            seen.iter().all(|s| *s == (1, 1) || *s == (0, 0)),
            "{seen:?}"
        );
    }

    #[test]
    fn a_zero_window_rings_nothing() {
        let rang = |window| {
            let f = fixture(window);
            f.b.forwarded();
            let mut fds = [PollFd::new(&*f.a.bell, PollFlags::IN)];
            rustix::event::poll(&mut fds, Some(&NO_WAIT)).expect("poll")
        };
        assert_eq!(rang(Duration::ZERO), 0);
        assert_eq!(
            rang(Duration::from_millis(1)),
            1,
            "with a window the ring is seen"
        );
    }
}
