//! `ShutdownOnSignal`: a real signal, raised in this process, reaches the component through the
//! reactor and comes out as one `ServerShutdown`; a stop on `control` ends it quietly; a signal
//! no handler may catch is an error. (A test binary of its own: the signals are process-wide.)

mod util;

use std::cell::RefCell;
use std::os::raw::c_int;
use std::rc::Rc;

use axon_core::boxes::{self, CONTROL, OUTBOX};
use axon_core::ipc::{Ipc, ShutdownMicroprocess};
use axon_core::{from_fn, BoxDecl, ComponentRef, Scheduler};
use kamaelia_net::ipc::ServerShutdown;
use kamaelia_net::ShutdownOnSignal;
use signal_hook::consts::{SIGKILL, SIGSTOP, SIGUSR1, SIGUSR2};
use util::TIMEOUT;

/// A `ShutdownOnSignal` for `signal`, created but not activated, and the record of what comes
/// out of its `outbox` (until a `ServerShutdown`).
fn on_signal(sched: &Scheduler, signal: c_int) -> (ComponentRef, Rc<RefCell<Vec<Ipc>>>) {
    let on_signal = sched.create(ShutdownOnSignal::for_signals(&[signal]).unwrap());
    let (_, seen) = util::record(sched, (&on_signal, OUTBOX), |m| m.is::<ServerShutdown>());
    (on_signal, seen)
}

#[test]
fn a_signal_becomes_one_server_shutdown() {
    let sched = Scheduler::new();
    let (on_signal, seen) = on_signal(&sched, SIGUSR1);
    sched.activate(&on_signal);
    // It registers with the reactor and pauses: until the signal, nothing is runnable and
    // nothing has been sent.
    sched.run_until_idle();
    assert!(seen.borrow().is_empty());
    assert!(!on_signal.is_finished());

    signal_hook::low_level::raise(SIGUSR1).unwrap();
    assert!(sched.run_until(TIMEOUT, || on_signal.is_finished()), "the signal did not arrive");
    assert!(sched.run_until(TIMEOUT, || !seen.borrow().is_empty()));
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].is::<ServerShutdown>(), "got {:?}", seen[0]);
    assert!(seen[0].is_shutdown_microprocess());
}

#[test]
fn a_stop_on_control_ends_it_without_a_message() {
    let sched = Scheduler::new();
    let (on_signal, seen) = on_signal(&sched, SIGUSR2);
    // A component that says ShutdownMicroprocess to its control, once.
    const B: &[BoxDecl] = &boxes::standard::<Ipc>();
    let stopper = sched.create(from_fn(B, |cx| async move {
        cx.outbox::<Ipc>(OUTBOX)?.send_wait(Ipc::new(ShutdownMicroprocess::default())).await;
        Ok(())
    }));
    sched.link((&stopper, OUTBOX), (&on_signal, CONTROL)).unwrap();
    sched.activate(&on_signal);
    sched.activate(&stopper);
    assert!(sched.run_until(TIMEOUT, || on_signal.is_finished()));
    assert!(seen.borrow().is_empty());
}

#[test]
fn a_signal_that_cannot_be_caught_is_an_error() {
    for signals in [&[SIGKILL][..], &[SIGUSR2, SIGSTOP]] {
        let err = ShutdownOnSignal::for_signals(signals).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("cannot be handled"), "{err}");
    }
}
