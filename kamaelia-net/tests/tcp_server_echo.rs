//! TcpServer + ConnectedSocketAdapter, hand-wired to an echo handler: data round trips, many
//! clients, half-close, resets, bind errors, shutdown, connection caps.

mod util;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use axon_core::ipc::Ipc;
use kamaelia_net::ipc::{HowDied, ServerShutdown};
use kamaelia_net::{CsaConfig, TcpServer, TcpServerConfig, CONTROL};
use util::{connect, echo_exchange, pattern, EchoServer, Rng};

#[test]
fn echo_round_trip_then_eof_after_half_close() {
    let srv = EchoServer::start(TcpServerConfig::default(), 8);
    let addr = srv.addr;
    let client = srv.client(move || -> io::Result<(Vec<u8>, Vec<u8>)> {
        let mut s = connect(addr);
        s.write_all(b"hello")?;
        let mut first = [0u8; 5];
        s.read_exact(&mut first)?;
        s.shutdown(std::net::Shutdown::Write)?;
        let mut rest = Vec::new();
        s.read_to_end(&mut rest)?;
        Ok((first.to_vec(), rest))
    });
    let (first, rest) = srv.join(client).unwrap();
    assert_eq!(first, b"hello");
    assert!(rest.is_empty(), "nothing after the echo but EOF");
    srv.run_until("the server to report the closed connection", || srv.log.borrow().closed.len() == 1);
    assert_eq!(srv.log.borrow().closed, vec![HowDied::Flushed]);
    // Only the listener is left registered with the reactor.
    srv.run_until("the adapter to deregister", || srv.reactor.stats().registered == 1);
    assert!(srv.server.children().is_empty(), "the server forgot the closed adapter");
}

#[test]
fn many_concurrent_clients_get_their_own_bytes_back() {
    let srv = EchoServer::start(TcpServerConfig::default(), 8);
    let addr = srv.addr;
    let clients: Vec<_> = (0..24u64)
        .map(|i| {
            srv.client(move || -> io::Result<bool> {
                let mut rng = Rng(i * 7919 + 1);
                let len = 1 + rng.below(300_000) as usize;
                let data = pattern(i + 100, len);
                let pieces = (0..20).map(|_| 1 + rng.below(40_000) as usize).collect();
                let back = echo_exchange(addr, data.clone(), pieces)?;
                Ok(back == data)
            })
        })
        .collect();
    for (i, c) in clients.into_iter().enumerate() {
        assert!(srv.join(c).unwrap(), "client {i} got different bytes back");
    }
    srv.run_until("every connection to close", || srv.log.borrow().closed.len() == 24);
    assert_eq!(srv.log.borrow().opened, 24);
    assert!(srv.log.borrow().closed.iter().all(|h| *h == HowDied::Flushed));
    let stats = srv.reactor.stats();
    assert_eq!(stats.accepted, 24);
    assert_eq!(stats.bytes_read, stats.bytes_written);
}

#[test]
fn one_mebibyte_then_half_close_comes_back_whole_then_eof() {
    let srv = EchoServer::start(TcpServerConfig::default(), 8);
    let addr = srv.addr;
    let data = pattern(1, 1 << 20);
    let expected = data.clone();
    let client = srv.client(move || echo_exchange(addr, data, vec![1 << 20]));
    let back = srv.join(client).unwrap();
    assert_eq!(back.len(), expected.len());
    assert!(back == expected, "the echoed mebibyte differs");
}

#[test]
fn a_client_reset_mid_transfer_does_not_disturb_the_others() {
    let srv = EchoServer::start(TcpServerConfig::default(), 8);
    let addr = srv.addr;
    let resetter = srv.client(move || -> io::Result<()> {
        let mut s = connect(addr);
        s.write_all(&pattern(9, 256 * 1024))?;
        let mut some = [0u8; 1024];
        s.read_exact(&mut some)?;
        // Close with unread data and SO_LINGER 0: the kernel sends RST.
        socket2::SockRef::from(&s).set_linger(Some(std::time::Duration::ZERO))?;
        drop(s);
        Ok(())
    });
    let others: Vec<_> = (0..4u64)
        .map(|i| {
            srv.client(move || -> io::Result<bool> {
                let data = pattern(i + 20, 200_000);
                Ok(echo_exchange(addr, data.clone(), vec![7_000; 30])? == data)
            })
        })
        .collect();
    srv.join(resetter).unwrap();
    for c in others {
        assert!(srv.join(c).unwrap(), "a well-behaved client was disturbed");
    }
    srv.run_until("all five connections to close", || srv.log.borrow().closed.len() == 5);
    let log = srv.log.borrow();
    assert_eq!(log.closed.iter().filter(|h| **h == HowDied::Flushed).count(), 4);
    assert!(
        log.closed.iter().any(|h| matches!(h, HowDied::Reset | HowDied::PeerClosed)),
        "the reset connection is reported as reset: {:?}",
        log.closed
    );
    drop(log);
    srv.run_until("the adapters to deregister", || srv.reactor.stats().registered == 1);
}

#[test]
fn binding_a_port_in_use_is_a_clear_error() {
    let first = TcpServer::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = first.local_addr();
    let err = TcpServer::bind(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains(&addr.to_string()), "the error names the address: {err}");
}

#[test]
fn ipv6_loopback_works_when_available() {
    let Ok(srv) = EchoServer::start_on("[::1]:0".parse().unwrap(), TcpServerConfig::default(), 8) else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    assert!(srv.addr.is_ipv6());
    let addr = srv.addr;
    let client = srv.client(move || echo_exchange(addr, b"over six".to_vec(), vec![3]));
    assert_eq!(srv.join(client).unwrap(), b"over six");
}

#[test]
fn server_shutdown_stops_accepting() {
    let srv = EchoServer::start(TcpServerConfig::default(), 8);
    let addr = srv.addr;
    // The server accepts before shutdown.
    let c = srv.client(move || echo_exchange(addr, b"before".to_vec(), vec![]));
    assert_eq!(srv.join(c).unwrap(), b"before");

    srv.server.deliver(CONTROL, Ipc::new(ServerShutdown)).unwrap();
    srv.run_until("the server to end", || srv.server.is_finished());
    assert_eq!(srv.reactor.stats().registered, 0, "the listener was deregistered");
    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn max_connections_caps_open_connections_and_resumes_when_one_closes() {
    let config = TcpServerConfig::default().max_connections(Some(2));
    let srv = EchoServer::start(config, 8);
    let addr: SocketAddr = srv.addr;
    let clients: Vec<_> = (0..6u64)
        .map(|i| {
            srv.client(move || -> io::Result<bool> {
                let data = pattern(i + 40, 50_000);
                Ok(echo_exchange(addr, data.clone(), vec![5_000; 10])? == data)
            })
        })
        .collect();
    let mut most_open = 0;
    for c in clients {
        srv.run_until("a capped client", || {
            most_open = most_open.max(srv.log.borrow().open_now());
            c.is_finished()
        });
        assert!(srv.join(c).unwrap());
    }
    assert!(most_open <= 2, "at most two connections open at once, saw {most_open}");
    srv.run_until("every connection to close", || srv.log.borrow().closed.len() == 6);
}

#[test]
fn adapters_use_the_configured_read_chunk_size() {
    let config = TcpServerConfig::default().csa(CsaConfig::default().read_chunk_size(1000));
    let srv = EchoServer::start(config, 8);
    let addr = srv.addr;
    let data = pattern(3, 100_000);
    let expected = data.clone();
    let c = srv.client(move || echo_exchange(addr, data, vec![100_000]));
    assert_eq!(srv.join(c).unwrap(), expected);
    // 100 000 bytes in chunks of at most 1000 bytes: the handler inbox bound of 8 chunks plus
    // the adapters' own buffers limit what was ever in flight.
    assert!(srv.reactor.stats().max_in_flight <= 1000 * (8 + 64 + 3));
}

#[test]
fn an_adapter_stopped_without_reporting_is_still_forgotten_and_deregistered() {
    let srv = EchoServer::start(TcpServerConfig::default(), 8);
    let addr = srv.addr;
    let client = srv.client(move || -> io::Result<Vec<u8>> {
        let mut s = connect(addr);
        s.write_all(b"x")?;
        let mut got = Vec::new();
        s.read_to_end(&mut got)?; // ends when the stopped adapter's socket is closed
        Ok(got)
    });
    srv.run_until("the connection to be echoing", || srv.reactor.stats().bytes_written == 1);
    let csa = srv.server.children().pop().expect("the server tracks the adapter");
    csa.stop();
    srv.run_until("the server to notice", || srv.log.borrow().closed.len() == 1);
    assert_eq!(srv.log.borrow().closed, vec![HowDied::Ended]);
    assert!(srv.server.children().is_empty());
    assert_eq!(srv.reactor.stats().registered, 1, "only the listener is left registered");
    assert_eq!(srv.join(client).unwrap(), b"x");
}

#[test]
fn with_nothing_linked_to_protocol_handler_signal_connections_are_closed_not_leaked() {
    let sched = axon_core::Scheduler::new();
    let reactor = kamaelia_net::Reactor::for_scheduler(&sched).unwrap();
    let server = TcpServer::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();
    let srv = sched.spawn(server);
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        s.read(&mut [0u8; 1])
    });
    assert!(sched.run_until(std::time::Duration::from_secs(30), || reactor.stats().accepted == 1));
    // Closed by the server at once: EOF or a reset, not a read timeout.
    match client.join().unwrap() {
        Ok(0) => {}
        Err(e) => assert!(
            !matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut),
            "the connection was left open: {e}"
        ),
        Ok(n) => panic!("read {n} bytes from a server that should have closed"),
    }
    assert_eq!(reactor.stats().registered, 1, "only the listener stays registered");
    assert!(!srv.is_finished());
}
