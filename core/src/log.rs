//! Crate-private logging: routes to `defmt` with the `defmt` feature, to nothing without it.
#![allow(unused_macros)]

#[cfg(feature = "defmt")]
macro_rules! log_debug {
    ($($arg:tt)*) => { defmt::debug!($($arg)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! log_debug {
    ($($arg:tt)*) => {{}};
}

#[cfg(feature = "defmt")]
macro_rules! log_warn {
    ($($arg:tt)*) => { defmt::warn!($($arg)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! log_warn {
    ($($arg:tt)*) => {{}};
}
