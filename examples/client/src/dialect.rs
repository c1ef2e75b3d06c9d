//! The dialect flags: how messages are framed, who speaks first, what the identity is,
//! what brine sends back (`--send`, `--interactive`), and multiprocessing.connection's
//! authkey handshake.

use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use brine_adapters::tcp::Secs;
use brine_core::framing::{Framing, MAX_PREFIX};
use brine_core::multiprocessing::{AuthError, Awaiting, Handshake, Role, NONCE_LEN};
use brine_core::pickle::{to_slice, Encoding};
use brine_core::session::Greeting;
use brine_json::Python;
use clap::{Args, ValueEnum};

use crate::client::Printer;
use crate::identity::identity_repr;
use crate::{exit, Fail, Verbosity};

/// `--framing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FramingArg {
    /// Pickles back to back, each ending at its STOP opcode (the lab's)
    Stop,
    /// A 4-byte big-endian length before each pickle (struct.pack('!I', n))
    Len32,
    /// The Python Network Programming Cookbook's struct.pack("L", socket.htonl(n)): 4
    /// big-endian length bytes and 4 zero bytes on 64-bit Linux
    Cookbook,
    /// multiprocessing.connection's Listener/Client (signed 4-byte length; see --authkey-env)
    Multiprocessing,
}

/// `--greeting`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GreetingArg {
    /// The server speaks first with {'clientid': id} (the lab's)
    Clientid,
    /// The server speaks first with any message, printed as the greeting
    Any,
    /// The client speaks first: the identity goes out at once
    None,
}

/// The dialect flags (flattened into the connect flags).
#[derive(Args, Debug, Clone)]
pub struct DialectArgs {
    /// Framing: stop, len32, cookbook, multiprocessing (+ --authkey-env)
    ///
    /// stop (default): none; len32: struct.pack('!I', n); cookbook: struct.pack("L",
    /// socket.htonl(n)); multiprocessing: multiprocessing.connection. Both ways.
    #[arg(long, env = "BRINE_FRAMING", value_enum, default_value_t = FramingArg::Stop, value_name = "FRAMING", hide_possible_values = true, hide_env = true, hide_default_value = true)]
    pub framing: FramingArg,

    /// Who speaks first: clientid, any, none
    ///
    /// clientid (default): {'clientid': id}, then the identity; any: any first message, then
    /// the identity; none: the identity at once. multiprocessing: any, no identity.
    #[arg(
        long,
        env = "BRINE_GREETING",
        value_enum,
        value_name = "WHO",
        hide_possible_values = true,
        hide_env = true
    )]
    pub greeting: Option<GreetingArg>,

    /// Send this JSON value as the identity (or --no-identity)
    #[arg(long, value_name = "JSON", conflicts_with = "no_identity")]
    pub identity: Option<String>,

    /// Send no identity
    #[arg(long, hide_short_help = true)]
    pub no_identity: bool,

    /// Send JSON when the server pauses 0.2 s after its message(s) (repeatable)
    #[arg(long = "send", value_name = "JSON")]
    pub sends: Vec<String>,

    /// Send stdin lines (JSON; --lines-as-str) after any --send, while printing
    #[arg(long)]
    pub interactive: bool,

    /// With --interactive: send each line as a str
    #[arg(long, requires = "interactive", hide_short_help = true)]
    pub lines_as_str: bool,

    /// multiprocessing: the authkey's environment variable
    ///
    /// Never a key on the command line. Answers MD5 (3.11) and {sha256} (3.12+) challenges.
    #[arg(long, value_name = "VAR", hide_short_help = true)]
    pub authkey_env: Option<String>,
}

impl Default for DialectArgs {
    /// The lab's dialect: STOP framing, `{'clientid': id}` first, the flags' identity.
    fn default() -> Self {
        DialectArgs {
            framing: FramingArg::Stop,
            greeting: None,
            identity: None,
            no_identity: false,
            sends: Vec::new(),
            interactive: false,
            lines_as_str: false,
            authkey_env: None,
        }
    }
}

impl DialectArgs {
    /// The framing chosen.
    pub fn framing(&self) -> Framing {
        match self.framing {
            FramingArg::Stop => Framing::Stop,
            FramingArg::Len32 => Framing::Len32,
            FramingArg::Cookbook => Framing::Cookbook,
            FramingArg::Multiprocessing => Framing::Multiprocessing,
        }
    }

    /// Who speaks first (multiprocessing: any, unless given).
    pub fn greeting(&self) -> Greeting {
        let default = match self.framing {
            FramingArg::Multiprocessing => GreetingArg::Any,
            _ => GreetingArg::Clientid,
        };
        match self.greeting.unwrap_or(default) {
            GreetingArg::Clientid => Greeting::ClientId,
            GreetingArg::Any => Greeting::Any,
            GreetingArg::None => Greeting::None,
        }
    }

    /// The identity to send: `--identity`, nothing (`--no-identity`, or multiprocessing
    /// without `--identity`), else the flags' dict `flags`.
    ///
    /// Fails (usage) on `--identity` that is not JSON.
    pub fn identity(&self, flags: Python) -> Result<Option<Python>, Fail> {
        if let Some(text) = &self.identity {
            return parse_json(text, "--identity").map(Some);
        }
        if self.no_identity || self.framing == FramingArg::Multiprocessing {
            return Ok(None);
        }
        Ok(Some(flags))
    }

    /// The `--send` values, in order. Fails (usage) on one that is not JSON.
    pub fn sends(&self) -> Result<Vec<Python>, Fail> {
        let many = self.sends.len() > 1;
        (self.sends.iter().enumerate())
            .map(|(i, text)| {
                let flag = if many {
                    format!("--send #{}", i + 1)
                } else {
                    "--send".into()
                };
                parse_json(text, &flag)
            })
            .collect()
    }

    /// The authkey's bytes from `--authkey-env`'s variable. Fails (usage) when the flag is
    /// used without multiprocessing or the variable is not set.
    pub fn authkey(&self) -> Result<Option<Vec<u8>>, Fail> {
        let Some(var) = &self.authkey_env else {
            return Ok(None);
        };
        if self.framing != FramingArg::Multiprocessing {
            return Err(Fail::new(
                exit::USAGE,
                "--authkey-env is for --framing multiprocessing".to_string(),
            ));
        }
        match std::env::var_os(var) {
            Some(key) => Ok(Some(key.into_encoded_bytes())),
            None => Err(Fail::new(
                exit::USAGE,
                format!("--authkey-env {var}: the environment variable {var} is not set (export {var}=...)"),
            )),
        }
    }
}

fn parse_json(text: &str, flag: &str) -> Result<Python, Fail> {
    brine_json::parse(text)
        .map_err(|e| Fail::new(exit::USAGE, format!("{flag}: not JSON ({e}): {text}")))
}

/// multiprocessing.connection's handshake as `Client(address, authkey=key)` runs it, over
/// `tcp`, each wait bounded by `timeout`; reads no byte past it. Without a key, checks
/// that the listener does not ask for one (a `#CHALLENGE#` among its first bytes).
///
/// Fails (protocol) on a wrong key, a listener without a key, a peer that is not
/// multiprocessing; (timeout) when the listener sends no challenge in time.
pub fn authenticate(
    tcp: &TcpStream,
    key: Option<&[u8]>,
    timeout: Option<Duration>,
    printer: &Printer,
) -> Result<(), Fail> {
    let Some(key) = key else {
        return refuse_challenge(tcp);
    };
    let mut nonce = [0u8; NONCE_LEN];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut nonce))
        .map_err(|e| Fail::io("read /dev/urandom for the challenge", e))?;
    let mut handshake = Handshake::new(Role::Client, key, nonce);
    let mut stream = tcp;
    let lost = |e: io::Error| Fail::io("authenticate", e);
    while !handshake.is_done() {
        let out = handshake.transmit();
        stream.write_all(out).map_err(lost)?;
        let n = out.len();
        handshake.transmitted(n);
        if handshake.is_done() {
            break;
        }
        stream.set_read_timeout(timeout).map_err(lost)?;
        let mut buf = [0u8; 512];
        let want = handshake.wanted().min(buf.len());
        let got = match stream.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(no_answer(handshake.awaiting(), timeout));
            }
            Err(e) => return Err(lost(e)),
        };
        let result = match got {
            0 => Err(handshake.peer_closed().unwrap_or(AuthError::Closed {
                awaiting: Awaiting::Nothing,
            })),
            n => handshake.receive(&buf[..n]).map(|_| ()),
        };
        if let Err(e) = result {
            // A #FAILURE# goes out before closing, as CPython sends it.
            let _ = stream.write_all(handshake.transmit());
            return Err(Fail::new(
                exit::PROTOCOL,
                format!("multiprocessing authentication: {e}"),
            ));
        }
    }
    stream.set_read_timeout(None).map_err(lost)?;
    let (ours, theirs) = handshake.digests();
    let name = |d: Option<brine_core::multiprocessing::Digest>| d.map_or("?", |d| d.name());
    printer.status(
        Verbosity::Normal,
        &format!(
            "authenticated: answered the listener's challenge with {}, it answered ours with {}",
            name(ours),
            name(theirs)
        ),
    );
    Ok(())
}

/// The error for a listener silent past `timeout` while `awaiting`.
fn no_answer(awaiting: Awaiting, timeout: Option<Duration>) -> Fail {
    let secs = Secs(timeout.unwrap_or_default());
    let message = match awaiting {
        // CPython's Client deadlocks here: both sides wait for the other.
        Awaiting::Challenge => format!(
            "multiprocessing authentication: the listener sent no #CHALLENGE# within {secs} \
             (--timeout): a Listener without an authkey sends none and waits for us (drop \
             --authkey-env), or the peer is not multiprocessing.connection"
        ),
        Awaiting::Verdict => format!(
            "multiprocessing authentication: the listener did not answer #WELCOME# or \
             #FAILURE# to our answer within {secs} (--timeout)"
        ),
        _ => format!(
            "multiprocessing authentication: the listener did not answer our #CHALLENGE# \
             within {secs} (--timeout)"
        ),
    };
    Fail::new(exit::TIMEOUT, message)
}

/// Without a key: looks (for up to 0.3 s) at the listener's first bytes without taking
/// them; a `#CHALLENGE#` there means it wants an authkey.
fn refuse_challenge(tcp: &TcpStream) -> Result<(), Fail> {
    let mut head = [0u8; 15];
    let deadline = Instant::now() + Duration::from_millis(300);
    let lost = |e: io::Error| Fail::io("read", e);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        tcp.set_read_timeout(Some(left)).map_err(lost)?;
        match tcp.peek(&mut head) {
            Ok(n) if n < head.len() && n > 0 => std::thread::sleep(Duration::from_millis(10)),
            Ok(_) => break,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            Err(e) => return Err(lost(e)),
        }
    }
    tcp.set_read_timeout(None).map_err(lost)?;
    if head[4..] == *b"#CHALLENGE#" {
        return Err(Fail::new(
            exit::PROTOCOL,
            "the listener asks for an authkey (it sent #CHALLENGE#): put the key in an \
             environment variable and give --authkey-env VAR"
                .to_string(),
        ));
    }
    Ok(())
}

/// `--interactive`: reads stdin lines on a thread and sends each as one pickle, in
/// `encoding` with `framing`'s prefix, on `tcp` (a clone of the connection), printing a
/// `sent` line (event) for each; a line that is not JSON is reported and skipped. Ends at
/// the end of stdin (brine keeps listening) or when the connection fails.
pub fn spawn_stdin_sender(
    tcp: TcpStream,
    framing: Framing,
    encoding: Encoding,
    as_str: bool,
    printer: &Printer,
) {
    let (format, verbosity, prefix) = (printer.format, printer.verbosity, printer.prefix);
    let status_on_stdout = printer.status_on_stdout;
    std::thread::spawn(move || {
        let printer = Printer {
            format,
            verbosity,
            prefix,
            status_on_stdout,
            pace: None,
        };
        let mut tcp = tcp;
        let mut buf = vec![0u8; 64 * 1024];
        for (number, line) in io::stdin().lock().lines().enumerate() {
            let Ok(line) = line else { break };
            let value = if as_str {
                Python::Str(line.clone().into_bytes())
            } else if line.trim().is_empty() {
                continue;
            } else {
                match brine_json::parse(&line) {
                    Ok(v) => v,
                    Err(e) => {
                        let message = format!(
                            "stdin line {}: not JSON ({e}), not sent: {line}",
                            number + 1
                        );
                        let _ = printer.note("not_sent", &message);
                        continue;
                    }
                }
            };
            let Some(frame) = framed(&value, framing, encoding, &mut buf, &printer) else {
                continue;
            };
            // Printed first: the server's answer may arrive (and print) before write_all returns.
            if let Ok(repr) = identity_repr(&value, encoding) {
                let _ = printer.sent(&value, &repr, encoding);
            }
            if tcp.write_all(frame).is_err() {
                return;
            }
        }
        let _ = printer.note(
            "stdin_closed",
            "end of stdin: nothing more to send; still listening",
        );
    });
}

/// `value` pickled with its prefix at the start of `buf`; `None` (reported) if it cannot
/// be pickled there.
fn framed<'b>(
    value: &Python,
    framing: Framing,
    encoding: Encoding,
    buf: &'b mut [u8],
    printer: &Printer,
) -> Option<&'b [u8]> {
    let h = framing.prefix_len();
    let len = match to_slice(value, &mut buf[h..], encoding) {
        Ok(pickle) => pickle.len(),
        Err(e) => {
            let _ = printer.note("not_sent", &format!("cannot pickle this line: {e}"));
            return None;
        }
    };
    let mut prefix = [0u8; MAX_PREFIX];
    let n = framing.encode_prefix(len, &mut prefix).ok()?;
    buf[..n].copy_from_slice(&prefix[..n]);
    Some(&buf[..h + len])
}
