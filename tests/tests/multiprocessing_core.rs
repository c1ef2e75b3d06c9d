//! brine-core's `multiprocessing::Handshake` and `framing::Deframer` against CPython's own
//! `multiprocessing.connection.Listener` and `Client` (tests/servers/mp_peer.py), over real
//! TCP on 127.0.0.1, driven by a small std loop: both directions, the machine's python3
//! (3.11, HMAC-MD5) and pyenv's 3.12 (`{sha256}`), right key, wrong key, a key on one side
//! only, messages around Python's 16 KiB single-write threshold and larger than the buffer.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use brine_core::framing::{Deframer, Frame, Framing, MAX_PREFIX};
use brine_core::multiprocessing::{AuthError, Awaiting, Digest, Handshake, Role, CHALLENGE};
use brine_core::pickle::{self, Decoder, Protocol};
use brine_e2e::{pyenv_python, python_server, Proc};

const KEY_VAR: &str = "BRINE_TEST_AUTHKEY";

/// A connection framed as multiprocessing.connection frames it, with a `CAP`-byte buffer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    cap: usize,
    deframer: Deframer,
}

/// What one receive gave.
#[derive(Debug, PartialEq)]
enum Got {
    /// A message, as Python's repr prints it.
    Repr(String),
    /// A message longer than the buffer, skipped: its length with the prefix.
    Skipped(u64),
    Closed,
}

impl Conn {
    fn new(stream: TcpStream, cap: usize) -> Conn {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Conn {
            stream,
            buf: Vec::new(),
            cap,
            deframer: Deframer::new(Framing::Multiprocessing),
        }
    }

    /// Runs the handshake; returns it (for its digests) or its error, with any #FAILURE#
    /// flushed as CPython does.
    fn handshake<'k>(&mut self, role: Role, key: &'k [u8]) -> Result<Handshake<'k>, AuthError> {
        let nonce: [u8; 40] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        let mut hs = Handshake::new(role, key, nonce);
        loop {
            let tx = hs.transmit().to_vec();
            self.stream.write_all(&tx).unwrap();
            hs.transmitted(tx.len());
            if hs.is_done() {
                return Ok(hs);
            }
            if self.buf.is_empty() && !self.fill() {
                return Err(hs.peer_closed().unwrap());
            }
            match hs.receive(&self.buf) {
                Ok(n) => {
                    self.buf.drain(..n);
                }
                Err(e) => {
                    let tx = hs.transmit().to_vec();
                    let _ = self.stream.write_all(&tx);
                    return Err(e);
                }
            }
        }
    }

    /// Reads more bytes (up to the buffer's capacity); false at EOF.
    fn fill(&mut self) -> bool {
        let mut chunk = vec![0; (self.cap - self.buf.len()).max(1)];
        let n = self.stream.read(&mut chunk).expect("read (10 s timeout)");
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    fn send<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        let mut body = vec![0; 1 << 20];
        let n = pickle::to_slice(value, &mut body, Protocol::V4)
            .unwrap()
            .len();
        let mut prefix = [0; MAX_PREFIX];
        let h = Framing::Multiprocessing
            .encode_prefix(n, &mut prefix)
            .unwrap();
        let mut message = prefix[..h].to_vec();
        message.extend_from_slice(&body[..n]);
        self.stream.write_all(&message).unwrap();
    }

    fn recv(&mut self) -> Got {
        loop {
            match self.deframer.next(&self.buf, self.cap).unwrap() {
                Frame::Message { start, end } => {
                    let mut decoder = Decoder::<64, 64, 64, 64>::new();
                    let got = match decoder.decode(&self.buf[start..end]) {
                        Ok(value) => Got::Repr(value.to_string()),
                        Err(e) => Got::Repr(format!("undecodable: {e}")),
                    };
                    self.buf.drain(..end);
                    return got;
                }
                Frame::Discard { n } => {
                    self.buf.drain(..n);
                }
                Frame::Skipped { n, len } => {
                    self.buf.drain(..n);
                    return Got::Skipped(len);
                }
                Frame::NeedMore => {
                    if !self.fill() {
                        return Got::Closed;
                    }
                }
                Frame::Delimited => unreachable!(),
            }
        }
    }
}

fn listener(python: &Path, key: Option<&str>) -> brine_e2e::Server {
    match key {
        Some(k) => python_server(
            python,
            "mp_peer.py",
            &["listen", "--authkey-env", KEY_VAR],
            &[(KEY_VAR, k)],
        ),
        None => python_server(python, "mp_peer.py", &["listen"], &[]),
    }
}

fn python3() -> PathBuf {
    PathBuf::from("python3")
}

fn connect(server: &brine_e2e::Server, cap: usize) -> Conn {
    Conn::new(TcpStream::connect(server.addr()).unwrap(), cap)
}

/// A whole conversation as a `Client` with the right key against `python`'s `Listener`.
fn client_conversation(python: &Path, digest: Digest, version: &str) {
    let server = listener(python, Some("s3cret"));
    let mut conn = connect(&server, 64 * 1024);
    let hs = conn.handshake(Role::Client, b"s3cret").unwrap();
    assert_eq!(hs.digests(), (Some(digest), Some(digest)));
    assert_eq!(
        conn.recv(),
        Got::Repr(format!(
            "{{'hello': 'from python', 'version': [{version}]}}"
        ))
    );
    conn.send(&("tuple", 1));
    assert_eq!(conn.recv(), Got::Repr("{'echo': ('tuple', 1)}".into()));
    // Around Python's 16 KiB single-write threshold (header and body written apart above
    // 16384 bytes), and larger than the buffer: skipped by its length, the next one read.
    for n in [16_360, 16_384, 16_400, 40_000] {
        let mut text = std::collections::BTreeMap::new();
        text.insert("text", n);
        conn.send(&text);
        match conn.recv() {
            Got::Repr(r) => assert!(
                r.len() == n + 2 && r.starts_with("'yyy"),
                "{n}: {}",
                &r[..20]
            ),
            other => panic!("{n}: {other:?}"),
        }
    }
    let mut blob = std::collections::BTreeMap::new();
    blob.insert("blob", 100_000);
    conn.send(&blob);
    // len(ForkingPickler.dumps(b'x' * 100000)) is 100,009 in 3.11 and 3.12; 4-byte prefix.
    assert_eq!(conn.recv(), Got::Skipped(4 + 100_009));
    conn.send("bye");
    assert_eq!(conn.recv(), Got::Repr("'bye'".into()));
    assert_eq!(conn.recv(), Got::Closed);
    let out = server.wait();
    assert!(
        out.stdout.iter().any(|l| l == "RECEIVED ('tuple', 1)"),
        "{:?}",
        out.stdout
    );
}

#[test]
fn client_with_the_right_key_talks_to_python3_listener_md5() {
    client_conversation(&python3(), Digest::Md5, "3, 11");
}

#[test]
fn client_with_the_right_key_talks_to_python312_listener_sha256() {
    client_conversation(&pyenv_python(12), Digest::Sha256, "3, 12");
}

#[test]
fn client_with_a_wrong_key_is_rejected_by_both_generations() {
    for python in [python3(), pyenv_python(12)] {
        let server = listener(&python, Some("right"));
        let mut conn = connect(&server, 4096);
        let err = conn.handshake(Role::Client, b"wrong").unwrap_err();
        assert_eq!(err, AuthError::Rejected, "{}", python.display());
        assert!(err.to_string().contains("authkey differs"));
        let out = server.wait();
        assert!(
            out.stdout
                .iter()
                .any(|l| l == "ERROR AuthenticationError: digest received was wrong"),
            "{:?}",
            out.stdout
        );
    }
}

#[test]
fn client_with_a_key_against_a_listener_without_one_is_told_so() {
    let server = listener(&python3(), None);
    let mut conn = connect(&server, 4096);
    let err = conn.handshake(Role::Client, b"k").unwrap_err();
    assert!(matches!(err, AuthError::NotAChallenge(_)), "{err:?}");
    assert!(err.to_string().contains("it has no authkey"), "{err}");
}

#[test]
fn client_without_a_key_sees_the_challenge_as_its_first_message() {
    let server = listener(&pyenv_python(12), Some("k"));
    let mut conn = connect(&server, 4096);
    // What a session without a key receives first: not a pickle, but the challenge.
    loop {
        if let Frame::Message { start, end } = conn.deframer.next(&conn.buf, 4096).unwrap() {
            assert!(conn.buf[start..end].starts_with(CHALLENGE));
            assert_eq!(end - start, 11 + 8 + 40);
            break;
        }
        assert!(conn.fill());
    }
}

/// Our listener (the role of `Listener(..., authkey=k).accept()`) and `python`'s Client;
/// the connection and the digests (ours, theirs) once authenticated.
type Served = Result<(Conn, (Option<Digest>, Option<Digest>)), AuthError>;

fn serve_one(python: &Path, client_key: Option<&str>, our_key: &[u8]) -> (Served, Proc) {
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port().to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/mp_peer.py");
    let mut command = Command::new(python);
    command
        .arg("-u")
        .arg(script)
        .args(["connect", &port, "--send", r#"{"n": [1, 2.5, "x"]}"#]);
    if let Some(key) = client_key {
        command.args(["--authkey-env", KEY_VAR]).env(KEY_VAR, key);
    }
    let client = Proc::spawn("mp_peer.py connect", command);
    let (stream, _) = socket.accept().unwrap();
    let mut conn = Conn::new(stream, 4096);
    let result = match conn.handshake(Role::Listener, our_key) {
        Ok(hs) => Ok(hs.digests()),
        Err(e) => Err(e),
    };
    (result.map(|d| (conn, d)), client)
}

#[test]
fn listener_with_the_right_key_serves_python_clients_of_both_generations() {
    for (python, digest) in [(python3(), Digest::Md5), (pyenv_python(12), Digest::Sha256)] {
        let (served, client) = serve_one(&python, Some("shared"), b"shared");
        let (mut conn, digests) = served.unwrap();
        assert_eq!(
            digests,
            (Some(digest), Some(digest)),
            "{}",
            python.display()
        );
        conn.send(&("welcome", python.display().to_string().len()));
        assert_eq!(conn.recv(), Got::Repr("{'n': [1, 2.5, 'x']}".into()));
        conn.send("done");
        drop(conn);
        let out = client.wait(Duration::from_secs(20));
        assert_eq!(out.stdout[0], "CONNECTED", "{:?}", out.stdout);
        assert!(
            out.stdout[1].starts_with("RECEIVED ('welcome', "),
            "{:?}",
            out.stdout
        );
        assert_eq!(
            out.stdout[2..],
            ["SENT {'n': [1, 2.5, 'x']}", "RECEIVED 'done'", "CLOSED"]
        );
    }
}

#[test]
fn listener_refuses_a_wrong_key_and_python_hears_failure() {
    for python in [python3(), pyenv_python(12)] {
        let (conn, client) = serve_one(&python, Some("theirs"), b"ours");
        let err = conn.err().unwrap();
        assert!(matches!(err, AuthError::WrongAnswer { .. }), "{err:?}");
        let out = client.wait(Duration::from_secs(20));
        assert_eq!(
            out.stdout,
            ["ERROR AuthenticationError: digest sent was rejected"],
            "{}",
            python.display()
        );
    }
}

#[test]
fn listener_with_a_key_and_a_client_without_one() {
    // The Client without a key reads our challenge as its first object and fails to load
    // it; we wait for an answer that never comes and see the connection close.
    let (conn, client) = serve_one(&python3(), None, b"k");
    let err = conn.err().unwrap();
    assert_eq!(
        err,
        AuthError::Closed {
            awaiting: Awaiting::Answer
        }
    );
    let out = client.wait(Duration::from_secs(20));
    assert_eq!(out.stdout[0], "CONNECTED");
    assert!(
        out.stdout[1].starts_with("ERROR UnpicklingError"),
        "{:?}",
        out.stdout
    );
}

/// brine-core's `mp_listener` example, built by the Cargo running the tests.
fn mp_listener_example() -> PathBuf {
    let manifest = brine_e2e::workspace_dir().join("Cargo.toml");
    let messages = escargot::CargoBuild::new()
        .manifest_path(&manifest)
        .package("brine-core")
        .example("mp_listener")
        .args(["--quiet"])
        .exec()
        .unwrap_or_else(|e| panic!("cannot build the mp_listener example: {e}"));
    for message in messages {
        let message = message.unwrap_or_else(|e| panic!("cargo build failed: {e}"));
        if let Ok(escargot::format::Message::CompilerArtifact(a)) = message.decode() {
            if let Some(exe) = a.executable {
                return PathBuf::from(exe.as_ref());
            }
        }
    }
    panic!("cargo reported no mp_listener executable");
}

#[test]
fn the_listener_example_serves_python_clients_of_both_generations() {
    let example = mp_listener_example();
    for python in [python3(), pyenv_python(12), pyenv_python(13)] {
        let mut command = Command::new(&example);
        command.env("BRINE_AUTHKEY", "ex4mple");
        let mut server = Proc::spawn("mp_listener example", command);
        let port =
            server.wait_line(Duration::from_secs(10), |l| l.starts_with("PORT "))[5..].to_string();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/mp_peer.py");
        let mut client = Command::new(&python);
        client
            .arg("-u")
            .arg(script)
            .args(["connect", &port, "--authkey-env", KEY_VAR])
            .args([
                "--send",
                r#"{"n": [1, 2.5]}"#,
                "--send",
                r#""second""#,
                "--replies",
                "1",
            ])
            .env(KEY_VAR, "ex4mple");
        let out = Proc::spawn("mp_peer.py connect", client).wait(Duration::from_secs(20));
        assert_eq!(
            out.stdout,
            [
                "CONNECTED",
                "RECEIVED {'hello': 'from brine'}",
                "SENT {'n': [1, 2.5]}",
                "RECEIVED ('got', 1)",
                "SENT 'second'",
                "RECEIVED ('got', 2)",
            ],
            "{}",
            python.display()
        );
        let served = server.wait(Duration::from_secs(10));
        assert_eq!(
            served.stdout,
            [
                "PORT ".to_string() + &port,
                "{'n': [1, 2.5]}".into(),
                "'second'".into()
            ]
        );
    }
}

/// The example listening with `timeout` seconds for the handshake and the key `ex4mple`;
/// its port.
fn example_listener(example: &Path, timeout: &str) -> (Proc, String) {
    let mut command = Command::new(example);
    command
        .args(["127.0.0.1:0", timeout])
        .env("BRINE_AUTHKEY", "ex4mple");
    let mut server = Proc::spawn("mp_listener example", command);
    let port =
        server.wait_line(Duration::from_secs(10), |l| l.starts_with("PORT "))[5..].to_string();
    (server, port)
}

#[test]
fn the_listener_example_names_a_client_without_a_key_a_wrong_key_and_a_silent_peer() {
    let example = mp_listener_example();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/mp_peer.py");
    let cases: [(&[&str], Option<&str>, &str, &str); 3] = [
        // Receives first: reads our #CHALLENGE# as a pickle, fails, closes.
        (
            &["--replies", "1"],
            None,
            "error: the peer closed the connection while we waited for the peer's answer to \
             our challenge (a Client without an authkey fails to load our #CHALLENGE# as data \
             and closes: give it the authkey)",
            "ERROR UnpicklingError: invalid load key, '#'.",
        ),
        // Sends first: its pickle arrives where the answer should.
        (
            &["--first", r#""hi""#],
            None,
            "error: the peer sent data b'\\x80\\x04\\x95\\x06\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x8c\\x02hi\\x94.' \
             (17 bytes) instead of answering our challenge: it has no authkey (sent #FAILURE#)",
            "ERROR UnpicklingError: invalid load key, '#'.",
        ),
        (
            &[],
            Some("wrong"),
            "error: the peer's sha256 answer to our challenge is wrong: its authkey differs \
             from ours (sent #FAILURE#)",
            "ERROR AuthenticationError: digest sent was rejected",
        ),
    ];
    for (args, key, ours, theirs) in cases {
        let (server, port) = example_listener(&example, "10");
        let mut client = Command::new(pyenv_python(12));
        client
            .arg("-u")
            .arg(&script)
            .args(["connect", &port])
            .args(args);
        if let Some(key) = key {
            client.args(["--authkey-env", KEY_VAR]).env(KEY_VAR, key);
        }
        let out = Proc::spawn("mp_peer.py connect", client).wait(Duration::from_secs(20));
        assert_eq!(out.stdout.last().map(String::as_str), Some(theirs), "{out}");
        let served = server.wait(Duration::from_secs(10));
        served.assert_code(1).assert_stderr_has(ours);
    }
    // A peer that connects and says nothing: the handshake's wait is bounded.
    let (server, port) = example_listener(&example, "1");
    let silent = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    let served = server.wait(Duration::from_secs(10));
    served.assert_code(1).assert_stderr_has(
        "error: waited 1 s for the peer's answer to our challenge: is the peer a \
         multiprocessing.connection Client with the authkey?",
    );
    drop(silent);
}
