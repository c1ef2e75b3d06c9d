//! brine's lab client over the board's own TCP/IP stack, blocking: the Stellaris Ethernet MAC
//! → smoltcp (DHCP, TCP) → smoltcp-nal's embedded-nal `TcpClientStack` → brine-adapters' `nal`
//! transport → brine-core's `blocking::Client` (setup: `brine_firmware::net_nal`).
//!
//! It gets an address by DHCP, connects to `BRINE_SERVER`, waits for the client id, sends the
//! identity and prints every event over semihosting (see `brine_firmware::lab`), then exits
//! QEMU: status 0 when the server closed in order, 1 after an `error:` line.

#![no_std]
#![no_main]

use brine_adapters::nal;
use brine_core::blocking::{self, BeforeRead, Client};
use brine_core::session::{Event, Waiting};
use brine_firmware::lab::{self, LabSession};
use brine_firmware::net_nal::{self, Poll, Socket};
use brine_firmware::{clock, exit, fail};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;

/// The UART client's sizes: a [`LabSession`] (4096-byte buffers, the small decoder).
type LabClient = Client<Socket, Arm, LabSession>;
type Error = blocking::Error<nal::Error<smoltcp_nal::NetworkError>>;

/// Arms the hook's deadline for the wait the session is in.
struct Arm;

impl BeforeRead<Socket> for Arm {
    fn before_read(
        &mut self,
        socket: &mut Socket,
        waiting: Waiting,
    ) -> Result<(), nal::Error<smoltcp_nal::NetworkError>> {
        *socket.would_block_mut() = Poll::within(lab::timeout(waiting));
        Ok(())
    }
}

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals taken"));
    clock::start(peripherals.SYST);
    let client = new_client(net_nal::connect());
    let code = match listen(client) {
        Ok(()) => 0,
        Err(blocking::Error::Transport(nal::Error::TimedOut)) => {
            lab::report_timeout(client.session().waiting());
            1
        }
        Err(e) => {
            hprintln!("error: {}", e);
            1
        }
    };
    exit(code)
}

/// The handshake, then every event until the server closes.
fn listen(client: &mut LabClient) -> Result<(), Error> {
    let id = client.handshake(&lab::identity())?;
    lab::report(&Event::ClientId(id));
    while !lab::report(&client.next_event()?) {}
    Ok(())
}

/// The client in a static, built off `main`'s frame (as the UART firmware's).
#[inline(never)]
fn new_client(socket: Socket) -> &'static mut LabClient {
    cortex_m::singleton!(: LabClient = Client::with_storage(socket, Arm))
        .unwrap_or_else(|| fail("client taken"))
}
