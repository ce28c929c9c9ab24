//! ConnectedSocketAdapter closing: a flush-then-close while the peer is still sending delivers
//! every byte and then a clean EOF; `ShutdownMicroprocess` closes at once; output that cannot be
//! written (dropped by a close at once, or arriving after the FIN) is counted; `TCP_NODELAY` is set
//! as configured. Each test wraps one accepted socket of its own in an adapter, on a scheduler
//! driven from the test thread.

mod util;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axon_core::boxes::{self, CONTROL, INBOX, OUTBOX, SIGNAL};
use axon_core::ipc::Ipc;
use axon_core::{from_fn, BoxDecl, ComponentRef, LinkOptions, Scheduler};
use bytes::Bytes;
use kamaelia_net::ipc::{HowDied, SocketShutdown};
use kamaelia_net::{ConnectedSocketAdapter, CsaConfig, Reactor};
use socket2::{Domain, Socket, Type};
use util::{pattern, watch_signal, TIMEOUT};

const BYTES: &[BoxDecl] = &boxes::standard::<Bytes>();

/// A client connected to a fresh listener, with a receive buffer of `rcvbuf` bytes if given, and
/// the server's end of the connection.
fn connected_pair(rcvbuf: Option<usize>) -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    if let Some(n) = rcvbuf {
        sock.set_recv_buffer_size(n).unwrap();
    }
    sock.connect(&addr.into()).unwrap();
    let client: TcpStream = sock.into();
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    client.set_write_timeout(Some(TIMEOUT)).unwrap();
    let (server_end, _) = listener.accept().unwrap();
    (client, server_end)
}

/// How the adapter said it died, from the messages its `signal` carried.
fn how_died(seen: &[Ipc]) -> Option<HowDied> {
    seen.iter().find_map(|m| m.downcast_ref::<SocketShutdown>()).and_then(|s| s.how.clone())
}

/// A handler that sends `data` in 64 KiB chunks, then `ProducerFinished` on `signal`, and ends.
/// It never reads its `inbox`.
fn sender_then_finished(data: Arc<Vec<u8>>) -> impl axon_core::Component {
    from_fn(BYTES, move |cx| async move {
        let outbox = cx.outbox::<Bytes>(OUTBOX)?;
        let data = Bytes::from(data.as_ref().clone());
        for chunk in data.chunks(64 * 1024) {
            outbox.send_wait(data.slice_ref(chunk)).await;
        }
        cx.send(Ipc::producer_finished(), SIGNAL)?;
        Ok(())
    })
}

/// Wires `handler` to `csa` as ServerCore does (data both ways, the handler's `signal` to the
/// adapter's `control`), with room for `handler_inbox` chunks, and activates both.
fn wire(sched: &Scheduler, csa: &ComponentRef, handler: &ComponentRef, handler_inbox: usize) {
    let narrow = LinkOptions::new().pipewidth(handler_inbox);
    sched.link_with((csa, OUTBOX), (handler, INBOX), narrow).unwrap();
    sched.link((handler, OUTBOX), (csa, INBOX)).unwrap();
    sched.link((handler, SIGNAL), (csa, CONTROL)).unwrap();
    sched.activate(csa);
    sched.activate(handler);
}

/// Reads everything, slowly (a pause after every 32 KiB: a client busy with what it read),
/// until the server closes. Returns the bytes and whether they ended in a clean EOF.
fn read_slowly_to_end(mut s: TcpStream) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(_) => return (got, false),
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Writes until told to stop (or the connection fails), then half-closes.
fn write_until(mut s: TcpStream, stop: Arc<AtomicBool>) -> io::Result<()> {
    let chunk = pattern(3, 16 * 1024);
    while !stop.load(Ordering::SeqCst) {
        s.write_all(&chunk)?;
    }
    s.shutdown(Shutdown::Write)
}

#[test]
fn a_flush_then_close_while_the_client_still_sends_delivers_every_byte_then_eof() {
    const TOTAL: usize = 8 << 20;
    let sched = Scheduler::new();
    let reactor = Reactor::for_scheduler(&sched).unwrap();
    // A small receive buffer keeps most of the reply queued on the server's side, where a reset
    // would throw it away.
    let (client, server_end) = connected_pair(Some(64 * 1024));
    let config = CsaConfig::default().flush_timeout(TIMEOUT);
    let csa = sched.create(ConnectedSocketAdapter::new(server_end, config).unwrap());
    let data = Arc::new(pattern(8, TOTAL));
    let handler = sched.create(sender_then_finished(data.clone()));
    let (watcher, seen) = watch_signal(&sched, &csa, |m| m.is::<SocketShutdown>());
    wire(&sched, &csa, &handler, 4);

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (s, stop) = (client.try_clone().unwrap(), stop.clone());
        std::thread::spawn(move || write_until(s, stop))
    };
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let got = read_slowly_to_end(client);
            // A client that has read the whole reply stops sending and closes its side.
            stop.store(true, Ordering::SeqCst);
            got
        })
    };
    assert!(sched.run_until(TIMEOUT, || watcher.is_finished()), "the adapter did not close");
    let (got, clean) = reader.join().expect("reader thread");
    let _ = writer.join().expect("writer thread");
    assert_eq!(got.len(), TOTAL, "the reply was cut short");
    assert!(got == *data, "the reply came back altered");
    assert!(clean, "the reply ended in a reset, not EOF");
    assert_eq!(how_died(&seen.borrow()), Some(HowDied::Flushed));
    assert!(reactor.stats().bytes_discarded > 0, "{:?}", reactor.stats());
}

#[test]
fn after_its_fin_an_adapter_closes_once_the_peer_has_been_quiet_without_waiting_for_its_eof() {
    let sched = Scheduler::new();
    let (client, server_end) = connected_pair(None);
    // Were it to wait for the client's EOF, it would wait longer than the test does. A short
    // linger: the client says nothing after reading the reply.
    let config = CsaConfig::default().flush_timeout(TIMEOUT * 10).linger_quiet(Duration::from_millis(50));
    let csa = sched.create(ConnectedSocketAdapter::new(server_end, config).unwrap());
    let data = Arc::new(pattern(10, 100_000));
    let handler = sched.create(sender_then_finished(data.clone()));
    let (watcher, seen) = watch_signal(&sched, &csa, |m| m.is::<SocketShutdown>());
    wire(&sched, &csa, &handler, 4);
    // The client reads the whole reply and its EOF, and keeps its own side open, saying nothing.
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        (&client).read_to_end(&mut got).map(|_| (got, client))
    });
    assert!(sched.run_until(TIMEOUT, || watcher.is_finished()), "the adapter did not close");
    let (got, _still_open) = reader.join().expect("reader thread").expect("a clean EOF");
    assert!(got == *data, "the reply came back altered");
    assert_eq!(how_died(&seen.borrow()), Some(HowDied::Flushed));
}

#[test]
fn shutdown_microprocess_closes_at_once_dropping_unwritten_data() {
    const TOTAL: usize = 16 << 20;
    const INBOX_SIZE: usize = 8;
    let sched = Scheduler::new();
    let reactor = Reactor::for_scheduler(&sched).unwrap();
    let (mut client, server_end) = connected_pair(Some(64 * 1024));
    // Were it to wait for a flush, it would wait longer than the test does.
    let config = CsaConfig::default().inbox_size(Some(INBOX_SIZE)).flush_timeout(TIMEOUT * 10);
    let csa = sched.create(ConnectedSocketAdapter::new(server_end, config).unwrap());
    let handler = sched.create(sender_then_finished(Arc::new(pattern(9, TOTAL))));
    let (watcher, seen) = watch_signal(&sched, &csa, |m| m.is::<SocketShutdown>());
    sched.link((&handler, OUTBOX), (&csa, INBOX)).unwrap();
    sched.activate(&csa);
    sched.activate(&handler);
    // The client reads nothing: the socket's buffers fill, then the adapter's inbox.
    assert!(
        sched.run_until(TIMEOUT, || csa.data_ready(INBOX) == INBOX_SIZE),
        "the adapter's inbox never filled"
    );
    csa.deliver(CONTROL, Ipc::shutdown_microprocess()).unwrap();
    assert!(sched.run_until(TIMEOUT, || watcher.is_finished()), "the adapter did not close");
    assert!(csa.is_finished());
    assert_eq!(how_died(&seen.borrow()), Some(HowDied::ShutdownRequested));
    // What was still queued never reached the client, and is counted.
    let unsent = reactor.stats().bytes_unsent;
    assert!(unsent >= (INBOX_SIZE * 64 * 1024) as u64, "{:?}", reactor.stats());
    let mut got = Vec::new();
    let _ = client.read_to_end(&mut got);
    assert!(got.len() < TOTAL, "everything arrived after all");
    assert!(got.len() as u64 + unsent <= TOTAL as u64, "counted as unsent, yet delivered");
}

#[test]
fn output_arriving_after_the_fin_is_dropped_and_counted_not_written() {
    let sched = Scheduler::new();
    let reactor = Reactor::for_scheduler(&sched).unwrap();
    let (client, server_end) = connected_pair(None);
    let config = CsaConfig::default().flush_timeout(TIMEOUT * 10);
    let csa = sched.create(ConnectedSocketAdapter::new(server_end, config).unwrap());
    let (watcher, seen) = watch_signal(&sched, &csa, |m| m.is::<SocketShutdown>());
    sched.activate(&csa);
    let reply = pattern(11, 50_000);
    csa.deliver(INBOX, Bytes::from(reply.clone())).unwrap();
    csa.deliver(CONTROL, Ipc::producer_finished()).unwrap();
    // The client reads the reply to its EOF (the adapter's FIN), then waits to be told to
    // close its own side.
    let (close_tx, close_rx) = std::sync::mpsc::channel::<()>();
    let got_eof = Arc::new(AtomicBool::new(false));
    let reader = {
        let got_eof = got_eof.clone();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            let read = (&client).read_to_end(&mut got).map(|_| got);
            got_eof.store(true, Ordering::SeqCst);
            let _ = close_rx.recv_timeout(TIMEOUT);
            let _ = client.shutdown(Shutdown::Write);
            read
        })
    };
    assert!(sched.run_until(TIMEOUT, || got_eof.load(Ordering::SeqCst)), "no FIN from the adapter");
    // The handler, having finished, sends more: too late for a socket whose write side is shut.
    const LATE: usize = 1234;
    csa.deliver(INBOX, Bytes::from(pattern(12, LATE))).unwrap();
    close_tx.send(()).unwrap();
    assert!(sched.run_until(TIMEOUT, || watcher.is_finished()), "the adapter did not close");
    let got = reader.join().expect("reader thread").expect("a clean EOF");
    assert!(got == reply, "the reply came back altered or cut short");
    assert_eq!(how_died(&seen.borrow()), Some(HowDied::Flushed));
    assert_eq!(reactor.stats().bytes_unsent, LATE as u64, "{:?}", reactor.stats());
    assert_eq!(reactor.stats().bytes_written, reply.len() as u64, "{:?}", reactor.stats());
}

/// Runs an adapter on `server_end` with `config` until it has started (and paused), then reads
/// `TCP_NODELAY` through a clone of the socket.
fn nodelay_after_start(server_end: TcpStream, config: CsaConfig) -> bool {
    let sched = Scheduler::new();
    let probe = server_end.try_clone().unwrap();
    let csa = sched.spawn(ConnectedSocketAdapter::new(server_end, config).unwrap());
    assert!(sched.run_until(TIMEOUT, || csa.is_paused()), "the adapter did not start");
    probe.nodelay().unwrap()
}

#[test]
fn tcp_nodelay_is_on_by_default_and_off_when_configured() {
    let (_client, server_end) = connected_pair(None);
    assert!(!server_end.nodelay().unwrap(), "a fresh socket starts with Nagle on");
    assert!(nodelay_after_start(server_end, CsaConfig::default()));

    // Off means off, even on a socket that came with TCP_NODELAY set.
    let (_client, server_end) = connected_pair(None);
    server_end.set_nodelay(true).unwrap();
    assert!(!nodelay_after_start(server_end, CsaConfig::default().nodelay(false)));
}
