//! `brine [HOST:PORT]`: the lab client.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use brine_adapters::tcp::{self, ConnectOptions, ErrorKind, Progress, Retry, Secs, Timeouts};
use brine_core::framing::Framing;
use brine_core::pickle::{Budget, Decoder, Encoding, Escaped, Protocol, Value};
use brine_core::session::{self, ClientId, Decode, Event, Greeting, Session, SkipReason, Waiting};
use brine_json::{self as json, Python};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::dialect::{self, DialectArgs};
use crate::identity::Keys;
use crate::identity::{identity, identity_repr, identity_shown, keys, keys_repr};
use crate::interrupt::Interrupt;
use crate::{exit, sniff, Buffer, ConnectArgs, Fail, Format, ProtocolArg, Verbosity};

/// One `--format json` line: `{"event": "<name>", ...}`.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum JsonEvent<'a> {
    Connected {
        peer: &'a str,
    },
    Greeting {
        value: Box<RawValue>,
    },
    ClientId {
        value: Box<RawValue>,
        /// The first message was the id itself, not `{'clientid': id}`.
        #[serde(skip_serializing_if = "is_false")]
        bare: bool,
    },
    Sent {
        value: Box<RawValue>,
        protocol: u8,
        #[serde(skip_serializing_if = "is_false")]
        python2_strings: bool,
    },
    Message {
        value: Box<RawValue>,
    },
    Skipped {
        /// The pickle's length (absent for a message whose JSON was too long to print).
        #[serde(skip_serializing_if = "Option::is_none")]
        bytes: Option<usize>,
        reason: String,
    },
    Note {
        kind: &'a str,
        message: &'a str,
    },
    Hint {
        kind: &'a str,
        message: &'a str,
        keys: Vec<String>,
    },
    Closed,
    Error {
        kind: &'a str,
        code: u8,
        message: &'a str,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A decoded value as a JSON value to embed in an event, at most [`MESSAGE_OUTPUT_LIMIT`]
/// bytes (`Err`: why not).
fn raw_json(value: &Value<'_>) -> Result<Result<Box<RawValue>, String>, Fail> {
    match json::to_json_line(value, MESSAGE_OUTPUT_LIMIT) {
        Ok(line) => RawValue::from_string(line)
            .map(Ok)
            .map_err(|e| Fail::new(exit::FAILURE, format!("cannot write JSON: {e}"))),
        Err(reason) => Ok(Err(reason)),
    }
}

/// The most one message may print: its repr (text) or JSON, in bytes. A longer repr is cut
/// there and ends with a marker; a longer JSON is reported as skipped. This bounds the work
/// and the output of a pickle whose shared references expand to gigabytes (docs/SECURITY.md).
pub const MESSAGE_OUTPUT_LIMIT: usize = 1 << 20;

/// `{"event":"error",...}` on stdout (for failures before a [`Printer`] exists).
pub fn print_json_error(code: u8, message: &str) {
    let event = JsonEvent::Error {
        kind: exit::kind(code),
        code,
        message,
    };
    if let Ok(line) = serde_json::to_string(&event) {
        let mut stdout = io::stdout().lock();
        let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
    }
}

/// Prints [`brine_server::STUB_NOTE`] on stderr the first time `value` holds a stub.
pub fn note_stubs(value: &Value<'_>) {
    static NOTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !NOTED.load(std::sync::atomic::Ordering::Relaxed) && value.contains_stub() {
        NOTED.store(true, std::sync::atomic::Ordering::Relaxed);
        eprintln!("note: {}", brine_server::STUB_NOTE);
    }
}

/// Where the session's lines go.
pub struct Printer {
    /// Text or JSON.
    pub format: Format,
    /// How much status goes to stderr.
    pub verbosity: Verbosity,
    /// Prefix of every line (the demo labels the sides).
    pub prefix: &'static str,
    /// Status lines go to stdout too (the demo shows everything in order).
    pub status_on_stdout: bool,
    /// Called after the `connected` and `sent` lines and before the `closed` line: the demo
    /// prints the server's lines there, so both sides read in the exchange's order.
    pub pace: Option<Box<dyn Fn(Step)>>,
}

/// Where the [`Printer`]'s `pace` is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// After the `connected` line.
    Connected,
    /// After the identity's `sent` line.
    Sent,
    /// Before the `server closed the connection` line.
    Closed,
}

impl Printer {
    fn out(&self, line: &str) -> Result<(), Fail> {
        self.out_with(|w| w.write_str(line))
    }

    /// One stdout line written by `write` into a buffered writer (flushed at the end of the
    /// line), so nothing is built whole.
    fn out_with(&self, write: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) -> Result<(), Fail> {
        let mut out = FmtIo::new(io::BufWriter::with_capacity(8192, io::stdout().lock()));
        let written = out
            .write_str(self.prefix)
            .and_then(|()| write(&mut out))
            .and_then(|()| out.write_char('\n'));
        out.finish(written)
            .and_then(|mut w| w.flush())
            .map_err(|e| Fail::io("write to stdout", e))
    }

    /// A status line on stderr (not with -q; in JSON mode only what JSON does not carry).
    /// Control characters from the peer are escaped as repr does (`\x1b`, `\n`).
    pub fn status(&self, level: Verbosity, line: &str) {
        if self.verbosity < level {
            return;
        }
        if self.status_on_stdout {
            let _ = self.out(&Escaped(line).to_string());
        } else {
            eprintln!("{}{}", self.prefix, Escaped(line));
        }
    }

    fn json(&self, event: &JsonEvent<'_>) -> Result<(), Fail> {
        let line = serde_json::to_string(event)
            .map_err(|e| Fail::new(exit::FAILURE, format!("cannot write JSON: {e}")))?;
        self.out(&line)
    }

    fn pace(&self, step: Step) {
        if let Some(pace) = &self.pace {
            pace(step);
        }
    }

    pub fn connected(&self, peer: &str) -> Result<(), Fail> {
        match self.format {
            Format::Text => self.status(Verbosity::Normal, &format!("connected to {peer}")),
            Format::Json => self.json(&JsonEvent::Connected { peer })?,
        }
        self.pace(Step::Connected);
        Ok(())
    }

    pub fn client_id(&self, id: &ClientId) -> Result<(), Fail> {
        match self.format {
            // A str id is the peer's text: no control character reaches the terminal raw.
            Format::Text => self.out(&format!(
                "Assigned client id by server: {}",
                Escaped(&id.to_string())
            )),
            Format::Json => match id.with_value(|v| raw_json(&v))? {
                Ok(value) => self.json(&JsonEvent::ClientId {
                    value,
                    bare: id.is_bare(),
                }),
                // An id is at most 128 bytes pickled: its JSON cannot be that long.
                Err(reason) => Err(Fail::new(exit::FAILURE, reason)),
            },
        }
    }

    /// The identity sent: its repr (text), or (JSON) its JSON as a received message's, from
    /// the identity pickled with `encoding`'s protocol and decoded again.
    pub fn sent(&self, identity: &Python, repr: &str, encoding: Encoding) -> Result<(), Fail> {
        match self.format {
            Format::Text => {
                let how = match encoding.protocol() {
                    Protocol::V4 => String::new(),
                    _ if encoding.is_python2() => format!(
                        " (pickle protocol {}, strs as Python 2 byte strings)",
                        encoding.protocol()
                    ),
                    p => format!(" (pickle protocol {p})"),
                };
                self.status(Verbosity::Normal, &format!("sent {repr}{how}"));
            }
            Format::Json => self.json(&JsonEvent::Sent {
                // Pickled within 4096 bytes, so its JSON is far below the message limit.
                value: identity_shown(identity, encoding.protocol(), raw_json)??
                    .map_err(|reason| Fail::new(exit::FAILURE, reason))?,
                protocol: encoding.protocol().as_u8(),
                python2_strings: encoding.is_python2(),
            })?,
        }
        self.pace(Step::Sent);
        Ok(())
    }

    /// A message: its repr streamed to stdout, cut after [`MESSAGE_OUTPUT_LIMIT`] bytes with a
    /// marker; or its JSON (built up to that limit), else a `skipped` event saying why.
    pub fn message(&self, value: &Value<'_>) -> Result<(), Fail> {
        if self.verbosity > Verbosity::Quiet {
            note_stubs(value);
        }
        match self.format {
            Format::Text => self.out_with(|w| {
                let mut bounded = Budget::new(w, MESSAGE_OUTPUT_LIMIT);
                if bounded.write_display(value)? {
                    return Ok(());
                }
                let reason = json::too_long("repr", MESSAGE_OUTPUT_LIMIT);
                write!(bounded.inner_mut(), "{}{reason}]", json::CUT_MARK)
            }),
            Format::Json => match raw_json(value)? {
                Ok(value) => self.json(&JsonEvent::Message { value }),
                Err(reason) => self.json(&JsonEvent::Skipped {
                    bytes: None,
                    reason,
                }),
            },
        }
    }

    /// The server's first message under `--greeting any`: printed as a message is (text),
    /// or a `greeting` event.
    pub fn greeting(&self, value: &Value<'_>) -> Result<(), Fail> {
        match self.format {
            Format::Text => self.message(value),
            Format::Json => match raw_json(value)? {
                Ok(value) => self.json(&JsonEvent::Greeting { value }),
                Err(reason) => self.json(&JsonEvent::Skipped {
                    bytes: None,
                    reason,
                }),
            },
        }
    }

    pub fn skipped(&self, len: usize, reason: &SkipReason) -> Result<(), Fail> {
        match self.format {
            Format::Text => {
                let fix = match reason {
                    SkipReason::TooLarge { .. } if len <= 1 << 20 => {
                        format!(" (see it with --buffer {len})")
                    }
                    SkipReason::TooLarge { .. } => " (--buffer takes at most 1M)".to_owned(),
                    _ => String::new(),
                };
                self.status(
                    Verbosity::Normal,
                    &format!("skipped a {len}-byte message: {reason}{fix}"),
                );
                Ok(())
            }
            Format::Json => self.json(&JsonEvent::Skipped {
                bytes: Some(len),
                reason: reason.to_string(),
            }),
        }
    }

    /// A note: `note: ...` on stderr, or a `note` event.
    pub fn note(&self, kind: &str, message: &str) -> Result<(), Fail> {
        match self.format {
            Format::Text => {
                self.status(Verbosity::Normal, &format!("note: {message}"));
                Ok(())
            }
            Format::Json => self.json(&JsonEvent::Note { kind, message }),
        }
    }

    /// A hint: `hint: ...` on stderr, or a `hint` event with the identity's keys.
    pub fn hint(&self, kind: &str, message: &str, identity: &Python) -> Result<(), Fail> {
        match self.format {
            Format::Text => {
                self.status(Verbosity::Normal, &format!("hint: {message}"));
                Ok(())
            }
            Format::Json => self.json(&JsonEvent::Hint {
                kind,
                message,
                keys: keys(identity),
            }),
        }
    }

    pub fn closed(&self) -> Result<(), Fail> {
        self.pace(Step::Closed);
        match self.format {
            Format::Text => {
                self.status(Verbosity::Normal, "server closed the connection");
                Ok(())
            }
            Format::Json => self.json(&JsonEvent::Closed),
        }
    }

    /// The run's failure as an `error` event (JSON only; text errors are main's `error:`
    /// line on stderr).
    pub fn error(&self, fail: &Fail) {
        if self.format == Format::Json {
            let _ = self.json(&JsonEvent::Error {
                kind: exit::kind(fail.code),
                code: fail.code,
                message: &fail.message,
            });
        }
    }
}

/// An adapter error as a failure with its exit status.
pub fn fail(error: tcp::Error) -> Fail {
    let code = match error.kind() {
        ErrorKind::InvalidInput => exit::USAGE,
        ErrorKind::Connect => exit::CONNECT,
        ErrorKind::Timeout => exit::TIMEOUT,
        ErrorKind::Protocol => exit::PROTOCOL,
        ErrorKind::Io => exit::LOST,
    };
    let message = match error {
        tcp::Error::Idle { after } => {
            format!("no message for {} (--idle-timeout)", Secs(after))
        }
        other => other.to_string(),
    };
    Fail::new(code, message)
}

/// Connects as `args` say and runs the session to its end; Ctrl-C ends it with status 130
/// after printing what arrived.
pub fn run(args: &ConnectArgs, verbosity: Verbosity) -> Result<(), Fail> {
    let printer = Printer {
        format: args.format,
        verbosity,
        prefix: "",
        status_on_stdout: false,
        pace: None,
    };
    let interrupt = Interrupt::install();
    let result = session(args, &printer, interrupt.as_ref());
    if let Err(fail) = &result {
        printer.error(fail);
    }
    result
}

/// The hint after a close without a word: the keys sent, the concrete alternative, and for
/// a Python 2 server answered in protocol 3 or later, `--protocol auto`.
fn closed_hint(identity: &Python, id: &ClientId, args: &ConnectArgs) -> String {
    let ids = &args.identity;
    let defaults = ids.renames.is_empty() && ids.fields.is_empty();
    let mut hint = format!(
        "the server closed the connection right after the identity without sending anything \
         (keys sent: {}): ",
        keys_repr(identity)
    );
    let py2 = id.dialect().py2_strings;
    hint.push_str(match (args.protocol, ids.keys) {
        (ProtocolArg::Fixed(p), _) if py2 && p.as_u8() > 2 => {
            "this server writes Python 2 pickles, which cannot load protocol 3 or later: try \
             --protocol auto"
        }
        (_, Keys::Lab) if defaults => {
            "the instructor's server reads student_name/sid/github_username (the default); a \
             server written from the handout reads name/email: try --keys handout"
        }
        (_, Keys::Handout) if defaults => {
            "a server written from the handout reads name/email (--keys handout); the \
             instructor's server reads student_name/sid/github_username: try --keys lab (the \
             default)"
        }
        _ => "it may expect other keys: see --keys / --key / --field",
    });
    hint
}

/// The hint after a close without a word that followed our identity outside the lab's
/// exchange (`--greeting any|none`): a Python 2 server (the Cookbook's chat server) dies of a
/// pickle in protocol 3 or later.
fn dialect_closed_hint(protocol: Protocol, greeting: Greeting) -> String {
    let first = match greeting {
        Greeting::None => "our first message (the identity)",
        _ => "the identity",
    };
    let what = if protocol.as_u8() > 2 {
        format!(
            "a Python 2 server cannot read pickle protocol {} and may die of it (as the \
             Python Network Programming Cookbook's chat server does): try --protocol 2",
            protocol.as_u8()
        )
    } else {
        "it may expect another identity (--identity JSON), framing (--framing) or greeting \
         (--greeting)"
            .to_string()
    };
    format!("the server closed the connection right after {first} without sending anything: {what}")
}

/// The session, printed by `printer`; `interrupt` (Ctrl-C) ends it as described in
/// interrupt.rs.
pub fn session(
    args: &ConnectArgs,
    printer: &Printer,
    interrupt: Option<&Interrupt>,
) -> Result<(), Fail> {
    let dialect = &args.dialect;
    let identity = dialect.identity(identity(&args.identity))?;
    let sends = dialect.sends()?;
    let authkey = dialect.authkey()?;
    // Checked before connecting: it pickles, and fits the 4096-byte transmit buffer.
    let first = match args.protocol {
        ProtocolArg::Fixed(p) => p,
        ProtocolArg::Auto => Protocol::V4,
    };
    if let Some(identity) = &identity {
        identity_repr(identity, first)?;
    }
    let options = ConnectOptions::new()
        .timeout(args.timeout.0)
        .retry(Retry::times(args.retry));
    let timeouts = Timeouts::new(args.timeout.0).with_idle(args.idle_timeout.and_then(|s| s.0));
    printer.status(
        Verbosity::Verbose,
        &format!(
            "timeouts: connect/client id/rest of a message {}, between messages {}",
            args.timeout
                .0
                .map_or("none".into(), |d| Secs(d).to_string()),
            timeouts.idle.map_or("none".into(), |d| Secs(d).to_string())
        ),
    );
    let stream = tcp::connect_with(&args.server, &options, |progress| match progress {
        Progress::Trying { addr, attempt } => printer.status(
            Verbosity::Verbose,
            &format!("connecting to {addr} (attempt {attempt})"),
        ),
        Progress::Retrying {
            error,
            delay,
            attempt,
        } => {
            let message = format!(
                "{error} Retrying in {} (attempt {attempt} of {})",
                secs_short(delay),
                args.retry + 1
            );
            let _ = printer.note("retrying", &message);
        }
    })
    .map_err(fail)?;
    let peer = stream
        .inner()
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| args.server.clone());
    if let (Some(interrupt), Ok(socket)) = (interrupt, stream.inner().try_clone()) {
        interrupt.watch(socket);
    }
    printer.connected(&peer)?;
    if dialect.framing() == Framing::Multiprocessing {
        let interrupted = |fail: Fail| match interrupt {
            Some(i) if i.happened() => Fail::new(exit::INTERRUPTED, "interrupted (Ctrl-C)"),
            _ => fail,
        };
        dialect::authenticate(stream.inner(), authkey.as_deref(), args.timeout.0, printer)
            .map_err(interrupted)?;
    }
    let flags_empty = identity.as_ref().is_some_and(|i| keys(i).is_empty());
    if flags_empty && dialect.identity.is_none() {
        printer.note(
            "empty_identity",
            "the identity is empty (give --name, --email, --student-id, --github or --field)",
        )?;
    }
    let talk = Talk {
        args,
        printer,
        interrupt,
        identity: identity.as_ref(),
        dialect,
        sends,
    };
    match args.buffer {
        Buffer::K4 => talk.run::<4096, Decoder>(stream, timeouts),
        Buffer::K64 => talk.run::<65536, Decoder<16384, 32768, 4096, 16384>>(stream, timeouts),
        Buffer::M1 => talk.run::<1048576, Decoder<65536, 131072, 16384, 65536>>(stream, timeouts),
    }
}

/// The conversation after connecting: handshake, then every event until the end.
struct Talk<'a> {
    args: &'a ConnectArgs,
    printer: &'a Printer,
    interrupt: Option<&'a Interrupt>,
    /// None: `--no-identity` (or multiprocessing without `--identity`).
    identity: Option<&'a Python>,
    dialect: &'a DialectArgs,
    /// The `--send` values, in order.
    sends: Vec<Python>,
}

impl Talk<'_> {
    /// `fail`, or status 130 when Ctrl-C caused it.
    fn interrupted(&self, fail: Fail) -> Fail {
        match self.interrupt {
            Some(i) if i.happened() => Fail::new(exit::INTERRUPTED, "interrupted (Ctrl-C)"),
            _ => fail,
        }
    }

    /// Runs the session with an `RX`-byte receive buffer and the decoder `D` (the client is
    /// on this thread's stack: 64 MiB, see `with_big_stack`).
    fn run<const RX: usize, D: Decode>(
        self,
        stream: tcp::Transport,
        timeouts: Timeouts,
    ) -> Result<(), Fail> {
        let Talk {
            args,
            printer,
            interrupt,
            identity,
            dialect,
            ref sends,
        } = self;
        let mut sends = sends.iter().peekable();
        let (framing, greeting) = (dialect.framing(), dialect.greeting());
        // The client owns the timeouts: --idle-timeout bounds the time without a message,
        // even while one is arriving. Until the hint is given, `idle` is cut to --hint-after
        // (an `Idle` error then restarts the idle clock and the session goes on).
        let idle = timeouts.idle;
        let hint_after = args.hint_after.0;
        let mut client: tcp::Client<Session<RX, 4096, D>> =
            tcp::Client::with_storage(stream, timeouts);
        match args.protocol {
            ProtocolArg::Fixed(p) => client.set_protocol(p),
            ProtocolArg::Auto => client.set_protocol_auto(),
        }
        client.set_framing(framing);
        client.set_greeting(greeting);
        client.allow_stubs(!args.refuse_objects);
        // The lab's exchange (the id, then the identity); its hints are about the keys.
        let mut lab_id = None;
        match (identity, greeting) {
            (Some(identity), Greeting::ClientId) => {
                let id = match client.handshake(identity) {
                    Ok(id) => id,
                    Err(e) => {
                        let not_pickle = matches!(
                            &e,
                            tcp::Error::Protocol(session::Error::Peer(
                                session::PeerFault::InvalidPickle { .. }
                            ))
                        );
                        let mut fail = self.interrupted(fail(e));
                        if not_pickle {
                            if let Some(shown) = sniff::describe(client.stream().first_bytes()) {
                                fail.message.push_str(&format!("; {shown}"));
                            }
                        }
                        return Err(fail);
                    }
                };
                printer.client_id(&id)?;
                if id.is_bare() {
                    printer.note(
                        "bare_client_id",
                        &format!(
                            "the server's first message is a bare {}, not {{'clientid': id}}: taken as the client id",
                            id.with_value(|v| v.type_name())
                        ),
                    )?;
                }
                let encoding = client.session().protocol();
                printer.sent(identity, &identity_repr(identity, encoding)?, encoding)?;
                lab_id = Some(id);
            }
            (Some(identity), _) => {
                client
                    .begin(identity)
                    .map_err(|e| self.interrupted(fail(e)))?;
                if greeting == Greeting::None {
                    let encoding = client.session().protocol();
                    printer.sent(identity, &identity_repr(identity, encoding)?, encoding)?;
                }
            }
            (None, _) => client.begin_without_identity(),
        }
        let mut identity_out = identity.is_none() || greeting != Greeting::Any;
        // --interactive reads stdin once the identity and every --send went out (so a
        // typed line never overtakes them); `stdin_waits` until then.
        let mut stdin_waits = dialect.interactive;
        let start_stdin = |client: &tcp::Client<Session<RX, 4096, D>>| {
            if let Ok(tcp) = client.stream().try_clone() {
                let encoding = client.session().protocol();
                let as_str = dialect.lines_as_str;
                dialect::spawn_stdin_sender(tcp, framing, encoding, as_str, printer);
            }
        };
        if stdin_waits && identity_out && sends.peek().is_none() {
            stdin_waits = false;
            start_stdin(&client);
        }
        // The key hints are for the lab's exchange (and not while the user types).
        let mut hint_pending = hint_after
            .filter(|h| idle.is_none_or(|i| *h < i))
            .filter(|_| lab_id.is_some() && !dialect.interactive);
        client.timeouts_mut().idle = hint_pending.or(idle);
        let mut messages = 0u64;
        // A server message arrived: the next --send goes out once the server has been quiet
        // for QUIET (it may send several messages per turn, e.g. an answer and its menu).
        let mut turn = false;
        loop {
            let mut reply = false;
            match client.next_event() {
                Ok(Event::Message(value)) => {
                    messages += 1;
                    printer.message(&value)?;
                    reply = true;
                }
                Ok(Event::Greeting(value)) => {
                    printer.greeting(&value)?;
                    match identity {
                        Some(identity) if !identity_out => {
                            let encoding = client.session().protocol();
                            printer.sent(
                                identity,
                                &identity_repr(identity, encoding)?,
                                encoding,
                            )?;
                            identity_out = true;
                            // Out now, before any line from stdin.
                            client.flush().map_err(|e| self.interrupted(fail(e)))?;
                            if stdin_waits && sends.peek().is_none() {
                                stdin_waits = false;
                                start_stdin(&client);
                            }
                        }
                        // No identity answers the greeting: the first --send does.
                        _ => reply = true,
                    }
                }
                Ok(Event::ClientId(id)) => {
                    printer.client_id(&id)?;
                    reply = true;
                }
                Ok(Event::Skipped { len, reason }) => {
                    messages += 1;
                    printer.skipped(len, &reason)?;
                    reply = true;
                }
                Ok(Event::Closed) => {
                    if interrupt.is_some_and(Interrupt::happened) {
                        return Err(Fail::new(exit::INTERRUPTED, "interrupted (Ctrl-C)"));
                    }
                    if let (None, Some(identity), 0, true) =
                        (&lab_id, identity, messages, identity_out)
                    {
                        let protocol = client.session().protocol().protocol();
                        printer.hint(
                            "closed_after_identity",
                            &dialect_closed_hint(protocol, greeting),
                            identity,
                        )?;
                        printer.closed()?;
                        return Err(Fail::new(
                            exit::CLOSED_AFTER_IDENTITY,
                            "the server closed the connection right after our identity without \
                             sending anything (exit status 7)",
                        ));
                    }
                    let (Some(id), Some(identity), 0) = (&lab_id, identity, messages) else {
                        return printer.closed();
                    };
                    let hint = closed_hint(identity, id, args);
                    printer.hint("closed_after_identity", &hint, identity)?;
                    printer.closed()?;
                    return Err(Fail::new(
                        exit::CLOSED_AFTER_IDENTITY,
                        "the server closed the connection right after the identity without \
                         sending anything (exit status 7)",
                    ));
                }
                // Later kinds of event are not printed.
                Ok(_) => {}
                Err(tcp::Error::Idle { .. }) if turn => {
                    turn = false;
                    client.timeouts_mut().idle = hint_pending.or(idle);
                    if let Some(value) = sends.next() {
                        let encoding = client.session().protocol();
                        let repr = identity_repr(value, encoding)?;
                        client.send(value).map_err(|e| self.interrupted(fail(e)))?;
                        printer.sent(value, &repr, encoding)?;
                    }
                    if stdin_waits && sends.peek().is_none() {
                        stdin_waits = false;
                        start_stdin(&client);
                    }
                }
                Err(tcp::Error::Idle { after }) if hint_pending.is_some() => {
                    hint_pending = None;
                    client.timeouts_mut().idle = idle;
                    if let (Some(identity), 0) = (identity, messages) {
                        let hint = format!(
                            "no answer yet, {} after the identity; still listening (Ctrl-C to \
                             stop). A server that never answers may expect other keys (sent: \
                             {}; see --keys)",
                            Secs(after),
                            keys_repr(identity)
                        );
                        printer.hint("silent_after_identity", &hint, identity)?;
                    }
                }
                Err(tcp::Error::Timeout {
                    waiting: Waiting::ClientId,
                    after,
                }) if greeting == Greeting::Any => {
                    return Err(self.interrupted(Fail::new(
                        exit::TIMEOUT,
                        format!(
                            "timed out after {} waiting for the server's first message \
                             (--greeting any): a server that waits for the client to speak \
                             first needs --greeting none",
                            Secs(after)
                        ),
                    )));
                }
                Err(e) => return Err(self.interrupted(fail(e))),
            }
            if reply && sends.peek().is_some() {
                turn = true;
                client.timeouts_mut().idle = Some(QUIET);
            }
        }
    }
}

/// How long the server must be quiet after a message before the next `--send` goes out.
const QUIET: std::time::Duration = std::time::Duration::from_millis(200);

/// `0.3 s` (two decimals at most, for retry delays).
fn secs_short(d: std::time::Duration) -> String {
    let text = format!("{:.2}", d.as_secs_f64());
    format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
}

/// An `io::Write` as a `fmt::Write`, keeping the I/O error (fmt's error carries none).
pub(crate) struct FmtIo<W: Write> {
    inner: W,
    error: Option<io::Error>,
}

impl<W: Write> FmtIo<W> {
    pub(crate) fn new(inner: W) -> Self {
        FmtIo { inner, error: None }
    }

    /// The writer, or the I/O error if writing failed (a failed `fmt` write without one, e.g.
    /// a `Display` that failed, is reported as such).
    pub(crate) fn finish(mut self, written: fmt::Result) -> io::Result<W> {
        match (written, self.error.take()) {
            (_, Some(e)) => Err(e),
            (Err(_), None) => Err(io::Error::other("formatting failed")),
            (Ok(()), None) => Ok(self.inner),
        }
    }
}

impl<W: Write> fmt::Write for FmtIo<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.inner.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}
