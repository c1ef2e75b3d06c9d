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
mod sniff;
mod usage;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Exit statuses (also in `--help` and README.md).
pub mod exit {
    /// The server closed the connection in order after sending something (or the command
    /// succeeded).
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
    /// The server closed the connection right after the identity without sending anything:
    /// most often it failed on a key it expected (a `KeyError`); a server that is done
    /// without a word ends so too.
    pub const CLOSED_AFTER_IDENTITY: u8 = 7;
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
            CLOSED_AFTER_IDENTITY => "closed_after_identity",
            INTERRUPTED => "interrupted",
            _ => "failure",
        }
    }
}

/// The end of `-h`: examples, and where the rest is.
const EXAMPLES: &str = "\
Examples:
  brine 10.0.0.5:12000 --name \"Jose Ortiz\" --email jose@sfsu.edu --student-id 917654321
  brine 12000 --name \"Jose Ortiz\" --keys handout     (a server on this machine, handout keys)
  brine demo                                        (the whole exchange, both sides)
--help: every option, the keys sent, exit statuses, environment variables";

/// The end of `--help`.
const LONG_AFTER_HELP: &str = "\
Examples:
  brine 10.0.0.5:12000 --name \"Jose Ortiz\" --email jose@sfsu.edu --student-id 917654321
  brine 12000 --name \"Jose Ortiz\" --keys handout     (a server on this machine, handout keys)
  brine demo                                        (the whole exchange, both sides)

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
errors). --format json: stdout carries only JSON objects, one per line, errors included.

Exit status:
  0  the server closed the connection in order, after sending something (brine pickle/demo:
     success)
  1  other failure (reading stdin or writing stdout)
  2  usage error (bad flag, value or server address)
  3  could not connect (refused, unknown host, unreachable)
  4  timed out (connecting, waiting for the client id or the rest of a message, --idle-timeout)
  5  protocol error (no client id, invalid or truncated pickle; brine pickle: invalid input)
  6  connection lost (reset by the server, no answer to TCP keepalive)
  7  the server closed right after the identity without sending anything (most often it
     failed on a key it expected: see the hint; a server that is done without a word too)
  130  interrupted by Ctrl-C (everything received was printed first)";

/// A client for Python "pickle over TCP" lab servers.
#[derive(Parser, Debug)]
#[command(
    name = "brine",
    version,
    about = "A client for Python \"pickle over TCP\" lab servers",
    long_about = "A client for Python \"pickle over TCP\" lab servers.\n\n\
        Connects to the server, prints the client id it assigns, sends a pickled identity\n\
        dict (the keys the lab's server reads by default: student_name, email, sid,\n\
        github_username; see --keys, --key and --field), then prints every message the\n\
        server sends until it closes the connection.",
    after_help = EXAMPLES,
    after_long_help = LONG_AFTER_HELP,
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
    /// Run the whole exchange against an in-process lab server, both sides printed
    ///
    /// Starts the reference lab server in-process on a free loopback port, runs the client
    /// against it and prints the whole exchange in its order, each line labelled with the
    /// side that printed it.
    Demo(DemoArgs),
    /// Many clients at once against a server: handshakes/s, latency, failures
    ///
    /// Each client connects, completes the handshake with the identity flags (generated
    /// per client where a flag is not given: "brine load N", loadN@example.invalid, ...)
    /// and listens; prints handshakes/s, latency percentiles and failures by cause.
    Load(Box<load::LoadArgs>),
    /// Receive Python logging's socket records and print them as its Formatter would
    ///
    /// Records from logging.handlers.SocketHandler (TCP) or DatagramHandler (UDP).
    Logs(logs::LogsArgs),
}

#[derive(Subcommand, Debug)]
enum PickleCommand {
    /// Read JSON values, one per line, from stdin; write one pickle per value to stdout
    ///
    /// Objects become dicts (key order kept), arrays lists, integers ints (any size up to
    /// 4300 digits), other numbers floats, null None. Blank lines are skipped.
    ///
    /// Python's standard types (protocols 2-5): an object named by its $ key, the
    /// value under it the JSON `decode --format json` writes for the type:
    ///   {"$datetime": "2026-12-06T14:00:00.000123+01:00"}  ("Z" or +00:00: timezone.utc)
    ///   {"$datetime": {"iso": "...+01:00", "tzname": "CET", "fold": 1}}  (also $time)
    ///   {"$time": "14:00:00"}  {"$date": "2026-12-06"}  {"$timedelta": "-P1DT2.000003S"}
    ///   {"$timezone": "+05:30"}  {"$timezone": {"offset": "+01:00", "name": "CET"}}
    ///   {"$decimal": "1.50"}  {"$uuid": "12345678-1234-5678-1234-567812345678"}
    ///   {"$complex": {"real": 1.0, "imag": -0.0}}  {"$fraction": "-1/3"}
    ///   {"$range": {"start": 0, "stop": 10, "step": -2}}  {"$slice": {"stop": 2}}
    ///   {"$ordereddict": {"a": 1}}  {"$counter": {"a": 2}}  {"$deque": [1, 2], "maxlen": 3}
    ///   {"$defaultdict": "list", "items": {"a": [1]}}  (factory: list dict int str float
    ///   bool tuple or null; entries may be [key, value] pairs: {"$counter": [[1, 5]]})
    /// Each pickles as pickle.dumps does; see README.md, "brine pickle encode / decode".
    #[command(verbatim_doc_comment)]
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
        /// repr (exactly Python's repr; default) or json (as --format json's values)
        #[arg(short, long, value_enum, default_value_t = DecodeFormat::Repr, hide_possible_values = true, hide_default_value = true)]
        format: DecodeFormat,

        /// Refuse objects of classes brine does not know instead of showing inert stubs
        #[arg(long, env = "BRINE_REFUSE_OBJECTS")]
        refuse_objects: bool,
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
    /// HOST:PORT, HOST (port 12000) or PORT (127.0.0.1:PORT); default 127.0.0.1:12000
    ///
    /// HOST:PORT, [IPV6]:PORT (e.g. [fe80::1%eth0]:12000), a host alone (port 12000), or a
    /// bare PORT on this machine (127.0.0.1:PORT, as brine-server reads it).
    #[arg(
        env = "BRINE_SERVER",
        default_value = "127.0.0.1:12000",
        hide_default_value = true
    )]
    pub server: String,

    #[command(flatten)]
    pub identity: identity::IdentityArgs,

    /// Pickle protocol of the identity: auto (as the server's client id) or 0-5
    ///
    /// auto answers as the client id (or --greeting any's message) was written: Python 2
    /// byte strings -> protocol 2 with ASCII strs as byte strings; else its protocol if 0-3
    /// (0-2 also with byte strings), else 4; 4 under --greeting none.
    #[arg(long, env = "BRINE_PROTOCOL", value_name = "auto|0-5", default_value = "auto", value_parser = parse_protocol, hide_short_help = true)]
    pub protocol: ProtocolArg,

    /// Hint when the server has not answered the identity after SECS seconds
    ///
    /// The hint says "no answer yet" (on stderr; an event with --format json) and brine
    /// keeps listening; 0: never. A close without a word is hinted at all the same.
    #[arg(long, env = "BRINE_HINT_AFTER", value_name = "SECS", default_value = "10", value_parser = parse_secs, hide_short_help = true)]
    pub hint_after: Secs,

    /// Seconds to wait to connect, for the id, for the rest of a message (10)
    ///
    /// 0: no limit.
    #[arg(long, env = "BRINE_TIMEOUT", value_name = "SECS", default_value = "10", value_parser = parse_secs, hide_default_value = true)]
    pub timeout: Secs,

    /// Give up after this many seconds without a message
    ///
    /// By default brine waits as long as the server stays connected.
    #[arg(long, env = "BRINE_IDLE_TIMEOUT", value_name = "SECS", value_parser = parse_secs, hide_short_help = true)]
    pub idle_timeout: Option<Secs>,

    /// Retry N times while the connection is refused (server not up yet)
    ///
    /// With exponential backoff from 0.25 s to 8 s and jitter. Default 0.
    #[arg(
        long,
        env = "BRINE_RETRY",
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub retry: u32,

    /// Receive buffer: a larger message is skipped (4096, the lab's recv)
    ///
    /// Up to 1M; rounded up to 4K, 64K or 1M (e.g. --buffer 8192 shows a 6,000-byte
    /// message: the buffer is then 64K). K and M suffixes are 1024 and 1048576.
    #[arg(long, env = "BRINE_BUFFER", value_name = "BYTES", default_value = "4096", value_parser = parse_buffer, hide_default_value = true)]
    pub buffer: Buffer,

    /// Skip messages with objects of unknown classes (default: shown as inert stubs)
    #[arg(long, env = "BRINE_REFUSE_OBJECTS", hide_short_help = true)]
    pub refuse_objects: bool,

    /// text (as the lab's client prints; default) or json (a line per event)
    #[arg(long, env = "BRINE_FORMAT", value_enum, default_value_t = Format::Text, hide_possible_values = true, hide_default_value = true)]
    pub format: Format,

    #[command(flatten)]
    pub dialect: dialect::DialectArgs,
}

/// `--buffer`: one of the receive buffer sizes the CLI is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buffer {
    /// 4 KiB, the lab's `recv(4096)`.
    K4,
    /// 64 KiB.
    K64,
    /// 1 MiB.
    M1,
}

/// A size in bytes (`8192`, `64K`, `1M`), rounded up to a [`Buffer`].
fn parse_buffer(s: &str) -> Result<Buffer, String> {
    let text = s.trim();
    let (digits, unit) = match text.strip_suffix(['K', 'k']) {
        Some(d) => (d, 1024),
        None => match text.strip_suffix(['M', 'm']) {
            Some(d) => (d, 1 << 20),
            None => (text, 1),
        },
    };
    let bytes = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("expected a number of bytes (e.g. 8192, 64K, 1M), got '{s}'"))?;
    match bytes {
        0 => Err("the buffer must be at least 1 byte".into()),
        1..=4096 => Ok(Buffer::K4),
        4097..=65536 => Ok(Buffer::K64),
        65537..=1048576 => Ok(Buffer::M1),
        _ => Err(format!("at most 1M (1048576 bytes), got '{s}'")),
    }
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

/// The command line: `Cli`'s, with the environment variables listed once at the end of
/// `--help` rather than beside each option (where they would push `-h` past 100 columns).
fn command() -> clap::Command {
    let cmd = Cli::command();
    let mut env = String::from("Environment (a flag on the command line wins):");
    for (var, arg) in env_vars(&cmd) {
        env.push_str(&format!("\n  {var:<20} {arg}"));
    }
    // No `[env: ]` beside the options (the list above has them all).
    let cmd = cmd
        .mut_args(|a| a.hide_env(true))
        .mut_subcommand("load", |c| c.mut_args(|a| a.hide_env(true)));
    brine_server::args::fit_help(cmd).after_long_help(format!("{LONG_AFTER_HELP}\n\n{env}"))
}

/// The environment variables brine reads, each with its flag (`--name`, or `[SERVER]`).
fn env_vars(cmd: &clap::Command) -> Vec<(String, String)> {
    cmd.get_arguments()
        .filter_map(|arg| {
            let var = arg.get_env()?.to_string_lossy().into_owned();
            let flag = arg.get_long().map_or_else(
                || format!("[{}]", arg.get_id().as_str().to_uppercase()),
                |long| format!("--{long}"),
            );
            Some((var, flag))
        })
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let json = usage::json_requested(&args);
    let command = command();
    let envs: Vec<String> = env_vars(&command).into_iter().map(|(var, _)| var).collect();
    let problem =
        brine_server::args::not_utf8(&args, &envs, &[]).or_else(|| usage::stray_word(&args));
    if let Some(message) = problem {
        if json {
            client::print_json_error(exit::USAGE, &message);
        }
        eprintln!("error: {}", brine_core::pickle::Escaped(&message));
        return ExitCode::from(exit::USAGE);
    }
    let parsed = command
        .try_get_matches_from(&args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            // --format json promises every error on stdout: a usage error too.
            if e.use_stderr() && json {
                client::print_json_error(exit::USAGE, &usage::clap_message(&e));
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
        Some(Command::Pickle(PickleCommand::Decode {
            format,
            refuse_objects,
        })) => pickle_cmd::decode(format == DecodeFormat::Json, !refuse_objects),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        command().debug_assert();
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
