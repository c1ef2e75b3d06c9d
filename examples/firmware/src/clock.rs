//! Milliseconds since boot from SysTick, for the UART's and the network's timeouts (and, with
//! the `embassy` feature, embassy-time's alarms: see [`crate::time_driver`]).
//!
//! QEMU emulates SysTick against its virtual clock, which follows the host's real time
//! (without `-icount`), so timeouts hold however fast the host runs the guest's code; a
//! count of polling iterations would not.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::exception;

/// The core clock of QEMU's lm3s6965evb after reset (and of the board's 12 MHz crystal).
pub const CORE_HZ: u32 = 12_000_000;
/// One SysTick interrupt every this many milliseconds. Not 1: QEMU drops SysTick interrupts
/// that come late on a loaded host, and at 1 ms the clock fell behind real time (a 2 s
/// timeout took 4.3 s); at 10 ms it keeps up.
const TICK_MS: u32 = 10;

static MILLIS: AtomicU32 = AtomicU32::new(0);

/// Starts the millisecond count.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / 1000 * TICK_MS - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Milliseconds since [`start`], to a resolution of 10 ms; wraps after 49 days.
pub fn millis() -> u32 {
    MILLIS.load(Ordering::Relaxed)
}

#[exception]
fn SysTick() {
    MILLIS.fetch_add(TICK_MS, Ordering::Relaxed);
    #[cfg(feature = "embassy")]
    crate::time_driver::tick(u64::from(TICK_MS));
}
