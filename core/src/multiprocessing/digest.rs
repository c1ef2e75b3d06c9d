//! The HMAC digests `multiprocessing.connection` names, and how a challenge or an answer
//! says which one it uses (CPython 3.12.1 `Lib/multiprocessing/connection.py` lines
//! 835-870, `_ALLOWED_DIGESTS` and `_get_digest_name_and_payload`).

use core::fmt::{self, Display};

use hmac::{Hmac, KeyInit, Mac, SimpleHmac};

/// Longest HMAC this module computes (sha384, sha3_384), in bytes.
pub const MAX_MAC: usize = 48;

/// An HMAC digest of 3.12's `_ALLOWED_DIGESTS` (`md5`, `sha256`, `sha384`, `sha3_256`,
/// `sha3_384`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Digest {
    /// HMAC-MD5: the only one up to Python 3.11 (raw, without a `{md5}` prefix there).
    Md5,
    /// HMAC-SHA256: what Python 3.12+'s `Listener` and `Client` offer.
    Sha256,
    /// HMAC-SHA384.
    Sha384,
    /// HMAC-SHA3-256.
    Sha3_256,
    /// HMAC-SHA3-384.
    Sha3_384,
}

impl Digest {
    /// Every digest CPython 3.12+ allows.
    pub const ALL: [Digest; 5] = [
        Digest::Md5,
        Digest::Sha256,
        Digest::Sha384,
        Digest::Sha3_256,
        Digest::Sha3_384,
    ];

    /// The name as written between braces (`sha256` in `{sha256}`).
    pub const fn name(self) -> &'static str {
        match self {
            Digest::Md5 => "md5",
            Digest::Sha256 => "sha256",
            Digest::Sha384 => "sha384",
            Digest::Sha3_256 => "sha3_256",
            Digest::Sha3_384 => "sha3_384",
        }
    }

    /// Bytes of its HMAC.
    pub const fn mac_len(self) -> usize {
        match self {
            Digest::Md5 => 16,
            Digest::Sha256 | Digest::Sha3_256 => 32,
            Digest::Sha384 | Digest::Sha3_384 => 48,
        }
    }

    /// HMAC of `message` under `key`, written to the start of `out`; returns its length
    /// ([`mac_len`](Self::mac_len)). Allocates nothing.
    pub fn mac(self, key: &[u8], message: &[u8], out: &mut [u8; MAX_MAC]) -> usize {
        match self {
            Digest::Md5 => run::<Hmac<md5::Md5>>(key, message, out),
            Digest::Sha256 => run::<Hmac<sha2::Sha256>>(key, message, out),
            Digest::Sha384 => run::<Hmac<sha2::Sha384>>(key, message, out),
            Digest::Sha3_256 => run::<SimpleHmac<sha3::Sha3_256>>(key, message, out),
            Digest::Sha3_384 => run::<SimpleHmac<sha3::Sha3_384>>(key, message, out),
        }
    }

    /// True if `mac` is the HMAC of `message` under `key` (compared in constant time).
    pub fn verify(self, key: &[u8], message: &[u8], mac: &[u8]) -> bool {
        let mut expected = [0; MAX_MAC];
        let n = self.mac(key, message, &mut expected);
        // Lengths are public (CPython compares them first); the bytes are not.
        n == mac.len()
            && expected[..n]
                .iter()
                .zip(mac)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// HMAC of `message` with the MAC type `M`, into `out`.
fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8], out: &mut [u8; MAX_MAC]) -> usize {
    // HMAC takes a key of any length (a long one is hashed first): this never fails.
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
        return 0;
    };
    mac.update(message);
    let tag = mac.finalize().into_bytes();
    let n = tag.len().min(MAX_MAC);
    out[..n].copy_from_slice(&tag[..n]);
    n
}

/// How a challenge (after `#CHALLENGE#`) or an answer names its digest, as 3.12's
/// `_get_digest_name_and_payload` reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Named<'a> {
    /// 20 or 16 bytes (3.12 `_LEGACY_LENGTHS`): a 3.11 peer's raw MD5 form.
    Legacy(&'a [u8]),
    /// `{name}` + payload with a name of `_ALLOWED_DIGESTS`.
    Prefixed(Digest, &'a [u8]),
    /// Neither: no prefix, or a name outside `_ALLOWED_DIGESTS` (kept for the error).
    Unknown,
}

/// Reads a challenge or an answer as 3.12's `_get_digest_name_and_payload` does.
pub(crate) fn named(message: &[u8]) -> Named<'_> {
    if message.len() == 20 || message.len() == 16 {
        return Named::Legacy(message);
    }
    // `message.find(b'}', 1, _MAX_DIGEST_LEN + 2)`: the brace within bytes 1..10.
    if message.first() != Some(&b'{') {
        return Named::Unknown;
    }
    let window = &message[1..message.len().min(10)];
    let Some(close) = window.iter().position(|&b| b == b'}') else {
        return Named::Unknown;
    };
    let name = &window[..close];
    match Digest::ALL
        .into_iter()
        .find(|d| d.name().as_bytes() == name)
    {
        Some(digest) => Named::Prefixed(digest, &message[close + 2..]),
        None => Named::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `hmac.new(b'secret', b'#x' * 10, name).digest()[:8].hex()` in CPython 3.12.1.
    #[test]
    fn macs_match_python() {
        let msg = b"#x#x#x#x#x#x#x#x#x#x";
        let cases = [
            (Digest::Md5, "57c5475108aa80e5"),
            (Digest::Sha256, "5940a7ca7803b182"),
            (Digest::Sha384, "316a7c968fcade97"),
            (Digest::Sha3_256, "057f3b758483207c"),
            (Digest::Sha3_384, "894e44a1cd164779"),
        ];
        for (digest, want) in cases {
            let mut out = [0; MAX_MAC];
            let n = digest.mac(b"secret", msg, &mut out);
            assert_eq!(n, digest.mac_len());
            let mut hex = [0u8; 16];
            for (i, b) in out[..8].iter().enumerate() {
                hex[2 * i] = b"0123456789abcdef"[usize::from(b >> 4)];
                hex[2 * i + 1] = b"0123456789abcdef"[usize::from(b & 15)];
            }
            assert_eq!(core::str::from_utf8(&hex).unwrap(), want, "{digest}");
            assert!(digest.verify(b"secret", msg, &out[..n]));
            assert!(!digest.verify(b"secreT", msg, &out[..n]));
            assert!(!digest.verify(b"secret", msg, &out[..n - 1]));
        }
    }

    #[test]
    fn names_are_read_as_python_reads_them() {
        assert_eq!(named(&[1; 20]), Named::Legacy(&[1; 20]));
        assert_eq!(named(&[1; 16]), Named::Legacy(&[1; 16]));
        assert_eq!(
            named(b"{sha256}abc"),
            Named::Prefixed(Digest::Sha256, b"abc")
        );
        assert_eq!(
            named(b"{sha3_384}abcdefghijklmnop"),
            Named::Prefixed(Digest::Sha3_384, b"abcdefghijklmnop")
        );
        assert_eq!(named(b"{sha1}abcdefghijklmnopqrstu"), Named::Unknown);
        assert_eq!(named(b"sha256}abcdefghijklmnopqrstu"), Named::Unknown);
        assert_eq!(named(b"{}abcdefghijklmnopqrstuvwxyz"), Named::Unknown);
        // The brace must come by byte 9 (`find(b'}', 1, 10)`).
        assert_eq!(named(b"{sha3_3844}abcdefghijklmnop"), Named::Unknown);
    }
}
