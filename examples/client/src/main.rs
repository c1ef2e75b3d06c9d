//! `brine`: a client for Python pickle-over-TCP lab servers.
//!
//! `brine [HOST:PORT] --name ... --email ...` connects, prints the client id the server
//! assigns, sends the identity and prints every message until the server closes.
//! `brine pickle encode|decode` converts between JSON lines and pickles; `brine demo` runs
//! the whole exchange against an in-process reference server.

mod client;
mod demo;
mod dialect;
mod identity;
mod interrupt;
mod load;
mod logs;
mod pickle_cmd;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit statuses (also in `--help` and README.md).
pub mod exit {
    /// The server closed the connection in order (or the command succeeded).
    pub const OK: u8 = 0;
    /// Anything else: reading stdin or writing stdout failed.
    pub const FAILURE: u8 = 1;
    /// Usage error: a bad flag, value or server address (clap's own code).
    pub const USAGE: u8 = 2;
    /// Could not connect: refused, host not found, network unreachable.
    pub const CONNECT: u8 = 3;
    /// Timed out: connecting, waiting for the client id, finishing a started message, or
    /// `--idle-timeout`.
    pub const TIMEOUT: u8 = 4;
    /// Protocol error: no client id, an invalid or truncated pickle (for `brine pickle`:
    /// invalid input).
    pub const PROTOCOL: u8 = 5;
    /// The connection was lost: reset by the server, or no answer to TCP keepalive.
    pub const LOST: u8 = 6;
    /// Interrupted by Ctrl-C (SIGINT), after printing everything received (128 + 2, as a
    /// shell reports it).
    pub const INTERRUPTED: u8 = 130;

    /// The `kind` of a `--format json` error event for an exit status.
    pub fn kind(code: u8) -> &'static str {
        match code {
            USAGE => "usage",
            CONNECT => "connect",
            TIMEOUT => "timeout",
            PROTOCOL => "protocol",
            LOST => "lost",
            INTERRUPTED => "interrupted",
            _ => "failure",
        }
    }
}

const EXIT_CODES: &str = "\
Exit status:
  0  the server closed the connection in order (brine pickle/demo: success)
  1  other failure (reading stdin or writing stdout)
  2  usage error (bad flag, value or server address)
  3  could not connect (refused, unknown host, unreachable)
  4  timed out (connecting, waiting for the client id or the rest of a message, --idle-timeout)
  5  protocol error (no client id, invalid or truncated pickle; brine pickle: invalid input)
  6  connection lost (reset by the server, no answer to TCP keepalive)
  130  interrupted by Ctrl-C (everything received was printed first)
A server that closes right after the identity without sending anything still exits 0 (brine
cannot tell a server that is done from one that failed on a key), with a hint on stderr.

Identity keys (--keys lab, the default, for the instructor's lab server):
  --name -> 'student_name', --email -> 'email', --student-id -> 'sid' (an int when all
  digits without a leading zero, else a str), --github -> 'github_username'
  e.g. {'student_name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'sid': 917654321,
        'github_username': 'jortiz'}
--keys handout (servers written from the handout's example): 'name', 'email', 'student_id'
  (always a str), 'github_username'
Only the flags given are sent, in that order, then the --field entries.

Text output: the client id line and each message (as Python's repr) go to stdout; status
lines (connected, sent, skipped, closed), notes, hints and errors go to stderr (-q keeps only
errors). --format json: stdout carries only JSON objects, one per line, errors included.";

/// A client for Python "pickle over TCP" lab servers.
#[derive(Parser, Debug)]
#[command(
    name = "brine",
    version,
    about = "A client for Python \"pickle over TCP\" lab servers",
    long_about = "A client for Python \"pickle over TCP\" lab servers.\n\n\
        Connects to HOST:PORT, prints the client id the server assigns, sends a pickled \
        identity dict (the keys the lab's server reads by default: student_name, email, sid, \
        github_username; see --keys, --key and --field), then prints every message the server \
        sends until it closes the connection.",
    after_help = EXIT_CODES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    connect: ConnectArgs,

    /// Print more status lines on stderr (connection attempts, timeouts)
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    verbose: u8,

    /// Print no status lines on stderr, only errors
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert between JSON lines and pickles
    #[command(subcommand)]
    Pickle(PickleCommand),
    /// Start the reference lab server in-process on a free loopback port, run the client
    /// against it and print the whole exchange, both sides
    Demo(DemoArgs),
    /// Run many lab clients at once against a server (load test): each connects, completes
    /// the handshake with a generated identity and listens; prints handshakes/s, latency
    /// percentiles and failures by cause
    Load(load::LoadArgs),
    /// Receive Python logging's SocketHandler/DatagramHandler records and print them as its Formatter would
    Logs(logs::LogsArgs),
}

#[derive(Subcommand, Debug)]
enum PickleCommand {
    /// Read JSON values, one per line, from stdin; write one pickle per value to stdout
    ///
    /// Objects become dicts (key order kept), arrays lists, integers ints (exact, up to 128
    /// bits), other numbers floats, null None. Blank lines are skipped.
    Encode {
        /// Pickle protocol to write
        #[arg(short, long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=5))]
        protocol: u8,
    },
    /// Read concatenated pickles from stdin; write one line per pickle to stdout
    ///
    /// Stops at the first pickle that is invalid or refused (code-running opcodes), after
    /// printing every complete pickle before it, and exits with status 5.
    Decode {
        /// Output: `repr` (exactly Python's repr) or `json` (as --format json's values)
        #[arg(short, long, value_enum, default_value_t = DecodeFormat::Repr)]
        format: DecodeFormat,
    },
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Pickle protocol both sides write
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=5))]
    protocol: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DecodeFormat {
    /// Python's repr
    Repr,
    /// JSON
    Json,
}

/// How `brine` prints the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// As the lab client prints: the id line, then each message's repr
    Text,
    /// One JSON object per line (events: connected, client_id, sent, message, skipped, closed)
    Json,
}

/// The connection and identity flags.
#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    /// The server: HOST:PORT, [IPV6]:PORT, or HOST (port 12000)
    #[arg(env = "BRINE_SERVER", default_value = "127.0.0.1:12000")]
    pub server: String,

    /// Your name (sent as 'student_name'; --keys handout: 'name')
    #[arg(long, env = "BRINE_NAME")]
    pub name: Option<String>,

    /// Your email (sent as 'email')
    #[arg(long, env = "BRINE_EMAIL")]
    pub email: Option<String>,

    /// Your student id (sent as 'sid', an int when all digits without a leading zero, else a
    /// str; --keys handout: 'student_id', always a str)
    #[arg(long, env = "BRINE_STUDENT_ID")]
    pub student_id: Option<String>,

    /// Your GitHub user name (sent as 'github_username')
    #[arg(long, env = "BRINE_GITHUB")]
    pub github: Option<String>,

    /// Which keys the identity flags are sent as: `lab` (the instructor's lab server:
    /// student_name, email, sid, github_username) or `handout` (the handout's example:
    /// name, email, student_id, github_username)
    #[arg(long, env = "BRINE_KEYS", value_enum, default_value_t = Keys::Lab)]
    pub keys: Keys,

    /// Send an identity flag under another key: FLAG=KEY, FLAG one of name, email,
    /// student-id, github (e.g. --key name=full_name); repeatable
    #[arg(long = "key", value_name = "FLAG=KEY", value_parser = identity::parse_rename)]
    pub renames: Vec<identity::Rename>,

    /// An extra identity field: KEY=VALUE (a str) or KEY:=JSON (a typed value: 123, true,
    /// null, [1,2], {"a":1}, read as Python's json.loads reads it: NaN, Infinity, "\ud800",
    /// integers up to 4300 digits); repeatable, sent after the fields above, in order; a key
    /// given twice keeps its first place and its last value
    #[arg(long = "field", value_name = "KEY=VALUE|KEY:=JSON", value_parser = parse_field)]
    pub fields: Vec<Field>,

    /// Pickle protocol of the identity: `auto` (answer as the server's client id was
    /// written: Python 2 byte strings -> protocol 2 with ASCII strs as byte strings; else
    /// the id's protocol if 0-3 (0-2 also with byte strings), else 4), or 0-5
    #[arg(long, env = "BRINE_PROTOCOL", value_name = "auto|0-5", default_value = "auto", value_parser = parse_protocol)]
    pub protocol: ProtocolArg,

    /// After the identity, print a hint (on stderr; an event with --format json) if the
    /// server sends nothing for this many seconds (0: never; a close without a word is
    /// hinted at all the same); brine keeps listening
    #[arg(long, env = "BRINE_HINT_AFTER", value_name = "SECS", default_value = "3", value_parser = parse_secs)]
    pub hint_after: Secs,

    /// Seconds to wait for the connection, for the client id, and for each next part of a
    /// started message (0: no limit)
    #[arg(long, env = "BRINE_TIMEOUT", value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub timeout: Secs,

    /// Give up after this many seconds without a message (default: wait as long as the
    /// server stays connected)
    #[arg(long, env = "BRINE_IDLE_TIMEOUT", value_name = "SECS", value_parser = parse_secs)]
    pub idle_timeout: Option<Secs>,

    /// Retry this many times while the connection is refused (the server is not up yet),
    /// with exponential backoff from 0.25 s to 8 s and jitter
    #[arg(long, env = "BRINE_RETRY", value_name = "N", default_value_t = 0)]
    pub retry: u32,

    /// Output format
    #[arg(long, env = "BRINE_FORMAT", value_enum, default_value_t = Format::Text)]
    pub format: Format,

    #[command(flatten)]
    pub dialect: dialect::DialectArgs,
}

/// Which keys the identity flags are sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Keys {
    /// The instructor's lab server: student_name, email, sid (int when all digits),
    /// github_username
    Lab,
    /// The handout's example: name, email, student_id (a str), github_username
    Handout,
}

/// `--protocol`: chosen from the server's id, or fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolArg {
    /// As the server's client id was written ([`brine_core::session::Dialect::answer`]).
    Auto,
    /// This protocol.
    Fixed(brine_core::pickle::Protocol),
}

/// `auto` or 0-5.
fn parse_protocol(s: &str) -> Result<ProtocolArg, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(ProtocolArg::Auto);
    }
    s.parse::<u8>()
        .ok()
        .and_then(brine_core::pickle::Protocol::from_u8)
        .map(ProtocolArg::Fixed)
        .ok_or_else(|| format!("expected auto or a protocol 0 to 5, got '{s}'"))
}

/// An identity field from `--field`.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The key.
    pub key: String,
    /// The value (a str for KEY=VALUE; for KEY:=JSON what Python's `json.loads` makes of it).
    pub value: brine_json::Python,
}

/// `KEY=VALUE` (str) or `KEY:=JSON` (typed), as httpie reads them.
fn parse_field(s: &str) -> Result<Field, String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE or KEY:=JSON, got '{s}'"))?;
    let (key, value) = match key.strip_suffix(':') {
        Some(key) => {
            let value = brine_json::parse(value)
                .map_err(|e| format!("the value of '{key}' is not valid JSON: {e}"))?;
            (key, value)
        }
        None => (key, brine_json::Python::Str(value.as_bytes().to_vec())),
    };
    if key.is_empty() {
        return Err(format!("the key is empty in '{s}'"));
    }
    Ok(Field {
        key: key.to_owned(),
        value,
    })
}

/// A number of seconds from the command line; `None` for 0 (no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Secs(pub Option<Duration>);

/// Seconds (a decimal number, like 1.5); 0 means no limit.
pub(crate) fn parse_secs(s: &str) -> Result<Secs, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of seconds, got '{s}'"))?;
    if !(0.0..=1e9).contains(&secs) {
        return Err(format!("expected 0 or more seconds, got '{s}'"));
    }
    let duration = Duration::from_secs_f64(secs);
    if secs > 0.0 && duration.is_zero() {
        return Err(format!(
            "'{s}' seconds is below one nanosecond (0 means no limit)"
        ));
    }
    Ok(Secs((secs > 0.0).then_some(duration)))
}

/// How much status to print on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Status lines.
    Normal,
    /// Also connection attempts and settings.
    Verbose,
}

/// A failure: the exit status and one line for stderr.
#[derive(Debug)]
pub struct Fail {
    /// Exit status (see [`exit`]).
    pub code: u8,
    /// What happened.
    pub message: String,
}

impl Fail {
    /// A failure with `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Fail {
        Fail {
            code,
            message: message.into(),
        }
    }

    /// Writing to stdout or reading stdin failed.
    pub fn io(what: &str, e: std::io::Error) -> Fail {
        Fail::new(exit::FAILURE, format!("cannot {what}: {e}"))
    }
}

/// Runs `f` on a thread with a 64 MiB stack: the codec is allocation-free by design, so
/// the sessions' decoders and `brine pickle encode`'s memo live on the stack.
pub fn with_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .expect("cannot start a thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --format json promises every error on stdout: a usage error too.
            if e.use_stderr() && json_requested() {
                client::print_json_error(exit::USAGE, e.kind().as_str().unwrap_or("usage error"));
            }
            e.exit()
        }
    };
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose > 0 {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let result = with_big_stack(move || match cli.command {
        None => client::run(&cli.connect, verbosity),
        Some(Command::Pickle(PickleCommand::Encode { protocol })) => pickle_cmd::encode(protocol),
        Some(Command::Pickle(PickleCommand::Decode { format })) => {
            pickle_cmd::decode(format == DecodeFormat::Json)
        }
        Some(Command::Demo(args)) => demo::run(args.protocol, verbosity),
        Some(Command::Load(args)) => load::run(&args, verbosity),
        Some(Command::Logs(args)) => logs::run(&args, verbosity),
    });
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(fail) => {
            // Errors may quote the peer: no control character reaches the terminal raw.
            eprintln!("error: {}", brine_core::pickle::Escaped(&fail.message));
            ExitCode::from(fail.code)
        }
    }
}

/// `--format json` or `BRINE_FORMAT=json` on a command line clap refused.
fn json_requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let flag = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json");
    flag || std::env::var("BRINE_FORMAT").is_ok_and(|f| f == "json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fields() {
        use brine_json::Python;
        let str = |s: &str| Python::Str(s.as_bytes().to_vec());
        let f = parse_field("a=1").unwrap();
        assert_eq!((f.key.as_str(), f.value), ("a", str("1")));
        let f = parse_field("a:=1").unwrap();
        assert_eq!((f.key.as_str(), f.value), ("a", Python::Int("1".into())));
        let f = parse_field("url=x=y").unwrap();
        assert_eq!((f.key.as_str(), f.value), ("url", str("x=y")));
        let f = parse_field("tags:=[\"a\",2]").unwrap();
        assert_eq!(
            f.value,
            Python::List(vec![str("a"), Python::Int("2".into())])
        );
        // What Python's json.loads accepts beyond RFC 8259.
        let f = parse_field("x:=NaN").unwrap();
        assert!(matches!(f.value, Python::Float(x) if x.is_nan()));
        let f = parse_field("y:=\"\\ud800\"").unwrap();
        assert_eq!(f.value, Python::Str(vec![0xED, 0xA0, 0x80]));
        assert!(parse_field("novalue").is_err());
        assert!(parse_field("=x").is_err());
        assert!(parse_field("a:=nope").is_err());
    }

    #[test]
    fn protocols() {
        assert_eq!(parse_protocol("auto"), Ok(ProtocolArg::Auto));
        assert_eq!(
            parse_protocol("2"),
            Ok(ProtocolArg::Fixed(brine_core::pickle::Protocol::V2))
        );
        assert!(parse_protocol("6").is_err());
        assert!(parse_protocol("x").is_err());
    }

    #[test]
    fn secs() {
        assert_eq!(
            parse_secs("1.5"),
            Ok(Secs(Some(Duration::from_millis(1500))))
        );
        assert_eq!(parse_secs("0"), Ok(Secs(None)));
        assert!(parse_secs("-1").is_err());
        // Positive but below the clock's resolution: a usage error, not a 0 s timeout.
        assert!(parse_secs("0.0000000001").is_err());
        assert!(parse_secs("nan").is_err());
        assert_eq!(
            parse_secs("0.0005"),
            Ok(Secs(Some(Duration::from_micros(500))))
        );
        assert_eq!(
            brine_adapters::tcp::Secs(Duration::from_micros(500)).to_string(),
            "0.0005 s"
        );
        assert_eq!(
            brine_adapters::tcp::Secs(Duration::from_millis(1500)).to_string(),
            "1.5 s"
        );
        assert_eq!(
            brine_adapters::tcp::Secs(Duration::from_secs(5)).to_string(),
            "5 s"
        );
        assert!(parse_secs("x").is_err());
    }
}
