//! The `brine` binary against servers of the course's later labs and against Python's
//! multiprocessing.connection (tests/servers/dialect_servers.py, mp_peer.py), over real TCP:
//! whole conversations — menu, option, answer — in every framing and greeting, talking back
//! with --send and --interactive, and the authkey handshake with python3 (3.11) and 3.12.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use brine_e2e::{
    brine_bin, json_events, pyenv_python, python_server, run_brine, Finished, Proc, Server,
};

const WAIT: Duration = Duration::from_secs(20);

fn python3() -> PathBuf {
    PathBuf::from("python3")
}

fn dialect_server(style: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--style", style, "--port", "0", "--lifetime", "30"];
    args.extend_from_slice(extra);
    python_server(&python3(), "dialect_servers.py", &args, &[])
}

/// `brine` with `args`, its stdin a pipe, and `env` set (no inherited BRINE_ variables).
fn spawn_brine_with(args: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut command = Command::new(brine_bin());
    command.args(args).envs(env.iter().copied());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BRINE_") {
            command.env_remove(key);
        }
    }
    Proc::spawn_with_stdin(&format!("brine {}", args.join(" ")), command, true)
}

/// The envelope server's dialect: a 4-byte length, brine speaks first with HELLO.
const ENVELOPE: [&str; 6] = [
    "--framing",
    "len32",
    "--greeting",
    "none",
    "--identity",
    r#"{"type": "HELLO", "content": "Ada"}"#,
];
/// The Cookbook chat server's: its framing, brine speaks first with its name.
const COOKBOOK: [&str; 6] = [
    "--framing",
    "cookbook",
    "--greeting",
    "none",
    "--identity",
    r#"["NAME: Ada"]"#,
];

/// `addr`, then `dialect`'s flags, then `extra`.
fn with<'a>(addr: &'a str, dialect: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![addr];
    args.extend_from_slice(dialect);
    args.extend_from_slice(extra);
    args
}

const MENU: &str = "{'message': 'menu', 'menu': {1: 'Get user list', 2: 'Get the time', 3: 'Echo a text', 4: 'Disconnect'}}";

#[test]
fn menu_server_conversation_with_send() {
    let server = dialect_server("menu", &[]);
    let addr = server.addr();
    let brine = run_brine(&[
        &addr,
        "--name",
        "Ada",
        "--send",
        r#"{"option": 1}"#,
        "--send",
        r#"{"option": 3, "text": "hi"}"#,
        "--send",
        r#"{"option": 4}"#,
    ]);
    brine.assert_code(0);
    assert_eq!(
        brine.stdout,
        [
            "Assigned client id by server: 1001",
            MENU,
            "{'users': ['Ada', 'Grace', 'Linus']}",
            MENU,
            "{'echo': 'hi'}",
            MENU,
            "'Bye'",
        ],
        "{brine}"
    );
    assert!(
        brine
            .stderr
            .iter()
            .any(|l| l == "sent {'option': 3, 'text': 'hi'}"),
        "{brine}"
    );
    // The server prints its last line after brine has gone: wait for it.
    let mut server = server;
    server
        .proc
        .wait_line(WAIT, |l| l == "Client 1001 disconnected");
    let console = server.proc.kill();
    assert_eq!(
        console.stdout[1..],
        [
            "Client 1001 connected: {'student_name': 'Ada'}",
            "Client 1001 sent: {'option': 1}",
            "Client 1001 sent: {'option': 3, 'text': 'hi'}",
            "Client 1001 sent: {'option': 4}",
            "Client 1001 disconnected",
        ]
    );
}

#[test]
fn menu_server_interactive_lines_typed_while_messages_print() {
    let server = dialect_server("menu", &[]);
    let addr = server.addr();
    let mut brine = spawn_brine_with(
        &[&addr, "--name", "Ada", "--interactive", "--format", "json"],
        &[],
    );
    // Each line typed once the menu is on screen; one line is not JSON.
    brine.wait_line(WAIT, |l| l.contains("\"menu\""));
    writeln!(brine.stdin(), r#"{{"option": 1}}"#).unwrap();
    brine.wait_line(WAIT, |l| l.contains("users"));
    writeln!(brine.stdin(), "option 3 please").unwrap();
    writeln!(brine.stdin(), r#"{{"option": 4}}"#).unwrap();
    let out = brine.wait(WAIT);
    out.assert_code(0);
    let events = json_events(&out);
    let kinds: Vec<_> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(
        kinds.ends_with(&["message", "closed"]) || kinds.contains(&"closed"),
        "{out}"
    );
    let not_sent = events
        .iter()
        .find(|e| e["kind"] == "not_sent")
        .expect("a not_sent note");
    assert!(
        not_sent["message"]
            .as_str()
            .unwrap()
            .starts_with("stdin line 2: not JSON"),
        "{out}"
    );
    let sent: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "sent")
        .map(|e| e["value"].to_string())
        .collect();
    assert_eq!(
        sent,
        [
            r#"{"student_name":"Ada"}"#,
            r#"{"option":1}"#,
            r#"{"option":4}"#
        ],
        "{out}"
    );
    assert!(events.iter().any(|e| e["value"] == "Bye"), "{out}");
    // The server prints this after brine has gone (fails the test if it never does).
    let mut server = server;
    server
        .proc
        .wait_line(WAIT, |l| l == "Client 1001 disconnected");
}

#[test]
fn send_then_interactive_lines_in_order() {
    // The line is in stdin before brine connects: it waits for the --send to go out (read
    // early, QUIT would reach the server before MESSAGE and close the conversation).
    let server = dialect_server("envelope", &[]);
    let addr = server.addr();
    let mut brine = spawn_brine_with(
        &with(
            &addr,
            &ENVELOPE,
            &[
                "--send",
                r#"{"type": "MESSAGE", "content": "hi"}"#,
                "--interactive",
            ],
        ),
        &[],
    );
    writeln!(brine.stdin(), r#"{{"type": "QUIT"}}"#).unwrap();
    let out = brine.wait(WAIT);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        [
            "{'type': 'WELCOME', 'content': 'Hello Ada'}",
            "{'type': 'ECHO', 'content': 'hi'}",
            "{'type': 'BYE', 'content': None}",
        ],
        "{out}"
    );
}

#[test]
fn envelope_server_len32_client_speaks_first() {
    let server = dialect_server("envelope", &[]);
    let addr = server.addr();
    let brine = run_brine(&with(
        &addr,
        &ENVELOPE,
        &[
            "--send",
            r#"{"type": "MESSAGE", "content": "hi"}"#,
            "--send",
            r#"{"type": "QUIT"}"#,
            "--format",
            "json",
        ],
    ));
    brine.assert_code(0);
    let events: Vec<String> = json_events(&brine)
        .iter()
        .skip(1)
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        events,
        [
            r#"{"event":"sent","value":{"type":"HELLO","content":"Ada"},"protocol":4}"#,
            r#"{"event":"message","value":{"type":"WELCOME","content":"Hello Ada"}}"#,
            r#"{"event":"sent","value":{"type":"MESSAGE","content":"hi"},"protocol":4}"#,
            r#"{"event":"message","value":{"type":"ECHO","content":"hi"}}"#,
            r#"{"event":"sent","value":{"type":"QUIT"},"protocol":4}"#,
            r#"{"event":"message","value":{"type":"BYE","content":null}}"#,
            r#"{"event":"closed"}"#,
        ],
        "{brine}"
    );
}

#[test]
fn greeting_any_prints_the_first_message_then_sends_the_identity() {
    // The menu server's {'clientid': id} taken as any greeting; the identity a bare str.
    let server = dialect_server("menu", &[]);
    let addr = server.addr();
    let brine = run_brine(&[
        &addr,
        "--greeting",
        "any",
        "--identity",
        r#""Ada""#,
        "--send",
        r#"{"option": 4}"#,
    ]);
    brine.assert_code(0);
    assert_eq!(
        brine.stdout,
        ["{'clientid': 1001}", MENU, "'Bye'"],
        "{brine}"
    );
    let console = server.proc.kill();
    assert_eq!(console.stdout[1], "Client 1001 connected: Ada");
}

#[test]
fn cookbook_chat_server_two_clients_talk_through_it() {
    let mut server = dialect_server("cookbook", &["--python2"]);
    let addr = server.addr();
    let port = server.port.to_string();
    let mut brine = spawn_brine_with(
        &with(&addr, &COOKBOOK, &["--protocol", "2", "--interactive"]),
        &[],
    );
    assert_eq!(brine.wait_line(WAIT, |_| true), "('CLIENT: 127.0.0.1',)");
    // The recipe's client joins as Grace and says something after a second.
    let mut grace = Command::new("python3");
    grace
        .arg("-u")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/dialect_servers.py"))
        .args([
            "--style",
            "cookbook-client",
            "--connect",
            &port,
            "--python2",
            "--lifetime",
            "4",
        ])
        .args(["--say", "hello from grace"]);
    let grace = Proc::spawn("cookbook client Grace", grace);
    assert_eq!(
        brine.wait_line(WAIT, |_| true),
        r"('\n(Connected: New client (2) from Grace@127.0.0.1)',)"
    );
    writeln!(brine.stdin(), r#"["hi grace"]"#).unwrap();
    assert_eq!(
        brine.wait_line(WAIT, |_| true),
        r"('\n#[Grace@127.0.0.1]>>hello from grace',)"
    );
    let grace = grace.wait(WAIT);
    assert!(
        grace
            .stdout
            .iter()
            .any(|l| l == "#[Ada@127.0.0.1]>>hi grace"),
        "{:?}",
        grace.stdout
    );
    // The recipe's stdin: a line stops the server, which closes every client.
    writeln!(server.proc.stdin(), "quit").unwrap();
    drop(server);
    let out = brine.wait(WAIT);
    assert!(
        out.stderr
            .iter()
            .any(|l| l == "sent ['hi grace'] (pickle protocol 2)"),
        "{out}"
    );
}

/// The Cookbook's chat server as published, run by the real Python 2.7 (pyenv's 2.7.18).
fn cookbook_py2() -> Server {
    let root = Command::new("pyenv")
        .arg("root")
        .output()
        .expect("pyenv root");
    let python = PathBuf::from(String::from_utf8_lossy(&root.stdout).trim())
        .join("versions/2.7.18/bin/python");
    assert!(
        python.exists(),
        "no {} (pyenv install 2.7.18)",
        python.display()
    );
    python_server(&python, "cookbook_py2.py", &["--lifetime", "30"], &[])
}

#[test]
fn cookbook_server_on_python_2_dies_of_protocol_4_and_brine_says_why() {
    // --protocol auto with no greeting to read writes protocol 4: the server dies of it.
    for protocol in ["4", "auto"] {
        let server = cookbook_py2();
        let addr = server.addr();
        let brine = run_brine(&with(&addr, &COOKBOOK, &["--protocol", protocol]));
        let console = server.proc.wait(WAIT);
        assert!(
            console
                .stderr
                .iter()
                .any(|l| l == "ValueError: unsupported pickle protocol: 4"),
            "{console}"
        );
        brine.assert_code(7).assert_stderr_has(
            "hint: the server closed the connection right after our first message (the \
             identity) without sending anything: a Python 2 server cannot read pickle \
             protocol 4 and may die of it (as the Python Network Programming Cookbook's chat \
             server does): try --protocol 2",
        );
        assert!(brine.stdout.is_empty(), "{brine}");
    }
    // As the hint says: protocol 2, and the conversation goes on.
    let mut server = cookbook_py2();
    let addr = server.addr();
    let extra = ["--protocol", "2", "--send", r#"["hello"]"#];
    let mut brine = spawn_brine_with(&with(&addr, &COOKBOOK, &extra), &[]);
    assert_eq!(brine.wait_line(WAIT, |_| true), "('CLIENT: 127.0.0.1',)");
    server
        .proc
        .wait_line(WAIT, |l| l.starts_with("Chat server: got connection"));
    writeln!(server.proc.stdin(), "quit").unwrap();
    let out = brine.wait(WAIT);
    out.assert_code(0);
    assert_eq!(out.stdout, ["('CLIENT: 127.0.0.1',)"], "{out}");
}

fn mp_listener(python: &Path, key: Option<&str>) -> Server {
    match key {
        Some(k) => python_server(
            python,
            "mp_peer.py",
            &["listen", "--authkey-env", "MP_KEY"],
            &[("MP_KEY", k)],
        ),
        None => python_server(python, "mp_peer.py", &["listen"], &[]),
    }
}

fn mp_brine(server: &Server, key: Option<&str>, extra: &[&str]) -> Finished {
    let addr = server.addr();
    let mut args = vec![addr.as_str(), "--framing", "multiprocessing"];
    if key.is_some() {
        args.extend(["--authkey-env", "MY_KEY"]);
    }
    args.extend_from_slice(extra);
    let env: Vec<(&str, &str)> = key.map(|k| ("MY_KEY", k)).into_iter().collect();
    spawn_brine_with(&args, &env).wait(WAIT)
}

#[test]
fn multiprocessing_listener_conversation_with_3_11_3_12_and_3_13() {
    for (python, version, digest) in [
        (python3(), "3, 11", "md5"),
        (pyenv_python(12), "3, 12", "sha256"),
        (pyenv_python(13), "3, 13", "sha256"),
    ] {
        let server = mp_listener(&python, Some("s3cret"));
        let brine = mp_brine(
            &server,
            Some("s3cret"),
            &[
                "--send",
                r#"{"x": [1, 2.5]}"#,
                "--send",
                r#"{"text": 16400}"#,
                "--send",
                r#"{"text": 4000}"#,
                "--send",
                r#""bye""#,
            ],
        );
        brine.assert_code(0);
        assert_eq!(
            brine.stdout[0],
            format!("{{'hello': 'from python', 'version': [{version}]}}"),
            "{brine}"
        );
        assert_eq!(brine.stdout[1], "{'echo': {'x': [1, 2.5]}}");
        assert_eq!(brine.stdout[2].len(), 4002);
        assert_eq!(brine.stdout[3], "'bye'");
        let auth = format!("authenticated: answered the listener's challenge with {digest}, it answered ours with {digest}");
        assert!(brine.stderr.contains(&auth), "{brine}");
        // 'y' * 16400 pickled (16,418 bytes) and its 4-byte prefix: past the 4 KiB buffer.
        assert!(
            brine.stderr.iter().any(|l| l.starts_with(
                "skipped a 16422-byte message: larger than the 4096-byte receive buffer"
            )),
            "{brine}"
        );
        let console = server.wait();
        assert_eq!(
            console.stdout[1..],
            [
                "RECEIVED {'x': [1, 2.5]}",
                "RECEIVED {'text': 16400}",
                "RECEIVED {'text': 4000}",
                "RECEIVED 'bye'",
                "CLOSED"
            ]
        );
    }
}

#[test]
fn multiprocessing_wrong_key_and_missing_keys_are_named() {
    for python in [python3(), pyenv_python(12)] {
        let server = mp_listener(&python, Some("right"));
        let brine = mp_brine(&server, Some("wrong"), &[]);
        brine.assert_code(5);
        brine.assert_stderr_has("the peer answered #FAILURE#: its authkey differs from ours");
        let console = server.wait();
        assert_eq!(
            console.stdout[1],
            "ERROR AuthenticationError: digest received was wrong"
        );

        let server = mp_listener(&python, Some("k"));
        let brine = mp_brine(&server, None, &[]);
        brine.assert_code(5);
        brine.assert_stderr_has("the listener asks for an authkey (it sent #CHALLENGE#)");
        drop(server);

        let server = mp_listener(&python, None);
        let brine = mp_brine(&server, Some("k"), &[]);
        brine.assert_code(5);
        brine.assert_stderr_has("the peer sent data without a #CHALLENGE#");
        brine.assert_stderr_has("it has no authkey; connect without one");
    }
}

#[test]
fn multiprocessing_key_against_a_listener_without_one_that_waits_times_out() {
    // A request/reply Listener without an authkey waits for the client's first object,
    // while a client with a key waits for a #CHALLENGE#: CPython's Client deadlocks here.
    let server = python_server(&python3(), "mp_peer.py", &["listen", "--recv-first"], &[]);
    let brine = mp_brine(&server, Some("k"), &["--timeout", "1"]);
    brine.assert_code(4);
    brine.assert_stderr_has(
        "error: multiprocessing authentication: the listener sent no #CHALLENGE# within 1 s \
         (--timeout): a Listener without an authkey sends none and waits for us (drop \
         --authkey-env), or the peer is not multiprocessing.connection",
    );
    // The listener saw the connection close, still waiting for our first object.
    assert_eq!(server.wait().stdout[1..], ["CLOSED"]);
    // Without the key, the same listener waits for us to speak first: --greeting none.
    let server = python_server(&python3(), "mp_peer.py", &["listen", "--recv-first"], &[]);
    let brine = mp_brine(&server, None, &["--timeout", "1"]);
    brine.assert_code(4);
    brine.assert_stderr_has(
        "error: timed out after 1 s waiting for the server's first message (--greeting any): \
         a server that waits for the client to speak first needs --greeting none",
    );
    let server = python_server(&python3(), "mp_peer.py", &["listen", "--recv-first"], &[]);
    let brine = mp_brine(
        &server,
        None,
        &[
            "--greeting",
            "none",
            "--identity",
            "1",
            "--send",
            r#""bye""#,
        ],
    );
    brine.assert_code(0);
    assert_eq!(
        brine.stdout,
        ["{'hello': 'from python', 'version': [3, 11]}", "'bye'"],
        "{brine}"
    );
}

#[test]
fn multiprocessing_against_a_server_that_is_not_multiprocessing() {
    // The lab's server sends a bare pickle: its PROTO byte reads as a negative length.
    let server = brine_e2e::lab_server("classic", &[]);
    let brine = mp_brine(&server, Some("k"), &[]);
    brine.assert_code(5);
    brine.assert_stderr_has(
        "error: multiprocessing authentication: length prefix 80 04 95 12 is negative \
         (multiprocessing allows only -1, before an 8-byte length): is the peer a \
         multiprocessing.connection Listener/Client?",
    );
    // A len32 server that waits for the client to speak: silent, so the timeout names it.
    let server = dialect_server("envelope", &[]);
    let brine = mp_brine(&server, Some("k"), &["--timeout", "1"]);
    brine.assert_code(4);
    brine.assert_stderr_has("or the peer is not multiprocessing.connection");
}

#[test]
fn multiprocessing_without_keys_on_either_side() {
    let server = mp_listener(&python3(), None);
    let brine = mp_brine(&server, None, &["--send", r#""bye""#, "--format", "json"]);
    brine.assert_code(0);
    let kinds: Vec<String> = json_events(&brine)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        ["connected", "greeting", "sent", "message", "closed"],
        "{brine}"
    );
}

#[test]
fn dialect_usage_errors_name_the_flag() {
    let brine = run_brine(&["127.0.0.1:1", "--send", "{nope"]);
    brine.assert_code(2);
    brine.assert_stderr_has("--send: not JSON");
    let brine = run_brine(&["127.0.0.1:1", "--authkey-env", "X"]);
    brine.assert_code(2);
    brine.assert_stderr_has("--authkey-env is for --framing multiprocessing");
    let brine = spawn_brine_with(
        &[
            "127.0.0.1:1",
            "--framing",
            "multiprocessing",
            "--authkey-env",
            "UNSET_FOR_TEST",
        ],
        &[],
    )
    .wait(WAIT);
    brine.assert_code(2);
    brine.assert_stderr_has("the environment variable UNSET_FOR_TEST is not set");
}
