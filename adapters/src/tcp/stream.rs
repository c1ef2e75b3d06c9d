//! The connected std stream: connecting without losing a connection that completed and was
//! reset at once, and a reset seen early reported only after the bytes that came before it.
//!
//! std's `TcpStream::connect_timeout` waits for the socket to become writable and then returns
//! the socket's pending error, closing the socket: a server that accepts, sends its id and a
//! message and resets the connection before the client looked made brine report "could not
//! connect" and lose both. Reading the pending error also clears it, so the bytes received
//! before the reset then read as an orderly end of stream. [`connect`] keeps such a socket and
//! [`Stream`] remembers the reset, returning it where the received bytes end.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::Deref;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

/// A connected `TcpStream` (it derefs to one) that reports a reset the OS announced early
/// (while connecting, or as the error of a write) when the bytes received before it have been
/// read: a read that would return the end of the stream returns that reset instead.
#[derive(Debug)]
pub struct Stream {
    tcp: TcpStream,
    reset: Reset,
    first: First,
}

/// The first [`FIRST_BYTES`] bytes received, kept to show a peer that does not speak pickle.
#[derive(Debug)]
struct First {
    bytes: [u8; FIRST_BYTES],
    len: usize,
}

impl Default for First {
    fn default() -> Self {
        First {
            bytes: [0; FIRST_BYTES],
            len: 0,
        }
    }
}

/// How many of the first received bytes a [`Stream`] keeps ([`Stream::first_bytes`]).
pub const FIRST_BYTES: usize = 64;

impl Stream {
    /// Wraps a connected stream.
    pub fn new(tcp: TcpStream) -> Self {
        Stream {
            tcp,
            reset: Reset::default(),
            first: First::default(),
        }
    }

    /// The first bytes read from the connection (at most [`FIRST_BYTES`]; fewer until that
    /// many arrived): what a server that is not a pickle server sent, for an error to show.
    pub fn first_bytes(&self) -> &[u8] {
        &self.first.bytes[..self.first.len]
    }

    /// The reset already announced and not yet reported, if any.
    pub fn pending_reset(&self) -> Option<io::ErrorKind> {
        self.reset.0
    }
}

/// A reset the OS announced before the bytes received ahead of it were read: taken from a
/// connect or a write, returned by the read that reaches the end of those bytes. The std and
/// the tokio streams share it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Reset(Option<io::ErrorKind>);

impl Reset {
    /// A connect's outcome: connected (with the reset it saw, if any), or its error. Only an
    /// established connection is reset (a refused one is `ConnectionRefused`).
    pub(crate) fn after_connect(result: io::Result<()>) -> io::Result<Reset> {
        match result {
            Ok(()) => Ok(Reset(None)),
            Err(e) if is_reset(e.kind()) => Ok(Reset(Some(e.kind()))),
            Err(e) => Err(e),
        }
    }

    /// A read of `asked` bytes: the end of the stream after an announced reset is that reset.
    pub(crate) fn read(self, result: io::Result<usize>, asked: usize) -> io::Result<usize> {
        match (result, self.0) {
            (Ok(0), Some(kind)) if asked > 0 => Err(kind.into()),
            (result, _) => result,
        }
    }

    /// Whether a reset was announced: writes are then taken as done without writing.
    pub(crate) fn announced(self) -> bool {
        self.0.is_some()
    }

    /// A write of `len` bytes: a reset it met is kept and the write taken as done (the OS
    /// hands that error out once, to the write, and then reads the received bytes as an
    /// orderly close).
    pub(crate) fn write(&mut self, result: io::Result<usize>, len: usize) -> io::Result<usize> {
        match result {
            Err(e) if is_reset(e.kind()) => {
                self.0 = Some(e.kind());
                Ok(len)
            }
            other => other,
        }
    }
}

impl Deref for Stream {
    type Target = TcpStream;

    fn deref(&self) -> &TcpStream {
        &self.tcp
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for Stream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.tcp.as_fd()
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsSocket for Stream {
    fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        self.tcp.as_socket()
    }
}

/// The errors that say the connection existed and the peer ended it abruptly.
fn is_reset(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.tcp.read(buf);
        if let Ok(n) = result {
            let First { bytes, len } = &mut self.first;
            let take = n.min(FIRST_BYTES - *len);
            bytes[*len..*len + take].copy_from_slice(&buf[..take]);
            *len += take;
        }
        self.reset.read(result, buf.len())
    }
}

impl Write for Stream {
    /// A write the peer's reset refused is taken as written: the reset is reported by the
    /// read that reaches the end of what the peer sent before it.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.reset.announced() {
            return Ok(buf.len());
        }
        let result = self.tcp.write(buf);
        self.reset.write(result, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Connects to `addr` within `timeout` (`None`: the OS's own bound). A connection that
/// completed and was reset before this returned is a connected [`Stream`] whose reads end
/// with that reset, not a connect error (a refused connection is `ConnectionRefused`).
pub(crate) fn connect(addr: SocketAddr, timeout: Option<Duration>) -> io::Result<Stream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    let result = match timeout {
        Some(t) => socket.connect_timeout(&addr.into(), t.max(Duration::from_millis(1))),
        None => socket.connect(&addr.into()),
    };
    Ok(Stream {
        reset: Reset::after_connect(result)?,
        tcp: socket.into(),
        first: First::default(),
    })
}
