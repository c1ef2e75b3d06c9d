//! Transports for brine-core (work in progress).
#![forbid(unsafe_code)]
