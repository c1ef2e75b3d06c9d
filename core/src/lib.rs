#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
mod log;

#[cfg(feature = "async")]
pub mod asynch;
pub mod blocking;
pub mod driver;
pub mod framing;
mod handshake;
mod identity;
#[cfg(feature = "pickler")]
pub mod logrecord;
#[cfg(feature = "multiprocessing")]
pub mod multiprocessing;
pub mod pickle;
pub mod session;
mod shift;

pub use identity::{FieldValue, Identity, IdentityFull};

/// README.md's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
