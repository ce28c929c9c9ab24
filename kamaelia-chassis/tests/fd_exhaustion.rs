//! Accepting while the process is out of file descriptors: the server neither spins nor dies,
//! and serves again once descriptors are free. The test re-runs itself in a child process with
//! a low `RLIMIT_NOFILE` (`ulimit -n`, through `util::run_isolated`), so the limit touches
//! nothing else.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kamaelia_chassis::{EchoProtocol, SimpleServer};
use util::{connect, run_isolated, Harness, LIMIT};

const NAME: &str = "accepting_under_fd_exhaustion_neither_spins_nor_dies";

/// The process's CPU time (user + system) in clock ticks, read through a file opened before the
/// descriptors ran out.
fn cpu_ticks(stat_file: &mut std::fs::File) -> u64 {
    use std::io::Seek;
    let mut stat = String::new();
    stat_file.rewind().unwrap();
    stat_file.read_to_string(&mut stat).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted after the command name.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn accepting_under_fd_exhaustion_neither_spins_nor_dies() {
    run_isolated(NAME, Some(256), child);
}

/// The test proper, alone in its child process.
fn child() {
    let h = Harness::start(|| {
        let s = SimpleServer::new("127.0.0.1:0".parse().unwrap(), || EchoProtocol).unwrap();
        let a = s.local_addr();
        (s, a)
    });
    let ping = |s: &mut TcpStream| {
        s.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ping");
    };
    ping(&mut connect(h.addr));
    let mut stat = std::fs::File::open("/proc/self/stat").unwrap();
    // Use up every descriptor, then free one for the client's socket.
    let mut hogs = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hogs.push(f);
    }
    hogs.pop();
    let mut client = connect(h.addr); // the kernel completes it; the server cannot accept it
    h.wait_for("the server to back off accepting", |p| p.net.accept_backoffs > 0);
    // Not spinning: over half a second the whole process uses well under half a core.
    let (t0, c0) = (Instant::now(), cpu_ticks(&mut stat));
    std::thread::sleep(Duration::from_millis(500));
    let (elapsed, used) = (t0.elapsed(), cpu_ticks(&mut stat) - c0);
    let ticks = elapsed.as_millis() as u64 / 10;
    assert!(used * 4 < ticks, "used {used} ticks of CPU in {ticks} ticks: spinning");
    assert!(!h.probe().server_done, "the server gave up");
    // Descriptors free again: the waiting connection is accepted and served.
    drop(hogs);
    client.set_read_timeout(Some(LIMIT)).unwrap();
    ping(&mut client);
    ping(&mut connect(h.addr));
}
