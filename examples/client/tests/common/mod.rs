//! Helpers of the CLI's end-to-end tests: CPython-identical pickles, small servers on
//! 127.0.0.1, and the real `brine` binary run with a clean environment.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use brine_core::pickle::{to_slice, Decoder, Protocol};
use serde::Serialize;

pub const BRINE: &str = env!("CARGO_BIN_EXE_brine");

/// CPython-identical pickle bytes of `value`.
pub fn pickle<T: Serialize + ?Sized>(value: &T, protocol: Protocol) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    to_slice(value, &mut buf, protocol).unwrap().to_vec()
}

pub fn p4<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    pickle(value, Protocol::V4)
}

pub fn hello(id: i64) -> Vec<u8> {
    p4(&BTreeMap::from([("clientid", id)]))
}

/// Reads one pickle (the identity) from the client; returns its bytes.
pub fn read_pickle(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the client closed before sending its identity");
        got.extend_from_slice(&chunk[..n]);
        if Decoder::<256, 256, 256, 256>::new().decode(&got).is_ok() {
            return got;
        }
    }
}

pub fn repr(pickle: &[u8]) -> String {
    let mut decoder: Decoder = Decoder::new();
    decoder.decode(pickle).unwrap().to_string()
}

/// A server on 127.0.0.1 that runs `serve` on its first connection; the handle gives back
/// what `serve` returns.
pub fn server<T: Send + 'static>(
    serve: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (String, thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || serve(listener.accept().unwrap().0));
    (addr, handle)
}

/// The lab server: id, read the identity, ack, then `messages`, then close. Returns the
/// identity's bytes.
pub fn lab_server(messages: Vec<Vec<u8>>) -> (String, thread::JoinHandle<Vec<u8>>) {
    server(move |mut stream| {
        stream.write_all(&hello(54321)).unwrap();
        let identity = read_pickle(&mut stream);
        stream.write_all(&p4("Server got the data")).unwrap();
        for m in messages {
            stream.write_all(&m).unwrap();
        }
        identity
    })
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `brine args...` with no BRINE_* variables from the caller's environment, plus `env`.
pub fn brine_env(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(BRINE);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("BRINE_") {
            cmd.env_remove(key);
        }
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

pub fn brine(args: &[&str]) -> Output {
    brine_env(args, &[], b"")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Asserts that `o`'s stderr contains `needle`, showing the whole stderr when it does not.
pub fn assert_stderr_has(o: &Output, needle: &str) {
    let text = stderr(o);
    assert!(text.contains(needle), "no {needle:?} in stderr:\n{text}");
}

/// Asserts that `o`'s stderr starts with `prefix`, showing the whole stderr when it does not.
pub fn assert_stderr_starts(o: &Output, prefix: &str) {
    let text = stderr(o);
    assert!(
        text.starts_with(prefix),
        "stderr does not start with {prefix:?}:\n{text}"
    );
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("killed by a signal")
}
