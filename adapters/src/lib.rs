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
//! ([`FromStd`](embedded_io_adapters::std::FromStd)), and bounds the client's reads with
//! [`tcp::Timeouts`], a [`BeforeRead`](brine_core::blocking::BeforeRead) hook.
//!
//! ```no_run
//! use brine_adapters::tcp::{self, ConnectOptions, Timeouts};
//! use brine_core::{blocking::Client, session::Event, Identity};
//! use std::time::Duration;
//!
//! fn main() -> Result<(), tcp::Error> {
//!     let timeouts = Timeouts::new(Some(Duration::from_secs(10)));
//!     let options = ConnectOptions::new().timeout(Some(Duration::from_secs(10)));
//!     let stream = tcp::connect("127.0.0.1:12000", &options)?;
//!     let mut client = Client::with_before_read(stream, timeouts.clone());
//!     let me = Identity::<4>::new().with("name", "Jose Ortiz").unwrap();
//!     let id = client.handshake(&me).map_err(|e| timeouts.error(e, client.session().waiting()))?;
//!     println!("Assigned client id by server: {id}");
//!     loop {
//!         match client.next_event() {
//!             Ok(Event::Message(value)) => println!("{value}"),
//!             Ok(Event::Closed) => return Ok(()),
//!             Ok(_) => {}
//!             Err(e) => return Err(timeouts.error(e, client.session().waiting())),
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
