//! `brine demo`: the reference lab server in-process on a free loopback port, the brine
//! client against it, and the whole exchange printed with each side labelled.

use std::rc::Rc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use brine_core::pickle::Protocol;
use brine_server::{Config, Message, Server, ServerEvent};

use crate::client::{self, Printer, Step};
use crate::identity::IdentityArgs;
use crate::{exit, Buffer, ConnectArgs, Fail, Format, ProtocolArg, Secs, Verbosity};

const SERVER: &str = "server | ";
const CLIENT: &str = "client | ";

/// The server's events, printed on demand.
struct Console {
    events: Receiver<ServerEvent>,
    /// No wait past this (a client that failed leaves events that never come).
    deadline: Instant,
}

impl Console {
    /// Prints the server's events up to the first that `until` accepts (inclusive), or
    /// until the deadline.
    fn print_until(&self, until: impl Fn(&ServerEvent) -> bool) {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    println!("{SERVER}{event}");
                    if until(&event) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// Runs the demo: exit status 0 when the exchange completed.
pub fn run(protocol: u8, verbosity: Verbosity) -> Result<(), Fail> {
    let pickle_protocol = brine_core::pickle::Protocol::from_u8(protocol)
        .ok_or_else(|| Fail::new(exit::USAGE, "the protocol must be 0 to 5"))?;
    let script = vec![
        Message::Json(serde_json::json!({
            "lab": "TCP client sockets",
            "due": "Friday",
            "points": 10,
        })),
        Message::Json(serde_json::json!([1, 2.5, "three", null, true, [], {}])),
        // Larger than the client's 4096-byte receive buffer: reported and skipped.
        Message::Str("x".repeat(5000)),
        Message::Str("Bye!".into()),
        Message::Close,
    ];
    let server = Server::start(Config {
        addr: "127.0.0.1:0".parse().expect("a socket address"),
        protocol: pickle_protocol,
        first_id: 54321,
        script,
        ..Config::default()
    })
    .map_err(|e| Fail::new(exit::FAILURE, format!("cannot start the demo server: {e}")))?;
    let addr = server.local_addr();
    let events = server.events();

    let say = |line: &str| {
        if verbosity >= Verbosity::Normal {
            println!("{line}");
        }
    };
    say(&format!(
        "brine demo: the reference lab server (brine-server) listens on {addr} in this process;"
    ));
    say("the brine client connects to it. Lines are labelled with the side that printed them.");
    say(&format!(
        "The client's command line would be:\n  brine {addr} --name 'Jose Ortiz' --email jose@sfsu.edu --student-id 917654321 --github jortiz\n"
    ));

    // The server's console, as the lab's projector shows it: its lines are printed where
    // the client's reach a step of the exchange, so the two sides read in order every run.
    let console = Rc::new(Console {
        events,
        deadline: Instant::now() + Duration::from_secs(10),
    });
    let pace = Rc::clone(&console);
    let args = ConnectArgs {
        server: addr.to_string(),
        identity: IdentityArgs {
            name: Some("Jose Ortiz".into()),
            email: Some("jose@sfsu.edu".into()),
            student_id: Some("917654321".into()),
            github: Some("jortiz".into()),
            ..IdentityArgs::default()
        },
        buffer: Buffer::K4,
        protocol: ProtocolArg::Fixed(
            Protocol::from_u8(protocol).ok_or_else(|| Fail::new(exit::USAGE, "protocol 0 to 5"))?,
        ),
        hint_after: Secs(Some(Duration::from_secs(3))),
        timeout: Secs(Some(Duration::from_secs(5))),
        idle_timeout: Some(Secs(Some(Duration::from_secs(10)))),
        retry: 0,
        refuse_objects: false,
        format: Format::Text,
        dialect: crate::dialect::DialectArgs::default(),
    };
    let printer = Printer {
        format: Format::Text,
        verbosity,
        prefix: CLIENT,
        status_on_stdout: true,
        pace: Some(Box::new(move |step| {
            pace.print_until(|event| match step {
                Step::Connected => matches!(event, ServerEvent::Connected { .. }),
                Step::Sent => matches!(event, ServerEvent::Identity { .. }),
                Step::Closed => matches!(event, ServerEvent::Disconnected { .. }),
            })
        })),
    };
    let result = client::session(&args, &printer, None);
    // After a failure: the server's lines that are left.
    console.print_until(|event| matches!(event, ServerEvent::Disconnected { .. }));
    server.shutdown();
    result?;
    say("\nThe exchange is complete. Against your lab's server:");
    say("  brine HOST:PORT --name 'Your Name' --email you@example.org --student-id 123 --github you");
    Ok(())
}
