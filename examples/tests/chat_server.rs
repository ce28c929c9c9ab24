//! The chat example end to end over real sockets: three clients, each line from one arrives at
//! the other two exactly once, with the sender's address prefix; a client leaving does not
//! disturb the rest.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use axon_core::Scheduler;
use kamaelia_examples::chat;

const LIMIT: Duration = Duration::from_secs(60);

fn start() -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let sched = Scheduler::new();
        let server = chat::server("127.0.0.1:0".parse().unwrap()).unwrap();
        tx.send(server.local_addr()).unwrap();
        sched.spawn(chat::backplane());
        sched.spawn(server);
        sched.run();
    });
    rx.recv_timeout(LIMIT).unwrap()
}

struct Client {
    me: SocketAddr,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    /// Connects and waits for the welcome, after which it hears every line said.
    fn join(addr: SocketAddr) -> Client {
        let s = TcpStream::connect_timeout(&addr, LIMIT).unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let me = s.local_addr().unwrap();
        let mut c = Client { me, writer: s.try_clone().unwrap(), reader: BufReader::new(s) };
        assert_eq!(c.line(), format!("* welcome, {me}\n"));
        c
    }

    fn say(&mut self, text: &str) {
        self.writer.write_all(format!("{text}\n").as_bytes()).unwrap();
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).unwrap();
        l
    }
}

#[test]
fn each_line_reaches_every_other_client_once_with_its_sender_and_leaving_disturbs_no_one() {
    let addr = start();
    let mut clients: Vec<Client> = (0..3).map(|_| Client::join(addr)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        for n in 0..3 {
            c.say(&format!("line {n} from client {i}"));
        }
    }
    let said: Vec<(SocketAddr, Vec<String>)> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| (c.me, (0..3).map(|n| format!("{} says: line {n} from client {i}\n", c.me)).collect()))
        .collect();
    for c in clients.iter_mut() {
        let mut heard: Vec<String> = (0..6).map(|_| c.line()).collect();
        heard.sort();
        let mut expected: Vec<String> =
            said.iter().filter(|(who, _)| *who != c.me).flat_map(|(_, lines)| lines.clone()).collect();
        expected.sort();
        assert_eq!(heard, expected, "client {}", c.me);
    }
    // One leaves; the other two go on talking, and hear nothing twice.
    drop(clients.pop());
    clients[0].say("still here?");
    assert_eq!(clients[1].line(), format!("{} says: still here?\n", clients[0].me));
    clients[1].say("yes");
    assert_eq!(clients[0].line(), format!("{} says: yes\n", clients[1].me));
}
