//! Transports for [`brine_core`]: they bind a byte stream to the core's clients and never
//! re-implement framing or codec logic.
//!
//! | feature | module | transport | client |
//! | --- | --- | --- | --- |
//! | `std` (default) | [`tcp`] | std `TcpStream` via `embedded-io-adapters` | blocking |
//! | `tokio` | `tokio_tcp` | tokio `TcpStream` via `embedded-io-adapters` | async |
//! | `nal` (default; `no_std`) | `nal` | any embedded-nal 0.9 `TcpClientStack` | blocking |
//!
//! `nal` is on by default only so that its desktop tests run with the workspace's; firmware
//! takes `default-features = false, features = ["nal"]`.
//!
//! With the `std` feature (on by default), [`tcp`] connects a std [`TcpStream`] (IPv4, IPv6 or
//! a host name; connect timeout, TCP_NODELAY, TCP keepalive, retries with backoff while the
//! server is not up yet), hands it to the core through `embedded-io-adapters`
//! ([`FromStd`](embedded_io_adapters::std::FromStd)), and [`tcp::Client`] runs the core's
//! blocking client over it with its [`tcp::Timeouts`] (the id, the rest of a message, the
//! time without a message): the one place where the TCP clients' waits are bounded and a
//! wait that ran out is told from a lost connection. `tokio_tcp::Client` is the same for the
//! async client.
//!
//! ```no_run
//! use brine_adapters::tcp::{self, ConnectOptions, Timeouts};
//! use brine_core::{session::Event, Identity};
//! use std::time::Duration;
//!
//! fn main() -> Result<(), tcp::Error> {
//!     let timeouts = Timeouts::new(Some(Duration::from_secs(10)));
//!     let options = ConnectOptions::new().timeout(Some(Duration::from_secs(10)));
//!     let mut client = tcp::Client::connect("127.0.0.1:12000", &options, timeouts)?;
//!     let me = Identity::<4>::new().with("name", "Jose Ortiz").unwrap();
//!     println!("Assigned client id by server: {}", client.handshake(&me)?);
//!     loop {
//!         match client.next_event()? {
//!             Event::Message(value) => println!("{value}"),
//!             Event::Closed => return Ok(()),
//!             _ => {}
//!         }
//!     }
//! }
//! ```
//!
//! [`TcpStream`]: std::net::TcpStream
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "nal")]
pub mod nal;
#[cfg(feature = "std")]
pub mod tcp;
#[cfg(feature = "tokio")]
pub mod tokio_tcp;
