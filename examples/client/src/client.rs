//! `brine [HOST:PORT]`: the lab client.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use brine_adapters::tcp::{self, ConnectOptions, ErrorKind, Progress, Retry, Secs, Timeouts};
use brine_core::pickle::{to_slice, Budget, Decoder, Escaped, Protocol, Value};
use brine_core::session::{ClientId, Event, SkipReason};

use crate::{exit, ConnectArgs, Fail, Format, Verbosity};
use brine_json::{self as json, AsPython};

/// The identity dict: name, email, student_id, github_username (those given), then the
/// `--field`s in order (a repeated key keeps its first place and takes the last value).
pub fn identity(args: &ConnectArgs) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    let fixed = [
        ("name", &args.name),
        ("email", &args.email),
        ("student_id", &args.student_id),
        ("github_username", &args.github),
    ];
    for (key, value) in fixed {
        if let Some(value) = value {
            map.insert(key.to_owned(), serde_json::Value::String(value.clone()));
        }
    }
    for field in &args.fields {
        map.insert(field.key.clone(), field.value.clone());
    }
    serde_json::Value::Object(map)
}

/// The identity as Python prints it (pickled and decoded again, so it is exactly what the
/// server will see), or why it cannot be sent.
pub fn identity_repr(identity: &serde_json::Value, protocol: Protocol) -> Result<String, Fail> {
    // The session's transmit buffer is 4096 bytes, the lab server's recv size.
    let mut buf = vec![0u8; 4096];
    let bytes = to_slice(&AsPython(identity), &mut buf, protocol).map_err(|e| {
        Fail::new(
            exit::USAGE,
            format!("cannot send this identity: {e} (the lab server reads at most 4096 bytes)"),
        )
    })?;
    // A server using brine's decoder would refuse what brine's decoder refuses (e.g. nesting
    // deeper than pickle::MAX_DEPTH): that identity is a usage error naming the limit.
    let mut decoder: Decoder = Decoder::new();
    let value = decoder.decode(bytes).map_err(|e| {
        Fail::new(
            exit::USAGE,
            format!("cannot send this identity: brine's own decoder refuses it: {e}"),
        )
    })?;
    Ok(value.to_string())
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
}

/// The most one message may print: its repr (text) or JSON, in bytes. A longer repr is cut
/// there and ends with a marker; a longer JSON is reported as skipped. This bounds the work
/// and the output of a pickle whose shared references expand to gigabytes (docs/SECURITY.md).
pub const MESSAGE_OUTPUT_LIMIT: usize = 1 << 20;

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

    fn json_event(&self, event: &str, rest: &str) -> Result<(), Fail> {
        self.out(&format!("{{\"event\":\"{event}\"{rest}}}"))
    }

    pub fn connected(&self, peer: &str) -> Result<(), Fail> {
        match self.format {
            Format::Text => {
                self.status(Verbosity::Normal, &format!("connected to {peer}"));
                Ok(())
            }
            Format::Json => {
                let mut rest = String::from(",\"peer\":");
                let _ = json::write_str(&mut rest, peer);
                self.json_event("connected", &rest)
            }
        }
    }

    pub fn client_id(&self, id: &ClientId) -> Result<(), Fail> {
        match self.format {
            // A str id is the peer's text: no control character reaches the terminal raw.
            Format::Text => self.out(&format!(
                "Assigned client id by server: {}",
                Escaped(&id.to_string())
            )),
            Format::Json => {
                let mut rest = String::from(",\"value\":");
                match id {
                    ClientId::Int(i) => rest.push_str(&i.to_string()),
                    ClientId::Str(s) => {
                        let _ = json::write_str(&mut rest, s);
                    }
                }
                self.json_event("client_id", &rest)
            }
        }
    }

    pub fn sent(&self, identity: &serde_json::Value, repr: &str) -> Result<(), Fail> {
        match self.format {
            Format::Text => {
                self.status(Verbosity::Normal, &format!("sent {repr}"));
                Ok(())
            }
            Format::Json => {
                // serde_json writes the map in order and (arbitrary_precision) numbers exactly.
                let value = serde_json::to_string(identity)
                    .map_err(|e| Fail::new(exit::FAILURE, e.to_string()))?;
                self.json_event("sent", &format!(",\"value\":{value}"))
            }
        }
    }

    /// A message: its repr streamed to stdout, cut after [`MESSAGE_OUTPUT_LIMIT`] bytes with a
    /// marker; or its JSON (built up to that limit), else a `skipped` event saying why.
    pub fn message(&self, value: &Value<'_>) -> Result<(), Fail> {
        match self.format {
            Format::Text => self.out_with(|w| {
                let mut bounded = Budget::new(w, MESSAGE_OUTPUT_LIMIT);
                if bounded.write_display(value)? {
                    return Ok(());
                }
                let reason = json::too_long("repr", MESSAGE_OUTPUT_LIMIT);
                write!(bounded.inner_mut(), "{}{reason}]", json::CUT_MARK)
            }),
            Format::Json => match json::to_json_line(value, MESSAGE_OUTPUT_LIMIT) {
                Ok(line) => self.json_event("message", &format!(",\"value\":{line}")),
                Err(reason) => {
                    let mut rest = String::from(",\"reason\":");
                    let _ = json::write_str(&mut rest, &reason);
                    self.json_event("skipped", &rest)
                }
            },
        }
    }

    pub fn skipped(&self, len: usize, reason: &SkipReason) -> Result<(), Fail> {
        match self.format {
            Format::Text => {
                self.status(
                    Verbosity::Normal,
                    &format!("skipped a {len}-byte message: {reason}"),
                );
                Ok(())
            }
            Format::Json => {
                let mut rest = format!(",\"bytes\":{len},\"reason\":");
                let _ = json::write_str(&mut rest, &reason.to_string());
                self.json_event("skipped", &rest)
            }
        }
    }

    pub fn closed(&self) -> Result<(), Fail> {
        match self.format {
            Format::Text => {
                self.status(Verbosity::Normal, "server closed the connection");
                Ok(())
            }
            Format::Json => self.json_event("closed", ""),
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

/// Connects as `args` say and runs the session to its end.
pub fn run(args: &ConnectArgs, verbosity: Verbosity) -> Result<(), Fail> {
    let printer = Printer {
        format: args.format,
        verbosity,
        prefix: "",
        status_on_stdout: false,
    };
    session(args, &printer)
}

/// The session, printed by `printer`.
pub fn session(args: &ConnectArgs, printer: &Printer) -> Result<(), Fail> {
    let protocol = Protocol::from_u8(args.protocol)
        .ok_or_else(|| Fail::new(exit::USAGE, "the protocol must be 0 to 5"))?;
    let identity = identity(args);
    let repr = identity_repr(&identity, protocol)?;
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
        } => printer.status(
            Verbosity::Normal,
            &format!(
                "{error} Retrying in {} (attempt {attempt} of {})",
                secs_short(delay),
                args.retry + 1
            ),
        ),
    })
    .map_err(fail)?;
    let peer = stream
        .inner()
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| args.server.clone());
    printer.connected(&peer)?;
    if identity.as_object().is_some_and(|m| m.is_empty()) {
        printer.status(
            Verbosity::Normal,
            "note: the identity is empty (give --name, --email, --student-id, --github or --field)",
        );
    }

    // The client owns the timeouts: --idle-timeout bounds the time without a message, even
    // while one is arriving.
    let mut client = tcp::Client::new(stream, timeouts);
    client.set_protocol(protocol);
    let id = client.handshake(&AsPython(&identity)).map_err(fail)?;
    printer.client_id(&id)?;
    printer.sent(&identity, &repr)?;
    loop {
        match client.next_event().map_err(fail)? {
            Event::Message(value) => printer.message(&value)?,
            Event::Skipped { len, reason } => printer.skipped(len, &reason)?,
            Event::Closed => return printer.closed(),
            // The id is the handshake's (the session reports it once); later kinds of event
            // are not printed.
            _ => {}
        }
    }
}

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
