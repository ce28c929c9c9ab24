//! Ports Tests/Python/Axon/test_Ipc.py (reference §5, §8 "Ipc").
//!
//! Python's "missing constructor arguments raise TypeError" is a compile-time guarantee in Rust
//! (the fields are required), so those checks have no test. `newComponent` and `WaitComplete`
//! are scheduler instructions, not messages, in Rust ([`Context::spawn`](axon_core::Context) and a
//! plain `.await`); `newComponent`'s test is ported as "spawned components run".

mod util;

use std::cell::Cell;
use std::rc::Rc;

use axon_core::ipc::{
    ErrorInformation, Ipc, IpcKind, IpcMessage, Notify, ProducerFinished, Shutdown, ShutdownMicroprocess,
    Status, WouldBlock,
};
use axon_core::{from_fn, ComponentId, Scheduler};
use util::{inert, STD};

fn ids(s: &Scheduler, n: usize) -> Vec<ComponentId> {
    (0..n).map(|_| inert(s, STD).id()).collect()
}

#[derive(Debug)]
struct Custom;
impl IpcMessage for Custom {}

#[test]
fn any_ipc_message_can_be_wrapped_and_recovered() {
    let m = Ipc::new(Custom);
    assert_eq!(m.kind(), IpcKind::Other);
    assert!(m.is::<Custom>());
    assert!(m.downcast_ref::<Custom>().is_some());
    assert!(!m.is_stop());
    let m2 = m.clone();
    assert!(m2.is::<Custom>());
}

/// Python: `newComponent(a, b, c).components() == (a, b, c)`; Rust spawns directly.
#[test]
fn components_spawned_from_a_component_are_activated() {
    let s = Scheduler::new();
    let ran = Rc::new(Cell::new(0));
    let r = ran.clone();
    s.spawn(from_fn(STD, move |cx| async move {
        for _ in 0..3 {
            let r = r.clone();
            cx.spawn(from_fn(STD, move |_| async move {
                r.set(r.get() + 1);
                Ok(())
            }));
        }
        Ok(())
    }));
    s.run_until_idle();
    assert_eq!(ran.get(), 3);
}

#[test]
fn shutdown_microprocess_holds_an_empty_list_by_default_and_the_given_ones_otherwise() {
    let s = Scheduler::new();
    assert!(ShutdownMicroprocess::default().microprocesses.is_empty());
    let v = ids(&s, 3);
    let m = ShutdownMicroprocess { microprocesses: v.clone() };
    assert_eq!(m.microprocesses, v);
    let ipc = Ipc::new(m);
    assert!(ipc.is_shutdown_microprocess() && ipc.is_stop());
    assert_eq!(ipc.downcast_ref::<ShutdownMicroprocess>().unwrap().microprocesses, v);
}

#[test]
fn producer_finished_defaults_to_no_caller_and_no_message() {
    let s = Scheduler::new();
    let p = ProducerFinished::default();
    assert_eq!((p.caller, p.message), (None, None));
    let id = ids(&s, 1)[0];
    assert_eq!(ProducerFinished::from_caller(id).caller, Some(id));
    let p = ProducerFinished { caller: Some(id), message: Some("done".into()) };
    assert_eq!(p.message.as_deref(), Some("done"));
    let ipc = Ipc::producer_finished();
    assert!(ipc.is_producer_finished() && ipc.is_stop() && !ipc.is_shutdown_microprocess());
}

#[test]
fn notify_stores_its_caller_and_payload() {
    let s = Scheduler::new();
    let id = ids(&s, 1)[0];
    let n = Notify::new(id, String::from("payload"));
    assert_eq!(n.caller, id);
    assert_eq!(n.object.downcast_ref::<String>().map(String::as_str), Some("payload"));
    let ipc = Ipc::new(n);
    assert_eq!(ipc.kind(), IpcKind::Notify);
    assert!(!ipc.is_stop());
}

#[test]
fn status_stores_its_status() {
    let st = Status("running".into());
    assert_eq!(st.0, "running");
    assert_eq!(Ipc::new(st).kind(), IpcKind::Status);
}

#[test]
fn wouldblock_stores_its_caller() {
    let s = Scheduler::new();
    let id = ids(&s, 1)[0];
    let w = WouldBlock { caller: id };
    assert_eq!(w.caller, id);
    assert_eq!(Ipc::new(w).kind(), IpcKind::WouldBlock);
}

#[test]
fn error_information_stores_caller_exception_and_message() {
    let s = Scheduler::new();
    let id = ids(&s, 1)[0];
    let e = ErrorInformation { caller: id, exception: Some("boom".into()), message: Some("note".into()) };
    assert_eq!(e.caller, id);
    assert_eq!(e.exception.as_deref(), Some("boom"));
    assert_eq!(e.message.as_deref(), Some("note"));
    let bare = ErrorInformation { caller: id, exception: None, message: None };
    assert_eq!(Ipc::new(bare).kind(), IpcKind::ErrorInformation);
}

#[test]
fn legacy_shutdown_asks_to_stop() {
    let ipc = Ipc::new(Shutdown);
    assert_eq!(ipc.kind(), IpcKind::Shutdown);
    assert!(ipc.is_stop());
    assert!(!ipc.is_producer_finished() && !ipc.is_shutdown_microprocess());
}

/// Kamaelia's subclass relations (socketShutdown is a producerFinished, serverShutdown is a
/// shutdownMicroprocess) hold for messages defined outside axon-core.
#[test]
fn a_message_of_a_kind_counts_as_that_kind_and_stays_its_own_type() {
    #[derive(Debug)]
    struct SocketShutdownLike;
    impl IpcMessage for SocketShutdownLike {
        fn kind(&self) -> IpcKind {
            IpcKind::ProducerFinished
        }
    }
    #[derive(Debug)]
    struct ServerShutdownLike;
    impl IpcMessage for ServerShutdownLike {
        fn kind(&self) -> IpcKind {
            IpcKind::ShutdownMicroprocess
        }
    }
    let a = Ipc::from(SocketShutdownLike);
    assert!(a.is_producer_finished() && a.is_stop() && a.is::<SocketShutdownLike>());
    assert!(!a.is::<ProducerFinished>());
    let b = Ipc::from(ServerShutdownLike);
    assert!(b.is_shutdown_microprocess() && b.is_stop());
}
