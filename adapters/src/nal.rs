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
//! **`Ok(0)` from the stack.** embedded-nal asks for `WouldBlock` when no data is waiting,
//! but does not say what `Ok(0)` from `receive` means, and stacks differ: std-embedded-nal
//! returns it at the end of the stream (a std socket's EOF), smoltcp-nal 0.7 returns it when
//! nothing has arrived yet on an open socket (smoltcp's `recv_slice`; likewise `send` when
//! the transmit buffer is full) and reports the end of the stream as an error of kind
//! `PipeClosed` (smoltcp's `Finished` after the peer's FIN, `InvalidState` after a reset).
//! Nothing in the API tells the two apart on the first read (a peer that closes before
//! sending looks like a quiet one), so the transport asks: [`Transport::ok_zero`] with
//! [`OkZero::End`] (the default) takes `Ok(0)` for the end of the stream; with
//! [`OkZero::WouldBlock`] it takes `Ok(0)` from `receive` and `send` like `WouldBlock` (the
//! hook runs, then the call is repeated), and only `PipeClosed` ends the stream. A stack that
//! reports both as `Ok(0)` cannot be read correctly either way; with `WouldBlock` its close
//! ends in the hook's timeout.
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

/// What `Ok(0)` from the stack's `receive` (or `send`, given bytes) means (see the module
/// documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OkZero {
    /// The end of the stream (std-embedded-nal, std sockets, embedded-io).
    #[default]
    End,
    /// Not ready yet, like `WouldBlock` (smoltcp-nal); the end of the stream is `PipeClosed`.
    WouldBlock,
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
    ok_zero: OkZero,
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
    Ok(Transport::new(stack, socket, would_block))
}

impl<'s, S: TcpClientStack, H: WouldBlock<S>> Transport<'s, S, H> {
    /// Wraps a socket of `stack` that is already connected.
    pub fn new(stack: &'s mut S, socket: S::TcpSocket, would_block: H) -> Self {
        Transport {
            stack,
            socket: Some(socket),
            would_block,
            ok_zero: OkZero::End,
        }
    }

    /// Sets what `Ok(0)` from the stack means (default [`OkZero::End`]).
    pub fn ok_zero(mut self, meaning: OkZero) -> Self {
        self.ok_zero = meaning;
        self
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
    ///
    /// # Errors
    ///
    /// The stack's error for the close.
    pub fn close(mut self) -> Result<(), S::Error> {
        match self.socket.take() {
            Some(socket) => self.stack.close(socket),
            None => Ok(()),
        }
    }

    /// Calls `op` until it stops answering `WouldBlock` (or `Ok(0)`, with
    /// [`OkZero::WouldBlock`]), calling the hook in between.
    fn retry(
        &mut self,
        what: Op,
        mut op: impl FnMut(&mut S, &mut S::TcpSocket) -> nb::Result<usize, S::Error>,
    ) -> Result<usize, Error<S::Error>> {
        let Some(socket) = self.socket.as_mut() else {
            // Only `close` and `drop` take the socket, and both consume the transport.
            unreachable!("the socket is held until the transport is dropped")
        };
        let zero_is_not_yet = self.ok_zero == OkZero::WouldBlock;
        loop {
            match op(self.stack, socket) {
                Ok(0) if zero_is_not_yet => {}
                Ok(n) => return Ok(n),
                Err(nb::Error::WouldBlock) => {}
                Err(nb::Error::Other(e)) => return Err(Error::Stack(e)),
            }
            self.would_block
                .would_block(self.stack, what)
                .map_err(|TimedOut| Error::TimedOut)?;
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
    /// stream: the stack's `Ok(0)` (with [`OkZero::End`]) or an error of kind
    /// [`TcpErrorKind::PipeClosed`].
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
