//! Board support for brine's firmware on QEMU's `lm3s6965evb` (a Cortex-M3): the UART0
//! driver, the Ethernet MAC driver (features `embassy`, `nal`), a millisecond clock and
//! embassy-time's driver on it, semihosting exit, the panic handler and the stack report.
//! Shared by the lab clients (`src/main.rs` over the UART, `src/bin/embassy.rs` and
//! `src/bin/nal.rs` over Ethernet) and the footprint baselines (`src/bin/baseline*.rs`, the
//! same board code without brine-core).

#![no_std]

pub mod clock;
#[cfg(any(feature = "embassy", feature = "nal"))]
pub mod eth;
pub mod keys;
pub mod lab;
#[cfg(feature = "embassy")]
pub mod net_embassy;
#[cfg(feature = "nal")]
pub mod net_nal;
#[cfg(feature = "embassy")]
pub mod time_driver;
pub mod uart;

use cortex_m_semihosting::{debug, hprintln};

/// The stack's high-water mark and the client's size, from the painted stack
/// (cortex-m-rt's `paint-stack` fills it with 0xCCCC_CCCC before `main`).
pub fn report_memory(static_bytes: usize) {
    extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let mut word = core::ptr::addr_of!(_stack_end) as usize;
    while word < top {
        // SAFETY: `word` is a 4-aligned address in [_stack_end, _stack_start), RAM that
        // cortex-m-rt reserves for the stack; reading it has no side effect. Volatile, so
        // the compiler does not assume what the untouched paint holds.
        if unsafe { core::ptr::read_volatile(word as *const u32) } != 0xCCCC_CCCC {
            break;
        }
        word += 4;
    }
    hprintln!(
        "memory: stack high-water {} of {} bytes, client {} bytes (static)",
        top - word,
        top - core::ptr::addr_of!(_stack_end) as usize,
        static_bytes
    );
}

/// Ends the QEMU run through semihosting: status 0 for `code` 0, otherwise 1.
pub fn exit(code: u8) -> ! {
    debug::exit(if code == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Only reached without a semihosting host (on a board without a debugger): stop here.
    loop {
        cortex_m::asm::wfi();
    }
}

/// Says why (`error: <why>`), then exits with status 1.
pub fn fail(why: impl core::fmt::Display) -> ! {
    hprintln!("error: {}", why);
    exit(1)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("panic: {}", info);
    exit(1)
}
