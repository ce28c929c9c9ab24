//! ConsoleReader, ConsoleEchoer and Map (Kamaelia's `Util.Console` and `PureTransformer`), and
//! the Splitter (ports the behaviours of Code/Python/Kamaelia/Test/Util/test_Splitter.py,
//! reference §8 "Other Kamaelia tests"). Deterministic: in-memory readers and writers, bounded
//! waits, no sleeps.

mod util_more;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axon_core::ipc::{Ipc, IpcKind, Status};
use axon_core::Scheduler;
use bytes::Bytes;
use kamaelia_chassis::{ConsoleEchoer, ConsoleReader, EchoProtocol, Map, Sink, Splitter, SplitterConfig};
use util_more::{collector, inert, take_all, STD_STRING, STD_U32};

const STD_BYTES: &[axon_core::BoxDecl] = &axon_core::boxes::standard::<Bytes>();

const LIMIT: Duration = Duration::from_secs(30);

fn kinds(msgs: &[Ipc]) -> Vec<IpcKind> {
    msgs.iter().map(|m| m.kind()).collect()
}

// ----- EchoProtocol -----

#[test]
fn echo_protocol_ends_on_a_stop_queued_behind_another_control_message() {
    let sched = Scheduler::new();
    let echo = sched.create(EchoProtocol);
    let (sink, got, stops) = collector::<Bytes>(&sched, STD_BYTES);
    sched.link((&echo, "outbox"), (&sink, "inbox")).unwrap();
    sched.link((&echo, "signal"), (&sink, "control")).unwrap();
    // Both wait before its first step, which is its one wake for them: a connection's
    // `PeerEof` and `SocketShutdown` can come together like this. (No data: echoing some would
    // wake it again when the sink takes it.)
    echo.deliver("control", Ipc::new(Status("not a stop".into()))).unwrap();
    echo.deliver("control", Ipc::producer_finished()).unwrap();
    sched.activate(&echo);
    sched.run_until_idle();
    assert!(echo.is_finished(), "the stop was left waiting");
    assert!(got.borrow().is_empty());
    assert_eq!(kinds(&stops.borrow()), [IpcKind::ProducerFinished]);
}

// ----- ConsoleReader -----

#[test]
fn console_reader_sends_each_line_then_producer_finished_at_end_of_input() {
    let sched = Scheduler::new();
    let reader = sched.create(ConsoleReader::from_reader(&b"one\ntwo\r\nthree"[..]));
    let dest = inert(&sched, STD_STRING);
    sched.link((&reader, "outbox"), (&dest, "inbox")).unwrap();
    sched.link((&reader, "signal"), (&dest, "control")).unwrap();
    sched.activate(&reader);
    assert!(sched.run_until(LIMIT, || reader.is_finished()));
    assert_eq!(take_all::<String>(&dest, "inbox"), ["one\n", "two\n", "three\n"]);
    assert_eq!(kinds(&take_all(&dest, "control")), [IpcKind::ProducerFinished]);
}

#[test]
fn console_reader_with_an_empty_eol_sends_bare_lines() {
    let sched = Scheduler::new();
    let reader = sched.create(ConsoleReader::from_reader(&b"a\nb\n"[..]).eol(""));
    let (sink, got, stops) = collector::<String>(&sched, STD_STRING);
    sched.link((&reader, "outbox"), (&sink, "inbox")).unwrap();
    sched.link((&reader, "signal"), (&sink, "control")).unwrap();
    sched.activate(&reader);
    assert!(sched.run_until(LIMIT, || sink.is_finished()));
    assert_eq!(*got.borrow(), ["a", "b"]);
    assert_eq!(kinds(&stops.borrow()), [IpcKind::ProducerFinished], "a pipeline downstream stops too");
}

// ----- ConsoleEchoer -----

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn console_echoer_writes_each_message_as_is_and_forwards_the_stop_after_draining() {
    let out = Captured::default();
    let sched = Scheduler::new();
    let echo = sched.create(ConsoleEchoer::<String>::to_writer(out.clone()));
    let signal = inert(&sched, STD_STRING);
    sched.link((&echo, "signal"), (&signal, "control")).unwrap();
    sched.activate(&echo);
    echo.deliver("inbox", "hello ".to_string()).unwrap();
    sched.run_until_idle();
    assert_eq!(out.text(), "hello ");
    echo.deliver("inbox", "world\n".to_string()).unwrap();
    echo.deliver("control", Ipc::new(Status("not a stop".into()))).unwrap();
    echo.deliver("control", Ipc::shutdown_microprocess()).unwrap();
    sched.run_until_idle();
    assert_eq!(out.text(), "hello world\n", "nothing added, nothing lost");
    assert!(echo.is_finished());
    assert_eq!(kinds(&take_all(&signal, "control")), [IpcKind::ShutdownMicroprocess]);
}

#[test]
fn console_echoer_lines_adds_a_newline_after_each_display_form() {
    let out = Captured::default();
    let sched = Scheduler::new();
    let echo = sched.spawn(ConsoleEchoer::<f64>::to_writer(out.clone()).lines());
    echo.deliver("inbox", 1.5f64).unwrap();
    echo.deliver("inbox", 2.0f64).unwrap();
    echo.deliver("control", Ipc::producer_finished()).unwrap();
    sched.run_until_idle();
    assert_eq!(out.text(), "1.5\n2\n");
}

// ----- Map -----

#[test]
fn map_sends_f_of_each_message_in_order() {
    let sched = Scheduler::new();
    let len = sched.create(Map::new(|s: String| s.len() as u32));
    let (sink, got, _) = collector::<u32>(&sched, STD_U32);
    sched.link((&len, "outbox"), (&sink, "inbox")).unwrap();
    sched.activate(&len);
    for s in ["a", "bb", "ccc"] {
        len.deliver("inbox", s.to_string()).unwrap();
    }
    sched.run_until_idle();
    assert_eq!(*got.borrow(), [1, 2, 3]);
    assert!(!len.is_finished());
}

#[test]
fn map_drains_its_inbox_before_forwarding_a_stop_and_ending() {
    let sched = Scheduler::new();
    let mut count = 0;
    let numbered = sched.create(Map::new(move |s: String| {
        count += 1;
        format!("{count}: {s}")
    }));
    let (sink, got, stops) = collector::<String>(&sched, STD_STRING);
    sched.link((&numbered, "outbox"), (&sink, "inbox")).unwrap();
    sched.link((&numbered, "signal"), (&sink, "control")).unwrap();
    sched.activate(&numbered);
    // The stop arrives with data still waiting: the data comes out first.
    numbered.deliver("control", Ipc::producer_finished()).unwrap();
    numbered.deliver("inbox", "x".to_string()).unwrap();
    numbered.deliver("inbox", "y".to_string()).unwrap();
    sched.run_until_idle();
    assert!(numbered.is_finished() && sink.is_finished());
    assert_eq!(*got.borrow(), ["1: x", "2: y"]);
    assert_eq!(kinds(&stops.borrow()), [IpcKind::ProducerFinished]);
}

#[test]
fn map_waits_for_room_in_a_bounded_destination_instead_of_dropping() {
    let sched = Scheduler::new();
    let double = sched.create(Map::new(|n: u32| n * 2));
    let dest = inert(&sched, STD_U32);
    sched
        .link_with((&double, "outbox"), (&dest, "inbox"), axon_core::LinkOptions::new().pipewidth(2))
        .unwrap();
    sched.activate(&double);
    for n in 0..5u32 {
        double.deliver("inbox", n).unwrap();
    }
    sched.run_until_idle();
    assert_eq!(take_all::<u32>(&dest, "inbox"), [0, 2], "two fit");
    sched.run_until_idle();
    assert_eq!(take_all::<u32>(&dest, "inbox"), [4, 6]);
    sched.run_until_idle();
    assert_eq!(take_all::<u32>(&dest, "inbox"), [8]);
    assert_eq!(sched.stats().dropped_unlinked + sched.stats().dropped_dead, 0);
}

// ----- Splitter (test_Splitter) -----

fn add(splitter: &axon_core::ComponentRef, sink: Sink) {
    splitter.deliver("configuration", SplitterConfig::AddSink(sink)).unwrap();
}

#[test]
fn splitter_passes_data_to_its_outbox_and_to_every_sink() {
    let sched = Scheduler::new();
    let splitter = sched.spawn(Splitter::<u32>::new());
    let tap = inert(&sched, STD_U32);
    sched.link((&splitter, "outbox"), (&tap, "inbox")).unwrap();
    let (a, b) = (inert(&sched, STD_U32), inert(&sched, STD_U32));
    add(&splitter, Sink::new(&a));
    add(&splitter, Sink::new(&b));
    for n in [1u32, 2, 3] {
        splitter.deliver("inbox", n).unwrap();
    }
    sched.run_until_idle();
    assert_eq!(take_all::<u32>(&tap, "inbox"), [1, 2, 3]);
    assert_eq!(take_all::<u32>(&a, "inbox"), [1, 2, 3]);
    assert_eq!(take_all::<u32>(&b, "inbox"), [1, 2, 3]);
}

#[test]
fn splitter_addsink_adds_an_outbox_and_a_signal_box_and_removesink_removes_them() {
    let sched = Scheduler::new();
    let split = Splitter::<u32>::new();
    let stats = split.stats();
    let splitter = sched.spawn(split);
    sched.run_until_idle();
    let before = splitter.outbox_names().len();
    let sink = inert(&sched, STD_U32);
    add(&splitter, Sink::new(&sink).control("control"));
    add(&splitter, Sink::new(&sink).control("control"));
    sched.run_until_idle();
    assert_eq!(
        splitter.outbox_names().len(),
        before + 2,
        "one data and one signal outbox; duplicates ignored"
    );
    assert_eq!(stats.sinks(), 1);
    splitter.deliver("inbox", 1u32).unwrap();
    splitter.deliver("control", Ipc::new(Status("passing".into()))).unwrap();
    sched.run_until_idle();
    assert_eq!(take_all::<u32>(&sink, "inbox"), [1]);
    assert_eq!(kinds(&take_all(&sink, "control")), [IpcKind::Status], "control messages reach the sink too");

    splitter.deliver("configuration", SplitterConfig::RemoveSink(sink.id())).unwrap();
    sched.run_until_idle();
    assert_eq!(splitter.outbox_names().len(), before);
    assert_eq!(stats.sinks(), 0);
    splitter.deliver("inbox", 2u32).unwrap();
    sched.run_until_idle();
    assert!(take_all::<u32>(&sink, "inbox").is_empty(), "a removed sink gets nothing more");
}

#[test]
fn splitter_forwards_a_shutdown_to_signal_and_every_sink_and_stops() {
    let sched = Scheduler::new();
    let splitter = sched.spawn(Splitter::<u32>::new());
    let signal = inert(&sched, STD_U32);
    sched.link((&splitter, "signal"), (&signal, "control")).unwrap();
    let sinks: Vec<_> = (0..2).map(|_| inert(&sched, STD_U32)).collect();
    for s in &sinks {
        add(&splitter, Sink::new(s).control("control"));
    }
    sched.run_until_idle();
    splitter.deliver("control", Ipc::shutdown_microprocess()).unwrap();
    sched.run_until_idle();
    assert!(splitter.is_finished());
    assert_eq!(kinds(&take_all(&signal, "control")), [IpcKind::ShutdownMicroprocess]);
    for s in &sinks {
        assert_eq!(kinds(&take_all(s, "control")), [IpcKind::ShutdownMicroprocess]);
    }
}

#[test]
fn splitter_unplugs_a_sink_whose_component_has_ended() {
    let sched = Scheduler::new();
    let split = Splitter::<u32>::new();
    let stats = split.stats();
    let splitter = sched.spawn(split);
    let (sink, got, _) = collector::<u32>(&sched, STD_U32);
    add(&splitter, Sink::new(&sink));
    splitter.deliver("inbox", 1u32).unwrap();
    sched.run_until_idle();
    assert_eq!(*got.borrow(), [1]);
    sink.stop();
    sched.run_until_idle();
    splitter.deliver("inbox", 2u32).unwrap();
    sched.run_until_idle();
    assert_eq!(stats.sinks(), 0);
    assert_eq!(sched.stats().dropped_dead, 0, "nothing is sent to the ended sink");
}

#[test]
fn splitter_drops_and_counts_for_a_full_sink_while_the_others_still_receive() {
    let sched = Scheduler::new();
    let split = Splitter::<u32>::new();
    let stats = split.stats();
    let splitter = sched.spawn(split);
    let (slow, fast) = (inert(&sched, STD_U32), inert(&sched, STD_U32));
    let slow_drops = kamaelia_chassis::DropCounter::new();
    add(&splitter, Sink::new(&slow).limit(3).count_drops_in(slow_drops.clone()));
    add(&splitter, Sink::new(&fast));
    for n in 0..10u32 {
        splitter.deliver("inbox", n).unwrap();
    }
    sched.run_until_idle();
    assert_eq!(take_all::<u32>(&slow, "inbox"), [0, 1, 2]);
    assert_eq!(take_all::<u32>(&fast, "inbox"), (0..10).collect::<Vec<_>>());
    assert_eq!((slow_drops.get(), stats.dropped(), stats.received()), (7, 7, 10));
    assert!(splitter.is_active(), "a full sink never crashes the splitter");
}
