//! `ShutdownOnSignal`: a real signal, raised in this process, reaches the component through the
//! reactor and comes out as one `ServerShutdown`; a stop on `control` ends it quietly; a signal
//! no handler may catch is an error. (A test binary of its own: the signals are process-wide.)

mod util;

use std::cell::RefCell;
use std::os::raw::c_int;
use std::rc::Rc;

use axon_core::boxes::{self, CONTROL, OUTBOX};
use axon_core::ipc::{Ipc, ShutdownMicroprocess, Status};
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

/// A component, created on `sched` and linked to `to`'s `control`, that sends `msgs` to it in
/// order, then ends.
fn sender(sched: &Scheduler, to: &ComponentRef, msgs: Vec<Ipc>) -> ComponentRef {
    const B: &[BoxDecl] = &boxes::standard::<Ipc>();
    let sender = sched.create(from_fn(B, move |cx| async move {
        let out = cx.outbox::<Ipc>(OUTBOX)?;
        for m in msgs {
            out.send_wait(m).await;
        }
        Ok(())
    }));
    sched.link((&sender, OUTBOX), (to, CONTROL)).unwrap();
    sender
}

#[test]
fn a_stop_on_control_ends_it_without_a_message() {
    let sched = Scheduler::new();
    let (on_signal, seen) = on_signal(&sched, SIGUSR2);
    let stopper = sender(&sched, &on_signal, vec![Ipc::new(ShutdownMicroprocess::default())]);
    sched.activate(&on_signal);
    sched.activate(&stopper);
    assert!(sched.run_until(TIMEOUT, || on_signal.is_finished()));
    assert!(seen.borrow().is_empty());
}

#[test]
fn a_stop_queued_behind_another_message_ends_it() {
    let sched = Scheduler::new();
    let (on_signal, seen) = on_signal(&sched, SIGUSR2);
    // Both messages wait in `control` before its first step, which gets one wake for them.
    let msgs = vec![Ipc::new(Status("not a stop".into())), Ipc::new(ShutdownMicroprocess::default())];
    let stopper = sender(&sched, &on_signal, msgs);
    sched.activate(&stopper);
    assert!(sched.run_until(TIMEOUT, || stopper.is_finished()));
    sched.activate(&on_signal);
    assert!(sched.run_until(TIMEOUT, || on_signal.is_finished()), "the stop was left waiting");
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
