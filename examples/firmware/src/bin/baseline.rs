//! The footprint baseline: the firmware's board code (UART, clock, semihosting, panic) doing
//! what the lab client does around brine-core (read the UART until it is idle, write a
//! reply, print a count), without brine-core. The lab client's size minus this one's is
//! brine-core's share (BENCHMARKS.md).

#![no_std]
#![no_main]

use brine_firmware::uart::{self, Uart0};
use brine_firmware::{clock, exit, fail, report_memory};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use embedded_io::{Read, Write};

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals taken"));
    clock::start(peripherals.SYST);
    let mut uart = Uart0::take().unwrap_or_else(|| fail("UART0 taken"));
    uart.set_timeout(3_000);
    let mut buf = [0u8; 64];
    let mut total = 0usize;
    let code = loop {
        match uart.read(&mut buf) {
            Ok(n) => {
                total += n;
                if uart.write_all(b"ok").and_then(|()| uart.flush()).is_err() {
                    break 1;
                }
            }
            Err(uart::Error::TimedOut) => break 0,
            Err(e) => {
                hprintln!("error: {}", e);
                break 1;
            }
        }
    };
    hprintln!("done: {} bytes", total);
    report_memory(0);
    exit(code)
}
