//! A scheduler whose components are all paused uses no CPU (reference §3 "Idling",
//! test_Scheduler's `test_runThreadsUsesNonBusyWaitingMode`; DESIGN §4 "Nothing busy-waits").
//!
//! `Scheduler::run` runs on a thread of its own with one paused component; the CPU time that
//! thread uses while idle is read from `/proc` and must be small. It is a CPU-time bound, not a
//! wall-clock timing assertion: a busy-waiting scheduler would use the whole window however the
//! machine is loaded, a parked one uses almost none.

mod util;

use std::sync::mpsc;
use std::time::Duration;

use axon_core::{from_fn, Scheduler};
use util::STD;

/// This thread's CPU time (user + system) in clock ticks, from `/proc/thread-self/stat`.
fn thread_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The command name (field 2) is in parentheses and may contain spaces; fields after it
    // start at field 3 (state), so utime (14) and stime (15) are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[test]
fn a_scheduler_whose_components_are_all_paused_uses_no_cpu() {
    if thread_cpu_ticks().is_none() {
        eprintln!("no /proc/thread-self/stat: skipping");
        return;
    }
    let (to_test, from_sched) = mpsc::channel::<(&'static str, Option<u64>)>();
    let (handle_tx, handle_rx) = mpsc::channel();
    let sched_thread = std::thread::spawn(move || {
        let s = Scheduler::new();
        let c = s.spawn(from_fn(STD, move |cx| async move {
            // Measured inside the scheduler's thread: before idling, and after being woken.
            to_test.send(("paused", thread_cpu_ticks())).unwrap();
            cx.pause().await;
            to_test.send(("woken", thread_cpu_ticks())).unwrap();
            Ok(())
        }));
        handle_tx.send(c.wake_handle().expect("an activated component")).unwrap();
        s.run(); // parks while the component is paused; returns once it has ended
    });
    let bound = Duration::from_secs(30);
    let wake = handle_rx.recv_timeout(bound).expect("the scheduler thread started");
    let (what, before) = from_sched.recv_timeout(bound).expect("the component ran");
    assert_eq!(what, "paused");

    // The measurement window: the scheduler idles meanwhile.
    std::thread::sleep(Duration::from_millis(300));
    wake.wake();

    let (what, after) = from_sched.recv_timeout(bound).expect("the wake handle woke the component");
    assert_eq!(what, "woken");
    sched_thread.join().unwrap();
    let used = after.unwrap() - before.unwrap();
    // Clock ticks are 10 ms on Linux (USER_HZ = 100): a busy loop would show about 30 here.
    assert!(used <= 5, "an idle scheduler used {used} ticks of CPU in 300 ms");
}
