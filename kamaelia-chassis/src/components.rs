//! Small reusable components that make a pipeline useful from the first minute
//! (`Kamaelia.Util.Console`, `Kamaelia.Util.PureTransformer`): read lines from the console,
//! print messages to it, and transform messages with a closure.

use std::fmt;
use std::io::{BufRead, Write};
use std::marker::PhantomData;

use axon_core::boxes::{CONTROL, INBOX, OUTBOX, SIGNAL};
use axon_core::ipc::{Ipc, ProducerFinished};
use axon_core::threaded::{self, ThreadContext, Threaded, ThreadedComponent};
use axon_core::{BoxDecl, Component, ComponentResult, Context};

/// Reads lines from standard input (or any [`BufRead`]) on a thread of its own and sends each
/// on `outbox` (Kamaelia's `ConsoleReader`).
///
/// Each line is sent as a `String` ending with the end-of-line string ([`eol`](Self::eol),
/// `"\n"` by default, as in Kamaelia) in place of whatever ended it in the input (`\n` or
/// `\r\n`); set it to `""` for bare lines. The reading is blocking, so it runs on its own OS
/// thread ([`axon_core::threaded`]); it is an ordinary component to create, link and spawn.
///
/// # Inboxes
/// - `control` ([`Ipc`]): a stop message ends it, forwarded to `signal` — once the line being
///   read has arrived (a blocking read cannot be interrupted).
/// - `inbox`: unused.
///
/// # Outboxes
/// - `outbox` (`String`): the lines read.
/// - `signal` ([`Ipc`]): [`ProducerFinished`] at the end of the input, or the stop message.
///
/// # Shutdown
/// At end of input it sends `ProducerFinished` on `signal` and ends. A read error ends it with
/// that error.
///
/// ```
/// use std::time::Duration;
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
/// use kamaelia_chassis::ConsoleReader;
/// const STD: &[BoxDecl] = &boxes::standard::<String>();
///
/// let sched = Scheduler::new();
/// let reader = sched.create(ConsoleReader::from_reader(&b"one\ntwo\n"[..]));
/// let lines = sched.create(from_fn(STD, |_| async { Ok(()) }));
/// sched.link((&reader, "outbox"), (&lines, "inbox")).unwrap();
/// sched.activate(&reader);
/// assert!(sched.run_until(Duration::from_secs(10), || reader.is_finished()));
/// assert_eq!(lines.inbox::<String>("inbox").unwrap().recv().as_deref(), Some("one\n"));
/// ```
pub struct ConsoleReader {
    source: Box<dyn BufRead + Send>,
    eol: String,
}

impl fmt::Debug for ConsoleReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleReader").field("eol", &self.eol).finish_non_exhaustive()
    }
}

impl Default for ConsoleReader {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleReader {
    /// Reads standard input.
    pub fn new() -> Self {
        Self::from_reader(std::io::BufReader::new(std::io::stdin()))
    }

    /// Reads `source` instead (a file, a socket, an in-memory buffer in a test).
    pub fn from_reader(source: impl BufRead + Send + 'static) -> Self {
        ConsoleReader { source: Box::new(source), eol: "\n".to_owned() }
    }

    /// Sets what ends each line sent (default `"\n"`; Kamaelia's `eol`).
    pub fn eol(mut self, eol: impl Into<String>) -> Self {
        self.eol = eol.into();
        self
    }
}

const READER_BOXES: &[BoxDecl] = &threaded::standard::<String>();

/// The blocking half of a [`ConsoleReader`], run by [`Threaded`].
struct ReaderThread(ConsoleReader);

impl ThreadedComponent for ReaderThread {
    fn boxes(&self) -> &'static [BoxDecl] {
        READER_BOXES
    }

    fn main(self, cx: ThreadContext) -> ComponentResult {
        let ConsoleReader { mut source, eol } = self.0;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let outbox = cx.outbox::<String>(OUTBOX)?;
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        let mut line = String::new();
        loop {
            if cx.is_stopped() {
                return Ok(());
            }
            while let Some(msg) = control.try_recv() {
                if msg.is_stop() {
                    signal.send_wait(msg);
                    return Ok(());
                }
            }
            line.clear();
            if source.read_line(&mut line)? == 0 {
                signal.send_wait(Ipc::new(ProducerFinished::from_caller(cx.id())));
                return Ok(());
            }
            let body = line.strip_suffix('\n').map_or(line.as_str(), |l| l.strip_suffix('\r').unwrap_or(l));
            outbox.send_wait(format!("{body}{eol}"));
        }
    }
}

impl Component for ConsoleReader {
    fn boxes(&self) -> &'static [BoxDecl] {
        READER_BOXES
    }

    fn main(self, cx: Context) -> impl std::future::Future<Output = ComponentResult> + 'static {
        Component::main(Threaded::new(ReaderThread(self)), cx)
    }
}

/// The box declarations of the generic components.
struct Decls<I, O>(PhantomData<(I, O)>);

impl<I: 'static, O: 'static> Decls<I, O> {
    const BOXES: &'static [BoxDecl] = &[
        BoxDecl::inbox::<I>(INBOX).doc("messages in"),
        BoxDecl::inbox::<Ipc>(CONTROL).doc("a stop message ends it, after the inbox is drained"),
        BoxDecl::outbox::<O>(OUTBOX).doc("messages out"),
        BoxDecl::outbox::<Ipc>(SIGNAL).doc("the stop message, forwarded as it ends"),
    ];
}

/// Writes each message it receives to standard output, or any [`Write`] (Kamaelia's
/// `ConsoleEchoer`).
///
/// Messages are written with their `Display` form and nothing added, as in Kamaelia (a
/// [`ConsoleReader`]'s lines already end with `"\n"`); [`lines`](Self::lines) adds a newline
/// after each. The output is flushed after each batch of messages.
///
/// # Inboxes
/// - `inbox` (`T`): the messages to write.
/// - `control` ([`Ipc`]): a stop message ends it (see *Shutdown*).
///
/// # Outboxes
/// - `signal` ([`Ipc`]): the stop message, forwarded as it ends.
/// - `outbox` (`T`): unused.
///
/// # Shutdown
/// On a stop message ([`Ipc::is_stop`]) it writes what is left in `inbox`, flushes, forwards
/// the message on `signal` and ends. A write error ends it with that error.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use axon_core::{ipc::Ipc, Scheduler};
/// use kamaelia_chassis::ConsoleEchoer;
///
/// #[derive(Clone, Default)]
/// struct Shared(Arc<Mutex<Vec<u8>>>);
/// impl std::io::Write for Shared {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
///
/// let out = Shared::default();
/// let sched = Scheduler::new();
/// let echo = sched.spawn(ConsoleEchoer::<u32>::to_writer(out.clone()).lines());
/// echo.deliver("inbox", 42u32).unwrap();
/// echo.deliver("control", Ipc::producer_finished()).unwrap();
/// sched.run();
/// assert_eq!(&*out.0.lock().unwrap(), b"42\n");
/// ```
pub struct ConsoleEchoer<T> {
    out: Box<dyn Write>,
    newline: bool,
    _data: PhantomData<fn(T)>,
}

impl<T> fmt::Debug for ConsoleEchoer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleEchoer")
            .field("data", &std::any::type_name::<T>())
            .field("newline", &self.newline)
            .finish_non_exhaustive()
    }
}

impl<T: fmt::Display + 'static> Default for ConsoleEchoer<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Display + 'static> ConsoleEchoer<T> {
    /// Writes to standard output.
    pub fn new() -> Self {
        Self::to_writer(std::io::stdout())
    }

    /// Writes to `out` instead.
    pub fn to_writer(out: impl Write + 'static) -> Self {
        ConsoleEchoer { out: Box::new(out), newline: false, _data: PhantomData }
    }

    /// Writes a newline after each message.
    pub fn lines(mut self) -> Self {
        self.newline = true;
        self
    }
}

impl<T: fmt::Display + 'static> Component for ConsoleEchoer<T> {
    fn boxes(&self) -> &'static [BoxDecl] {
        Decls::<T, T>::BOXES
    }

    async fn main(mut self, cx: Context) -> ComponentResult {
        let inbox = cx.inbox::<T>(INBOX)?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        let newline = self.newline;
        let write_all = |out: &mut Box<dyn Write>| -> std::io::Result<()> {
            let mut wrote = false;
            while let Some(msg) = inbox.recv() {
                if newline {
                    writeln!(out, "{msg}")?;
                } else {
                    write!(out, "{msg}")?;
                }
                wrote = true;
            }
            if wrote {
                out.flush()?;
            }
            Ok(())
        };
        loop {
            write_all(&mut self.out)?;
            while let Some(msg) = control.recv() {
                if msg.is_stop() {
                    write_all(&mut self.out)?;
                    signal.send(msg).ok();
                    return Ok(());
                }
            }
            cx.pause().await;
        }
    }
}

/// Applies a function to every message (Kamaelia's `PureTransformer`): each `In` on `inbox`
/// becomes `f(In)` on `outbox`, in order.
///
/// # Inboxes
/// - `inbox` (`In`): messages to transform.
/// - `control` ([`Ipc`]): a stop message ends it (see *Shutdown*).
///
/// # Outboxes
/// - `outbox` (`Out`): the results. It waits for room if the destination is bounded and full.
/// - `signal` ([`Ipc`]): the stop message, forwarded as it ends.
///
/// # Shutdown
/// On a stop message ([`Ipc::is_stop`]) it transforms and sends everything already in
/// `inbox`, then forwards the message on `signal` and ends — so in a pipeline, everything
/// before the stop message comes out before it.
///
/// ```
/// use axon_core::{boxes, from_fn, ipc::Ipc, BoxDecl, Scheduler};
/// use kamaelia_chassis::Map;
/// const STRINGS: &[BoxDecl] = &boxes::standard::<String>();
///
/// let sched = Scheduler::new();
/// let shout = sched.create(Map::new(|s: String| s.to_uppercase()));
/// let sink = sched.create(from_fn(STRINGS, |_| async { Ok(()) }));
/// sched.link((&shout, "outbox"), (&sink, "inbox")).unwrap();
/// sched.activate(&shout);
/// shout.deliver("inbox", "hello".to_string()).unwrap();
/// shout.deliver("control", Ipc::producer_finished()).unwrap();
/// sched.run();
/// assert_eq!(sink.inbox::<String>("inbox").unwrap().recv().as_deref(), Some("HELLO"));
/// ```
#[doc(alias = "PureTransformer")]
pub struct Map<In, Out, F> {
    f: F,
    _types: PhantomData<fn(In) -> Out>,
}

/// Kamaelia's name for [`Map`].
pub type PureTransformer<In, Out, F> = Map<In, Out, F>;

impl<In, Out, F> fmt::Debug for Map<In, Out, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("in", &std::any::type_name::<In>())
            .field("out", &std::any::type_name::<Out>())
            .finish_non_exhaustive()
    }
}

impl<In, Out, F> Map<In, Out, F>
where
    In: 'static,
    Out: 'static,
    F: FnMut(In) -> Out + 'static,
{
    /// A component that sends `f(msg)` for each `msg` it receives.
    pub fn new(f: F) -> Self {
        Map { f, _types: PhantomData }
    }
}

impl<In, Out, F> Component for Map<In, Out, F>
where
    In: 'static,
    Out: 'static,
    F: FnMut(In) -> Out + 'static,
{
    fn boxes(&self) -> &'static [BoxDecl] {
        Decls::<In, Out>::BOXES
    }

    async fn main(mut self, cx: Context) -> ComponentResult {
        let inbox = cx.inbox::<In>(INBOX)?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let outbox = cx.outbox::<Out>(OUTBOX)?;
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        loop {
            while let Some(msg) = inbox.recv() {
                outbox.send_wait((self.f)(msg)).await;
            }
            if let Some(msg) = control.recv() {
                if msg.is_stop() {
                    while let Some(msg) = inbox.recv() {
                        outbox.send_wait((self.f)(msg)).await;
                    }
                    signal.send(msg).ok();
                    return Ok(());
                }
                continue;
            }
            cx.pause().await;
        }
    }
}
