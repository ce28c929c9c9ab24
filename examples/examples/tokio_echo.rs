//! `tokio_echo`: the canonical tokio echo server, the baseline `echo_load` compares
//! `echo_server` with.
//!
//! One task per connection reads into a buffer of `--buf` bytes (default 64 KiB) and writes back
//! whatever it read (`write_all`), with `TCP_NODELAY` on. It runs on a `current_thread` runtime
//! (one core, like the kamaelia scheduler) unless `--multi` asks for the multi-threaded one.
//!
//! ```text
//! cargo run --release --example tokio_echo                       # listens on 127.0.0.1:1602
//! cargo run --release --example tokio_echo -- --addr 127.0.0.1:12345 --buf 65536 [--multi]
//! ```
//! It prints `listening on <addr>` once bound; SIGINT ends it. See `echo_load` for the benchmark
//! commands.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The address the baseline listens on unless told otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:1602";

/// The command line.
#[derive(Debug)]
struct Opts {
    /// Where to listen.
    addr: SocketAddr,
    /// The read buffer size.
    buf: usize,
    /// Whether to use the multi-threaded runtime.
    multi: bool,
}

const USAGE: &str = "usage: tokio_echo [--addr ADDR] [--buf BYTES] [--multi]";

fn parse_args() -> Result<Opts, String> {
    let mut addr = DEFAULT_ADDR.to_owned();
    let mut buf = 64 * 1024;
    let mut multi = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs a value")?,
            "--buf" => {
                let v = args.next().ok_or("--buf needs a value")?;
                buf = v.parse().map_err(|_| format!("bad --buf {v:?}"))?;
                if buf == 0 {
                    return Err("--buf must be at least 1".to_owned());
                }
            }
            "--multi" => multi = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    let addr = addr.parse().map_err(|e| format!("bad --addr {addr:?}: {e}"))?;
    Ok(Opts { addr, buf, multi })
}

/// Echoes one connection until EOF or an error.
async fn echo(mut sock: TcpStream, buf_size: usize) {
    let mut buf = vec![0u8; buf_size];
    loop {
        let n = match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if sock.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn serve(listener: TcpListener, buf: usize) {
    loop {
        match listener.accept().await {
            Ok((sock, _)) => {
                let _ = sock.set_nodelay(true);
                tokio::spawn(echo(sock, buf));
            }
            Err(e) => {
                // Typically EMFILE: back off briefly rather than spin.
                eprintln!("tokio_echo: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tokio_echo: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = if o.multi {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio_echo: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let listener = match TcpListener::bind(o.addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("tokio_echo: cannot listen on {}: {e}", o.addr);
                return ExitCode::FAILURE;
            }
        };
        match listener.local_addr() {
            Ok(a) => println!("listening on {a}"),
            Err(_) => println!("listening on {}", o.addr),
        }
        let _ = std::io::stdout().flush();
        serve(listener, o.buf).await;
        ExitCode::SUCCESS
    })
}
