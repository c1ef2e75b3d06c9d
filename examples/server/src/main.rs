//! `brine-server`: the reference pickle-over-TCP lab server.

use std::io::{self, BufRead, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use brine_core::pickle::{Decoder, Protocol};
use brine_server::{Config, Message, Server, ServerEvent};
use clap::Parser;

/// `-h`'s first lines: the classroom command.
const ABOUT: &str = "\
The Python \"pickle over TCP\" lab server. In a classroom:
  brine-server 0.0.0.0:12000 --web 0.0.0.0:8080 --record attendance.csv
students connect to this machine's address, port 12000 (the page lists it); the
projector opens http://THIS-MACHINE:8080/. The default, 127.0.0.1:12000, is this
machine only.";

/// `--help`'s description.
const LONG_ABOUT: &str = "\
The Python \"pickle over TCP\" lab server. In a classroom:
  brine-server 0.0.0.0:12000 --web 0.0.0.0:8080 --record attendance.csv
students connect to this machine's address, port 12000 (the page lists it); the
projector opens http://THIS-MACHINE:8080/. The default, 127.0.0.1:12000, is this
machine only: with --web it warns that students cannot reach it.

Each client that connects gets a unique id, sent as the pickled dict {'clientid': id}.
Its first pickle is its identity, printed as Python prints it; every pickle it sends (the
identity included) is acknowledged with the pickled str 'Server got the data'. Then the
scripted messages (--send, --send-json, in the order given) go to it, and with
--close-after the server closes the connection.

Type a line on standard input to broadcast it, as a str, to every client that has sent its
identity.

Bad clients never stop the others: a stream that is not pickles is disconnected, nothing a
pickle names is ever run (an object of an unknown class is logged as an inert stub,
<menu.Menu object {...}>), a message over 64 KiB is cut off, and a client that sends no
identity within --idle-timeout is dropped.

Output, one line per event:
  Listening on 127.0.0.1:12000 (pickle protocol 4)
  Client 1000 connected from 127.0.0.1:54321
  Client 1000 identity: {'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu'}
  Client 1000 sent: 'hello'
  Client 1000 refused: ...
  Client 1000 disconnected: client closed the connection

The server runs until interrupted (Ctrl-C); end of standard input does not stop it.
Exit status: 1 when it cannot listen (e.g. the port is in use), 2 for bad arguments.";

#[derive(Parser, Debug)]
#[command(name = "brine-server", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Args {
    /// IP:PORT, HOST:PORT or PORT (127.0.0.1:PORT); 0.0.0.0:12000 for a class
    ///
    /// The default is 127.0.0.1:12000.
    /// Port 0 picks a free port (the first line printed says which). 127.0.0.1 is reachable
    /// from this machine only; 0.0.0.0 listens on every interface, so students can connect.
    #[arg(default_value = "127.0.0.1:12000", value_parser = parse_addr, hide_default_value = true)]
    addr: SocketAddr,

    /// Pickle protocol sent (0-5; 0-2 reach Python 2 clients)
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=5))]
    protocol: u8,

    /// The first client id; each connection gets the next one
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
    first_id: i64,

    /// Send TEXT (a str) to each client after its identity; repeatable
    ///
    /// With --send-json, messages go in the order given.
    #[arg(long = "send", value_name = "TEXT")]
    send: Vec<String>,

    /// Send json.loads(JSON) to each client after its identity; repeatable
    #[arg(long = "send-json", value_name = "JSON", value_parser = parse_json)]
    send_json: Vec<brine_json::Python>,

    /// Close each client's connection after its scripted messages
    #[arg(long)]
    close_after: bool,

    /// Do not acknowledge messages with 'Server got the data'
    #[arg(long)]
    no_ack: bool,

    /// Drop a client with no identity after SECS s (0: never)
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    idle_timeout: f64,

    /// At most N clients at once; more are closed at once
    ///
    /// The open-file limit is raised to its hard limit at startup; a warning says when that
    /// is below N.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_clients: usize,

    /// Print only the identities (and errors): the projector view
    #[arg(short, long)]
    quiet: bool,

    /// Serve the class page at http://ADDR/ (IP:PORT, HOST:PORT or PORT)
    ///
    /// The page shows where students connect (this machine's addresses when the lab listens
    /// on 0.0.0.0, or a warning when they cannot reach it), then each client's id, name,
    /// student id, GitHub user name, connect time, state and message count; /api/snapshot
    /// gives the same as JSON. Anyone who can reach ADDR sees all of it: bind beyond
    /// 127.0.0.1 only on a network you trust.
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    web: Option<SocketAddr>,

    /// Show student ids on the page as their last three characters (••••••321)
    ///
    /// The record keeps them whole.
    #[arg(long)]
    mask_sid: bool,

    /// Refuse pickles with objects of unknown classes (default: logged as inert stubs)
    #[arg(long, hide_short_help = true)]
    refuse_objects: bool,

    /// Record attendance in FILE: one row per student per run (CSV, or .jsonl)
    ///
    /// CSV with the header time,client_id,peer,student_name,sid,github_username,email,other,
    /// or JSON lines when FILE ends in .jsonl. A row is written as the student identifies; a
    /// student who reconnects during the same run updates their row; rows of earlier runs
    /// stay. The path is confirmed at start.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.to_socket_addrs()
        .map_err(|e| format!("not an address: {e} (expected IP:PORT, HOST:PORT or PORT)"))?
        .next()
        .ok_or_else(|| format!("{text} resolves to no address"))
}

fn parse_json(text: &str) -> Result<brine_json::Python, String> {
    brine_json::parse(text).map_err(|e| format!("not JSON: {e}"))
}

/// Which scripted message each `--send`/`--send-json` is, in command-line order.
fn script(args: &Args, matches: &clap::ArgMatches) -> Vec<Message> {
    let mut ordered: Vec<(usize, Message)> = Vec::new();
    if let Some(indices) = matches.indices_of("send") {
        ordered.extend(indices.zip(args.send.iter().cloned().map(Message::Str)));
    }
    if let Some(indices) = matches.indices_of("send_json") {
        ordered.extend(indices.zip(args.send_json.iter().cloned().map(Message::Python)));
    }
    ordered.sort_by_key(|(index, _)| *index);
    let mut script: Vec<Message> = ordered.into_iter().map(|(_, m)| m).collect();
    if args.close_after {
        script.push(Message::Close);
    }
    script
}

/// Prints a line; a closed stdout is not a reason to stop serving.
fn say(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // A file name may be any bytes; every other argument is text.
    if let Some(problem) = brine_server::args::not_utf8(&argv, &[], &["--record"]) {
        eprintln!("brine-server: {problem}");
        return ExitCode::from(2);
    }
    let command = brine_server::args::fit_help(<Args as clap::CommandFactory>::command());
    let matches = command.get_matches_from(&argv);
    let args = match <Args as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    let protocol = Protocol::from_u8(args.protocol).unwrap_or_default();
    let idle_timeout = (args.idle_timeout > 0.0)
        .then(|| Duration::try_from_secs_f64(args.idle_timeout).ok())
        .flatten();
    let config = Config {
        addr: args.addr,
        protocol,
        first_id: args.first_id,
        script: script(&args, &matches),
        ack: !args.no_ack,
        max_clients: args.max_clients,
        idle_timeout,
        web: args.web,
        record: args.record.clone(),
        mask_sid: args.mask_sid,
        stubs: !args.refuse_objects,
        ..Config::default()
    };

    // One file descriptor per client: the soft limit is often 1024.
    let open_files = brine_server::raise_open_file_limit();
    let server = match Server::start(config) {
        Ok(server) => server,
        Err(e)
            if e.get_ref()
                .is_some_and(|e| e.is::<brine_server::SetupError>()) =>
        {
            eprintln!("brine-server: {e}");
            return ExitCode::from(1);
        }
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            eprintln!(
                "brine-server: address {} is already in use: is another server running?",
                args.addr
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("brine-server: cannot listen on {}: {e}", args.addr);
            return ExitCode::from(1);
        }
    };
    let events = server.events();
    say(&format!(
        "Listening on {} (pickle protocol {protocol})",
        server.local_addr()
    ));
    if let Some(web) = server.web_addr() {
        say(&format!("Web page on http://{web}/"));
        if !web.ip().is_loopback() {
            eprintln!(
                "brine-server: note: the web page shows every student's name, id and GitHub \
                 user name to anyone who can reach {web}"
            );
        }
        if let Some(warning) = brine_server::unreachable(server.local_addr()) {
            eprintln!("brine-server: warning: {warning}");
        }
    }
    if let Some(record) = server.recording() {
        say(&format!(
            "Recording attendance in {} ({}, {} rows of earlier runs; one row per student)",
            record.path.display(),
            record.format,
            record.rows
        ));
    }
    match open_files {
        Ok(limit) if limit < args.max_clients as u64 + 64 => eprintln!(
            "brine-server: warning: the open-file limit is {limit} (its hard limit), below \
             --max-clients {} plus a margin; connections beyond it wait until clients leave \
             (raise it with `ulimit -Hn` as root)",
            args.max_clients
        ),
        Ok(_) => {}
        Err(e) => eprintln!("brine-server: warning: cannot raise the open-file limit: {e}"),
    }

    let quiet = args.quiet;
    std::thread::scope(|scope| {
        let server = &server;
        // Standard input: each line is broadcast. End of input just stops this thread.
        scope.spawn(move || {
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                match server.broadcast(&Message::Str(line.clone())) {
                    Ok(n) if !quiet => say(&format!(
                        "Broadcast {} to {n} client{}",
                        repr(&line, protocol),
                        if n == 1 { "" } else { "s" }
                    )),
                    Ok(_) => {}
                    Err(e) => eprintln!("brine-server: cannot broadcast: {e}"),
                }
            }
        });
        for event in events {
            match event {
                ServerEvent::Identity { .. } => say(&event.to_string()),
                ServerEvent::Error { .. } => eprintln!("brine-server: {event}"),
                _ if quiet => {}
                _ => say(&event.to_string()),
            }
        }
    });
    ExitCode::SUCCESS
}

/// Python's repr of `text`, as the clients will print it.
fn repr(text: &str, protocol: Protocol) -> String {
    let Ok(Some(bytes)) = Message::from(text).to_pickle(protocol) else {
        return format!("{text:?}");
    };
    let mut decoder: Box<Decoder> = Box::default();
    match decoder.decode(&bytes) {
        Ok(value) => value.to_string(),
        Err(_) => format!("{text:?}"),
    }
}
