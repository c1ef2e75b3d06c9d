//! `brine logs` (the real binary) receiving from real CPython `SocketHandler` and
//! `DatagramHandler` senders: its output compared byte for byte with what a
//! `logging.Formatter` with the same format (and datefmt, and TZ) prints on the Python side;
//! filters, JSON, `--record`, many threads and 100+ processes at once; hostile senders.
//! Needs `python3` (these tests fail without it).

mod common;
mod formatting;
mod hostile;
