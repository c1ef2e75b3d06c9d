//! `Config::web` and `Config::record` over real TCP on 127.0.0.1: what the page's address
//! serves, its bounds, and the setup errors. (The page in a real browser is
//! tests/tests/web_browser.rs in the workspace.)

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use brine_server::{Config, Server, SetupError};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn start(record: Option<std::path::PathBuf>) -> Server {
    Server::start(Config {
        addr: loopback(),
        web: Some(loopback()),
        record,
        ..Config::default()
    })
    .expect("start the server")
}

/// One HTTP/1.0 GET (the server closes after the response): its head and body.
fn get(server: &Server, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(server.web_addr().unwrap()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_lowercase(), body.to_owned())
}

#[test]
fn the_page_its_assets_and_the_snapshot_are_served_with_a_strict_policy() {
    let server = start(None);
    for (path, kind, contains) in [
        ("/", "text/html", "<script src=\"/app.js\""),
        ("/app.js", "text/javascript", "textContent"),
        ("/style.css", "text/css", "font-size"),
        ("/api/snapshot", "application/json", "\"clients\":[]"),
    ] {
        let (head, body) = get(&server, path);
        assert!(head.starts_with("http/1.0 200"), "{path}: {head}");
        assert!(
            head.contains(&format!("content-type: {kind}")),
            "{path}: {head}"
        );
        assert!(
            head.contains("content-security-policy: default-src 'none'; script-src 'self';"),
            "{path}: {head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{path}");
        assert!(body.contains(contains), "{path}: {body}");
    }
    // Nothing from elsewhere: the page loads only its own files.
    let (_, html) = get(&server, "/");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let (head, _) = get(&server, "/nothing");
    assert!(head.starts_with("http/1.0 404"), "{head}");
}

#[test]
fn a_connection_that_sends_no_request_is_closed() {
    let server = start(None);
    let mut idle = TcpStream::connect(server.web_addr().unwrap()).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let mut byte = [0u8; 1];
    let read = idle.read(&mut byte);
    let waited = started.elapsed();
    assert!(
        matches!(read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::ConnectionReset),
        "{read:?}"
    );
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "closed after {waited:?}"
    );
}

#[test]
fn setup_errors_name_the_page_or_the_record() {
    let taken = start(None);
    let err = Server::start(Config {
        addr: loopback(),
        web: taken.web_addr(),
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    assert!(err.get_ref().is_some_and(|e| e.is::<SetupError>()));
    assert!(
        err.to_string()
            .starts_with("cannot serve the web page on 127.0.0.1:"),
        "{err}"
    );

    let dir = std::env::temp_dir().join(format!("brine-server-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let grades = dir.join("grades.csv");
    std::fs::write(&grades, "name,grade\n").unwrap();
    let err = Server::start(Config {
        addr: loopback(),
        record: Some(grades.clone()),
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.to_string().contains("grades.csv"), "{err}");
    assert_eq!(std::fs::read_to_string(&grades).unwrap(), "name,grade\n");
    std::fs::remove_dir_all(&dir).unwrap();
}
