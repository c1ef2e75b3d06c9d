//! A `multiprocessing.connection` client as firmware for QEMU's `lm3s6965evb`, over UART0
//! joined to a Python `Listener` (`-serial tcp:HOST:PORT`): with the `multiprocessing`
//! feature it first runs brine-core's HMAC handshake (`multiprocessing::Handshake`, as
//! `Client(address, authkey=...)` does) with the key `BRINE_AUTHKEY` (build time, default
//! `s3cret`); without it the listener must have no authkey. Then it prints the listener's
//! first message (`greeting <repr>`), sends `'bye'` (CPython's `pickle.dumps('bye')`, so no
//! pickler is needed), prints every message until the line is idle for `BRINE_IDLE_MS`, and
//! exits QEMU with status 0 (1 after `error: <why>`).
//!
//! The same program with and without the feature is how `footprint.sh` measures the
//! handshake's flash. Its challenge's nonce is fixed: this board has no random source (a
//! real one takes the 40 bytes from its TRNG; a predictable nonce lets a recorded answer be
//! replayed by a fake listener).

#![no_std]
#![no_main]

use brine_core::blocking::{self, Client};
use brine_core::framing::Framing;
use brine_core::pickle::Pickled;
use brine_core::session::{Event, Greeting, Waiting};
use brine_firmware::lab::{print_message, LabSession, IDLE_MS};
use brine_firmware::uart::{self, Timeouts, Uart0};
use brine_firmware::{clock, exit, fail, report_memory};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;

/// CPython's `pickle.dumps('bye')` (protocol 4).
const BYE: Pickled<'static> =
    Pickled(b"\x80\x04\x95\x07\x00\x00\x00\x00\x00\x00\x00\x8c\x03bye\x94.");

type MpClient = Client<Uart0, Timeouts, LabSession>;

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals taken"));
    clock::start(peripherals.SYST);
    let uart = Uart0::take().unwrap_or_else(|| fail("UART0 taken"));
    #[cfg(feature = "multiprocessing")]
    let uart = authenticate(uart);
    let client = new_client(uart);
    let code = match listen(client) {
        Ok(()) => 0,
        Err(e) => {
            hprintln!("error: {}", e);
            1
        }
    };
    report_memory(core::mem::size_of::<MpClient>());
    exit(code)
}

/// The handshake as `Client(address, authkey=key)` runs it, reading no byte past it.
#[cfg(feature = "multiprocessing")]
fn authenticate(mut uart: Uart0) -> Uart0 {
    use brine_core::multiprocessing::{Handshake, Role, NONCE_LEN};
    use embedded_io::{Read, Write};
    const KEY: &str = brine_firmware::lab::setting(option_env!("BRINE_AUTHKEY"), "s3cret");
    let nonce: [u8; NONCE_LEN] = core::array::from_fn(|i| (i as u8).wrapping_mul(151) ^ 0xa5);
    let mut handshake = Handshake::new(Role::Client, KEY.as_bytes(), nonce);
    uart.set_timeout(brine_firmware::lab::TIMEOUT_MS);
    let mut buf = [0u8; 64];
    while !handshake.is_done() {
        let out = handshake.transmit();
        let n = out.len();
        if uart.write_all(out).and_then(|()| uart.flush()).is_err() {
            fail("UART write");
        }
        handshake.transmitted(n);
        if handshake.is_done() {
            break;
        }
        let want = handshake.wanted().min(buf.len());
        let got = match uart.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(uart::Error::TimedOut) => fail(
                "the listener was silent in the handshake: a Listener without an authkey sends no #CHALLENGE#",
            ),
            Err(e) => fail(e),
        };
        if let Err(e) = handshake.receive(&buf[..got]) {
            // A #FAILURE# goes out before giving up, as CPython sends it.
            let _ = uart.write_all(handshake.transmit());
            fail(e);
        }
    }
    hprintln!("authenticated: {:?}", handshake.digests());
    uart
}

/// The client in a static in `.bss`, handed out once (as the lab client's `new_client`).
#[inline(never)]
fn new_client(uart: Uart0) -> &'static mut MpClient {
    cortex_m::singleton!(: MpClient = Client::with_storage(uart, Timeouts))
        .unwrap_or_else(|| fail("client taken"))
}

/// The listener's greeting, `'bye'` back, then messages until the line is idle.
fn listen(client: &mut MpClient) -> Result<(), blocking::Error<uart::Error>> {
    client.set_framing(Framing::Multiprocessing);
    client.set_greeting(Greeting::Any);
    client.begin_without_identity();
    loop {
        let error = match client.next_event() {
            Ok(Event::Greeting(value)) => {
                hprintln!("greeting:");
                print_message(&value);
                client.send(&BYE)?;
                continue;
            }
            Ok(Event::Message(value)) => {
                print_message(&value);
                continue;
            }
            Ok(Event::Skipped { len, reason }) => {
                hprintln!("skipped {} bytes: {}", len, reason);
                continue;
            }
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if error == blocking::Error::Transport(uart::Error::TimedOut)
            && client.session().waiting() == Waiting::NextMessage
        {
            hprintln!("done: idle for {} ms", IDLE_MS);
            return Ok(());
        }
        return Err(error);
    }
}
