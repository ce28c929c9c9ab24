//! ConnectedSocketAdapter backpressure: a peer that sends a lot and reads nothing must not make
//! the server buffer more than its boxes allow.

mod util;

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kamaelia_net::{CsaConfig, TcpServerConfig};
use socket2::{Domain, Socket, Type};
use util::{pattern, EchoServer, TIMEOUT};

const CHUNK: usize = 16 * 1024;
const CSA_INBOX: usize = 4;
const HANDLER_INBOX: usize = 4;
const TOTAL: usize = 16 * 1024 * 1024;

#[test]
fn a_peer_that_does_not_read_cannot_make_the_server_buffer_unboundedly() {
    let csa = CsaConfig::default().read_chunk_size(CHUNK).inbox_size(Some(CSA_INBOX));
    let srv = EchoServer::start(TcpServerConfig::default().csa(csa), HANDLER_INBOX);
    let addr = srv.addr;

    // Small kernel buffers on the client, so backpressure reaches the server quickly.
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(64 * 1024).unwrap();
    sock.set_send_buffer_size(64 * 1024).unwrap();
    sock.connect(&addr.into()).unwrap();
    let mut writer: std::net::TcpStream = sock.into();
    writer.set_write_timeout(Some(TIMEOUT)).unwrap();
    writer.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut reader = writer.try_clone().unwrap();

    let data = pattern(5, TOTAL);
    let expected = data.clone();
    let w = srv.client(move || -> io::Result<()> {
        writer.write_all(&data)?;
        writer.shutdown(std::net::Shutdown::Write)
    });

    // Phase 1: nobody reads. Wait until the adapter has stopped reading because the handler's
    // inbox is full (which needs the whole outbound path to be full first).
    srv.run_until("the adapter to stop reading", || srv.reactor.stats().read_pauses > 0);

    // Phase 2: start reading; everything arrives.
    let go = Arc::new(AtomicBool::new(false));
    let r = {
        let go = go.clone();
        srv.client(move || -> io::Result<Vec<u8>> {
            let mut got = Vec::with_capacity(TOTAL);
            reader.read_to_end(&mut got)?;
            go.store(true, Ordering::SeqCst);
            Ok(got)
        })
    };
    let mut worst = 0;
    srv.run_until("the echo to come back", || {
        let s = srv.reactor.stats();
        worst = worst.max(s.bytes_read - s.bytes_written);
        go.load(Ordering::SeqCst)
    });
    srv.join(w).unwrap();
    let got = srv.join(r).unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the data came back altered");

    // Held chunk + handler inbox + the chunk the handler holds + adapter inbox + partial write.
    let bound = (CHUNK * (HANDLER_INBOX + CSA_INBOX + 3)) as u64;
    let stats = srv.reactor.stats();
    assert!(stats.max_in_flight <= bound, "buffered {} bytes, bound {bound}", stats.max_in_flight);
    assert!(worst <= bound);
    assert_eq!(stats.bytes_read, TOTAL as u64);
    assert_eq!(stats.bytes_written, TOTAL as u64);
}
