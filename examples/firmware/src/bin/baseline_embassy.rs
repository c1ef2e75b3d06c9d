//! The footprint baseline of `brine-firmware-embassy`: the same board, MAC driver, executor,
//! time driver and embassy-net setup (DHCP, connect), doing what the lab client does around
//! brine-core (read until the server closes, write a reply, print a count), without
//! brine-core. The lab client's size minus this one's is brine-core's share (BENCHMARKS.md).

#![no_std]
#![no_main]

use brine_firmware::{exit, fail, net_embassy};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;
use embedded_io_async::Write;

#[entry]
fn main() -> ! {
    net_embassy::run(echo)
}

#[embassy_executor::task]
async fn echo(spawner: Spawner) {
    let mut socket = net_embassy::connect(spawner).await;
    let mut buf = [0u8; 64];
    let mut total = 0usize;
    loop {
        match socket.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => fail(format_args!("{e:?}")),
        }
        if let Err(e) = socket.write_all(b"ok").await {
            fail(format_args!("{e:?}"));
        }
    }
    hprintln!("done: {} bytes", total);
    exit(0)
}
