//! `brine demo` (waits for the brine-server library).

use crate::{exit, Fail, Verbosity};

/// Not available yet.
pub fn run(_protocol: u8, _verbosity: Verbosity) -> Result<(), Fail> {
    Err(Fail::new(exit::FAILURE, "brine demo needs brine-server"))
}
