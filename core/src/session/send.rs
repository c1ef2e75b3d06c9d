//! The send side: the `TX`-byte queue of pickles to write, with the identity at its front
//! held back until the client id arrives.

use super::receive::Decode;
use super::{Error, Limit};
use crate::framing::{Framing, MAX_PREFIX};
use crate::handshake;
use crate::pickle::{self, Encoding, ToPickle};

/// The transmit queue.
pub(super) struct Transmitter<const TX: usize> {
    buf: [u8; TX],
    /// Bytes to send: `buf[head..tail]`.
    head: usize,
    tail: usize,
    /// End of the identity in `buf` while it is queued.
    identity_end: usize,
    /// The prefix written before each pickle.
    #[cfg(feature = "dialects")]
    framing: Framing,
}

impl<const TX: usize> Transmitter<TX> {
    pub(super) const fn new() -> Self {
        Transmitter {
            buf: [0; TX],
            head: 0,
            tail: 0,
            identity_end: 0,
            #[cfg(feature = "dialects")]
            framing: Framing::Stop,
        }
    }

    /// The prefix written before each pickle from now on.
    #[cfg(feature = "dialects")]
    pub(super) fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
    }

    /// The prefix written before each pickle: none but STOP framing's without `dialects`
    /// (a constant, so no prefix code is linked).
    #[inline(always)]
    fn framing(&self) -> Framing {
        #[cfg(feature = "dialects")]
        return self.framing;
        #[cfg(not(feature = "dialects"))]
        Framing::Stop
    }

    /// Empties the queue; nothing is held back (a session that sends no identity).
    pub(super) fn clear(&mut self) {
        self.head = 0;
        self.tail = 0;
        self.identity_end = 0;
    }

    /// Empties the queue and pickles `identity` at its front in `encoding`.
    ///
    /// Fails if it does not fit or cannot be pickled; the queue is then empty.
    pub(super) fn start<T: ToPickle + ?Sized>(
        &mut self,
        identity: &T,
        encoding: Encoding,
    ) -> Result<(), Error> {
        self.head = 0;
        self.tail = 0;
        self.identity_end = 0;
        self.identity_end = self.encode(identity, encoding)?;
        self.tail = self.identity_end;
        Ok(())
    }

    /// True once the identity was written out.
    pub(super) fn identity_sent(&self) -> bool {
        self.head >= self.identity_end
    }

    /// Pickles `message` in `encoding` after the bytes still queued.
    ///
    /// Fails if it does not fit the free space or cannot be pickled; then nothing is queued.
    pub(super) fn queue<T: ToPickle + ?Sized>(
        &mut self,
        message: &T,
        encoding: Encoding,
    ) -> Result<(), Error> {
        if self.head > 0 {
            crate::shift::move_back(&mut self.buf, self.head, self.tail, 0);
            self.tail -= self.head;
            self.identity_end = self.identity_end.saturating_sub(self.head);
            self.head = 0;
        }
        self.tail += self.framed(self.tail, |free| message.to_pickle(free, encoding))?;
        Ok(())
    }

    /// True if bytes are queued and not yet written.
    pub(super) fn has_pending(&self) -> bool {
        self.head < self.tail
    }

    /// The bytes queued and not yet written.
    pub(super) fn pending(&self) -> &[u8] {
        self.buf.get(self.head..self.tail).unwrap_or(&[])
    }

    /// `n` bytes of [`pending`](Self::pending) were written.
    pub(super) fn transmitted(&mut self, n: usize) {
        self.head = self.head.saturating_add(n).min(self.tail);
        if self.head == self.tail {
            self.identity_end = self.identity_end.saturating_sub(self.head);
            self.head = 0;
            self.tail = 0;
        }
    }

    /// Without `python2` no identity can be pickled again: refused at once (naming the
    /// feature), the queue as it was.
    #[cfg(not(feature = "python2"))]
    pub(super) fn repickle_identity<D: Decode>(
        &mut self,
        _: Encoding,
        _: &mut D,
    ) -> Result<(), Error> {
        Err(Error::Encode(handshake::NO_REPICKLE))
    }

    /// Pickles the queued identity (nothing else is queued before the id) again in
    /// `encoding`, reading it with `decoder`.
    ///
    /// Fails if it holds what `encoding` cannot write or no longer fits.
    #[cfg(feature = "python2")]
    pub(super) fn repickle_identity<D: Decode>(
        &mut self,
        encoding: Encoding,
        decoder: &mut D,
    ) -> Result<(), Error> {
        let end = self.identity_end.min(TX);
        let prefix_len = self.framing().prefix_len();
        let (identity, free) = self
            .buf
            .split_at_mut_checked(end)
            .unwrap_or((&mut [], &mut []));
        let pickle = identity.get(prefix_len..).unwrap_or(&[]);
        let value = decoder.decode_all(pickle).map_err(Error::Encode)?;
        let len = handshake::repickle(value, free, encoding).map_err(|e| encode_error(e, TX))?;
        // The new pickle after the old identity, then moved to the front behind its prefix.
        let h = self.write_prefix(len)?;
        crate::shift::move_back(&mut self.buf, end, end + len, h);
        let len = h + len;
        self.head = 0;
        self.tail = len;
        self.identity_end = len;
        Ok(())
    }

    /// Not inlined: the serializer (with its memo of up to 256 strings, about 5 KiB) lives on
    /// this frame only while pickling, not in the frame of a caller that goes on to decode
    /// (firmware's stack high-water mark: BENCHMARKS.md).
    #[inline(never)]
    fn encode<T: ToPickle + ?Sized>(
        &mut self,
        message: &T,
        encoding: Encoding,
    ) -> Result<usize, Error> {
        self.framed(0, |free| message.to_pickle(free, encoding))
    }

    /// Writes a pickle with `pickle` at `at` behind the framing's prefix; returns the bytes
    /// written, prefix included.
    fn framed(
        &mut self,
        at: usize,
        pickle: impl FnOnce(&mut [u8]) -> Result<usize, pickle::Error>,
    ) -> Result<usize, Error> {
        let h = self.framing().prefix_len();
        let free = self
            .buf
            .get_mut(at + h..)
            .ok_or(Limit::TransmitBufferTooSmall { capacity: TX })?;
        let len = pickle(free).map_err(|e| encode_error(e, TX))?;
        // The prefix goes before the pickle: at `at`, into the room left for it.
        let mut prefix = [0; MAX_PREFIX];
        let n = self
            .framing()
            .encode_prefix(len, &mut prefix)
            .map_err(|_| Limit::TransmitBufferTooSmall { capacity: TX })?;
        if let Some(dst) = self.buf.get_mut(at..) {
            crate::shift::copy(dst, prefix.get(..n).unwrap_or_default());
        }
        Ok(h + len)
    }

    /// The prefix of a `len`-byte pickle written at the front of the buffer; its length.
    #[cfg(feature = "python2")]
    fn write_prefix(&mut self, len: usize) -> Result<usize, Error> {
        let mut prefix = [0; MAX_PREFIX];
        let n = self
            .framing()
            .encode_prefix(len, &mut prefix)
            .map_err(|_| Limit::TransmitBufferTooSmall { capacity: TX })?;
        crate::shift::copy(&mut self.buf, prefix.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// A pickling error as the session's: a full buffer is [`Limit::TransmitBufferTooSmall`].
fn encode_error(error: pickle::Error, capacity: usize) -> Error {
    match error {
        pickle::Error::BufferFull { .. } => Limit::TransmitBufferTooSmall { capacity }.into(),
        e => Error::Encode(e),
    }
}
