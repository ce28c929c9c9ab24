//! The `echo_server` and `clever_echo` example binaries, run as a user runs them: started on
//! `--addr 127.0.0.1:0`, they print exactly one line, `listening on <the bound address>`, serve
//! real connections, and on SIGTERM shut down in a controlled way and exit 0. The benchmark
//! baselines, `tokio_echo` and `mio_echo`, are checked to echo every byte, so that a comparison
//! never measures a server that loses data, and the load generator, `echo_load`, to drive
//! `echo_server` in each of its modes with no error.
//!
//! `cargo test` builds a package's examples before running its tests, into
//! `target/<profile>/examples/`, next to the `deps/` directory this test runs from.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest any single wait may take.
const LIMIT: Duration = Duration::from_secs(60);

/// The path of the example binary `name`, built by `cargo test` alongside this test.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<this test> → target/<profile>/examples/<name>
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let path = dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: `cargo test -p kamaelia-examples` builds the examples first, but selecting this \
         test alone (`--test example_servers`) does not: run `cargo build --examples` before it",
        path.display()
    );
    path
}

/// A running example server; killed if the test ends without it having exited.
struct Server {
    /// The server process.
    child: Child,
    /// Its stdout, line by line, from a reader thread (closed when the process ends).
    lines: mpsc::Receiver<String>,
    /// The address it printed.
    addr: SocketAddr,
}

impl Server {
    /// Starts example `name` on 127.0.0.1:0 and reads the address it prints.
    fn start(name: &str) -> Server {
        let mut child = Command::new(example(name))
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the example");
        let lines = read_lines(child.stdout.take().expect("piped stdout"));
        let first = match lines.recv_timeout(LIMIT) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                panic!("{name} printed no line: {e}");
            }
        };
        let addr = first.strip_prefix("listening on ").and_then(|a| a.parse::<SocketAddr>().ok());
        let server = Server { child, lines, addr: addr.unwrap_or_else(|| ([0, 0, 0, 0], 0).into()) };
        assert!(addr.is_some(), "{name} printed {first:?}");
        assert_eq!(server.addr.ip().to_string(), "127.0.0.1", "{first:?}");
        assert_ne!(server.addr.port(), 0, "it printed the port asked for, not the port bound: {first:?}");
        server
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit.
    fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the example") {
                return status;
            }
            assert!(Instant::now() < deadline, "the example did not exit within {LIMIT:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every further line it printed, once it has exited.
    fn remaining_lines(&self) -> Vec<String> {
        let mut more = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(LIMIT) {
            more.push(line);
        }
        more
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Forwards `stdout`'s lines (without their newline) until it closes.
fn read_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Connects with bounded reads and writes.
fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, LIMIT).expect("connect");
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

/// Sends `line` and reads back as many bytes.
fn round_trip(s: &mut TcpStream, line: &[u8]) -> Vec<u8> {
    s.write_all(line).unwrap();
    let mut back = vec![0u8; line.len()];
    s.read_exact(&mut back).unwrap();
    back
}

/// Reads until the server closes; `true` for a clean EOF.
fn closes_cleanly(s: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).is_ok() && rest.is_empty()
}

/// SIGTERM with a client connected: the client's connection is closed cleanly, the process
/// exits 0 and prints nothing more.
fn shut_down_with(mut server: Server, mut client: TcpStream) {
    let status = {
        let waiter = std::thread::spawn(move || closes_cleanly(&mut client));
        let status = server.terminate();
        assert!(waiter.join().expect("client thread"), "the connection ended in a reset or with data");
        status
    };
    assert_eq!(status.code(), Some(0), "{status}");
    assert_eq!(server.remaining_lines(), Vec::<String>::new(), "more than the one line on stdout");
}

#[test]
fn echo_server_prints_its_bound_address_echoes_and_exits_0_on_sigterm() {
    let server = Server::start("echo_server");
    let mut client = connect(server.addr);
    assert_eq!(round_trip(&mut client, b"hello kamaelia\n"), b"hello kamaelia\n");
    assert_eq!(round_trip(&mut connect(server.addr), b"another\n"), b"another\n");
    shut_down_with(server, client);
}

#[test]
fn clever_echo_greets_with_both_ends_echoes_and_exits_0_on_sigterm() {
    let server = Server::start("clever_echo");
    let mut client = connect(server.addr);
    let expected = format!(
        "Welcome! You have connected to 127.0.0.1 on port {} from 127.0.0.1 on port {}\n",
        server.addr.port(),
        client.local_addr().unwrap().port()
    );
    let mut greeting = vec![0u8; expected.len()];
    client.read_exact(&mut greeting).unwrap();
    assert_eq!(String::from_utf8_lossy(&greeting), expected);
    assert_eq!(round_trip(&mut client, b"and back\n"), b"and back\n");
    shut_down_with(server, client);
}

#[test]
fn the_baselines_echo_every_byte_then_close_after_the_peers_eof() {
    for name in ["tokio_echo", "mio_echo"] {
        let server = Server::start(name);
        let mut client = connect(server.addr);
        assert_eq!(round_trip(&mut client, b"ping\n"), b"ping\n", "{name}");
        // 4 MiB sent from another thread while this one reads: the server's writes fill the
        // socket and must wait, keeping what the socket did not take.
        let data: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
        let mut writer = client.try_clone().unwrap();
        let sent = data.clone();
        let writer = std::thread::spawn(move || {
            writer.write_all(&sent).unwrap();
            writer.shutdown(std::net::Shutdown::Write).unwrap();
        });
        let mut back = Vec::new();
        client.read_to_end(&mut back).unwrap();
        writer.join().expect("writer thread");
        assert!(back == data, "{name} echoed {} of {} bytes, or other bytes", back.len(), data.len());
    }
}

#[test]
fn echo_load_drives_echo_server_in_every_mode_without_errors() {
    let server = Server::start("echo_server");
    let addr = server.addr.to_string();
    for args in [
        &["--mode", "rr", "--conns", "8"][..],
        &["--mode", "stream", "--size", "4096", "--depth", "4", "--conns", "4"],
        &["--mode", "churn", "--conns", "4"],
    ] {
        let out = Command::new(example("echo_load"))
            .args(["--addr", &addr, "--duration", "1", "--timeout", "30"])
            .args(args)
            .output()
            .expect("run echo_load");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {}\n{stdout}{stderr}", out.status);
        let result = stdout.lines().find(|l| l.starts_with("RESULT ")).unwrap_or_default();
        assert!(result.ends_with(" errors=0"), "{args:?}: {result:?}");
        let rate: f64 = result
            .split(' ')
            .find_map(|kv| kv.strip_prefix("msgs_per_s="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
        assert!(rate > 0.0, "{args:?}: nothing was echoed: {result:?}");
    }
}
