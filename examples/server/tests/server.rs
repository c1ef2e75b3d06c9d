//! brine-server over real TCP on 127.0.0.1, against a tiny blocking Python-style client.

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use brine_core::pickle::{Decoder, Framer, Progress, Protocol};
use brine_server::{Config, Message, Server, ServerEvent};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

/// A server on a free loopback port, and its events.
fn start(config: Config) -> (Server, Receiver<ServerEvent>) {
    let server = Server::start(Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..config
    })
    .expect("start the server");
    let events = server.events();
    (server, events)
}

/// The next event matching `pred`, skipping others; panics after [`WAIT`].
fn wait_for(events: &Receiver<ServerEvent>, pred: impl Fn(&ServerEvent) -> bool) -> ServerEvent {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(event) if pred(&event) => return event,
            Ok(_) => {}
            Err(e) => panic!("no matching event: {e}"),
        }
    }
}

fn pickle(message: impl Into<Message>) -> Vec<u8> {
    message.into().to_pickle(Protocol::V4).unwrap().unwrap()
}

fn identity() -> Vec<u8> {
    pickle(json!({"name": "Jose Ortiz", "email": "jose@sfsu.edu"}))
}

const IDENTITY_REPR: &str = "{'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu'}";
const ACK: &str = "'Server got the data'";

/// A blocking client as a lab student writes it, but framing the stream properly.
struct Client {
    stream: TcpStream,
    framer: Framer,
    /// Received bytes not yet returned as pickles.
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Client {
            stream,
            framer: Framer::new(),
            buf: Vec::new(),
        }
    }

    /// The repr of the next pickle, or `None` at the end of the stream.
    fn recv(&mut self) -> Option<String> {
        let mut scanned = 0;
        loop {
            // Frame what is buffered but not yet scanned.
            if scanned < self.buf.len() {
                match self
                    .framer
                    .advance(&self.buf[scanned..])
                    .expect("a pickle stream")
                {
                    Progress::Complete { len } => {
                        let end = scanned + len;
                        let mut decoder: Box<Decoder> = Box::default();
                        let repr = decoder.decode(&self.buf[..end]).unwrap().to_string();
                        self.buf.drain(..end);
                        return Some(repr);
                    }
                    Progress::Incomplete => scanned = self.buf.len(),
                }
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    assert!(self.buf.is_empty(), "stream ended inside a pickle");
                    return None;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Receives the id and sends the identity; returns the id's repr.
    fn handshake(&mut self) -> String {
        let hello = self.recv().expect("the client id");
        self.send(&identity());
        assert_eq!(self.recv().as_deref(), Some(ACK));
        hello
    }
}

#[test]
fn ids_are_unique_and_increasing() {
    let (server, _events) = start(Config {
        first_id: 54321,
        ..Config::default()
    });
    for id in 54321..54324 {
        let mut client = Client::connect(server.local_addr());
        assert_eq!(client.recv(), Some(format!("{{'clientid': {id}}}")));
    }
    server.shutdown();
}

#[test]
fn identity_is_reported_and_every_message_acknowledged() {
    let (server, events) = start(Config::default());
    let mut client = Client::connect(server.local_addr());
    assert_eq!(client.recv().as_deref(), Some("{'clientid': 1000}"));
    wait_for(&events, |e| {
        matches!(e, ServerEvent::Connected { id: 1000, .. })
    });

    client.send(&identity());
    let event = wait_for(&events, |e| matches!(e, ServerEvent::Identity { .. }));
    assert_eq!(
        event,
        ServerEvent::Identity {
            id: 1000,
            value: IDENTITY_REPR.to_owned(),
            json: json!({"name": "Jose Ortiz", "email": "jose@sfsu.edu"}),
        }
    );
    assert_eq!(
        event.to_string(),
        format!("Client 1000 identity: {IDENTITY_REPR}")
    );
    assert_eq!(client.recv().as_deref(), Some(ACK));

    client.send(&pickle("hello"));
    let event = wait_for(&events, |e| matches!(e, ServerEvent::Received { .. }));
    assert_eq!(event.to_string(), "Client 1000 sent: 'hello'");
    assert_eq!(client.recv().as_deref(), Some(ACK));
    server.shutdown();
}

#[test]
fn pickles_split_anyhow_or_sent_together_are_reassembled() {
    let (server, events) = start(Config::default());
    let mut client = Client::connect(server.local_addr());
    client.recv().unwrap();
    client.stream.set_nodelay(true).unwrap();
    for byte in identity() {
        client.send(&[byte]);
        std::thread::sleep(Duration::from_millis(1));
    }
    wait_for(
        &events,
        |e| matches!(e, ServerEvent::Identity { value, .. } if value == IDENTITY_REPR),
    );
    assert_eq!(client.recv().as_deref(), Some(ACK));

    let mut two = pickle("one");
    two.extend(pickle(json!([1, 2, 3])));
    client.send(&two);
    let first = wait_for(&events, |e| matches!(e, ServerEvent::Received { .. }));
    let second = wait_for(&events, |e| matches!(e, ServerEvent::Received { .. }));
    assert_eq!(first.to_string(), "Client 1000 sent: 'one'");
    assert_eq!(second.to_string(), "Client 1000 sent: [1, 2, 3]");
    assert_eq!(client.recv().as_deref(), Some(ACK));
    assert_eq!(client.recv().as_deref(), Some(ACK));
    server.shutdown();
}

#[test]
fn script_follows_the_ack_and_close_ends_in_order() {
    let (server, events) = start(Config {
        script: vec![
            Message::from("welcome"),
            Message::Json(json!({"big": 18446744073709551615u64, "list": [1.5, null, true]})),
            Message::Close,
            Message::from("never sent"),
        ],
        ..Config::default()
    });
    let mut client = Client::connect(server.local_addr());
    client.handshake();
    assert_eq!(client.recv().as_deref(), Some("'welcome'"));
    assert_eq!(
        client.recv().as_deref(),
        Some("{'big': 18446744073709551615, 'list': [1.5, None, True]}")
    );
    assert_eq!(client.recv(), None);
    let event = wait_for(&events, |e| matches!(e, ServerEvent::Disconnected { .. }));
    assert_eq!(
        event.to_string(),
        "Client 1000 disconnected: closed by the server's script"
    );
    server.shutdown();
}

#[test]
fn no_ack_sends_nothing_but_the_script() {
    let (server, _events) = start(Config {
        ack: false,
        script: vec![Message::from("only this"), Message::Close],
        ..Config::default()
    });
    let mut client = Client::connect(server.local_addr());
    client.recv().unwrap();
    client.send(&identity());
    assert_eq!(client.recv().as_deref(), Some("'only this'"));
    assert_eq!(client.recv(), None);
    server.shutdown();
}

#[test]
fn garbage_client_is_disconnected_while_a_good_one_keeps_working() {
    let (server, events) = start(Config::default());
    let mut good = Client::connect(server.local_addr());
    good.handshake();

    let mut bad = Client::connect(server.local_addr());
    bad.recv().unwrap();
    bad.send(b"\xff\xfe not a pickle");
    let event = wait_for(&events, |e| {
        matches!(e, ServerEvent::Disconnected { id: 1001, .. })
    });
    let ServerEvent::Disconnected { reason, .. } = event else {
        unreachable!()
    };
    assert!(reason.starts_with("not a pickle stream: "), "{reason}");
    assert_eq!(bad.recv(), None);

    good.send(&pickle("still here"));
    assert_eq!(good.recv().as_deref(), Some(ACK));
    server.shutdown();
}

/// By default a code-running pickle is logged as an inert stub of the call it names (nothing
/// runs) and acknowledged as any message.
#[test]
fn code_running_pickle_is_a_stub_by_default() {
    let (server, events) = start(Config::default());
    let mut client = Client::connect(server.local_addr());
    client.handshake();
    client.send(b"cos\nsystem\n(S'echo pwned'\ntR.");
    wait_for(
        &events,
        |e| matches!(e, ServerEvent::Received { repr, .. } if repr == "<os.system('echo pwned')>"),
    );
    assert_eq!(client.recv().as_deref(), Some(ACK));
    server.shutdown();
}

#[test]
fn code_running_pickle_is_refused_and_the_client_stays() {
    let (server, events) = start(Config {
        stubs: false,
        ..Config::default()
    });
    let mut client = Client::connect(server.local_addr());
    client.handshake();
    client.send(b"cos\nsystem\n(S'echo pwned'\ntR.");
    let event = wait_for(&events, |e| matches!(e, ServerEvent::Refused { .. }));
    let ServerEvent::Refused { id: 1000, reason } = event else {
        panic!("{event:?}")
    };
    assert!(reason.contains("GLOBAL"), "{reason}");
    // Not acknowledged, and the connection goes on.
    client.send(&pickle("after"));
    wait_for(
        &events,
        |e| matches!(e, ServerEvent::Received { repr, .. } if repr == "'after'"),
    );
    assert_eq!(client.recv().as_deref(), Some(ACK));
    server.shutdown();
}

#[test]
fn silent_client_is_dropped_after_the_idle_timeout() {
    let (server, events) = start(Config {
        idle_timeout: Some(Duration::from_millis(300)),
        ..Config::default()
    });
    let started = Instant::now();
    let mut silent = Client::connect(server.local_addr());
    assert!(silent.recv().is_some());
    // A client that has identified itself may stay silent for ever.
    let mut quiet = Client::connect(server.local_addr());
    quiet.handshake();

    assert_eq!(silent.recv(), None);
    drop(silent);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let event = wait_for(&events, |e| matches!(e, ServerEvent::Disconnected { .. }));
    assert_eq!(
        event.to_string(),
        "Client 1000 disconnected: sent no identity within 0.3 s"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.client_count(), 1);
    quiet.send(&pickle("awake"));
    assert_eq!(quiet.recv().as_deref(), Some(ACK));
    server.shutdown();
}

#[test]
fn huge_pickle_is_cut_off_without_hurting_others() {
    let (server, events) = start(Config::default());
    let mut good = Client::connect(server.local_addr());
    good.handshake();

    let mut big = Client::connect(server.local_addr());
    big.recv().unwrap();
    big.send(&identity());
    assert_eq!(big.recv().as_deref(), Some(ACK));
    let huge = pickle("x".repeat(10 << 20));
    let mut writer = big.stream.try_clone().unwrap();
    // The server stops reading part way: the write fails or completes into the void.
    let sender = std::thread::spawn(move || writer.write_all(&huge).is_ok());
    let event = wait_for(&events, |e| {
        matches!(e, ServerEvent::Disconnected { id: 1001, .. })
    });
    assert_eq!(
        event.to_string(),
        "Client 1001 disconnected: message larger than 65536 bytes"
    );
    let _ = sender.join();
    assert_eq!(big.recv(), None);

    good.send(&pickle("fine"));
    assert_eq!(good.recv().as_deref(), Some(ACK));
    server.shutdown();
}

#[test]
fn two_hundred_concurrent_clients_get_unique_ids() {
    let (server, _events) = start(Config::default());
    let addr = server.local_addr();
    // All connected at once before any finishes.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(200));
    let threads: Vec<_> = (0..200)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                let hello = client.handshake();
                barrier.wait();
                client.send(&pickle("bye"));
                assert_eq!(client.recv().as_deref(), Some(ACK));
                hello
            })
        })
        .collect();
    let ids: HashSet<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let expected: HashSet<String> = (1000..1200)
        .map(|id| format!("{{'clientid': {id}}}"))
        .collect();
    assert_eq!(ids, expected);
    server.shutdown();
}

#[test]
fn broadcast_reaches_identified_clients() {
    let (server, events) = start(Config::default());
    let mut a = Client::connect(server.local_addr());
    a.handshake();
    let mut b = Client::connect(server.local_addr());
    b.handshake();
    let mut pending = Client::connect(server.local_addr());
    pending.recv().unwrap();
    wait_for(&events, |e| {
        matches!(e, ServerEvent::Connected { id: 1002, .. })
    });

    assert_eq!(server.broadcast(&Message::from("class starts")).unwrap(), 2);
    assert_eq!(a.recv().as_deref(), Some("'class starts'"));
    assert_eq!(b.recv().as_deref(), Some("'class starts'"));
    assert!(server.send_to(1002, &Message::from("just you")).unwrap());
    assert_eq!(pending.recv().as_deref(), Some("'just you'"));
    assert!(!server.send_to(4242, &Message::from("nobody")).unwrap());

    assert_eq!(server.broadcast(&Message::Close).unwrap(), 2);
    assert_eq!(a.recv(), None);
    assert_eq!(b.recv(), None);
    server.shutdown();
}

#[test]
fn shutdown_gives_every_client_end_of_stream() {
    let (server, events) = start(Config::default());
    let mut a = Client::connect(server.local_addr());
    a.handshake();
    let mut b = Client::connect(server.local_addr());
    b.recv().unwrap();
    wait_for(&events, |e| {
        matches!(e, ServerEvent::Connected { id: 1001, .. })
    });
    // The lab client closes when it reads the end: shutdown need not wait out its grace.
    let readers = std::thread::spawn(move || (a.recv(), b.recv()));
    let started = Instant::now();
    server.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(readers.join().unwrap(), (None, None));
    let mut reasons: Vec<String> = events
        .try_iter()
        .filter_map(|e| match e {
            ServerEvent::Disconnected { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    reasons.dedup();
    assert_eq!(reasons, ["server shutting down"]);
}

#[test]
fn clients_beyond_max_clients_are_rejected() {
    let (server, events) = start(Config {
        max_clients: 1,
        ..Config::default()
    });
    let mut first = Client::connect(server.local_addr());
    first.handshake();
    let mut second = Client::connect(server.local_addr());
    assert_eq!(second.recv(), None);
    let event = wait_for(&events, |e| matches!(e, ServerEvent::Rejected { .. }));
    assert!(event.to_string().ends_with("too many clients (at most 1)"));
    server.shutdown();
}

#[test]
fn events_before_subscribing_are_kept_for_the_first_receiver() {
    let server = Server::start(Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    })
    .unwrap();
    let mut client = Client::connect(server.local_addr());
    client.handshake();
    let events = server.events();
    wait_for(&events, |e| {
        matches!(e, ServerEvent::Connected { id: 1000, .. })
    });
    wait_for(&events, |e| {
        matches!(e, ServerEvent::Identity { id: 1000, .. })
    });
    server.shutdown();
}

#[test]
fn port_in_use_is_an_io_error() {
    let (server, _events) = start(Config::default());
    let err = Server::start(Config {
        addr: server.local_addr(),
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    server.shutdown();
}
