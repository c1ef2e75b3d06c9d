//! One lab session over embassy-net: connect, handshake, then every event until the server closes.
#![no_std]

use brine_core::asynch::{Error, SmallClient};
use brine_core::session::Event;
use embassy_net::tcp::{self, ConnectError, TcpSocket};
use embassy_net::{IpEndpoint, Stack};
use embassy_time::{with_timeout, Duration, TimeoutError};
use serde::Serialize;

/// The instructor's lab keys (the handout's server wants `name`, `email`, `student_id`).
#[derive(Serialize)]
struct Student<'a> {
    student_name: &'a str,
    sid: u32,
    github_username: &'a str,
}

/// Why a session ended before the server closed it.
#[derive(Debug)]
pub enum Failure {
    Connect(ConnectError),
    Client(Error<tcp::Error>),
    TimedOut,
}

impl From<Error<tcp::Error>> for Failure {
    fn from(e: Error<tcp::Error>) -> Self {
        Failure::Client(e)
    }
}

impl From<TimeoutError> for Failure {
    fn from(_: TimeoutError) -> Self {
        Failure::TimedOut
    }
}

/// Runs one session with `server` over `stack` (up, with an address), handing every event
/// to `on_event`; `Ok` when the server closes. Allocates nothing: the buffers live in this
/// future.
pub async fn lab_session(
    stack: Stack<'_>,
    server: IpEndpoint,
    mut on_event: impl FnMut(&Event<'_>),
) -> Result<(), Failure> {
    let (mut rx, mut tx) = ([0; 1024], [0; 1024]);
    let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
    let wait = Duration::from_secs(10);
    with_timeout(wait, socket.connect(server))
        .await?
        .map_err(Failure::Connect)?;

    // 1 KiB receive, 512-byte transmit buffer, 64-value decoder.
    let mut client = SmallClient::with_storage(socket, ());
    let me = Student {
        student_name: "Jose Ortiz",
        sid: 917654321,
        github_username: "jortiz",
    };
    let id = with_timeout(wait, client.handshake(&me)).await??;
    on_event(&Event::ClientId(id));
    loop {
        // The lab server may stay silent for long; a minute without a message ends it here.
        let event = with_timeout(Duration::from_secs(60), client.next_event()).await??;
        on_event(&event);
        if let Event::Closed = event {
            return Ok(());
        }
    }
}
