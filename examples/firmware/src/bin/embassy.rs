//! brine's lab client over the board's own TCP/IP stack, async: the Stellaris Ethernet MAC →
//! embassy-net (smoltcp; DHCP, TCP) → its `TcpSocket`, which is an `embedded-io-async`
//! stream → brine-core's `asynch::Client`, on embassy-executor with a SysTick time driver
//! (setup: `brine_firmware::net_embassy`).
//!
//! It gets an address by DHCP, connects to `BRINE_SERVER`, waits for the client id, sends the
//! identity and prints every event over semihosting (see `brine_firmware::lab`), then exits
//! QEMU: status 0 when the server closed in order, 1 after an `error:` line.

#![no_std]
#![no_main]

use brine_core::asynch::Client;
use brine_core::blocking;
use brine_core::session::Event;
use brine_firmware::lab::{self, LabSession, TIMEOUT_MS};
use brine_firmware::{exit, fail, net_embassy};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;
use embassy_net::tcp::TcpSocket;
use embassy_time::{with_timeout, Duration};

/// The UART client's sizes: a [`LabSession`] (4096-byte buffers, the small decoder).
type LabClient = Client<TcpSocket<'static>, (), LabSession>;

#[entry]
fn main() -> ! {
    net_embassy::run(lab_client)
}

#[embassy_executor::task]
async fn lab_client(spawner: Spawner) {
    let socket = net_embassy::connect(spawner).await;
    let client = cortex_m::singleton!(: LabClient = Client::with_storage(socket, ()))
        .unwrap_or_else(|| fail("client taken"));
    exit(match listen(client).await {
        Ok(()) => 0,
        Err(e) => {
            hprintln!("error: {}", e);
            1
        }
    })
}

/// The handshake, then every event until the server closes; each wait for the id or for the
/// rest of a message bounded by `BRINE_TIMEOUT_MS` (the client is cancel-safe).
async fn listen(client: &mut LabClient) -> Result<(), blocking::Error<embassy_net::tcp::Error>> {
    let timeout = Duration::from_millis(u64::from(TIMEOUT_MS));
    let Ok(id) = with_timeout(timeout, client.handshake(&lab::identity())).await else {
        lab::report_timeout(client.session().waiting());
        exit(1)
    };
    lab::report(&Event::ClientId(id?));
    loop {
        let waiting = client.session().waiting();
        let event = match lab::timeout(waiting) {
            Some(ms) => {
                let limit = Duration::from_millis(u64::from(ms));
                let Ok(event) = with_timeout(limit, client.next_event()).await else {
                    lab::report_timeout(waiting);
                    exit(1)
                };
                event
            }
            None => client.next_event().await,
        };
        if lab::report(&event?) {
            return Ok(());
        }
    }
}
