//! Any [`embedded_nal::TcpClientStack`] (embedded-nal 0.9) as a blocking `embedded-io`
//! transport for the core's [`blocking::Client`](brine_core::blocking::Client) (feature
//! `nal`, `no_std`, no allocation).
//!
//! embedded-nal is not embedded-io: its sockets are handles that the stack reads and writes,
//! and its calls return [`nb::Error::WouldBlock`] instead of waiting. [`Transport`] holds the
//! stack (`&mut S`) and one socket and implements [`embedded_io::Read`] and
//! [`embedded_io::Write`] by calling the stack again after each `WouldBlock`, first calling a
//! [`WouldBlock`] hook: firmware polls its network stack or sleeps there (a W5500 or ESP-AT
//! driver needs nothing, a smoltcp-based stack must be polled), and may give up
//! ([`TimedOut`]), which is how reads are bounded. A `BeforeRead` hook on the client can
//! reach the hook through [`Transport::would_block_mut`] to arm a deadline for the wait the
//! session is in.
//!
//! Errors map to [`embedded_io::ErrorKind`]: a stack error of kind
//! [`TcpErrorKind::PipeClosed`] is `BrokenPipe` when sending and the end of the stream
//! (`Ok(0)`) when receiving (the peer closed its direction), other stack errors `Other`, and a
//! hook that gave up `TimedOut`.
//!
//! ```no_run
//! # fn demo<S: embedded_nal::TcpClientStack>(stack: &mut S) {
//! use brine_adapters::nal;
//! use brine_core::{blocking::Client, session::Event, Identity};
//! use core::net::{Ipv4Addr, SocketAddr};
//!
//! let server = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 5), 12000));
//! // The hook: poll the network stack, sleep a little, or give up (Err(nal::TimedOut)).
//! let transport = nal::connect(stack, server, |_: &mut S| Ok(())).unwrap();
//! let mut client = Client::new(transport);
//! let me = Identity::<4>::new().with("name", "Jose Ortiz").unwrap();
//! let _id = client.handshake(&me).unwrap();
//! while let Ok(event) = client.next_event() {
//!     if let Event::Closed = event {
//!         break;
//!     }
//! }
//! # }
//! ```

use core::fmt;
use core::net::SocketAddr;

use embedded_io::{ErrorKind, ErrorType, Read, Write};
use embedded_nal::{TcpClientStack, TcpError, TcpErrorKind};

/// A [`WouldBlock`] hook gave up waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOut;

/// Called each time the stack answers [`nb::Error::WouldBlock`], before calling it again:
/// run the network stack, sleep, or give up with [`TimedOut`].
pub trait WouldBlock<S> {
    /// The stack has nothing yet (`op`: what was attempted).
    fn would_block(&mut self, stack: &mut S, op: Op) -> Result<(), TimedOut>;
}

/// What was attempted when the stack said `WouldBlock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Connecting.
    Connect,
    /// Receiving.
    Receive,
    /// Sending.
    Send,
}

/// Retry at once (busy-wait): for stacks that make progress on their own.
impl<S> WouldBlock<S> for () {
    fn would_block(&mut self, _: &mut S, _: Op) -> Result<(), TimedOut> {
        Ok(())
    }
}

/// A closure `|stack: &mut S| -> Result<(), TimedOut>`.
impl<S, F: FnMut(&mut S) -> Result<(), TimedOut>> WouldBlock<S> for F {
    fn would_block(&mut self, stack: &mut S, _: Op) -> Result<(), TimedOut> {
        self(stack)
    }
}

/// A transport error: the stack's own, or the hook gave up.
#[derive(Debug, PartialEq)]
pub enum Error<E> {
    /// The network stack failed.
    Stack(E),
    /// The [`WouldBlock`] hook gave up waiting.
    TimedOut,
}

impl<E: TcpError> embedded_io::Error for Error<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Stack(e) => match e.kind() {
                TcpErrorKind::PipeClosed => ErrorKind::BrokenPipe,
                _ => ErrorKind::Other,
            },
            Error::TimedOut => ErrorKind::TimedOut,
        }
    }
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Stack(e) => write!(f, "network stack error: {e:?}"),
            Error::TimedOut => f.write_str("timed out"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}

/// One connected socket of stack `S`, as an `embedded-io` byte stream. Dropping it closes
/// the socket.
pub struct Transport<'s, S: TcpClientStack, H = ()> {
    stack: &'s mut S,
    /// Always `Some` until dropped or closed.
    socket: Option<S::TcpSocket>,
    would_block: H,
}

/// Opens a socket on `stack` and connects it to `remote`, calling `would_block` while the
/// stack is not done. The socket is closed again if connecting fails.
pub fn connect<S: TcpClientStack, H: WouldBlock<S>>(
    stack: &mut S,
    remote: SocketAddr,
    mut would_block: H,
) -> Result<Transport<'_, S, H>, Error<S::Error>> {
    let mut socket = stack.socket().map_err(Error::Stack)?;
    loop {
        let error = match stack.connect(&mut socket, remote) {
            Ok(()) => break,
            Err(nb::Error::WouldBlock) => match would_block.would_block(stack, Op::Connect) {
                Ok(()) => continue,
                Err(TimedOut) => Error::TimedOut,
            },
            Err(nb::Error::Other(e)) => Error::Stack(e),
        };
        let _ = stack.close(socket);
        return Err(error);
    }
    Ok(Transport {
        stack,
        socket: Some(socket),
        would_block,
    })
}

impl<'s, S: TcpClientStack, H: WouldBlock<S>> Transport<'s, S, H> {
    /// Wraps a socket of `stack` that is already connected.
    pub fn new(stack: &'s mut S, socket: S::TcpSocket, would_block: H) -> Self {
        Transport {
            stack,
            socket: Some(socket),
            would_block,
        }
    }

    /// The hook (e.g. to arm a deadline before a read).
    pub fn would_block_mut(&mut self) -> &mut H {
        &mut self.would_block
    }

    /// The stack (e.g. to poll it between calls).
    pub fn stack_mut(&mut self) -> &mut S {
        self.stack
    }

    /// Closes the socket, with the stack's answer.
    pub fn close(mut self) -> Result<(), S::Error> {
        match self.socket.take() {
            Some(socket) => self.stack.close(socket),
            None => Ok(()),
        }
    }

    /// Calls `op` until it stops answering `WouldBlock` (calling the hook in between).
    fn retry<T>(
        &mut self,
        what: Op,
        mut op: impl FnMut(&mut S, &mut S::TcpSocket) -> nb::Result<T, S::Error>,
    ) -> Result<T, Error<S::Error>> {
        let Some(socket) = self.socket.as_mut() else {
            // Only `close` and `drop` take the socket, and both consume the transport.
            unreachable!("the socket is held until the transport is dropped")
        };
        loop {
            match op(self.stack, socket) {
                Ok(value) => return Ok(value),
                Err(nb::Error::WouldBlock) => self
                    .would_block
                    .would_block(self.stack, what)
                    .map_err(|TimedOut| Error::TimedOut)?,
                Err(nb::Error::Other(e)) => return Err(Error::Stack(e)),
            }
        }
    }
}

impl<S: TcpClientStack, H> Drop for Transport<'_, S, H> {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.take() {
            let _ = self.stack.close(socket);
        }
    }
}

impl<S: TcpClientStack, H> ErrorType for Transport<'_, S, H> {
    type Error = Error<S::Error>;
}

impl<S: TcpClientStack, H: WouldBlock<S>> Read for Transport<'_, S, H> {
    /// Waits (calling the hook) until at least one byte arrived; `Ok(0)` at the end of the
    /// stream, also when the stack reports it as [`TcpErrorKind::PipeClosed`].
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.retry(Op::Receive, |stack, socket| stack.receive(socket, buf)) {
            Err(Error::Stack(e)) if e.kind() == TcpErrorKind::PipeClosed => Ok(0),
            other => other,
        }
    }
}

impl<S: TcpClientStack, H: WouldBlock<S>> Write for Transport<'_, S, H> {
    /// Waits (calling the hook) until the stack took at least one byte.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.retry(Op::Send, |stack, socket| stack.send(socket, buf))
    }

    /// embedded-nal has no flush: sent bytes are the stack's to deliver.
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
