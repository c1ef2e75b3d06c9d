//! The embedded-nal adapter on the desktop: `std-embedded-nal`'s `TcpClientStack` (embedded-nal
//! 0.9, non-blocking std sockets, so every wait goes through `WouldBlock`) against the
//! reference server, in-process on 127.0.0.1; and the same sockets with smoltcp-nal's
//! conventions (`Ok(0)` for "nothing yet", `PipeClosed` at the end), for `OkZero`. The
//! smoltcp stack itself is tested under QEMU (tests/tests/firmware_net.rs).

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brine_adapters::nal::{self, OkZero, Op, TimedOut, WouldBlock};
use brine_core::blocking::{self, Client};
use brine_core::session::{self, Event, Waiting};
use brine_core::Identity;
use brine_server::{Config, Message, Server, ServerEvent};
use embedded_nal::{nb, TcpClientStack, TcpError, TcpErrorKind};
use std_embedded_nal::Stack;

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
    Identity::new()
        .with("name", "Jose Ortiz")
        .unwrap()
        .with("email", "jose@sfsu.edu")
        .unwrap()
}

/// Sleeps a little on each `WouldBlock` (as firmware would wait for its network interrupt),
/// counts them (in a counter another thread can read), and gives up past a deadline.
#[derive(Default)]
struct Sleepy {
    calls: Arc<AtomicU32>,
    deadline: Option<Instant>,
}

impl WouldBlock<Stack> for Sleepy {
    fn would_block(&mut self, _: &mut Stack, _: Op) -> Result<(), TimedOut> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(TimedOut);
        }
        std::thread::sleep(Duration::from_millis(1));
        Ok(())
    }
}

/// The messages after the acknowledgement are broadcast only once the client has waited
/// through its hook at least once, so the non-blocking reads must have met `WouldBlock`
/// (before, the whole script could already be in the kernel at each read: CI saw 0 waits).
#[test]
fn handshake_and_messages_against_the_reference_server() {
    let server = server(Vec::new());
    let events = server.events();
    let calls = Arc::new(AtomicU32::new(0));
    let hook = Sleepy {
        calls: Arc::clone(&calls),
        deadline: None,
    };
    let addr = server.local_addr();
    let client = std::thread::spawn(move || {
        let mut stack = Stack;
        let transport = nal::connect(&mut stack, addr, hook).unwrap();
        let mut client: Client<_> = Client::new(transport);
        let id = client.handshake(&me()).unwrap().to_string();
        let mut lines = Vec::new();
        client
            .run(|event| match event {
                Event::Message(value) => lines.push(value.to_string()),
                Event::Closed => lines.push("closed".into()),
                _ => {}
            })
            .unwrap();
        client.into_inner().close().unwrap();
        (id, lines)
    });

    let identity = events
        .iter()
        .find_map(|event| match event {
            ServerEvent::Identity { id, value, .. } => Some((id, value)),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        identity,
        (
            54321,
            "{'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu'}".into()
        )
    );
    // The stack is non-blocking: with nothing left to read, the client waits through the hook.
    let deadline = Instant::now() + Duration::from_secs(10);
    while calls.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the client never waited through its WouldBlock hook"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    for message in [
        Message::Json(serde_json::json!({"lab": "TCP", "points": 10})),
        Message::Str("Bye!".into()),
        Message::Close,
    ] {
        assert_eq!(server.broadcast(&message).unwrap(), 1);
    }
    let (id, lines) = client.join().unwrap();
    assert_eq!(id, "54321");
    assert_eq!(
        lines,
        [
            "'Server got the data'",
            "{'lab': 'TCP', 'points': 10}",
            "'Bye!'",
            "closed"
        ]
    );
    server.shutdown();
}

/// A closure hook that polls nothing (busy retry) works too, and a client can send after its
/// handshake; the server acknowledges it.
#[test]
fn closure_hook_and_send() {
    let server = server(Vec::new());
    let events = server.events();
    let mut stack = Stack;
    let transport = nal::connect(&mut stack, server.local_addr(), |_: &mut Stack| {
        std::thread::yield_now();
        Ok(())
    })
    .unwrap();
    let mut client: Client<_> = Client::new(transport);
    client.handshake(&me()).unwrap();
    client.send("hello from embedded-nal").unwrap();
    let mut acks = 0;
    while acks < 2 {
        match client.next_event().unwrap() {
            Event::Message(value) => {
                assert_eq!(value.to_string(), "'Server got the data'");
                acks += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let received = events.iter().find_map(|event| match event {
        ServerEvent::Received { repr, .. } => Some(repr),
        _ => None,
    });
    assert_eq!(received.as_deref(), Some("'hello from embedded-nal'"));
    drop(client); // closes the socket through the stack
    server.shutdown();
}

/// A hook that gives up bounds the wait: a server that never sends the id yields a
/// `TimedOut` transport error while the session waits for the client id; a `BeforeRead` hook
/// arms the deadline through `would_block_mut`.
#[test]
fn the_hook_bounds_a_silent_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let silent = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        drop(stream);
    });
    let mut stack = Stack;
    let transport = nal::connect(&mut stack, addr, Sleepy::default()).unwrap();
    let arm = |t: &mut nal::Transport<'_, Stack, Sleepy>, waiting: Waiting| {
        if waiting == Waiting::ClientId && t.would_block_mut().deadline.is_none() {
            t.would_block_mut().deadline = Some(Instant::now() + Duration::from_millis(200));
        }
        Ok(())
    };
    let mut client = Client::with_before_read(transport, arm);
    let started = Instant::now();
    let error = client.handshake(&me()).unwrap_err();
    assert!(matches!(
        error,
        blocking::Error::Transport(nal::Error::TimedOut)
    ));
    assert_eq!(client.session().waiting(), Waiting::ClientId);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        embedded_io::Error::kind(
            &nal::Error::<<Stack as embedded_nal::TcpClientStack>::Error>::TimedOut
        ),
        embedded_io::ErrorKind::TimedOut
    );
    drop(client);
    silent.join().unwrap();
}

/// Nothing listening: the stack's error comes back and the socket is closed.
#[test]
fn refused() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut stack = Stack;
    let result = nal::connect(&mut stack, SocketAddr::from(([127, 0, 0, 1], port)), ());
    let Err(nal::Error::Stack(e)) = result else {
        panic!("connected to a closed port")
    };
    assert_eq!(e.0.kind(), std::io::ErrorKind::ConnectionRefused);
}

type StdError = <Stack as TcpClientStack>::Error;
type StdSocket = <Stack as TcpClientStack>::TcpSocket;

/// std-embedded-nal with smoltcp-nal 0.7's conventions: "nothing yet" (`WouldBlock`) is
/// `Ok(0)`, a full transmit buffer is `Ok(0)`, and the end of the stream (std's `Ok(0)`) is an
/// error of kind `PipeClosed`. Counts the `Ok(0)` answers it gave for "nothing yet".
///
/// Its first receive always answers "nothing yet", as smoltcp does before its interface has
/// been polled: whether the server's bytes are already in the kernel when the client first
/// reads is a race, and the tests below must not depend on it.
#[derive(Default)]
struct ZeroWhenQuiet {
    inner: Stack,
    quiet_zeros: u32,
}

#[derive(Debug)]
enum QuietError {
    Std(StdError),
    /// The peer closed its direction (smoltcp's `RecvError::Finished`).
    Finished,
}

impl TcpError for QuietError {
    fn kind(&self) -> TcpErrorKind {
        match self {
            QuietError::Std(e) => e.kind(),
            QuietError::Finished => TcpErrorKind::PipeClosed,
        }
    }
}

impl TcpClientStack for ZeroWhenQuiet {
    type TcpSocket = StdSocket;
    type Error = QuietError;

    fn socket(&mut self) -> Result<StdSocket, QuietError> {
        self.inner.socket().map_err(QuietError::Std)
    }

    fn connect(
        &mut self,
        socket: &mut StdSocket,
        remote: SocketAddr,
    ) -> nb::Result<(), QuietError> {
        self.inner
            .connect(socket, remote)
            .map_err(|e| e.map(QuietError::Std))
    }

    fn send(&mut self, socket: &mut StdSocket, buffer: &[u8]) -> nb::Result<usize, QuietError> {
        match self.inner.send(socket, buffer) {
            Err(nb::Error::WouldBlock) => Ok(0),
            other => other.map_err(|e| e.map(QuietError::Std)),
        }
    }

    fn receive(
        &mut self,
        socket: &mut StdSocket,
        buffer: &mut [u8],
    ) -> nb::Result<usize, QuietError> {
        if self.quiet_zeros == 0 {
            self.quiet_zeros += 1;
            return Ok(0);
        }
        match self.inner.receive(socket, buffer) {
            Err(nb::Error::WouldBlock) => {
                self.quiet_zeros += 1;
                Ok(0)
            }
            Ok(0) => Err(nb::Error::Other(QuietError::Finished)),
            other => other.map_err(|e| e.map(QuietError::Std)),
        }
    }

    fn close(&mut self, socket: StdSocket) -> Result<(), QuietError> {
        self.inner.close(socket).map_err(QuietError::Std)
    }
}

/// Sleeps 1 ms per wait (the server sends after the identity arrives, so reads find nothing at
/// first) and gives up after 5 s.
fn patient<S>() -> impl FnMut(&mut S) -> Result<(), TimedOut> {
    let deadline = Instant::now() + Duration::from_secs(5);
    move |_: &mut S| {
        if Instant::now() >= deadline {
            return Err(TimedOut);
        }
        std::thread::sleep(Duration::from_millis(1));
        Ok(())
    }
}

/// The messages of a session, then `closed`.
fn session_lines<T: embedded_io::Read + embedded_io::Write>(
    client: &mut Client<T>,
) -> Result<Vec<String>, blocking::Error<T::Error>> {
    let mut lines = vec![format!("id {}", client.handshake(&me())?)];
    client.run(|event| match event {
        Event::Message(value) => lines.push(value.to_string()),
        Event::Closed => lines.push("closed".into()),
        _ => {}
    })?;
    Ok(lines)
}

fn assert_closed_before_id<E: std::fmt::Debug>(error: blocking::Error<E>) {
    assert!(
        matches!(
            error,
            blocking::Error::Session(session::Error::Peer(
                session::PeerFault::ClosedBeforeClientId
            ))
        ),
        "{error:?}"
    );
}

/// A stack that says `Ok(0)` for "nothing yet": with `OkZero::WouldBlock` the session runs to
/// the server's close (seen as `PipeClosed`); with the default `OkZero::End` the first quiet
/// read looks like the end of the stream.
#[test]
fn ok_zero_as_would_block_on_a_quiet_stack() {
    let script = || {
        vec![
            Message::Json(serde_json::json!({"lab": "TCP", "points": 10})),
            Message::Close,
        ]
    };
    let server = server(script());
    let mut stack = ZeroWhenQuiet::default();
    let transport = nal::connect(&mut stack, server.local_addr(), patient())
        .unwrap()
        .ok_zero(OkZero::WouldBlock);
    let mut client: Client<_> = Client::new(transport);
    let lines = session_lines(&mut client).unwrap();
    assert_eq!(
        lines,
        [
            "id 54321",
            "'Server got the data'",
            "{'lab': 'TCP', 'points': 10}",
            "closed"
        ]
    );
    drop(client);
    assert!(
        stack.quiet_zeros > 0,
        "the stack never said Ok(0) for nothing yet"
    );
    server.shutdown();

    // The default reading: the quiet stack's first Ok(0) ends the stream too early.
    let server = self::server(script());
    let mut stack = ZeroWhenQuiet::default();
    let transport = nal::connect(&mut stack, server.local_addr(), patient()).unwrap();
    let mut client: Client<_> = Client::new(transport);
    assert_closed_before_id(session_lines(&mut client).unwrap_err());
    drop(client);
    server.shutdown();
}

/// Both readings see a real close before the client id: `PipeClosed` on the quiet stack,
/// std's `Ok(0)` on std-embedded-nal; neither waits for the hook's timeout.
#[test]
fn a_real_close_is_seen_with_either_reading() {
    fn closing_server() -> (SocketAddr, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let closer = std::thread::spawn(move || drop(listener.accept().unwrap()));
        (addr, closer)
    }
    let started = Instant::now();

    let (addr, closer) = closing_server();
    let mut stack = ZeroWhenQuiet::default();
    let transport = nal::connect(&mut stack, addr, patient())
        .unwrap()
        .ok_zero(OkZero::WouldBlock);
    let mut client: Client<_> = Client::new(transport);
    assert_closed_before_id(client.handshake(&me()).unwrap_err());
    drop(client);
    closer.join().unwrap();

    let (addr, closer) = closing_server();
    let mut stack = Stack;
    let transport = nal::connect(&mut stack, addr, patient()).unwrap();
    let mut client: Client<_> = Client::new(transport);
    assert_closed_before_id(client.handshake(&me()).unwrap_err());
    drop(client);
    closer.join().unwrap();

    assert!(
        started.elapsed() < Duration::from_secs(4),
        "a close waited for the timeout"
    );
}
