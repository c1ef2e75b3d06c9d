//! `multiprocessing.connection`'s authentication, both sides, sans-IO: [`Handshake`].
//!
//! Python's `Listener(address, authkey=k).accept()` delivers a challenge, then answers
//! one; `Client(address, authkey=k)` answers, then delivers (CPython 3.11.7 and 3.12.1
//! `Lib/multiprocessing/connection.py` lines 480-482 and 523-525). Each handshake message
//! travels in the connection's framing ([`Framing::Multiprocessing`]) and is refused past
//! 256 bytes (`recv_bytes(256)`, 3.11.7 lines 756, 768, 773; 3.12.1 lines 938, 952, 961).
//!
//! - **Up to 3.11** (3.11.7 lines 742-775): the challenge is `#CHALLENGE#` + 20 random
//!   bytes, answered with the raw HMAC-MD5 of those 20 bytes.
//! - **From 3.12** (3.12.1 lines 742-963): `#CHALLENGE#{sha256}` + 40 random bytes, answered
//!   with `{sha256}` + the HMAC-SHA256 of everything after `#CHALLENGE#` (prefix included).
//!   A 20-byte challenge is answered the 3.11 way, and a 16-byte answer is accepted as
//!   HMAC-MD5, so either version talks to the other.
//! - The deliverer replies `#WELCOME#` or `#FAILURE#` (then closes).
//!
//! This handshake answers whatever digest the peer offers (every one of 3.12's
//! `_ALLOWED_DIGESTS`), and delivers 3.12's `{sha256}` challenge by default ([`Offer`]),
//! which a 3.11 peer answers with HMAC-MD5. It holds no key (it borrows it) and needs 40
//! random bytes from the caller ([`NONCE_LEN`]): `no_std` has no randomness of its own.

mod digest;

use core::fmt::{self, Display};

use crate::framing::{FrameError, Framing, Prefix, MAX_PREFIX};

use digest::{named, Named};
pub use digest::{Digest, MAX_MAC};

/// Most bytes a handshake message may have (CPython's `recv_bytes(256)`).
pub const MESSAGE_CAP: usize = 256;
/// Random bytes a challenge carries from 3.12 on (`MESSAGE_LENGTH = 40`); a legacy
/// challenge uses the first 20.
pub const NONCE_LEN: usize = 40;
/// The start of a challenge message.
pub const CHALLENGE: &[u8] = b"#CHALLENGE#";
/// The deliverer's reply to a right answer.
pub const WELCOME: &[u8] = b"#WELCOME#";
/// The deliverer's reply to a wrong answer.
pub const FAILURE: &[u8] = b"#FAILURE#";

/// Bytes of a 3.11 challenge's random part and of a legacy MD5 answer's message.
const LEGACY_LEN: usize = 20;

/// Which side of `multiprocessing.connection` this handshake plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// `Client(address, authkey=…)`: answers the listener's challenge, then delivers one.
    Client,
    /// `Listener(address, authkey=…).accept()`: delivers a challenge, then answers one.
    Listener,
}

/// The challenge this side delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Offer {
    /// 3.11's: 20 random bytes, answered with a raw HMAC-MD5.
    Legacy,
    /// 3.12's: `{name}` + 40 random bytes, answered with `{name}` + the HMAC (3.11 peers
    /// answer with a raw HMAC-MD5 of the whole, which is accepted as 3.12 does).
    Digest(Digest),
}

/// What the handshake waits for from the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Awaiting {
    /// The peer's `#CHALLENGE#` (a listener without an authkey never sends one).
    Challenge,
    /// `#WELCOME#` or `#FAILURE#` for the answer sent.
    Verdict,
    /// The peer's answer to our challenge.
    Answer,
    /// Nothing: authenticated both ways (or failed).
    Nothing,
}

impl Display for Awaiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Awaiting::Challenge => "the peer's #CHALLENGE#",
            Awaiting::Verdict => "#WELCOME# or #FAILURE# for our answer",
            Awaiting::Answer => "the peer's answer to our challenge",
            Awaiting::Nothing => "nothing",
        })
    }
}

/// The first bytes of a message that was not what the handshake expected, and its length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    bytes: heapless::Vec<u8, 24>,
    len: usize,
}

impl Preview {
    fn of(message: &[u8]) -> Self {
        let n = message.len().min(24);
        Preview {
            bytes: heapless::Vec::from_slice(&message[..n]).unwrap_or_default(),
            len: message.len(),
        }
    }

    /// True if the message looks like a pickle (protocol 2+ starts with PROTO, 0x80).
    fn is_pickle(&self) -> bool {
        self.bytes.first() == Some(&0x80)
    }
}

impl Display for Preview {
    /// As Python's bytes repr, cut to 24 bytes: `b'\x80\x04K\x01.' (5 bytes)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("b'")?;
        for &b in &self.bytes {
            match b {
                b'\'' | b'\\' => write!(f, "\\{}", b as char)?,
                0x20..0x7f => write!(f, "{}", b as char)?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        let more = if self.len > self.bytes.len() {
            "..."
        } else {
            ""
        };
        write!(f, "{more}' ({} bytes)", self.len)
    }
}

/// Why the handshake failed. Each names what arrived and what to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// The peer's first message is not `#CHALLENGE#`.
    NotAChallenge(Preview),
    /// A challenge shorter than 20 bytes, or naming a digest outside 3.12's allowed ones.
    BadChallenge(Preview),
    /// The peer replied `#FAILURE#` to our answer: its authkey is not ours.
    Rejected,
    /// The peer replied to our answer with neither `#WELCOME#` nor `#FAILURE#`.
    NoVerdict(Preview),
    /// The peer's answer to our challenge is wrong: its authkey is not ours (we sent
    /// `#FAILURE#`, as CPython does).
    WrongAnswer {
        /// The digest the answer used.
        digest: Digest,
    },
    /// The peer's answer to our challenge is not a digest (we sent `#FAILURE#`).
    NotAnAnswer(Preview),
    /// A handshake message over [`MESSAGE_CAP`] bytes.
    TooLarge {
        /// Its announced length.
        len: u64,
    },
    /// A length prefix multiprocessing never writes.
    Framing(FrameError),
    /// The peer closed the connection during the handshake.
    Closed {
        /// What the handshake was waiting for.
        awaiting: Awaiting,
    },
}

const NOT_MP: &str = "is the peer a multiprocessing.connection Listener/Client?";

impl Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::NotAChallenge(p) if p.is_pickle() => write!(
                f,
                "the peer sent data without a #CHALLENGE# ({p}): it has no authkey; connect without one"
            ),
            AuthError::NotAChallenge(p) => {
                write!(f, "expected #CHALLENGE#, the peer sent {p}: {NOT_MP}")
            }
            AuthError::BadChallenge(p) => write!(
                f,
                "challenge {p} is shorter than 20 bytes or names a digest outside md5, sha256, sha384, sha3_256, sha3_384"
            ),
            AuthError::Rejected => f.write_str(
                "the peer answered #FAILURE#: its authkey differs from ours",
            ),
            AuthError::NoVerdict(p) => {
                write!(f, "expected #WELCOME# or #FAILURE#, the peer sent {p}")
            }
            AuthError::WrongAnswer { digest } => write!(
                f,
                "the peer's {digest} answer to our challenge is wrong: its authkey differs from ours (sent #FAILURE#)"
            ),
            AuthError::NotAnAnswer(p) if p.is_pickle() => write!(
                f,
                "the peer sent data {p} instead of answering our challenge: it has no authkey (sent #FAILURE#)"
            ),
            AuthError::NotAnAnswer(p) => write!(
                f,
                "the peer's answer {p} to our challenge is not a digest (sent #FAILURE#)"
            ),
            AuthError::TooLarge { len } => write!(
                f,
                "a {len}-byte handshake message (multiprocessing refuses over 256): {NOT_MP}"
            ),
            AuthError::Framing(e) => write!(f, "{e}: {NOT_MP}"),
            AuthError::Closed { awaiting } => {
                write!(f, "the peer closed the connection while we waited for {awaiting}")?;
                f.write_str(match awaiting {
                    Awaiting::Verdict => " (a 3.11 listener closes after #FAILURE#: wrong authkey?)",
                    // Its recv() reads our challenge as a pickle, fails and closes.
                    Awaiting::Answer => {
                        " (a Client without an authkey fails to load our #CHALLENGE# as data and closes: give it the authkey)"
                    }
                    _ => "",
                })
            }
        }
    }
}

impl core::error::Error for AuthError {}

/// Bytes the transmit queue holds: a challenge or answer and a verdict, framed.
const TX: usize = 2 * (MAX_PREFIX + CHALLENGE.len() + 10 + NONCE_LEN);

/// One side of `multiprocessing.connection`'s mutual HMAC handshake, sans-IO: feed it
/// received bytes ([`receive`](Self::receive)), send what [`transmit`](Self::transmit)
/// holds, until [`is_done`](Self::is_done). About 0.5 KiB; allocates nothing.
pub struct Handshake<'k> {
    key: &'k [u8],
    role: Role,
    offer: Offer,
    nonce: [u8; NONCE_LEN],
    awaiting: Awaiting,
    /// A handshake message being received: its prefix and body.
    rx: [u8; MAX_PREFIX + MESSAGE_CAP],
    rx_len: usize,
    tx: [u8; TX],
    tx_len: usize,
    /// Set once the first message was queued (the listener's challenge).
    started: bool,
    answered: Option<Digest>,
    verified: Option<Digest>,
}

impl fmt::Debug for Handshake<'_> {
    /// Everything but the key and the nonce.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake")
            .field("role", &self.role)
            .field("offer", &self.offer)
            .field("awaiting", &self.awaiting)
            .field("answered", &self.answered)
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

impl<'k> Handshake<'k> {
    /// A handshake for `role` with `key` (the `authkey`), delivering 3.12's `{sha256}`
    /// challenge built from `nonce` (40 bytes from a good random source: a predictable
    /// nonce lets a recorded answer be replayed).
    pub fn new(role: Role, key: &'k [u8], nonce: [u8; NONCE_LEN]) -> Self {
        Handshake {
            key,
            role,
            offer: Offer::Digest(Digest::Sha256),
            nonce,
            awaiting: match role {
                Role::Client => Awaiting::Challenge,
                Role::Listener => Awaiting::Answer,
            },
            rx: [0; MAX_PREFIX + MESSAGE_CAP],
            rx_len: 0,
            tx: [0; TX],
            tx_len: 0,
            started: false,
            answered: None,
            verified: None,
        }
    }

    /// Delivers `offer` instead of `{sha256}` (call before the first
    /// [`transmit`](Self::transmit)).
    pub fn with_offer(mut self, offer: Offer) -> Self {
        self.offer = offer;
        self
    }

    /// What it waits for from the peer.
    pub fn awaiting(&self) -> Awaiting {
        self.awaiting
    }

    /// True once both sides are authenticated and every byte to send was taken. Bytes
    /// that [`receive`](Self::receive) did not consume belong to the connection's data.
    pub fn is_done(&self) -> bool {
        self.awaiting == Awaiting::Nothing && self.tx_len == 0 && self.verified.is_some()
    }

    /// How many more bytes the message being received needs at least (0 when nothing is
    /// awaited). A driver that reads no more than this never reads past the handshake,
    /// so every byte after it stays in the transport for the session.
    pub fn wanted(&self) -> usize {
        if self.awaiting == Awaiting::Nothing {
            return 0;
        }
        let need = match Framing::Multiprocessing.decode_prefix(&self.rx[..self.rx_len]) {
            Ok(Prefix::Length { header, len }) => {
                header.saturating_add(len.min(MESSAGE_CAP as u64) as usize)
            }
            Ok(_) if self.rx_len < 4 => 4,
            _ => MAX_PREFIX,
        };
        need.saturating_sub(self.rx_len).max(1)
    }

    /// The digest of our answer and of the peer's answer, once each is known.
    pub fn digests(&self) -> (Option<Digest>, Option<Digest>) {
        (self.answered, self.verified)
    }

    /// Bytes to send now (framed). Also after an error: a `#FAILURE#` to flush before
    /// closing, as CPython sends it.
    pub fn transmit(&mut self) -> &[u8] {
        if !self.started {
            self.started = true;
            if self.role == Role::Listener {
                self.queue_challenge();
            }
        }
        &self.tx[..self.tx_len]
    }

    /// Reports that the first `n` bytes of [`transmit`](Self::transmit) were sent.
    pub fn transmitted(&mut self, n: usize) {
        let n = n.min(self.tx_len);
        crate::shift::move_back(&mut self.tx, n, self.tx_len, 0);
        self.tx_len -= n;
    }

    /// Takes received bytes; returns how many belong to the handshake (the rest, once it is
    /// done, are the connection's data). Fails on a wrong key, a peer without one, or a peer
    /// that is not multiprocessing ([`AuthError`]); then [`transmit`](Self::transmit) may
    /// still hold a `#FAILURE#` to flush.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<usize, AuthError> {
        // The listener's challenge goes out before anything is awaited.
        self.transmit();
        let mut used = 0;
        while self.awaiting != Awaiting::Nothing {
            let (need, whole) =
                match Framing::Multiprocessing.decode_prefix(&self.rx[..self.rx_len]) {
                    Ok(Prefix::Length { len, .. }) if len > MESSAGE_CAP as u64 => {
                        return Err(self.fail(AuthError::TooLarge { len }));
                    }
                    Ok(Prefix::Length { header, len }) => (header + len as usize, Some(header)),
                    // The 4-byte length, or -1 and the 8-byte length.
                    Ok(_) if self.rx_len < 4 => (4, None),
                    Ok(_) => (MAX_PREFIX, None),
                    Err(e) => return Err(self.fail(AuthError::Framing(e))),
                };
            match whole {
                Some(header) if self.rx_len == need => {
                    self.rx_len = 0;
                    let mut message = [0; MESSAGE_CAP];
                    let body = &mut message[..need - header];
                    body.copy_from_slice(&self.rx[header..need]);
                    self.take(body)?;
                }
                _ if used == bytes.len() => break,
                _ => {
                    let n = (need - self.rx_len).min(bytes.len() - used);
                    self.rx[self.rx_len..self.rx_len + n].copy_from_slice(&bytes[used..used + n]);
                    self.rx_len += n;
                    used += n;
                }
            }
        }
        Ok(used)
    }

    /// The error for the peer closing the connection now, or `None` if the handshake was
    /// complete.
    pub fn peer_closed(&mut self) -> Option<AuthError> {
        match self.awaiting {
            Awaiting::Nothing => None,
            awaiting => Some(self.fail(AuthError::Closed { awaiting })),
        }
    }

    /// Handles one whole handshake message from the peer.
    fn take(&mut self, message: &[u8]) -> Result<(), AuthError> {
        match self.awaiting {
            Awaiting::Challenge => self.answer(message),
            Awaiting::Verdict => {
                if message == WELCOME {
                    self.awaiting = match self.role {
                        Role::Client => {
                            self.queue_challenge();
                            Awaiting::Answer
                        }
                        Role::Listener => Awaiting::Nothing,
                    };
                    Ok(())
                } else if message == FAILURE {
                    Err(self.fail(AuthError::Rejected))
                } else {
                    Err(self.fail(AuthError::NoVerdict(Preview::of(message))))
                }
            }
            Awaiting::Answer => self.verify(message),
            Awaiting::Nothing => Ok(()),
        }
    }

    /// 3.12.1 `answer_challenge` (lines 948-963) and `_create_response` (lines 874-899).
    fn answer(&mut self, message: &[u8]) -> Result<(), AuthError> {
        let Some(challenge) = message.strip_prefix(CHALLENGE) else {
            return Err(self.fail(AuthError::NotAChallenge(Preview::of(message))));
        };
        if challenge.len() < LEGACY_LEN {
            return Err(self.fail(AuthError::BadChallenge(Preview::of(message))));
        }
        let digest = match named(challenge) {
            Named::Legacy(_) => None,
            Named::Prefixed(digest, _) => Some(digest),
            Named::Unknown => return Err(self.fail(AuthError::BadChallenge(Preview::of(message)))),
        };
        // The MAC covers everything after `#CHALLENGE#`, `{name}` included.
        let mut mac = [0; MAX_MAC];
        let n = digest
            .unwrap_or(Digest::Md5)
            .mac(self.key, challenge, &mut mac);
        let mut reply = [0; 10 + MAX_MAC];
        let mut len = 0;
        if let Some(d) = digest {
            for part in [b"{".as_slice(), d.name().as_bytes(), b"}"] {
                reply[len..len + part.len()].copy_from_slice(part);
                len += part.len();
            }
        }
        reply[len..len + n].copy_from_slice(&mac[..n]);
        self.queue(&[&reply[..len + n]]);
        self.answered = Some(digest.unwrap_or(Digest::Md5));
        self.awaiting = Awaiting::Verdict;
        Ok(())
    }

    /// 3.12.1 `deliver_challenge`'s check of the answer, `_verify_challenge` (lines
    /// 902-924): a 16- or 20-byte answer is HMAC-MD5, else `{name}` + HMAC.
    fn verify(&mut self, answer: &[u8]) -> Result<(), AuthError> {
        let (digest, mac) = match named(answer) {
            Named::Legacy(mac) => (Digest::Md5, mac),
            Named::Prefixed(digest, mac) => (digest, mac),
            Named::Unknown => return Err(self.refuse(AuthError::NotAnAnswer(Preview::of(answer)))),
        };
        let mut challenge = [0; 10 + NONCE_LEN];
        let n = self.challenge_body(&mut challenge);
        if !digest.verify(self.key, &challenge[..n], mac) {
            return Err(self.refuse(if mac.len() == digest.mac_len() {
                AuthError::WrongAnswer { digest }
            } else {
                AuthError::NotAnAnswer(Preview::of(answer))
            }));
        }
        self.verified = Some(digest);
        self.queue(&[WELCOME]);
        self.awaiting = match self.role {
            Role::Client => Awaiting::Nothing,
            Role::Listener => Awaiting::Challenge,
        };
        Ok(())
    }

    /// Our challenge after `#CHALLENGE#` (3.12.1 lines 932-933), into `out`.
    fn challenge_body(&self, out: &mut [u8; 10 + NONCE_LEN]) -> usize {
        match self.offer {
            Offer::Legacy => {
                out[..LEGACY_LEN].copy_from_slice(&self.nonce[..LEGACY_LEN]);
                LEGACY_LEN
            }
            Offer::Digest(d) => {
                let name = d.name().as_bytes();
                out[0] = b'{';
                out[1..1 + name.len()].copy_from_slice(name);
                out[1 + name.len()] = b'}';
                let at = name.len() + 2;
                out[at..at + NONCE_LEN].copy_from_slice(&self.nonce);
                at + NONCE_LEN
            }
        }
    }

    fn queue_challenge(&mut self) {
        let mut body = [0; 10 + NONCE_LEN];
        let n = self.challenge_body(&mut body);
        self.queue(&[CHALLENGE, &body[..n]]);
    }

    /// Queues one framed message made of `parts` (every message here fits `tx`).
    fn queue(&mut self, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut prefix = [0; MAX_PREFIX];
        let Ok(header) = Framing::Multiprocessing.encode_prefix(len, &mut prefix) else {
            return;
        };
        for part in core::iter::once(&&prefix[..header]).chain(parts) {
            let end = (self.tx_len + part.len()).min(TX);
            self.tx[self.tx_len..end].copy_from_slice(&part[..end - self.tx_len]);
            self.tx_len = end;
        }
    }

    /// Sends `#FAILURE#` (as 3.12.1 `deliver_challenge` does, lines 940-943) and fails.
    fn refuse(&mut self, error: AuthError) -> AuthError {
        self.queue(&[FAILURE]);
        self.fail(error)
    }

    fn fail(&mut self, error: AuthError) -> AuthError {
        self.awaiting = Awaiting::Nothing;
        self.verified = None;
        error
    }
}

#[cfg(test)]
mod tests;
