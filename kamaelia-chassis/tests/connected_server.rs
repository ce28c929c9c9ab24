//! ServerCore and SimpleServer end to end, over real sockets on 127.0.0.1 (the seed page, and
//! reference §7.1 with its To-do finished). Every wait is bounded; nothing sleeps to "let things
//! happen" — the tests wait for conditions the server publishes.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axon_core::ipc::Ipc;
use axon_core::{boxes, BoxDecl, Component, ComponentResult, Context};
use bytes::Bytes;
use kamaelia_chassis::{ConnectionInfo, EchoProtocol, ServerCore, SimpleServer};
use kamaelia_net::ipc::ServerShutdown;
use util::{connect, echo, open_fds, pattern, read_to_end, run_isolated, Harness, LIMIT};

fn any_addr() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn echo_server() -> Harness {
    Harness::start(|| {
        let s = SimpleServer::new(any_addr(), || EchoProtocol).unwrap();
        let a = s.local_addr();
        (s, a)
    })
}

const BYTES: &[BoxDecl] = &boxes::standard::<Bytes>();

/// Echoes the way Axon code does (`send`, and on `NoSpaceInBox` pause and try again when
/// woken). With `commands`, panics on data starting with `P` and ends without signalling on data
/// starting with `Q` (after sending "bye").
struct Moody {
    commands: bool,
}

impl Component for Moody {
    fn boxes(&self) -> &'static [BoxDecl] {
        BYTES
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let inbox = cx.inbox::<Bytes>("inbox")?;
        let control = cx.inbox::<Ipc>("control")?;
        let outbox = cx.outbox::<Bytes>("outbox")?;
        loop {
            while let Some(mut data) = inbox.recv() {
                match data.first().filter(|_| self.commands) {
                    Some(b'P') => panic!("handler asked to panic"),
                    Some(b'Q') => {
                        outbox.send_wait(Bytes::from_static(b"bye\n")).await;
                        return Ok(());
                    }
                    _ => {
                        while let Err(e) = outbox.send(data) {
                            data = e.message;
                            cx.pause().await;
                        }
                    }
                }
            }
            while let Some(msg) = control.recv() {
                if msg.is_stop() {
                    return Ok(());
                }
            }
            cx.pause().await;
        }
    }
}

fn moody_server() -> Harness {
    Harness::start(|| {
        let s = SimpleServer::new(any_addr(), || Moody { commands: true }).unwrap();
        let a = s.local_addr();
        (s, a)
    })
}

#[test]
fn echoes_a_line() {
    let h = echo_server();
    let got = echo(h.addr, b"hello kamaelia\n".to_vec(), false).unwrap();
    assert_eq!(got, b"hello kamaelia\n");
}

#[test]
fn a_hundred_concurrent_clients_get_every_byte_back() {
    let h = echo_server();
    // Message sizes from 1 byte to 1 MiB, 16 MiB in all, dealt out to 100 clients.
    let mut sizes = Vec::new();
    let mut total = 0usize;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    while total < 16 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Log-uniform: as many small messages as large ones.
        let size = (1usize << (x % 21)).min(1 << 20) + (x as usize >> 40) % 64;
        let size = size.clamp(1, 1 << 20);
        sizes.push(size);
        total += size;
    }
    let clients: Vec<_> = (0..100)
        .map(|c| {
            let addr = h.addr;
            let mine: Vec<usize> = sizes.iter().skip(c).step_by(100).copied().collect();
            std::thread::spawn(move || {
                let data: Vec<u8> =
                    mine.iter().enumerate().flat_map(|(i, &n)| pattern((c * 1000 + i) as u64, n)).collect();
                let got = echo(addr, data.clone(), true).expect("echo");
                assert_eq!(got.len(), data.len(), "client {c}");
                assert!(got == data, "client {c}: bytes differ");
                data.len()
            })
        })
        .collect();
    let sent: usize = clients.into_iter().map(|t| t.join().expect("client")).sum();
    assert_eq!(sent, total);
}

#[test]
fn a_client_that_half_closes_gets_everything_back_then_eof() {
    let h = echo_server();
    let data = pattern(7, 1 << 20);
    let got = echo(h.addr, data.clone(), true).unwrap();
    assert!(got == data, "got {} bytes", got.len());
}

/// A client writes `total` bytes and reads nothing until the adapter has stopped reading (the
/// handler's inbox, and behind it the adapter's, are full); then it reads everything back. The
/// server must never have held more than its buffers allow.
fn never_reading_client<C: Component>(total: usize, handler: fn() -> C) {
    const CHUNK: usize = 64 * 1024;
    const HANDLER_INBOX: usize = 8;
    let h = Harness::start(move || {
        let s = SimpleServer::new(any_addr(), handler).unwrap().handler_inbox_size(HANDLER_INBOX);
        let a = s.local_addr();
        (s, a)
    });
    let data = Arc::new(pattern(64, total));
    let stream = connect(h.addr);
    let mut writer = stream.try_clone().unwrap();
    let d = data.clone();
    let w = std::thread::spawn(move || writer.write_all(&d));
    // The adapter stops reading once the handler's inbox is full: backpressure has engaged while
    // the client has read nothing.
    h.wait_for("the adapter to stop reading", |p| p.net.read_pauses > 0);
    let mut reader = stream;
    let mut got = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; CHUNK];
    while got.len() < data.len() {
        let k = reader.read(&mut buf).unwrap();
        assert!(k > 0, "early EOF after {} bytes", got.len());
        got.extend_from_slice(&buf[..k]);
    }
    w.join().unwrap().unwrap();
    assert!(got == *data, "the data came back altered");
    // What the server held at any moment: the handler's inbox, the one chunk the handler is
    // waiting to pass on, the adapter's inbox (64 chunks by default), one chunk held back by the
    // adapter and one being written.
    let bound = (HANDLER_INBOX + 1 + 64 + 2) * CHUNK;
    let p = h.probe();
    assert!(p.net.max_in_flight as usize <= bound, "held {} bytes, bound {bound}", p.net.max_in_flight);
}

#[test]
fn a_client_that_never_reads_meets_backpressure_not_unbounded_buffering() {
    never_reading_client(64 << 20, || EchoProtocol);
}

/// The adapter's inbox does not wake its producer on every write; a handler that catches
/// `NoSpaceInBox` and pauses must still be woken when room appears.
#[test]
fn an_axon_style_handler_that_pauses_on_a_full_adapter_is_woken_when_room_appears() {
    never_reading_client(16 << 20, || Moody { commands: false });
}

const RESETS_AND_A_THOUSAND: &str =
    "resets_do_not_disturb_others_and_a_thousand_connections_leave_nothing_behind";

#[test]
fn resets_do_not_disturb_others_and_a_thousand_connections_leave_nothing_behind() {
    // It counts the process's open descriptors, so it runs alone in a child process: the
    // sockets of the other tests, running in parallel threads, would count too.
    run_isolated(RESETS_AND_A_THOUSAND, None, resets_and_a_thousand_connections);
}

/// The test proper, alone in its child process.
fn resets_and_a_thousand_connections() {
    let h = echo_server();
    let idle = h.wait_for("the server to start", |p| p.components == 2);
    let fds_before = open_fds();
    // Steady clients, echoing while others reset mid-transfer.
    let steady: Vec<_> = (0..4)
        .map(|c| {
            let addr = h.addr;
            std::thread::spawn(move || {
                let data = pattern(100 + c, 2 << 20);
                let got = echo(addr, data.clone(), true).expect("steady echo");
                assert!(got == data, "steady client {c} was disturbed");
            })
        })
        .collect();
    for i in 0..50 {
        let s = connect(h.addr);
        let mut w = s.try_clone().unwrap();
        w.write_all(&pattern(i, 100_000)).unwrap();
        let sock = socket2::Socket::from(s);
        sock.set_linger(Some(Duration::ZERO)).unwrap();
        drop(sock); // RST
        drop(w);
    }
    for t in steady {
        t.join().expect("steady client");
    }
    for i in 0..1000u32 {
        let mut s = connect(h.addr);
        s.write_all(&i.to_be_bytes()).unwrap();
        let mut back = [0u8; 4];
        s.read_exact(&mut back).unwrap();
        assert_eq!(back, i.to_be_bytes());
    }
    // A connection's components end before the server hears of it and removes its links.
    let p = h.wait_for("every connection to be cleaned up", |p| {
        p.components == idle.components && p.server_links.len() == idle.server_links.len()
    });
    // Every steady and cycling client was accepted; a resetting one may not have been: the
    // kernel can drop (or `accept` report as aborted) a connection reset before it is accepted.
    assert!((4 + 1000..=4 + 50 + 1000).contains(&p.net.accepted), "accepted {}", p.net.accepted);
    assert_eq!(p.server_links.len(), idle.server_links.len(), "per-connection links remain: {p:?}");
    let deadline = std::time::Instant::now() + LIMIT;
    while open_fds() > fds_before {
        assert!(std::time::Instant::now() < deadline, "{} fds open, {fds_before} before", open_fds());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_panicking_handler_closes_only_its_own_connection() {
    let h = moody_server();
    let mut other = connect(h.addr);
    other.write_all(b"before\n").unwrap();
    let mut buf = [0u8; 7];
    other.read_exact(&mut buf).unwrap();
    let mut victim = connect(h.addr);
    victim.write_all(b"Panic now").unwrap();
    let (_, _) = read_to_end(&mut victim); // closed: EOF or reset, but closed
    h.wait_for("the panic to be counted", |p| p.stats.panicked == 1);
    other.write_all(b"after\n").unwrap();
    let mut buf = [0u8; 6];
    other.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"after\n");
    assert_eq!(echo(h.addr, b"new client\n".to_vec(), false).unwrap(), b"new client\n");
}

#[test]
fn a_panicking_factory_refuses_only_its_connection_and_the_server_keeps_serving() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let made = Arc::new(AtomicU32::new(0));
    let m = made.clone();
    let h = Harness::start(move || {
        // The first connection's handler cannot be made: the factory panics.
        let s = ServerCore::new(any_addr(), move |_: &ConnectionInfo| {
            let n = m.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(n != 1, "factory asked to panic");
            EchoProtocol
        })
        .unwrap();
        let a = s.local_addr();
        (s, a)
    });
    let idle = h.wait_for("the server to start", |p| p.components == 2);
    let mut refused = connect(h.addr);
    let (got, _) = read_to_end(&mut refused); // closed: EOF or reset, but closed
    assert!(got.is_empty());
    assert_eq!(echo(h.addr, b"still serving\n".to_vec(), false).unwrap(), b"still serving\n");
    let p = h.wait_for("the refused connection to be cleaned up", |p| p.components == idle.components);
    assert!(!p.server_done, "the server ended: {:?}", p.end_cause);
    assert_eq!(p.stats.panicked, 0, "the factory's panic took a component down");
    assert_eq!(made.load(Ordering::SeqCst), 2);
}

#[test]
fn a_listener_that_ends_by_itself_closes_every_connection_and_fails_the_server() {
    let h = echo_server();
    let mut client = connect(h.addr);
    client.write_all(b"hi").unwrap();
    client.read_exact(&mut [0u8; 2]).unwrap();
    // Stop the server's TcpServer child from outside, as a failing `main` would end it.
    h.with_server(|server| {
        let listener = server.children().into_iter().find(|c| c.name().starts_with("TcpServer_"));
        listener.expect("the server has a TcpServer child").stop();
    });
    let p = h.wait_for("the server to end", |p| p.server_done);
    let cause = p.end_cause.clone().unwrap_or_default();
    assert!(cause.starts_with("failed") && cause.contains("listener"), "{cause}");
    assert_eq!(p.signals.len(), 1, "{:?}", p.signals);
    assert!(p.signals[0].contains("ShutdownMicroprocess"), "{:?}", p.signals);
    let _ = read_to_end(&mut client); // closed: EOF or reset, but closed
    let refused = TcpStream::connect_timeout(&h.addr, LIMIT).map(drop).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    h.wait_for("every component to end", |p| p.components == 0);
}

#[test]
fn a_handler_that_ends_without_signalling_has_its_socket_closed() {
    let h = moody_server();
    let mut s = connect(h.addr);
    s.write_all(b"Quit").unwrap();
    let (got, clean) = read_to_end(&mut s);
    assert_eq!(got, b"bye\n");
    assert!(clean, "the connection should close with EOF after the handler's last output");
    drop(s); // having read to EOF, the client closes too
    h.wait_for("the connection to be cleaned up", |p| p.components == 2);
    assert_eq!(echo(h.addr, b"still here\n".to_vec(), false).unwrap(), b"still here\n");
}

/// A handler whose boxes do not fit a connection (it speaks `String`).
struct Misfit;

impl Component for Misfit {
    fn boxes(&self) -> &'static [BoxDecl] {
        const B: &[BoxDecl] = &boxes::standard::<String>();
        B
    }
    async fn main(self, _: Context) -> ComponentResult {
        Ok(())
    }
}

#[test]
fn a_handler_with_the_wrong_box_types_is_refused_and_only_its_connection_closes() {
    let flip = Arc::new(Mutex::new(0u32));
    let f = flip.clone();
    let h = Harness::start(move || {
        // Odd connections get a handler that cannot be wired.
        let s = ServerCore::new(any_addr(), move |_: &ConnectionInfo| {
            let mut n = f.lock().unwrap();
            *n += 1;
            Either::from(*n % 2 == 0)
        })
        .unwrap();
        let a = s.local_addr();
        (s, a)
    });
    let mut bad = connect(h.addr);
    let _ = bad.write_all(b"x");
    let (got, _) = read_to_end(&mut bad);
    assert!(got.is_empty());
    assert_eq!(echo(h.addr, b"fine\n".to_vec(), false).unwrap(), b"fine\n");
    h.wait_for("the refused connection to be cleaned up", |p| p.components == 2);
}

/// Either an echo handler or a misfit; `boxes` differ per instance.
enum Either {
    Echo,
    Misfit,
}

impl From<bool> for Either {
    fn from(good: bool) -> Self {
        if good {
            Either::Echo
        } else {
            Either::Misfit
        }
    }
}

impl Component for Either {
    fn boxes(&self) -> &'static [BoxDecl] {
        match self {
            Either::Echo => EchoProtocol.boxes(),
            Either::Misfit => Misfit.boxes(),
        }
    }
    async fn main(self, cx: Context) -> ComponentResult {
        match self {
            Either::Echo => EchoProtocol.main(cx).await,
            Either::Misfit => Misfit.main(cx).await,
        }
    }
}

#[test]
fn binding_a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = SimpleServer::new(addr, || EchoProtocol).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    let err = ServerCore::new(addr, |_: &ConnectionInfo| EchoProtocol).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
}

/// Sends a 2 MiB banner at once, and finishes it even when told to stop (a message that must
/// arrive whole), then says it has finished.
struct Banner;

const BANNER: usize = 2 << 20;

impl Component for Banner {
    fn boxes(&self) -> &'static [BoxDecl] {
        BYTES
    }
    async fn main(self, cx: Context) -> ComponentResult {
        let outbox = cx.outbox::<Bytes>("outbox")?;
        let control = cx.inbox::<Ipc>("control")?;
        let data = Bytes::from(pattern(99, BANNER));
        for chunk in data.chunks(16 * 1024) {
            outbox.send_wait(data.slice_ref(chunk)).await;
        }
        let msg = loop {
            if let Some(m) = control.recv() {
                if m.is_stop() {
                    break m;
                }
            }
            cx.pause().await;
        };
        cx.outbox::<Ipc>("signal")?.send(msg)?;
        Ok(())
    }
}

/// A SimpleServer whose handlers send a long banner, with a generous shutdown deadline.
fn banner_server() -> Harness {
    Harness::start(|| {
        let s = SimpleServer::new(any_addr(), || Banner).unwrap().shutdown_deadline(LIMIT);
        let a = s.local_addr();
        (s, a)
    })
}

#[test]
fn controlled_shutdown_delivers_data_in_flight_refuses_new_connects_and_signals() {
    let h = banner_server();
    let mut client = connect(h.addr);
    // The banner is being sent; the client has not read a byte of it.
    h.wait_for("the banner to start flowing", |p| p.net.bytes_written > 0);
    h.control(Ipc::new(ServerShutdown));
    // New connections are refused from now on.
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        match TcpStream::connect_timeout(&h.addr, LIMIT) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => break,
            Ok(_) | Err(_) => {
                assert!(std::time::Instant::now() < deadline, "still accepting after shutdown");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    let (got, clean) = read_to_end(&mut client);
    assert!(got == pattern(99, BANNER), "got {} of {BANNER} bytes", got.len());
    assert!(clean);
    // Having read to EOF, the client closes too: the connection is done.
    drop(client);
    let p = h.wait_for("the server to end and signal", |p| p.server_done && !p.signals.is_empty());
    assert!(p.signals[0].contains("ServerShutdown"), "{:?}", p.signals);
}

#[test]
fn controlled_shutdown_while_a_client_is_still_sending_delivers_the_whole_reply_then_eof() {
    let h = banner_server();
    let client = connect(h.addr);
    // The client sends all the while (the handler never reads, so its writes soon wait),
    // until it has read the whole reply.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (mut s, done) = (client.try_clone().unwrap(), done.clone());
        std::thread::spawn(move || -> std::io::Result<()> {
            let chunk = pattern(5, 16 * 1024);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                s.write_all(&chunk)?;
            }
            s.shutdown(Shutdown::Write)
        })
    };
    h.wait_for("the banner to start flowing", |p| p.net.bytes_written > 0);
    h.control(Ipc::new(ServerShutdown));
    let mut reader = client;
    let (got, clean) = read_to_end(&mut reader);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = writer.join().expect("writer thread");
    assert!(got == pattern(99, BANNER), "got {} of {BANNER} bytes", got.len());
    assert!(clean, "the reply ended in a reset, not EOF");
    let p = h.wait_for("the server to end and signal", |p| p.server_done && !p.signals.is_empty());
    assert!(p.net.bytes_discarded > 0, "{p:?}");
}

#[test]
fn a_zero_shutdown_deadline_closes_everything_and_ends_the_server_without_spinning() {
    let h = Harness::start(|| {
        let s = SimpleServer::new(any_addr(), || EchoProtocol).unwrap().shutdown_deadline(Duration::ZERO);
        let a = s.local_addr();
        (s, a)
    });
    let mut client = connect(h.addr);
    client.write_all(b"hi").unwrap();
    client.read_exact(&mut [0u8; 2]).unwrap();
    h.control(Ipc::new(ServerShutdown));
    // Were the server spinning, its thread would publish no probe ever again.
    let p = h.wait_for("the server to end and signal", |p| p.server_done && !p.signals.is_empty());
    assert!(p.signals[0].contains("ServerShutdown"), "{:?}", p.signals);
    let _ = read_to_end(&mut client); // closed: EOF or reset, but closed
    h.wait_for("every component to end", |p| p.components == 0);
}

#[test]
fn controlled_shutdown_closes_what_remains_at_the_deadline() {
    // A handler that ignores every stop request keeps its connection open until the deadline.
    struct Stubborn;
    impl Component for Stubborn {
        fn boxes(&self) -> &'static [BoxDecl] {
            BYTES
        }
        async fn main(self, cx: Context) -> ComponentResult {
            loop {
                cx.pause().await;
            }
        }
    }
    let h = Harness::start(|| {
        let s =
            SimpleServer::new(any_addr(), || Stubborn).unwrap().shutdown_deadline(Duration::from_millis(200));
        let a = s.local_addr();
        (s, a)
    });
    let mut client = connect(h.addr);
    h.wait_for("the connection", |p| p.components == 4);
    h.control(Ipc::shutdown_microprocess());
    let _ = read_to_end(&mut client);
    let p = h.wait_for("the server to end", |p| p.server_done && p.components == 0);
    assert_eq!(p.signals.len(), 1);
    // Stopped from outside, the adapter still counts its close (and deregisters its socket).
    assert_eq!((p.net.accepted, p.net.closed, p.net.registered), (1, 1, 0), "{:?}", p.net);
}

#[test]
fn server_core_hands_the_factory_the_four_values() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let h = Harness::start(move || {
        let s = ServerCore::new(any_addr(), move |info: &ConnectionInfo| {
            s2.lock().unwrap().push(*info);
            EchoProtocol
        })
        .unwrap();
        let a = s.local_addr();
        (s, a)
    });
    let c = connect(h.addr);
    let mut w = c.try_clone().unwrap();
    w.write_all(b"x").unwrap();
    let mut r = c.try_clone().unwrap();
    r.read_exact(&mut [0u8; 1]).unwrap();
    let info = seen.lock().unwrap()[0];
    let client_end = c.local_addr().unwrap();
    assert_eq!((info.peer_ip(), info.peer_port()), (client_end.ip(), client_end.port()));
    assert_eq!((info.local_ip(), info.local_port()), (h.addr.ip(), h.addr.port()));
    c.shutdown(Shutdown::Both).unwrap();
}

#[test]
fn simple_server_factory_takes_no_arguments() {
    let made = Arc::new(Mutex::new(0));
    let m = made.clone();
    let h = Harness::start(move || {
        let s = SimpleServer::new(any_addr(), move || {
            *m.lock().unwrap() += 1;
            EchoProtocol
        })
        .unwrap();
        let a = s.local_addr();
        (s, a)
    });
    for _ in 0..3 {
        assert_eq!(echo(h.addr, b"ping".to_vec(), false).unwrap(), b"ping");
    }
    assert_eq!(*made.lock().unwrap(), 3);
}

/// Echoes, and stops the whole server when it reads "STOP" — it declares `serversignal`.
struct Stopper;

impl Component for Stopper {
    fn boxes(&self) -> &'static [BoxDecl] {
        const B: &[BoxDecl] = &[
            BoxDecl::inbox::<Bytes>("inbox"),
            BoxDecl::inbox::<Ipc>("control"),
            BoxDecl::outbox::<Bytes>("outbox"),
            BoxDecl::outbox::<Ipc>("signal"),
            BoxDecl::outbox::<Ipc>("serversignal"),
        ];
        B
    }
    async fn main(self, cx: Context) -> ComponentResult {
        let inbox = cx.inbox::<Bytes>("inbox")?;
        let control = cx.inbox::<Ipc>("control")?;
        let outbox = cx.outbox::<Bytes>("outbox")?;
        loop {
            while let Some(d) = inbox.recv() {
                if d.starts_with(b"STOP") {
                    cx.outbox::<Ipc>("serversignal")?.send(Ipc::new(ServerShutdown))?;
                }
                outbox.send_wait(d).await;
            }
            if let Some(m) = control.recv() {
                if m.is_stop() {
                    cx.outbox::<Ipc>("signal")?.send(m)?;
                    return Ok(());
                }
            }
            cx.pause().await;
        }
    }
}

/// `(source box, sink box)` pairs of a probe's links, with component names reduced to their type.
fn link_shapes(links: &[String]) -> Vec<String> {
    let mut v: Vec<String> = links
        .iter()
        .map(|l| {
            // Link( source:[Type_12,box], sink:[Type_13,box] )
            l.replace(|c: char| c.is_ascii_digit(), "")
                .replace("protocolHandlerShutdownSignal", "PH")
                .replace("connectedSocketShutdownSignal", "CS")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_wiring_table_is_made_link_by_link_and_removed_on_close() {
    let h = Harness::start(|| {
        let s = SimpleServer::new(any_addr(), || Stopper).unwrap();
        let a = s.local_addr();
        (s, a)
    });
    let idle = h.wait_for("the server to start", |p| p.components == 2);
    let mut c = connect(h.addr);
    c.write_all(b"hi").unwrap();
    c.read_exact(&mut [0u8; 2]).unwrap();
    let p = h.wait_for("the probe to see the connection", |p| p.server_links.len() > idle.server_links.len());
    let expected = [
        "Link( source:[ConnectedSocketAdapter_,outbox], sink:[Stopper_,inbox] )",
        "Link( source:[ConnectedSocketAdapter_,signal], sink:[Stopper_,control] )",
        "Link( source:[SimpleServer_,CS], sink:[ConnectedSocketAdapter_,control] )",
        "Link( source:[SimpleServer_,PH], sink:[Stopper_,control] )",
        "Link( source:[SimpleServer_,_serversignal], sink:[TcpServer_,control] )",
        "Link( source:[Stopper_,outbox], sink:[ConnectedSocketAdapter_,inbox] )",
        "Link( source:[Stopper_,serversignal], sink:[SimpleServer_,control] )",
        "Link( source:[Stopper_,signal], sink:[ConnectedSocketAdapter_,control] )",
        "Link( source:[TcpServer_,protocolHandlerSignal], sink:[SimpleServer_,_socketactivity] )",
    ];
    assert_eq!(link_shapes(&p.server_links), expected);
    drop(c);
    let p = h.wait_for("the connection to be cleaned up", |p| p.components == idle.components);
    assert_eq!(link_shapes(&p.server_links), link_shapes(&idle.server_links));
    // And the handler's serversignal stops the whole server.
    let mut c = connect(h.addr);
    c.write_all(b"STOP").unwrap();
    let _ = read_to_end(&mut c);
    drop(c); // having read to EOF, the client closes too
    h.wait_for("the server to end", |p| p.server_done);
}

/// Queues 32 MiB for the client at once (64 messages of 512 KiB) and says it has finished.
struct Flood;

impl Component for Flood {
    fn boxes(&self) -> &'static [BoxDecl] {
        BYTES
    }
    async fn main(self, cx: Context) -> ComponentResult {
        let out = cx.outbox::<Bytes>("outbox")?;
        let chunk = Bytes::from(vec![b'x'; 512 * 1024]);
        for _ in 0..64 {
            out.send_wait(chunk.clone()).await;
        }
        cx.send(Ipc::producer_finished(), "signal")?;
        Ok(())
    }
}

#[test]
fn a_client_that_never_reads_cannot_hold_a_finished_connection_past_the_flush_timeout() {
    let h = Harness::start(|| {
        let csa = kamaelia_net::CsaConfig::default().flush_timeout(Duration::from_millis(300));
        let config = kamaelia_net::TcpServerConfig::default().csa(csa);
        let s = SimpleServer::with_config(any_addr(), config, || Flood).unwrap();
        let a = s.local_addr();
        (s, a)
    });
    let idle = h.wait_for("the server to start", |p| p.components == 2);
    let _client = connect(h.addr); // never reads
    h.wait_for("the connection to open", |p| p.net.accepted == 1);
    // 32 MiB cannot fit in the sockets' buffers: the flush times out and the adapter closes.
    let p =
        h.wait_for("the connection to be closed", |p| p.net.closed == 1 && p.components == idle.components);
    assert!(p.net.bytes_written < 32 << 20, "everything was written after all: {p:?}");
}

#[test]
fn ordinary_closes_drop_no_message_on_the_floor() {
    // A client that closes, one whose handler ends first, and the server's own shutdown: none of
    // them is a loss, so none may count a message as sent to a component that had ended.
    let h = moody_server();
    let idle = h.wait_for("the server to start", |p| p.components == 2);
    for i in 0..20u8 {
        let mut s = connect(h.addr);
        s.write_all(&[b'a' + i, b'\n']).unwrap();
        let mut back = [0u8; 2];
        s.read_exact(&mut back).unwrap();
    }
    let mut quitter = connect(h.addr);
    quitter.write_all(b"Q\n").unwrap();
    assert_eq!(read_to_end(&mut quitter).0, b"bye\n");
    let p = h.wait_for("every connection to be cleaned up", |p| {
        p.net.closed == 21
            && p.components == idle.components
            && p.server_links.len() == idle.server_links.len()
    });
    assert_eq!(p.stats.dropped_dead, 0, "{p:?}");
    let _open = connect(h.addr);
    h.wait_for("the last connection", |p| p.net.accepted == 22 && p.components == idle.components + 2);
    h.control(Ipc::new(ServerShutdown));
    let p = h.wait_for("the server to end", |p| p.server_done);
    assert_eq!(p.stats.dropped_dead, 0, "{p:?}");
}

#[test]
fn a_shutdown_while_a_finished_connection_lingers_drops_nothing() {
    let h = moody_server();
    let idle = h.wait_for("the server to start", |p| p.components == 2);
    // Its handler ends; its adapter flushes, sends FIN and lingers, waiting for our EOF.
    let mut quitter = connect(h.addr);
    quitter.write_all(b"Q\n").unwrap();
    let mut bye = [0u8; 4];
    quitter.read_exact(&mut bye).unwrap();
    assert_eq!(&bye, b"bye\n");
    h.wait_for("the handler to end", |p| p.components == idle.components + 1);
    // The shutdown asks every handler still there to finish: not the one that has ended.
    h.control(Ipc::new(ServerShutdown));
    let p = h.wait_for("the server to end", |p| p.server_done);
    assert_eq!(p.stats.dropped_dead, 0, "{p:?}");
}

#[test]
fn connections_closed_at_the_shutdown_deadline_are_told_nothing_more() {
    let h = Harness::start(|| {
        let s = SimpleServer::new(any_addr(), || EchoProtocol)
            .unwrap()
            .shutdown_deadline(Duration::from_millis(100));
        let a = s.local_addr();
        (s, a)
    });
    let idle = h.wait_for("the server to start", |p| p.components == 2);
    // A client that stays connected: after the shutdown's FIN its adapter lingers until the
    // deadline closes it.
    let mut stays = connect(h.addr);
    stays.write_all(b"x\n").unwrap();
    let mut back = [0u8; 2];
    stays.read_exact(&mut back).unwrap();
    h.wait_for("the connection", |p| p.components == idle.components + 2);
    h.control(Ipc::new(ServerShutdown));
    let p = h.wait_for("the server to end", |p| p.server_done);
    assert_eq!(p.stats.dropped_dead, 0, "the two components it stopped are sent nothing: {p:?}");
    drop(stays);
}
