//! The reactor: an idle server parks in the OS instead of spinning, and a wake from another
//! thread gets through the park.

mod util;

use std::time::Duration;

use kamaelia_net::TcpServerConfig;
use util::{echo_exchange, EchoServer};

#[test]
fn an_idle_server_parks_instead_of_spinning() {
    let srv = EchoServer::start(TcpServerConfig::default(), 8);
    let addr = srv.addr;
    let c = srv.client(move || echo_exchange(addr, b"wake up".to_vec(), vec![]));
    assert_eq!(srv.join(c).unwrap(), b"wake up");
    srv.run_until("the connection to close", || srv.log.borrow().closed.len() == 1);

    // Nothing to do now: over a quarter of a second the scheduler should run a handful of
    // cycles at most (a spinning component would make it millions).
    let mut cycles = 0u32;
    let done = srv.sched.run_until(Duration::from_millis(250), || {
        cycles += 1;
        false
    });
    assert!(!done);
    assert!(cycles < 20, "an idle server ran {cycles} scheduler cycles");
}

#[test]
fn a_stop_from_another_thread_interrupts_the_reactor() {
    let srv = EchoServer::start(TcpServerConfig::default(), 8);
    let stop = srv.sched.stop_handle();
    let t = std::thread::spawn(move || stop.stop());
    // `run` returns only when the stop gets through the reactor's poll.
    srv.sched.run();
    t.join().unwrap();
    assert!(srv.server.is_finished());
    assert_eq!(srv.reactor.stats().registered, 0);
}
