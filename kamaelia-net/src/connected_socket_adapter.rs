//! The connected socket adapter (`Kamaelia.Internet.ConnectedSocketAdapter`): one TCP
//! connection as a component, bytes in on `inbox`, bytes out on `outbox`.
//!
//! # State
//! (In [`Conn`]; what a step on the data path never reads — a held chunk, the rest of a message
//! partly written, the flush's times, the `signal` outbox — lives in a box of its own,
//! `Conn::rare`, to keep the adapter's future small.)
//! - `held`: at most one chunk read from the socket that the handler's inbox had no room for.
//!   While it is held the adapter reads nothing more (inbound backpressure); it is retried when
//!   the handler collects a message (the refused send made the adapter a waiter for room, so
//!   that collection wakes it, whether or not the handler's inbox wakes producers by rule 2).
//! - `own_buf`: where reads land. Small reads go to the read buffer the scheduler's adapters
//!   share (the reactor's), so that at any number of connections they land in the same
//!   cache-hot bytes; after a read larger than 4 KiB the adapter reads into a buffer of its own,
//!   until [`SMALL_READS_TO_SHARE`] reads in a row have been small again.
//! - `writing`: the rest of a message the socket took only part of (a partial write), kept
//!   until the socket is writable again. The next message is taken from `inbox` only when the
//!   socket is writable and nothing is left of the last, so the bounded `inbox` fills while the
//!   peer is slow and the producer's `send_wait` waits (outbound backpressure). A message
//!   written whole — every one, while the peer keeps up — is never stored.
//! - `reading`: false after the peer's EOF. EOF is "no more input", not "close": [`PeerEof`]
//!   goes out on `signal` once `held` is delivered, and the socket stays open for the handler's
//!   output.
//! - `flushing`: set by `ProducerFinished` on `control`, with the flush deadline. From then on
//!   input is read and thrown away (the handler has finished with it), and once `writing` and
//!   `inbox` are empty the adapter sends its FIN and keeps draining input until the peer's EOF,
//!   closing then, after [`CsaConfig::linger_quiet`] without input (`quiet_until`, set when
//!   the FIN goes), or at the deadline. Closing a socket with unread input — or with input
//!   still arriving — makes the kernel reset the connection and throw away whatever it had not
//!   yet sent: a client still sending while it reads would get a truncated reply that looks
//!   complete.
//! - Closing is counted when the running state is dropped — however the adapter ends, even
//!   when it is stopped from outside ([`ComponentRef::stop`](axon_core::ComponentRef::stop)):
//!   the socket is deregistered and closed, and output never written is counted in
//!   [`NetStats::bytes_unsent`](crate::NetStats::bytes_unsent).

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use axon_core::boxes::{CONTROL, INBOX, OUTBOX, SIGNAL};
use axon_core::ipc::{Ipc, IpcKind};
use axon_core::{BoxDecl, Component, ComponentResult, Context, Inbox, Outbox};
use bytes::{Buf, Bytes};
use mio::net::TcpStream;
use mio::Interest;
use tracing::debug;

use crate::ipc::{HowDied, PeerEof, SocketShutdown};
use crate::reactor::{Reactor, Registered, READABLE, READ_CLOSED, WRITABLE};
use crate::read_buf::{ReadBuf, MIN_ROOM};

/// The name of the adapter's outbox to its creator (Kamaelia's `"CreatorFeedback"`).
pub const CREATOR_FEEDBACK: &str = "CreatorFeedback";

/// How many read chunks (or 64 KiB of writes) an adapter moves in one step before it lets other
/// components run.
const BUDGET_CHUNKS: usize = 16;

/// How many small reads in a row (4 KiB or less) send an adapter that has been reading bulk
/// data into a buffer of its own back to the read buffer its scheduler's adapters share.
pub(crate) const SMALL_READS_TO_SHARE: u8 = 8;

/// Bytes an adapter may write in one step.
const WRITE_BUDGET: usize = 64 * 1024 * BUDGET_CHUNKS;

/// After its FIN, how long an adapter waits for more input (or the peer's EOF) before it
/// closes: a peer quiet this long is not expected to send more, and one that keeps its side
/// open after reading everything must not hold the connection until the flush timeout. Apache
/// lingers 2 s the same way (nginx's `lingering_timeout`: 5 s).
pub const LINGER_QUIET: Duration = Duration::from_secs(2);

/// Settings for a [`ConnectedSocketAdapter`]; [`TcpServer`](crate::TcpServer) and
/// [`TcpClient`](crate::TcpClient) take one for the adapters they make.
///
/// ```
/// use kamaelia_net::CsaConfig;
/// let config = CsaConfig::default().read_chunk_size(16 * 1024).inbox_size(Some(8));
/// assert!(config.nodelay_enabled());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsaConfig {
    /// Whether to set `TCP_NODELAY` (Nagle's algorithm off).
    nodelay: bool,
    /// The most bytes one read takes, and so the largest chunk sent on `outbox`.
    read_chunk_size: usize,
    /// The size limit of the adapter's own `inbox`.
    inbox_size: Option<usize>,
    /// How long a flush-then-close may wait for a peer that does not read.
    flush_timeout: Duration,
    /// After the FIN of a flush, how long the peer may stay silent before the adapter closes.
    linger_quiet: Duration,
}

/// The default [`CsaConfig::flush_timeout`].
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for CsaConfig {
    /// `TCP_NODELAY` on, 64 KiB reads, an `inbox` of 64 messages, a 30 s flush timeout.
    fn default() -> Self {
        CsaConfig {
            nodelay: true,
            read_chunk_size: 64 * 1024,
            inbox_size: Some(64),
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            linger_quiet: LINGER_QUIET,
        }
    }
}

impl CsaConfig {
    /// Sets `TCP_NODELAY` on or off (default on). The adapter sets the option either way, so a
    /// socket that came with it on has it off when this says off.
    pub fn nodelay(mut self, on: bool) -> Self {
        self.nodelay = on;
        self
    }

    /// Sets the read size, the largest chunk sent on `outbox` (default 64 KiB; at least 1).
    pub fn read_chunk_size(mut self, bytes: usize) -> Self {
        self.read_chunk_size = bytes.max(1);
        self
    }

    /// Sets the size limit, in messages, of the adapter's `inbox` (default 64). `None` makes it
    /// unbounded, which gives up outbound backpressure.
    pub fn inbox_size(mut self, messages: Option<usize>) -> Self {
        self.inbox_size = messages;
        self
    }

    /// Sets how long the adapter, told `ProducerFinished`, waits for the peer to take what is
    /// queued and then to close its side (default 30 s). A peer that stops reading cannot hold
    /// the connection, and its descriptor, for ever: when the time is up the adapter closes and
    /// reports [`HowDied::FlushTimedOut`](crate::ipc::HowDied::FlushTimedOut) (or
    /// [`HowDied::Flushed`](crate::ipc::HowDied::Flushed) if everything was written and only
    /// the peer's EOF was awaited).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// After its FIN, how long an adapter that is flushing to close waits for more input from
    /// the peer (or its EOF) before it closes (default [`LINGER_QUIET`], 2 s). Each input
    /// drained starts the wait again; the flush timeout bounds it all.
    pub fn linger_quiet(mut self, quiet: Duration) -> Self {
        self.linger_quiet = quiet;
        self
    }

    /// The linger (see [`linger_quiet`](Self::linger_quiet)).
    pub fn get_linger_quiet(&self) -> Duration {
        self.linger_quiet
    }

    /// The flush timeout.
    pub fn get_flush_timeout(&self) -> Duration {
        self.flush_timeout
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay_enabled(&self) -> bool {
        self.nodelay
    }

    /// The read size.
    pub fn get_read_chunk_size(&self) -> usize {
        self.read_chunk_size
    }

    /// The `inbox` size limit.
    pub fn get_inbox_size(&self) -> Option<usize> {
        self.inbox_size
    }
}

/// One connected TCP socket as a component (Kamaelia's `ConnectedSocketAdapter`, the "CSA").
///
/// [`TcpServer`](crate::TcpServer) makes one per accepted connection and
/// [`TcpClient`](crate::TcpClient) one per connection it makes; you can also wrap a connected
/// `std::net::TcpStream` yourself with [`new`](Self::new).
///
/// # Inboxes
/// - `inbox` ([`Bytes`]): data to write to the socket, in order. Bounded (64 messages by default,
///   [`CsaConfig::inbox_size`]): a producer using `send_wait` waits while the peer is slow. A
///   producer that gets `NoSpaceInBox` and pauses is woken when room appears; unlike Axon's
///   default, taking a message does not otherwise wake the producers
///   ([`Inbox::set_notify_producers`] is off), which saves one step of the handler per message.
/// - `control` ([`Ipc`]): a kind of `ProducerFinished` — write everything queued, then close
///   (below); a kind of `ShutdownMicroprocess` (or `Shutdown`) — close now, dropping unwritten
///   data. Other messages are ignored.
///
/// # Outboxes
/// - `outbox` ([`Bytes`]): data read from the socket, in chunks of at most
///   [`CsaConfig::read_chunk_size`]; message boundaries are not preserved. If the destination is
///   bounded and full the adapter stops reading until it has room.
/// - `signal` ([`Ipc`]): [`PeerEof`] when the peer has closed its side and every byte read has
///   been delivered (not while flushing: the handler has finished); then [`SocketShutdown`]
///   when the socket closes, if a live component is linked to hear it (so a handler that has
///   already ended is not sent it). `CreatorFeedback` the same.
/// - `CreatorFeedback` ([`Ipc`]): [`SocketShutdown`] (naming this adapter and saying how it
///   died) when the socket closes, for the component that made it.
///
/// Kamaelia's adapter sent `socketShutdown` to its creator but `shutdownCSA(self, (self, sock))`
/// on `signal`, a plain notification that went nowhere (neither `ServerCore` nor `TCPClient`
/// linked it). Here `signal` is linked to the handler's `control` (for [`PeerEof`]), where
/// Kamaelia's handler was told `socketShutdown`; and a message naming the adapter cannot be an
/// [`Ipc`] (a [`ComponentRef`](axon_core::ComponentRef) stays on its thread). So `signal`
/// carries the same [`SocketShutdown`] as `CreatorFeedback`: a kind of `ProducerFinished`, which
/// tells a handler wired to it that its connection has gone.
///
/// # Shutdown
/// The adapter closes its socket — deregistering it from the reactor, sending [`SocketShutdown`]
/// on `CreatorFeedback` and on `signal` (each only if a live component is linked to hear it),
/// then ending — when it is told to on `control`
/// (`ProducerFinished`: after flushing, [`HowDied::Flushed`]; `ShutdownMicroprocess`: at once,
/// [`HowDied::ShutdownRequested`]) or when a read or write fails (the peer reset the
/// connection: [`HowDied::Reset`], or [`HowDied::PeerClosed`] after its EOF; other errors:
/// [`HowDied::Error`]). The peer's EOF alone does not close it: the handler's remaining output
/// is still written. Whoever wires the adapter to a handler should send it `ProducerFinished` if
/// the handler ends without saying so (Kamaelia's `ServerCore` does). Output that is never
/// written — still queued at a close at once, a reset or a flush timeout, or arriving after the
/// FIN of a flush — is dropped at the close and counted in
/// [`NetStats::bytes_unsent`](crate::NetStats::bytes_unsent).
///
/// Flushing, the adapter reads and discards whatever the peer still sends (counted in
/// [`NetStats::bytes_discarded`](crate::NetStats::bytes_discarded)); once everything queued is
/// written it sends FIN and goes on discarding input until the peer's EOF (or until the peer has
/// sent nothing for [`CsaConfig::linger_quiet`]), and only then closes: closing with input unread (or still
/// arriving) would make the kernel reset the connection and drop the output it had not yet
/// sent. A peer that neither reads nor closes is cut off at the flush timeout
/// ([`CsaConfig::flush_timeout`]): [`HowDied::FlushTimedOut`] if output was still queued,
/// [`HowDied::Flushed`] if it had all been written.
#[doc(alias = "CSA")]
#[derive(Debug)]
pub struct ConnectedSocketAdapter {
    /// The connected, non-blocking socket.
    stream: TcpStream,
    /// The remote end.
    peer: SocketAddr,
    /// The local end.
    local: SocketAddr,
    /// Its settings.
    config: CsaConfig,
}

/// Kamaelia's short name for [`ConnectedSocketAdapter`].
pub type Csa = ConnectedSocketAdapter;

const BOXES: &[BoxDecl] = &[
    BoxDecl::inbox::<Bytes>(INBOX).doc("bytes to write to the socket"),
    BoxDecl::inbox::<Ipc>(CONTROL).doc("ProducerFinished: flush then close; ShutdownMicroprocess: close now"),
    BoxDecl::outbox::<Bytes>(OUTBOX).doc("bytes read from the socket"),
    BoxDecl::outbox::<Ipc>(SIGNAL).doc("PeerEof at the peer's EOF; SocketShutdown when the socket closes"),
    BoxDecl::outbox::<Ipc>(CREATOR_FEEDBACK).doc("SocketShutdown to the creator when the socket closes"),
];

impl ConnectedSocketAdapter {
    /// An adapter for a connected socket. The socket is switched to non-blocking mode.
    ///
    /// # Errors
    /// If the socket cannot be made non-blocking or has no peer (it is not connected).
    pub fn new(stream: std::net::TcpStream, config: CsaConfig) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        let peer = stream.peer_addr()?;
        let local = stream.local_addr()?;
        Ok(Self::from_mio(TcpStream::from_std(stream), peer, local, config))
    }

    pub(crate) fn from_mio(
        stream: TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
        config: CsaConfig,
    ) -> Self {
        ConnectedSocketAdapter { stream, peer, local, config }
    }

    /// The remote end's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The local end's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Component for ConnectedSocketAdapter {
    fn boxes(&self) -> &'static [BoxDecl] {
        BOXES
    }

    fn main(self, cx: Context) -> impl std::future::Future<Output = ComponentResult> + 'static {
        // Sets the connection up at once, then runs it: the future keeps the running state
        // (`Conn`) and the context and nothing else — not the adapter value it was made from,
        // as an `async fn` would — so that the fields every step reads share as few cache
        // lines as they can.
        let mut setup = self.start(&cx);
        async move {
            // Run in place: moving the state out of the captured `setup` would keep two.
            let conn = match &mut setup {
                Ok(conn) => conn,
                Err(_) => return setup.map(|_| ()),
            };
            let how = loop {
                match conn.step(&cx) {
                    Next::Pause => cx.pause().await,
                    Next::Yield => cx.yield_now().await,
                    Next::PauseUntil(deadline) => {
                        cx.pause_until(deadline).await;
                    }
                    Next::Close(how) => break how,
                }
            };
            // Counts the close and deregisters and closes the socket (after a flush, its FIN has
            // already gone); see `Conn`'s `Drop`.
            drop(setup);
            debug!(csa = %cx.name(), how = %how, "connection closed");
            let msg = Ipc::new(SocketShutdown { csa: Some(cx.id()), how: Some(how) });
            // Only to whoever is still there to hear it: a handler that has ended (the usual
            // reason a connection closes) is not sent a message it would never read, which
            // would count as dropped ([`Stats::dropped_dead`](axon_core::Stats)).
            for name in [CREATOR_FEEDBACK, SIGNAL] {
                let out = cx.outbox::<Ipc>(name)?;
                if out.is_linked() && out.send(msg.clone()).is_err() {
                    debug!(outbox = name, "outbox full: SocketShutdown dropped");
                }
            }
            Ok(())
        }
    }
}

impl ConnectedSocketAdapter {
    /// Registers the socket and takes the boxes: the running state.
    fn start(self, cx: &Context) -> Result<Conn, axon_core::Error> {
        let reactor = Reactor::try_get(cx)?;
        cx.set_inbox_size(INBOX, self.config.inbox_size)?;
        if let Err(e) = self.stream.set_nodelay(self.config.nodelay) {
            debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let io = Registered::new(
            &reactor,
            self.stream,
            Interest::READABLE | Interest::WRITABLE,
            cx.local_waker(),
        )?;
        let inbox = cx.inbox(INBOX)?;
        // Each write takes a message from `inbox`; waking the producer for each (rule 2) would
        // poll the handler once more per message for nothing. A producer that found the inbox
        // full is woken when room appears either way.
        inbox.set_notify_producers(false);
        // Data handed to the adapter is written as soon as its producer pauses, not a whole
        // cycle later: a request's read, handling and write follow one another.
        inbox.set_handoff(true);
        Ok(Conn {
            io,
            inbox,
            control: cx.inbox(CONTROL)?,
            outbox: cx.outbox(OUTBOX)?,
            reading: true,
            eof_seen: false,
            eof_to_report: false,
            small_reads: 0,
            own_buf: None,
            holding: false,
            flushing: false,
            fin_sent: false,
            writing: false,
            chunk: self.config.read_chunk_size,
            rare: Box::new(Rare {
                held: None,
                writing: None,
                signal: cx.outbox(SIGNAL)?,
                flush_deadline: None,
                quiet_until: None,
                flush_timeout: self.config.flush_timeout,
                linger_quiet: self.config.linger_quiet,
            }),
        })
    }
}

/// What a [`Conn::step`] asks for next.
enum Next {
    /// Wait for a wake (readiness, a message, room).
    Pause,
    /// Run again next cycle (the step's budget ran out).
    Yield,
    /// Wait for a wake or the deadline (flushing).
    PauseUntil(Instant),
    /// Close the connection.
    Close(HowDied),
}

/// The running adapter's state; see the module docs.
///
/// Laid out by hand (`repr(C)`) and kept small: what every step reads, in as few cache lines
/// as it fits — a server with thousands of connections finds most of them cold — and what only
/// a flush, an EOF or backpressure needs in a box of its own ([`Rare`]), so that the adapter's
/// future, which holds this, is no larger than its steps need. `holding` and `writing` say
/// whether `rare.held` and `rare.writing` hold a chunk, so that a step finds out there is none
/// without loading `rare`'s line; they are set and cleared together (`hold`, `keep_writing`,
/// and where the chunk is taken back).
#[repr(C)]
struct Conn {
    /// The registered socket.
    io: Registered<TcpStream>,
    /// Data to write.
    inbox: Inbox<Bytes>,
    /// Lifecycle messages.
    control: Inbox<Ipc>,
    /// Data read.
    outbox: Outbox<Bytes>,
    /// Whether to read from the socket.
    reading: bool,
    /// Whether the peer's EOF has been read.
    eof_seen: bool,
    /// Whether `PeerEof` is still to be sent.
    eof_to_report: bool,
    /// Small reads in a row since the last bulk one, while `own_buf` is in use.
    small_reads: u8,
    /// A read buffer of this connection's own, used while its reads are bulk transfers (see
    /// [`Conn::note_read_size`]); `None` while it reads into the scheduler's shared buffer.
    own_buf: Option<Box<ReadBuf>>,
    /// Whether `rare.held` holds a chunk.
    holding: bool,
    /// Set by a `ProducerFinished` (flush, then close; `rare.flush_deadline` says until when).
    /// From then on input is still read, so that none is left unread when the socket closes
    /// (which would reset the connection), but thrown away — the handler has finished.
    flushing: bool,
    /// Set when FIN is sent: everything queued was written while flushing; from then on the
    /// adapter only drains input (until `rare.quiet_until`).
    fin_sent: bool,
    /// Whether `rare.writing` holds the rest of a message partly written.
    writing: bool,
    /// The read size.
    chunk: usize,
    /// The rest.
    rare: Box<Rare>,
}

/// What a [`Conn`] needs only under backpressure, at the peer's EOF or while flushing.
struct Rare {
    /// A chunk the handler had no room for.
    held: Option<Bytes>,
    /// The rest of a message the socket took only part of.
    writing: Option<Bytes>,
    /// `PeerEof`, `SocketShutdown`.
    signal: Outbox<Ipc>,
    /// While flushing: when to give up.
    flush_deadline: Option<Instant>,
    /// Set when FIN is sent, and pushed back by each input drained after it: when the peer has
    /// been quiet until then, the adapter closes without waiting for its EOF.
    quiet_until: Option<Instant>,
    /// How long a flush may take.
    flush_timeout: Duration,
    /// How long the peer may stay quiet after our FIN.
    linger_quiet: Duration,
}

impl Drop for Conn {
    /// The close, however the adapter ends (returning, or stopped from outside): output that
    /// will never be written is counted, and the close; the socket is deregistered and closed
    /// as `io` drops, just after.
    fn drop(&mut self) {
        let unsent = self.take_unsent();
        let reactor = self.io.reactor();
        if unsent > 0 {
            reactor.bump(|s| s.bytes_unsent += unsent);
            debug!(unsent, "output dropped at close");
        }
        reactor.bump(|s| s.closed += 1);
    }
}

impl Conn {
    /// One step: takes control messages, writes, reads, reports the peer's EOF; says what to
    /// wait for next, or why to close. Not an `async fn`, so the adapter's future holds no
    /// second state machine: its loop awaits what this returns.
    fn step(&mut self, cx: &Context) -> Next {
        // What delivering a read chunk will touch — the handler's inbox and task record — starts
        // loading now, while the `recv` below runs.
        self.outbox.prefetch();
        // Both checks inline: on the data path there is no control message and no flush.
        if !self.control.is_empty() {
            if let Some(how) = self.take_control() {
                return Next::Close(how);
            }
        }
        let mut busy = false;
        // The socket's readiness, read once: only this step clears its bits (`write` the
        // writable one, `read` the readable ones), and each bit only for its own use.
        let ready = self.io.readiness();
        if !self.fin_sent {
            match self.write(ready) {
                Ok(b) => busy = b,
                Err(e) => return Next::Close(self.classify(&e)),
            }
        }
        match self.read(ready) {
            Ok(b) => busy |= b,
            Err(e) => return Next::Close(self.classify(&e)),
        }
        if self.flushing {
            if let Some(how) = self.flush_progress() {
                return Next::Close(how);
            }
        }
        if self.eof_to_report && !self.holding {
            self.eof_to_report = false;
            if self.rare.signal.send(Ipc::new(PeerEof { csa: cx.id() })).is_err() {
                debug!("signal box full: PeerEof dropped");
            }
        }
        if busy {
            // Budget used up: let readiness of other sockets in, then run again next cycle.
            self.io.reactor().poll_now();
            Next::Yield
        } else if self.flushing {
            // Readiness (room to write, input to drain, the peer's EOF) or a time limit. (Only
            // while flushing is `rare` read: a step on the data path must not load its line.)
            match self.rare.flush_deadline {
                Some(deadline) => {
                    Next::PauseUntil(self.rare.quiet_until.map_or(deadline, |q| q.min(deadline)))
                }
                None => Next::Pause,
            }
        } else {
            Next::Pause
        }
    }

    /// Takes the output that will never be written (the rest of a chunk begun, and everything
    /// queued), returning its size in bytes. Taking it makes room, so a producer waiting for
    /// room is woken, and its next send finds the adapter ended.
    fn take_unsent(&mut self) -> u64 {
        self.writing = false;
        let begun = self.rare.writing.take().map_or(0, |b| b.len());
        let queued: usize = self.inbox.drain().map(|b| b.len()).sum();
        (begun + queued) as u64
    }

    /// Takes every message on `control`: `Some` to close now; `ProducerFinished` starts the flush.
    fn take_control(&mut self) -> Option<HowDied> {
        while let Some(msg) = self.control.recv() {
            if msg.is_shutdown_microprocess() || msg.kind() == IpcKind::Shutdown {
                return Some(HowDied::ShutdownRequested);
            }
            if msg.is_producer_finished() && !self.flushing {
                self.flushing = true;
                self.rare.flush_deadline = Some(axon_core::deadline_after(self.rare.flush_timeout));
                self.rare.held = None;
                self.holding = false;
                // The handler has finished: it needs no news of the end of its input.
                self.eof_to_report = false;
            }
        }
        None
    }

    /// While flushing: sends FIN once everything queued is written, and says when to close —
    /// at the peer's EOF after our FIN, when the peer has been quiet for the linger after it,
    /// or at the deadline.
    fn flush_progress(&mut self) -> Option<HowDied> {
        let deadline = self.rare.flush_deadline?;
        let now = Instant::now();
        if !self.fin_sent && !self.writing && self.inbox.is_empty() {
            if let Err(e) = self.io.get().shutdown(Shutdown::Write) {
                // The connection is already gone (reset): the next read reports it.
                debug!(error = %e, "cannot shut the socket's write side");
            }
            self.rare.quiet_until = Some(axon_core::deadline_after(self.rare.linger_quiet));
            self.fin_sent = true;
        }
        if let Some(quiet) = self.rare.quiet_until {
            if self.eof_seen || now >= quiet {
                return Some(HowDied::Flushed);
            }
        }
        if now >= deadline {
            return Some(if self.fin_sent { HowDied::Flushed } else { HowDied::FlushTimedOut });
        }
        None
    }

    /// Chooses where the next read lands from the size of this one (`n` bytes, not the EOF's
    /// empty read): small reads (requests,
    /// lines) go to the scheduler's shared buffer, where they stay in the cache whatever the
    /// number of connections; a connection moving bulk data reads into a buffer of its own,
    /// so its large chunks, often still being written when the next read comes, do not use up
    /// the shared one.
    ///
    /// It goes back to the shared buffer only after [`SMALL_READS_TO_SHARE`] small reads in a
    /// row, so a stream whose reads are sometimes small (the end of a burst) keeps its buffer
    /// instead of allocating a new one at its next large read.
    fn note_read_size(&mut self, n: usize) {
        if n > MIN_ROOM {
            self.small_reads = 0;
            if self.own_buf.is_none() {
                self.own_buf = Some(Box::new(ReadBuf::with_spares(1)));
            }
        } else if self.own_buf.is_some() {
            self.small_reads += 1;
            if self.small_reads >= SMALL_READS_TO_SHARE {
                self.own_buf = None;
                self.small_reads = 0;
            }
        }
    }

    /// Keeps a chunk the handler had no room for; reading stops until it is delivered.
    fn hold(&mut self, chunk: Bytes) {
        self.rare.held = Some(chunk);
        self.holding = true;
    }

    fn classify(&self, e: &io::Error) -> HowDied {
        match HowDied::from_io(e) {
            HowDied::Reset if self.eof_seen => HowDied::PeerClosed,
            how => how,
        }
    }

    /// Writes queued data while the socket takes it (`ready`: its readiness bits at the start
    /// of the step). Returns whether the budget ran out.
    fn write(&mut self, ready: u8) -> io::Result<bool> {
        let mut budget = WRITE_BUDGET;
        // Only this loop clears the bit, and returns when it does.
        if ready & WRITABLE == 0 {
            return Ok(false);
        }
        loop {
            let mut buf = if self.writing {
                self.writing = false;
                match self.rare.writing.take() {
                    Some(b) => b,
                    None => continue,
                }
            } else {
                match self.inbox.recv() {
                    Some(b) if b.is_empty() => continue,
                    Some(b) => b,
                    None => return Ok(false),
                }
            };
            match self.io.get().write(&buf) {
                Ok(0) => {
                    self.keep_writing(buf);
                    return Err(io::ErrorKind::WriteZero.into());
                }
                Ok(n) => {
                    self.io.reactor().note_written(n);
                    if n < buf.len() {
                        // A short write filled the socket's buffer: wait for the next edge
                        // instead of a write that would only say `WouldBlock`.
                        buf.advance(n);
                        self.keep_writing(buf);
                        self.io.clear(WRITABLE);
                        return Ok(false);
                    }
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.keep_writing(buf);
                    self.io.clear(WRITABLE);
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.keep_writing(buf),
                Err(e) => {
                    self.keep_writing(buf);
                    return Err(e);
                }
            }
        }
    }

    /// Keeps what is left of a message begun (or not written at all) for the next write.
    #[cold]
    fn keep_writing(&mut self, rest: Bytes) {
        self.rare.writing = Some(rest);
        self.writing = true;
    }

    /// Delivers a held chunk, then reads while the socket has data (`ready`: its readiness bits
    /// at the start of the step) and the handler has room (while flushing: reads and discards).
    /// Returns whether the budget ran out.
    fn read(&mut self, ready: u8) -> io::Result<bool> {
        if self.holding {
            self.holding = false;
            if let Some(chunk) = self.rare.held.take() {
                if let Err(e) = self.outbox.send(chunk) {
                    self.hold(e.message);
                    return Ok(false);
                }
            }
        }
        let mut budget = self.chunk * BUDGET_CHUNKS;
        // Only this loop clears the readable bits (and `readable` with them).
        let mut readable = ready & READABLE != 0;
        while self.reading && readable {
            let read = match self.own_buf.as_mut() {
                Some(own) => own.recv_from(self.io.get(), self.chunk),
                None => self.io.reactor().recv(self.io.get(), self.chunk),
            };
            match read {
                Ok((data, _)) if data.is_empty() => {
                    self.reading = false;
                    self.eof_seen = true;
                    // A handler that has finished needs no news of the end of its input.
                    self.eof_to_report = !self.flushing;
                }
                Ok((data, short)) => {
                    let n = data.len();
                    self.note_read_size(n);
                    if short && ready & READ_CLOSED == 0 {
                        // A short read drained the socket: the next arrival is a new edge, so
                        // skip the read that would only say `WouldBlock` (as tokio does). Not
                        // after the peer's close was reported: its EOF must still be read.
                        self.io.clear(READABLE);
                        readable = false;
                    }
                    if self.flushing {
                        self.io.reactor().bump(|s| s.bytes_discarded += n as u64);
                        if self.fin_sent {
                            self.rare.quiet_until = Some(axon_core::deadline_after(self.rare.linger_quiet));
                        }
                    } else {
                        self.io.reactor().note_read(n);
                        if let Err(e) = self.outbox.send(data) {
                            self.hold(e.message);
                            self.io.reactor().bump(|s| s.read_pauses += 1);
                            return Ok(false);
                        }
                    }
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear(READABLE);
                    readable = false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }
}
