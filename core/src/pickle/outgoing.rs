//! What a session sends: a `Serialize` value, pickled by brine's encoder (feature `pickler`),
//! or bytes pickled beforehand ([`Pickled`]), e.g. at build time by a firmware's build script.

use super::{Encoding, Error};

/// A message a [`Session`](crate::session::Session) can write into its transmit buffer.
pub trait ToPickle {
    /// Writes the pickle at the start of `out` in `encoding` (bytes pickled beforehand keep
    /// theirs); returns its length. Fails with [`Error::BufferFull`] when `out` is too small,
    /// or as the encoder does.
    fn to_pickle(&self, out: &mut [u8], encoding: Encoding) -> Result<usize, Error>;
}

/// Any `Serialize` value, pickled by [`to_slice`](super::to_slice).
#[cfg(feature = "pickler")]
impl<T: serde::Serialize + ?Sized> ToPickle for T {
    fn to_pickle(&self, out: &mut [u8], encoding: Encoding) -> Result<usize, Error> {
        super::to_slice(self, out, encoding).map(|bytes| bytes.len())
    }
}

/// One whole pickle made beforehand (by CPython, or by brine-core's pickler in a build
/// script), sent as it is: the session's protocol setting does not change these bytes, and
/// they are taken to be in that protocol (protocol 4 unless set otherwise). Nothing checks
/// them; the server sees exactly these bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pickled<'a>(pub &'a [u8]);

impl ToPickle for Pickled<'_> {
    fn to_pickle(&self, out: &mut [u8], _: Encoding) -> Result<usize, Error> {
        let capacity = out.len();
        out.get_mut(..self.0.len())
            .ok_or(Error::BufferFull { capacity })?
            .copy_from_slice(self.0);
        Ok(self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::Protocol;

    #[test]
    fn pickled_bytes_are_copied_as_they_are() {
        // pickle.dumps({'a': 1}, protocol=2)
        let bytes = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.";
        let mut out = [0u8; 32];
        let len = Pickled(bytes)
            .to_pickle(&mut out, Encoding::new(Protocol::V4))
            .unwrap();
        assert_eq!(&out[..len], bytes);
        assert_eq!(
            Pickled(bytes).to_pickle(&mut out[..4], Encoding::new(Protocol::V4)),
            Err(Error::BufferFull { capacity: 4 })
        );
    }
}
