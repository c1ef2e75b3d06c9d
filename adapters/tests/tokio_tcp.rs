//! The tokio adapter: the async client against the reference server in-process on
//! 127.0.0.1, timeouts around `next_event`, and the std path's errors and messages.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use brine_adapters::tcp::{ConnectOptions, Error, ErrorKind, Retry, Timeouts};
use brine_adapters::tokio_tcp::{self, Client};
use brine_core::pickle::Decoder;
use brine_core::session::{Event, Session, Waiting};
use brine_core::Identity;
use brine_server::{Config, Message, Server, ServerEvent};

fn server(script: Vec<Message>) -> Server {
    Server::start(Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        first_id: 54321,
        script,
        ..Config::default()
    })
    .unwrap()
}

fn me() -> Identity<'static, 4> {
    Identity::new().with("name", "Jose Ortiz").unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn options() -> ConnectOptions {
    ConnectOptions::new().timeout(Some(Duration::from_millis(500)))
}

#[tokio::test]
async fn handshake_and_messages_against_the_reference_server() {
    let server = server(vec![
        Message::Json(serde_json::json!([1, 2.5, "three"])),
        Message::Close,
    ]);
    let events = server.events();
    let address = server.local_addr().to_string();
    let timeouts = Timeouts::new(Some(Duration::from_secs(5)));
    let stream = tokio_tcp::connect(&address, &options()).await.unwrap();
    assert!(stream.inner().nodelay().unwrap());
    let mut client = Client::new(stream, timeouts);
    let id = client.handshake(&me()).await.unwrap();
    assert_eq!(id.to_string(), "54321");
    let mut lines = Vec::new();
    loop {
        match client.next_event().await.unwrap() {
            Event::Message(value) => lines.push(value.to_string()),
            Event::Closed => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(lines, ["'Server got the data'", "[1, 2.5, 'three']"]);
    drop(client);
    let identity = tokio::task::spawn_blocking(move || {
        events.iter().find_map(|event| match event {
            ServerEvent::Identity { value, .. } => Some(value),
            _ => None,
        })
    })
    .await
    .unwrap();
    assert_eq!(identity.as_deref(), Some("{'name': 'Jose Ortiz'}"));
    tokio::task::spawn_blocking(move || server.shutdown())
        .await
        .unwrap();
}

/// Many clients on one runtime, each with small buffers and a small decoder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_small_clients() {
    let server = server(Vec::new());
    let address = server.local_addr().to_string();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let address = address.clone();
        tasks.push(tokio::spawn(async move {
            let timeouts = Timeouts::new(Some(Duration::from_secs(10)));
            let stream = tokio_tcp::connect(&address, &ConnectOptions::new())
                .await
                .unwrap();
            let mut client: Client<Session<512, 512, Decoder<32, 32, 16, 32>>> =
                Client::with_storage(stream, timeouts);
            client.handshake(&me()).await.unwrap();
            let ack = client.next_event().await.unwrap();
            assert!(matches!(ack, Event::Message(_)));
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    tokio::task::spawn_blocking(move || server.shutdown())
        .await
        .unwrap();
}

/// The same error and message as the std path.
#[tokio::test]
async fn refused_reads_as_the_std_path() {
    let address = format!("127.0.0.1:{}", free_port());
    let Err(error) = tokio_tcp::connect(&address, &options()).await else {
        panic!("connected")
    };
    assert!(matches!(error, Error::Refused { .. }));
    assert_eq!(error.kind(), ErrorKind::Connect);
    assert_eq!(
        error.to_string(),
        format!("connection refused by {address}: is the server running?")
    );
    let Err(std_error) = brine_adapters::tcp::connect(&address, &options()) else {
        panic!("connected")
    };
    assert_eq!(error.to_string(), std_error.to_string());
}

/// Refusals are retried with backoff, then the refusal is reported; each attempt is seen.
#[tokio::test]
async fn retries_refusals() {
    let address = format!("127.0.0.1:{}", free_port());
    let mut retry = Retry::times(2);
    retry.initial_delay = Duration::from_millis(10);
    let mut attempts = 0;
    let result = tokio_tcp::connect_with(&address, &options().retry(retry), |progress| {
        if let brine_adapters::tcp::Progress::Trying { .. } = progress {
            attempts += 1;
        }
    })
    .await;
    let Err(error) = result else {
        panic!("connected")
    };
    assert!(matches!(error, Error::Refused { .. }));
    assert_eq!(attempts, 3);
}

/// Bad addresses fail as in the std path.
#[tokio::test]
async fn invalid_address() {
    let Err(error) = tokio_tcp::connect("127.0.0.1:0", &options()).await else {
        panic!("connected")
    };
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
}

/// A server that accepts and never sends the id: the handshake times out after the reply
/// bound, with the std path's message.
#[tokio::test]
async fn silent_server_times_out_waiting_for_the_id() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let keep = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(stream);
    });
    let timeouts = Timeouts::new(Some(Duration::from_millis(200)));
    let stream = tokio_tcp::connect(&address, &options()).await.unwrap();
    let mut client = Client::new(stream, timeouts);
    let started = Instant::now();
    let error = client.handshake(&me()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(
        error,
        Error::Timeout {
            waiting: Waiting::ClientId,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "timed out after 0.2 s waiting for the client id"
    );
    keep.abort();
}

/// An idle bound bounds the wait between messages, and the call that timed out lost nothing:
/// a message that arrives later is the next event.
#[tokio::test]
async fn idle_timeout_then_the_next_message() {
    let server = server(Vec::new());
    let address = server.local_addr().to_string();
    let timeouts =
        Timeouts::new(Some(Duration::from_secs(5))).with_idle(Some(Duration::from_millis(100)));
    let stream = tokio_tcp::connect(&address, &options()).await.unwrap();
    let mut client = Client::new(stream, timeouts);
    let id = client.handshake(&me()).await.unwrap();
    let ack = client.next_event().await.unwrap();
    assert!(matches!(ack, Event::Message(_)));
    let error = client.next_event().await.unwrap_err();
    assert!(matches!(error, Error::Idle { .. }));
    assert_eq!(error.to_string(), "no message for 0.1 s (idle timeout)");

    let Some(id) = id.as_i64() else {
        panic!("not an int id: {id}")
    };
    assert!(server.send_to(id, &Message::from("later")).unwrap());
    let later = client.next_event().await.unwrap();
    let Event::Message(value) = later else {
        panic!("expected the message")
    };
    assert_eq!(value.to_string(), "'later'");
    drop(client);
    tokio::task::spawn_blocking(move || server.shutdown())
        .await
        .unwrap();
}

/// Issue 12 point 6, as the std path: a CPython server (tests/servers/hostile_server.py,
/// mode `id-reset`) accepts, sends the id and one message in one write and resets the
/// connection (SO_LINGER 0) without reading. A completed connection is never a connect
/// failure, whenever the reset comes; the message is delivered, then the reset.
#[tokio::test]
async fn what_arrived_before_a_reset_is_delivered_then_the_reset() {
    use std::io::BufRead;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/servers/hostile_server.py"
    );
    for round in 0..16 {
        let mut server = std::process::Command::new("python3")
            .args([script, "--mode", "id-reset", "--accept-timeout", "10"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is required (scripts/test installs it)");
        let mut output = std::io::BufReader::new(server.stdout.take().unwrap());
        let mut first = String::new();
        output.read_line(&mut first).unwrap();
        let port = first.trim().strip_prefix("PORT ").expect(&first).to_owned();
        let address = format!("127.0.0.1:{port}");
        let stream = tokio_tcp::connect(&address, &options())
            .await
            .unwrap_or_else(|e| panic!("round {round}: a completed connection failed: {e}"));
        let mut client = Client::new(stream, Timeouts::new(Some(Duration::from_secs(5))));
        let id = client.handshake(&me()).await;
        assert_eq!(
            id.map(|id| id.to_string()).map_err(|e| e.to_string()),
            Ok("54321".to_owned()),
            "round {round}"
        );
        match client.next_event().await {
            Ok(Event::Message(value)) => {
                assert_eq!(value.to_string(), "'message before the fault'")
            }
            other => panic!("round {round}: {other:?}"),
        }
        let err = client.next_event().await.map(|_| ()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "round {round}: {err}");
        assert_eq!(err.to_string(), "the server reset the connection");
        let rest: Vec<String> = output.lines().map(Result::unwrap).collect();
        assert!(server.wait().unwrap().success(), "round {round}: {rest:?}");
    }
}

/// `python3 -u tests/servers/SCRIPT ARGS` (real CPython), killed when dropped, and its port
/// from its `PORT <n>` first line.
struct Python(std::process::Child);

impl Python {
    fn start(script: &str, args: &[&str]) -> (Python, String) {
        use std::io::BufRead;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/servers")
            .join(script);
        let mut child = std::process::Command::new("python3")
            .arg("-u")
            .arg(&path)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 {}: {e}", path.display()));
        let mut first = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        let port = first
            .trim()
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("{script}: first line is not `PORT <n>`: {first:?}"));
        let address = format!("127.0.0.1:{port}");
        // Its console, read to the end (a closed pipe would kill it at its next line).
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        (Python(child), address)
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The events until the server closes, as text.
async fn events_until_closed(client: &mut Client) -> Vec<String> {
    let mut events = Vec::new();
    loop {
        events.push(match client.next_event().await.unwrap() {
            Event::Greeting(value) => format!("greeting {value}"),
            Event::Message(value) => format!("message {value}"),
            Event::Skipped { len, .. } => format!("skipped {len}"),
            Event::Closed => return events,
            other => format!("{other:?}"),
        });
    }
}

/// A length-prefixed conversation in which the client speaks first, through the async
/// driver: the envelope server (tests/servers/dialect_servers.py, CPython).
#[tokio::test]
async fn len32_client_speaks_first_to_cpython_envelope_server() {
    use brine_core::framing::Framing;
    use brine_core::session::Greeting;
    let (_server, address) = Python::start("dialect_servers.py", &["--style", "envelope"]);
    let stream = tokio_tcp::connect(&address, &options()).await.unwrap();
    let mut client = Client::new(stream, Timeouts::new(Some(Duration::from_secs(10))));
    client.set_framing(Framing::Len32);
    client.set_greeting(Greeting::None);
    let hello = std::collections::BTreeMap::from([("type", "HELLO"), ("content", "Ada")]);
    client.begin(&hello).await.unwrap();
    match client.next_event().await.unwrap() {
        Event::Message(value) => assert_eq!(
            value.to_string(),
            "{'type': 'WELCOME', 'content': 'Hello Ada'}"
        ),
        other => panic!("expected the welcome, got {other:?}"),
    }
    client
        .send(&std::collections::BTreeMap::from([("type", "QUIT")]))
        .await
        .unwrap();
    assert_eq!(
        events_until_closed(&mut client).await,
        ["message {'type': 'BYE', 'content': None}"]
    );
}

/// multiprocessing.connection's framing through the async driver against CPython's
/// `Listener` without an authkey (tests/servers/mp_peer.py): its greeting, an answer larger
/// than the 4 KiB buffer skipped by its length, then the next message.
#[tokio::test]
async fn multiprocessing_framing_with_a_cpython_listener() {
    use brine_core::framing::Framing;
    use brine_core::session::Greeting;
    let (_server, address) = Python::start("mp_peer.py", &["listen"]);
    let stream = tokio_tcp::connect(&address, &options()).await.unwrap();
    let mut client = Client::new(stream, Timeouts::new(Some(Duration::from_secs(10))));
    client.set_framing(Framing::Multiprocessing);
    client.set_greeting(Greeting::Any);
    client.begin_without_identity();
    match client.next_event().await.unwrap() {
        Event::Greeting(value) => assert!(
            value
                .to_string()
                .starts_with("{'hello': 'from python', 'version': [3, "),
            "{value}"
        ),
        other => panic!("expected the greeting, got {other:?}"),
    }
    client
        .send(&std::collections::BTreeMap::from([("blob", 100_000)]))
        .await
        .unwrap();
    // len(ForkingPickler.dumps(b'x' * 100000)) is 100,009; with the 4-byte prefix.
    match client.next_event().await.unwrap() {
        Event::Skipped { len, .. } => assert_eq!(len, 4 + 100_009),
        other => panic!("expected a skip, got {other:?}"),
    }
    client.send("bye").await.unwrap();
    assert_eq!(events_until_closed(&mut client).await, ["message 'bye'"]);
}
