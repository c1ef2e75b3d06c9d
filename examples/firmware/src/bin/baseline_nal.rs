//! The footprint baseline of `brine-firmware-nal`: the same board, MAC driver, smoltcp-nal
//! stack and brine-adapters transport (DHCP, connect), doing what the lab client does around
//! brine-core (read until the server closes, write a reply, print a count), without
//! brine-core. The lab client's size minus this one's is brine-core's share (BENCHMARKS.md).

#![no_std]
#![no_main]

use brine_firmware::{clock, exit, fail, net_nal};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use embedded_io::{Read, Write};

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals taken"));
    clock::start(peripherals.SYST);
    let mut socket = net_nal::connect();
    let mut buf = [0u8; 64];
    let mut total = 0usize;
    loop {
        match socket.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => fail(e),
        }
        if let Err(e) = socket.write_all(b"ok") {
            fail(e);
        }
    }
    hprintln!("done: {} bytes", total);
    exit(0)
}
