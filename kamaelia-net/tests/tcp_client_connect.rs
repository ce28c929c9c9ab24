//! TcpClient: connecting, round trips through its own boxes, and reporting failure.

mod util;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use axon_core::boxes::{self, CONTROL, INBOX, OUTBOX, SIGNAL};
use axon_core::ipc::Ipc;
use axon_core::{from_fn, BoxDecl};
use bytes::Bytes;
use kamaelia_net::ipc::{ConnectFailed, HowDied, SocketShutdown};
use kamaelia_net::{TcpClient, TcpServerConfig};
use util::{watch_signal, EchoServer, TIMEOUT};

const DRIVER: &[BoxDecl] = &boxes::standard::<Bytes>();

#[test]
fn client_round_trips_through_an_echo_server_and_closes_on_request() {
    let srv = EchoServer::start(TcpServerConfig::default(), 8);
    let client = srv.sched.create(TcpClient::new(srv.addr).connect_timeout(TIMEOUT));
    type Outcome = Option<(Vec<u8>, Ipc)>;
    let result: Rc<RefCell<Outcome>> = Rc::default();
    let out = result.clone();
    let driver = srv.sched.create(from_fn(DRIVER, move |cx| async move {
        let outbox = cx.outbox::<Bytes>(OUTBOX)?;
        let inbox = cx.inbox::<Bytes>(INBOX)?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        // Sent before the connection exists: the client keeps it until it is connected.
        outbox.send_wait(Bytes::from_static(b"ping ")).await;
        outbox.send_wait(Bytes::from_static(b"pong")).await;
        let mut got = Vec::new();
        while got.len() < 9 {
            got.extend_from_slice(&inbox.recv_wait().await);
        }
        cx.send(Ipc::producer_finished(), SIGNAL)?;
        let end = control.recv_wait().await;
        *out.borrow_mut() = Some((got, end));
        Ok(())
    }));
    srv.sched.link((&driver, OUTBOX), (&client, INBOX)).unwrap();
    srv.sched.link((&driver, SIGNAL), (&client, CONTROL)).unwrap();
    srv.sched.link((&client, OUTBOX), (&driver, INBOX)).unwrap();
    srv.sched.link((&client, SIGNAL), (&driver, CONTROL)).unwrap();
    srv.sched.activate(&client);
    srv.sched.activate(&driver);

    srv.run_until("the driver to finish", || driver.is_finished());
    let (got, end) = result.borrow_mut().take().expect("the driver recorded its result");
    assert_eq!(got, b"ping pong");
    let shut = end.downcast_ref::<SocketShutdown>().expect("SocketShutdown on the client's signal");
    assert_eq!(shut.how, Some(HowDied::Flushed));
    assert!(end.is_producer_finished());
    srv.run_until("the client to end", || client.is_finished());
    srv.run_until("the server side to close", || srv.log.borrow().closed.len() == 1);
    srv.run_until("everything but the listener to deregister", || srv.reactor.stats().registered == 1);
}

#[test]
fn client_reports_a_refused_connection_on_signal() {
    // Bound but not listening: a connect to it is refused, and while it is held no other test
    // running in parallel can be given its port (as one could once a listener had closed).
    let reserved = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    reserved.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    let addr = reserved.local_addr().unwrap().as_socket().unwrap();
    let failed = connect_failure(addr, TIMEOUT);
    assert_eq!(failed.kind, io::ErrorKind::ConnectionRefused);
}

#[test]
fn a_stop_message_while_connecting_is_forwarded_and_ends_the_client() {
    // Connecting to a listener completes at once on loopback, so deliver the stop before the
    // client first runs: it sees it on its first step, before checking the socket.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sched = axon_core::Scheduler::new();
    let client =
        sched.create(TcpClient::new(l.local_addr().unwrap()).connect_timeout(Duration::from_secs(5)));
    client.deliver(CONTROL, Ipc::shutdown_microprocess()).unwrap();
    let (watcher, seen) = watch_signal(&sched, &client, |_| true);
    sched.activate(&client);
    sched.activate(&watcher);
    assert!(sched.run_until(TIMEOUT, || client.is_finished() && watcher.is_finished()));
    assert!(seen.borrow()[0].is_shutdown_microprocess());
}

/// A listener whose accept queue is full: Linux then drops new SYNs, so a connect to it usually
/// neither succeeds nor is refused — it hangs, which is what a connect timeout is for. Returns
/// the listener and the connections that fill its queue (both must stay open).
fn unanswering_listener() -> (socket2::Socket, Vec<std::net::TcpStream>) {
    use socket2::{Domain, Socket, Type};
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    // Fill the queue: connects complete until it is full; the next one would hang.
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    (l, fillers)
}

#[test]
fn client_reports_a_connect_timeout_on_signal() {
    let (listener, _fillers) = unanswering_listener();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let failed = connect_failure(addr, Duration::from_millis(300));
    // Whether a full accept queue hangs a connect is the kernel's choice. Linux drops the SYN
    // unless `net.ipv4.tcp_abort_on_overflow` is 1, when the listener answers with a reset and
    // the connect fails before any timeout can pass: still a `ConnectFailed` (checked by
    // `connect_failure`), but no timeout to see. Only then is the refusal accepted instead.
    // Where the setting cannot be read (not Linux), either outcome is accepted.
    let refused = matches!(failed.kind, io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset);
    match std::fs::read_to_string("/proc/sys/net/ipv4/tcp_abort_on_overflow").map(|v| v.trim() != "0") {
        Ok(false) => assert_eq!(failed.kind, io::ErrorKind::TimedOut, "{failed:?}"),
        Ok(true) => assert!(refused, "tcp_abort_on_overflow is on: {failed:?}"),
        Err(_) => assert!(refused || failed.kind == io::ErrorKind::TimedOut, "{failed:?}"),
    }
}

/// Runs a `TcpClient` to `addr` that is expected to fail; returns the `ConnectFailed` it sends
/// on `signal` (checking it names `addr` and is a kind of `ProducerFinished`).
fn connect_failure(addr: std::net::SocketAddr, timeout: Duration) -> ConnectFailed {
    let sched = axon_core::Scheduler::new();
    let client = sched.create(TcpClient::new(addr).connect_timeout(timeout));
    let (watcher, seen) = watch_signal(&sched, &client, |_| true);
    sched.activate(&client);
    sched.activate(&watcher);
    assert!(sched.run_until(TIMEOUT, || client.is_finished() && watcher.is_finished()));
    let seen = seen.borrow();
    assert!(seen[0].is_producer_finished());
    let failed = seen[0].downcast_ref::<ConnectFailed>().expect("ConnectFailed on signal").clone();
    assert_eq!(failed.addr, addr);
    failed
}
