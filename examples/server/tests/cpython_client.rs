//! CPython's own pickle reads what brine-server sends, in every protocol, and the server reads
//! what CPython sends. Needs `python3` on PATH: without it these tests fail rather than skip.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use brine_core::pickle::Protocol;
use brine_server::{Config, Message, Server, ServerEvent};
use serde_json::json;

/// The first identity event, waiting up to 10 s.
fn identity(events: &Receiver<ServerEvent>) -> ServerEvent {
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(10))
            .expect("an identity event");
        if let ServerEvent::Identity { .. } = event {
            return event;
        }
    }
}

/// The lab client as students write it, plus checks that the bytes equal `pickle.dumps`.
const LAB_CLIENT: &str = r#"
import io, pickle, socket, sys
port, proto = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(('127.0.0.1', port))
data = s.recv(4096)
hello = pickle.loads(data)
clientid = hello['clientid']
if proto >= 2:
    assert data == pickle.dumps({'clientid': clientid}, proto), (data, proto)
s.send(pickle.dumps({'name': 'Jose Ortiz', 'student_id': 917654321, 'clientid': clientid}))
received = b''
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    received += chunk
stream = io.BytesIO(received)
messages = []
while stream.tell() < len(received):
    messages.append(pickle.load(stream))
if proto >= 2:
    assert received == b''.join(pickle.dumps(m, proto) for m in messages), (received, proto)
print(repr(messages))
"#;

#[test]
fn cpython_lab_client_talks_to_the_server_in_every_protocol() {
    for protocol in 0..=5u8 {
        let server = Server::start(Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            protocol: Protocol::from_u8(protocol).unwrap(),
            first_id: 2000 + i64::from(protocol),
            script: vec![
                Message::from("hi"),
                Message::Json(json!({"a": [1, 2.5, null], "big": 1u64 << 40})),
                Message::Close,
            ],
            ..Config::default()
        })
        .unwrap();
        let events = server.events();
        let output = Command::new("python3")
            .arg("-c")
            .arg(LAB_CLIENT)
            .arg(server.local_addr().port().to_string())
            .arg(protocol.to_string())
            .output()
            .expect("python3 must be on PATH to run this test");
        assert!(
            output.status.success(),
            "protocol {protocol}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim_end(),
            "['Server got the data', 'hi', {'a': [1, 2.5, None], 'big': 1099511627776}]",
            "protocol {protocol}"
        );
        let identity = identity(&events);
        let id = 2000 + i64::from(protocol);
        assert_eq!(
            identity,
            ServerEvent::Identity {
                id,
                value: format!(
                    "{{'name': 'Jose Ortiz', 'student_id': 917654321, 'clientid': {id}}}"
                ),
                json: json!({"name": "Jose Ortiz", "student_id": 917654321, "clientid": id}),
            }
        );
        server.shutdown();
    }
}

/// A Python 2 client sends its identity with byte strings (protocol 2, SHORT_BINSTRING).
#[test]
fn python2_style_identity_is_read_as_str() {
    let server = Server::start(Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        protocol: Protocol::V2,
        ..Config::default()
    })
    .unwrap();
    let events = server.events();
    let script = r#"
import pickle, socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
print(pickle.loads(s.recv(4096)))
# What Python 2's pickle.dumps({'name': 'Ada'}, 2) writes: str keys and values as BINSTRING.
py2 = b'\x80\x02}q\x00U\x04nameq\x01U\x03Adaq\x02s.'
assert pickle.loads(py2) == {'name': 'Ada'}
s.send(py2)
print(pickle.loads(s.recv(4096)))
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(server.local_addr().port().to_string())
        .output()
        .expect("python3 must be on PATH to run this test");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{'clientid': 1000}\nServer got the data\n"
    );
    assert_eq!(
        identity(&events).to_string(),
        "Client 1000 identity: {'name': 'Ada'}"
    );
    server.shutdown();
}
