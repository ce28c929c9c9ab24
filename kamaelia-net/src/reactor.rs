//! The reactor: a mio `Poll` installed as the scheduler's [`Park`], so that socket readiness wakes
//! components directly (Kamaelia's Selector, without the message round-trip or the one-shot
//! re-registration).
//!
//! # State
//! - The reactor belongs to one scheduler and lives on its thread (it is a scheduler resource,
//!   reached with [`Reactor::get`]). Only that thread touches it.
//! - Each registered socket has a slot: the component's [`LocalWaker`] and a readiness cell. Only
//!   [`Reactor::turn`] *sets* readiness bits (when the OS reports an edge); only the owning
//!   component *clears* them, when an operation returns `WouldBlock`. Bits start set, so a
//!   component always tries its socket once after registering and never misses an edge that
//!   happened before it registered.
//! - Registration is edge-triggered: a component drains its socket until `WouldBlock` or its
//!   fairness budget, then either pauses (bit cleared: the next edge wakes it) or yields (bit
//!   still set: it runs again next cycle). Nothing is ever polled in a loop.
//! - The reactor also owns the read buffer the adapters of its scheduler share for their small
//!   reads ([`Reactor::recv`]; see `read_buf` for its memory bounds): one arena for all
//!   connections, so that small reads keep landing in the same cache-hot bytes.
//! - A registration is removed when its [`Registered`] handle is dropped, so a component that
//!   ends for any reason (returns, fails, panics, is stopped) leaves nothing registered.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::AsFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use axon_core::{Context, LocalWaker, Park, Scheduler, Unpark};
use bytes::Bytes;
use mio::event::Source;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use tracing::{info, warn};

use crate::read_buf::ReadBuf;

/// The token of the reactor's own [`Waker`]: an unpark from another thread.
const WAKE_TOKEN: Token = Token(usize::MAX);

/// How many events one `poll` call can report: the most sockets one turn wakes. The scheduler
/// runs what a turn woke before it turns again, so this is also how many connections are served
/// between the kernel's readiness check of a socket (`tcp_poll`, which loads the socket's state)
/// and the adapter's `recv` on it. At 1000 echo connections 1024 let every socket's state leave
/// the cache in between: the server spent 4–7 % more system time per message than with 256
/// (3–5 % more than tokio, whose runtime checks for events every 61 task polls), in two sets of
/// alternating rounds. With 256, a full turn still spreads one `epoll_wait` over 256 messages.
const EVENTS_CAPACITY: usize = 256;

/// The longest the reactor waits after a failed poll before the scheduler goes on: a poll that
/// keeps failing must not make the scheduler spin, nor hold it up for long once it recovers.
const POLL_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// Readiness bit: the socket may have data (or EOF, or an error) to read.
pub(crate) const READABLE: u8 = 1;
/// Readiness bit: the socket may accept more data (or has an error).
pub(crate) const WRITABLE: u8 = 2;
/// Readiness bit: the peer has closed its side (or the socket has an error). Set with
/// `READABLE` and never cleared by a short read, so an end of input that came in the same event
/// as the last data is still read.
pub(crate) const READ_CLOSED: u8 = 4;

/// Counters kept by a scheduler's reactor, for tests and monitoring. A snapshot: see
/// [`Reactor::stats`].
///
/// The byte counters cover every [`ConnectedSocketAdapter`](crate::ConnectedSocketAdapter) on the
/// scheduler. For a scheduler that echoes one connection, `bytes_read - bytes_written` is exactly
/// the number of bytes held in user space (adapter buffers plus the boxes between adapter and
/// handler), so [`max_in_flight`](Self::max_in_flight) shows whether backpressure held memory
/// within its bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Sockets registered with the reactor now (listeners, adapters, connecting clients).
    pub registered: u64,
    /// Bytes read from sockets and passed on to handlers, in all (not counting
    /// [`bytes_discarded`](Self::bytes_discarded)).
    pub bytes_read: u64,
    /// Bytes written to sockets, in all.
    pub bytes_written: u64,
    /// The largest value `bytes_read - bytes_written` has had, sampled after every read.
    pub max_in_flight: u64,
    /// Connections accepted by every `TcpServer`.
    pub accepted: u64,
    /// Adapters that have closed their socket.
    pub closed: u64,
    /// Times an adapter stopped reading because its handler's inbox was full (inbound
    /// backpressure engaged).
    pub read_pauses: u64,
    /// Times a `TcpServer` stopped accepting for a while after an accept error such as running out
    /// of file descriptors.
    pub accept_backoffs: u64,
    /// Bytes read and thrown away by adapters that were flushing to close: input the peer still
    /// sent after its handler had finished, drained so that closing does not reset the
    /// connection.
    pub bytes_discarded: u64,
    /// Times the OS poll call failed (other than being interrupted by a signal).
    pub poll_errors: u64,
    /// Bytes handed to adapters for writing that were never written, because the adapter
    /// closed first: told to close at once, reset by the peer, cut off at its flush timeout, or
    /// — after a flush had sent its FIN — given more output by a handler that went on sending
    /// after its `ProducerFinished`.
    pub bytes_unsent: u64,
}

/// One registered socket: who to wake and what the OS last reported.
struct Slot {
    /// Wakes the component that owns the socket.
    waker: LocalWaker,
    /// Readiness bits ([`READABLE`], [`WRITABLE`]), read and cleared through the
    /// [`Registered`] handle: kept here, in the slot the reactor has just touched to report the
    /// event, rather than in an allocation of their own, so that a socket's readiness costs its
    /// component no cache line more.
    ready: Cell<u8>,
}

/// A scheduler's I/O reactor: a mio `Poll` that the scheduler blocks in when it has nothing to
/// run, waking socket components when their sockets become ready.
///
/// There is one per scheduler, created and installed on first use by [`Reactor::get`]; socket
/// components ([`TcpServer`](crate::TcpServer),
/// [`ConnectedSocketAdapter`](crate::ConnectedSocketAdapter), [`TcpClient`](crate::TcpClient))
/// call it themselves, so a user never needs to set one up. An idle server is blocked in the OS
/// poll call and uses no CPU; a wake from another thread (a [`WakeHandle`](axon_core::WakeHandle),
/// a [`StopHandle`](axon_core::StopHandle)) interrupts the poll through a mio waker.
///
/// ```
/// use axon_core::Scheduler;
/// use kamaelia_net::Reactor;
///
/// let sched = Scheduler::new();
/// let reactor = Reactor::for_scheduler(&sched)?;
/// assert_eq!(reactor.stats().registered, 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Reactor {
    /// The OS readiness queue. Borrowed only while polling or (de)registering.
    poll: RefCell<Poll>,
    /// The event buffer reused by every poll.
    events: RefCell<Events>,
    /// Unparks a blocked poll from another thread; shared with the scheduler's `Remote`.
    waker: Arc<Waker>,
    /// The registered sockets, keyed by token.
    slots: RefCell<Slab<Slot>>,
    /// The read buffer shared by every adapter of the scheduler.
    read_buf: RefCell<ReadBuf>,
    /// The counters reported by [`Reactor::stats`].
    stats: Cell<NetStats>,
    /// Whether the poll is failing, so a run of errors is logged once, not once per turn.
    poll_failures: Cell<PollFailures>,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor").field("stats", &self.stats.get()).finish_non_exhaustive()
    }
}

impl Reactor {
    fn new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE_TOKEN)?);
        Ok(Reactor {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(EVENTS_CAPACITY)),
            waker,
            slots: RefCell::new(Slab::new()),
            read_buf: RefCell::new(ReadBuf::new()),
            stats: Cell::new(NetStats::default()),
            poll_failures: Cell::new(PollFailures::default()),
        })
    }

    /// The reactor of the scheduler `cx` runs on, creating it and installing it as the
    /// scheduler's park on first use.
    ///
    /// # Panics
    /// If the OS refuses to create a poll instance (for instance because the process is out of
    /// file descriptors). [`try_get`](Self::try_get) reports that as an error instead; the
    /// components of this crate use it.
    pub fn get(cx: &Context) -> Rc<Reactor> {
        match Self::try_get(cx) {
            Ok(r) => r,
            Err(e) => panic!("cannot create the I/O reactor: {e}"),
        }
    }

    /// As [`get`](Self::get), reporting a failure to create the poll instance.
    ///
    /// # Errors
    /// The OS error from creating the poll instance or its waker.
    pub fn try_get(cx: &Context) -> io::Result<Rc<Reactor>> {
        if let Some(r) = cx.resource::<Reactor>() {
            return Ok(r);
        }
        let r = Rc::new(Reactor::new()?);
        cx.insert_resource(r.clone());
        cx.set_park(Box::new(ReactorPark(r.clone())));
        Ok(r)
    }

    /// The reactor of `sched`, creating and installing it if needed: for tests and for code
    /// outside any component that wants to read [`stats`](Self::stats).
    ///
    /// # Errors
    /// As [`try_get`](Self::try_get).
    pub fn for_scheduler(sched: &Scheduler) -> io::Result<Rc<Reactor>> {
        if let Some(r) = sched.resource::<Reactor>() {
            return Ok(r);
        }
        let r = Rc::new(Reactor::new()?);
        sched.insert_resource(r.clone());
        sched.set_park(Box::new(ReactorPark(r.clone())));
        Ok(r)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> NetStats {
        self.stats.get()
    }

    /// Waits up to `timeout` (forever if `None`) for readiness, sets the readiness bits of every
    /// socket reported and wakes its component. Returns early on an unpark from another thread.
    pub(crate) fn turn(&self, timeout: Option<Duration>) {
        let mut events = self.events.borrow_mut();
        let polled = self.poll.borrow_mut().poll(&mut events, timeout);
        if let Err(e) = polled {
            self.poll_failed(&e, timeout);
            return;
        }
        self.poll_succeeded();
        let slots = self.slots.borrow();
        for ev in events.iter() {
            let token = ev.token();
            if token == WAKE_TOKEN {
                continue;
            }
            let Some(slot) = slots.get(token.0) else { continue };
            let mut bits = 0;
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                bits |= READABLE;
            }
            if ev.is_read_closed() || ev.is_error() {
                bits |= READ_CLOSED;
            }
            if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                bits |= WRITABLE;
            }
            slot.ready.set(slot.ready.get() | bits);
            // Woken here, with the reactor's cells borrowed: a wake only marks the component
            // and queues it on the scheduler (it runs no component code and drops nothing but
            // the reference it took), so nothing can come back into the reactor. (Collecting
            // the wakers to wake after the loop cost a clone, a push and a drop per event.)
            slot.waker.wake();
        }
    }

    /// After a failed poll: a signal's interruption is nothing; any other error is counted,
    /// logged at the start of a run of them, and followed by a pause of the time asked for
    /// (capped at [`POLL_ERROR_BACKOFF`]), so that a poll that keeps failing at once does not
    /// turn the scheduler's park into a spin.
    fn poll_failed(&self, e: &io::Error, timeout: Option<Duration>) {
        if e.kind() == io::ErrorKind::Interrupted {
            return;
        }
        self.bump(|s| s.poll_errors += 1);
        let mut failures = self.poll_failures.get();
        if failures.failed() {
            warn!(error = %e, "reactor poll failed; backing off while it keeps failing");
        }
        self.poll_failures.set(failures);
        std::thread::sleep(poll_error_pause(timeout));
    }

    /// After a successful poll: ends a run of errors (logging that it has).
    fn poll_succeeded(&self) {
        let mut failures = self.poll_failures.get();
        if let Some(n) = failures.succeeded() {
            info!(failed_polls = n, "reactor poll works again");
        }
        self.poll_failures.set(failures);
    }

    /// Polls without blocking. A socket component calls this before yielding when it has used
    /// its fairness budget: while components keep the run queue busy the scheduler never parks,
    /// so this is what lets other sockets' readiness through.
    pub(crate) fn poll_now(&self) {
        self.turn(Some(Duration::ZERO));
    }

    fn register<S: Source>(
        self: &Rc<Self>,
        source: &mut S,
        interest: Interest,
        waker: LocalWaker,
    ) -> io::Result<Token> {
        let index = self.slots.borrow_mut().insert(Slot { waker, ready: Cell::new(READABLE | WRITABLE) });
        let token = Token(index);
        if let Err(e) = self.poll.borrow().registry().register(source, token, interest) {
            self.release(index);
            return Err(e);
        }
        self.bump(|s| s.registered += 1);
        Ok(token)
    }

    /// The readiness bits of the socket registered under `token` (none if there is none).
    #[inline]
    fn ready(&self, token: Token) -> u8 {
        self.slots.borrow().get(token.0).map_or(0, |s| s.ready.get())
    }

    /// Clears readiness `bits` of the socket registered under `token`.
    #[inline]
    fn clear_ready(&self, token: Token, bits: u8) {
        if let Some(s) = self.slots.borrow().get(token.0) {
            s.ready.set(s.ready.get() & !bits);
        }
    }

    fn deregister<S: Source>(&self, source: &mut S, token: Token) {
        if let Err(e) = self.poll.borrow().registry().deregister(source) {
            warn!(error = %e, "deregistering a socket failed");
        }
        self.release(token.0);
        self.bump(|s| s.registered = s.registered.saturating_sub(1));
    }

    fn release(&self, index: usize) {
        self.slots.borrow_mut().try_remove(index);
    }

    /// One `recv(2)` of at most `chunk` bytes from `socket` into the read buffer shared by the
    /// scheduler's adapters: the bytes read (empty at the peer's EOF, and sharing the buffer's
    /// allocation, not copied), and whether they fell short of the room offered.
    ///
    /// # Errors
    /// Whatever `recv` fails with, `WouldBlock` included.
    pub(crate) fn recv(&self, socket: &impl AsFd, chunk: usize) -> io::Result<(Bytes, bool)> {
        self.read_buf.borrow_mut().recv_from(socket, chunk)
    }

    /// Updates the counters.
    pub(crate) fn bump(&self, f: impl FnOnce(&mut NetStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    pub(crate) fn note_read(&self, n: usize) {
        self.bump(|s| {
            s.bytes_read += n as u64;
            s.max_in_flight = s.max_in_flight.max(s.bytes_read.saturating_sub(s.bytes_written));
        });
    }

    pub(crate) fn note_written(&self, n: usize) {
        self.bump(|s| s.bytes_written += n as u64);
    }
}

/// How long to pause after a failed poll that was asked to wait up to `timeout`.
fn poll_error_pause(timeout: Option<Duration>) -> Duration {
    timeout.map_or(POLL_ERROR_BACKOFF, |t| t.min(POLL_ERROR_BACKOFF))
}

/// A run of failed polls, so that it is logged once when it starts and once when it ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct PollFailures {
    /// Failed polls since the last one that succeeded.
    in_a_row: u64,
}

impl PollFailures {
    /// Notes a failed poll; returns whether it starts a run (and so should be logged).
    fn failed(&mut self) -> bool {
        self.in_a_row += 1;
        self.in_a_row == 1
    }

    /// Notes a successful poll; returns how many had failed in a row before it, if any did.
    fn succeeded(&mut self) -> Option<u64> {
        Some(std::mem::take(&mut self.in_a_row)).filter(|&n| n > 0)
    }
}

/// The reactor as the scheduler's [`Park`].
struct ReactorPark(Rc<Reactor>);

impl Park for ReactorPark {
    fn park(&mut self, timeout: Option<Duration>) {
        self.0.turn(timeout);
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        Arc::new(ReactorUnpark(self.0.waker.clone()))
    }
}

/// Interrupts the reactor's poll from any thread.
struct ReactorUnpark(Arc<Waker>);

impl Unpark for ReactorUnpark {
    fn unpark(&self) {
        if let Err(e) = self.0.wake() {
            warn!(error = %e, "waking the reactor failed");
        }
    }
}

/// A socket registered with a [`Reactor`], together with its readiness bits. Dropping it (or
/// [`into_inner`](Self::into_inner)) deregisters the socket.
pub(crate) struct Registered<S: Source> {
    /// The socket; `None` only after `into_inner` has taken it.
    source: Option<S>,
    /// Its token in the reactor, which keeps its readiness bits: set by the reactor, cleared by
    /// the owner on `WouldBlock`.
    token: Token,
    /// The reactor it is registered with.
    reactor: Rc<Reactor>,
}

impl<S: Source> Registered<S> {
    /// Registers `source` for `interest`, waking `waker`'s component on readiness.
    pub(crate) fn new(
        reactor: &Rc<Reactor>,
        mut source: S,
        interest: Interest,
        waker: LocalWaker,
    ) -> io::Result<Self> {
        let token = reactor.register(&mut source, interest, waker)?;
        Ok(Registered { source: Some(source), token, reactor: reactor.clone() })
    }

    /// The socket.
    pub(crate) fn get(&self) -> &S {
        self.source.as_ref().expect("present until into_inner")
    }

    /// Whether the OS may have reported readiness `bit` since it was last cleared.
    pub(crate) fn is_ready(&self, bit: u8) -> bool {
        self.readiness() & bit != 0
    }

    /// Every readiness bit the OS may have reported since it was last cleared.
    pub(crate) fn readiness(&self) -> u8 {
        self.reactor.ready(self.token)
    }

    /// Clears readiness `bit`: the owner saw `WouldBlock` and waits for the next edge.
    pub(crate) fn clear(&self, bit: u8) {
        self.reactor.clear_ready(self.token, bit);
    }

    /// The reactor.
    pub(crate) fn reactor(&self) -> &Rc<Reactor> {
        &self.reactor
    }

    /// Deregisters and returns the socket.
    pub(crate) fn into_inner(mut self) -> S {
        let mut s = self.source.take().expect("present until into_inner");
        self.reactor.deregister(&mut s, self.token);
        s
    }
}

impl<S: Source> Drop for Registered<S> {
    fn drop(&mut self) {
        if let Some(mut s) = self.source.take() {
            self.reactor.deregister(&mut s, self.token);
        }
    }
}

impl<S: Source> fmt::Debug for Registered<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registered")
            .field("token", &self.token.0)
            .field("ready", &self.reactor.ready(self.token))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_poll_errors_is_reported_once_when_it_starts_and_once_when_it_ends() {
        let mut f = PollFailures::default();
        assert_eq!(f.succeeded(), None, "no run yet");
        assert!(f.failed(), "the first error starts a run");
        assert!(!f.failed());
        assert!(!f.failed());
        assert_eq!(f.succeeded(), Some(3));
        assert_eq!(f.succeeded(), None);
        assert!(f.failed(), "a new run after a success is reported again");
    }

    #[test]
    fn after_a_poll_error_the_reactor_pauses_for_the_time_asked_never_more_than_the_cap() {
        assert_eq!(poll_error_pause(None), POLL_ERROR_BACKOFF, "a poll without timeout must not spin");
        assert_eq!(poll_error_pause(Some(Duration::from_secs(10))), POLL_ERROR_BACKOFF);
        assert_eq!(poll_error_pause(Some(Duration::from_millis(3))), Duration::from_millis(3));
        assert_eq!(poll_error_pause(Some(Duration::ZERO)), Duration::ZERO, "poll_now never waits");
    }
}
