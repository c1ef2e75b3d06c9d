//! brine's lab client over the board's own TCP/IP stack, async: the Stellaris Ethernet MAC →
//! embassy-net (smoltcp; DHCP, TCP) → its `TcpSocket`, which is an `embedded-io-async`
//! stream → brine-core's `asynch::Client`, on embassy-executor with a SysTick time driver.
//!
//! It gets an address by DHCP, connects to `BRINE_SERVER`, waits for the client id, sends the
//! identity and prints every event over semihosting (see `brine_firmware::lab`), then exits
//! QEMU: status 0 when the server closed in order, 1 after an `error:` line.

#![no_std]
#![no_main]

use brine_core::asynch::Client;
use brine_core::blocking;
use brine_core::pickle::Decoder;
use brine_core::session::{Event, Session};
use brine_firmware::eth::{self, Mac};
use brine_firmware::lab::{self, SERVER, TIMEOUT_MS};
use brine_firmware::{clock, exit, fail};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use embassy_executor::{Executor, Spawner};
use embassy_net::tcp::{ConnectError, TcpSocket};
use embassy_net::{Ipv4Address, Runner, StackResources};
use embassy_time::{with_timeout, Duration};

/// The UART client's sizes: 4096-byte buffers, a decoder of about 0.8 KiB.
type LabClient<'a> = Client<TcpSocket<'a>, (), Session, Decoder<32, 64, 16, 32>>;

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals taken"));
    clock::start(peripherals.SYST);
    let mac = Mac::take().unwrap_or_else(|| fail("Ethernet MAC taken"));
    eth::enable_interrupt();
    let executor =
        cortex_m::singleton!(: Executor = Executor::new()).unwrap_or_else(|| fail("executor"));
    executor.run(|spawner| match lab_client(spawner, mac) {
        Ok(task) => spawner.spawn(task),
        Err(_) => fail("cannot spawn the client task"),
    })
}

/// Runs the network stack: frames in and out, timers, DHCP.
#[embassy_executor::task]
async fn network(mut runner: Runner<'static, Mac>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn lab_client(spawner: Spawner, mac: Mac) {
    let resources = cortex_m::singleton!(: StackResources<2> = StackResources::new())
        .unwrap_or_else(|| fail("stack resources taken"));
    let config = embassy_net::Config::dhcpv4(Default::default());
    let seed =
        u64::from(clock::millis()) ^ u64::from_le_bytes([0x62, 0x72, 0x69, 0x6e, 0x65, 0, 0, 0]);
    let (stack, runner) = embassy_net::new(mac, config, resources, seed);
    match network(runner) {
        Ok(task) => spawner.spawn(task),
        Err(_) => fail("cannot spawn the network task"),
    }

    let timeout = Duration::from_millis(u64::from(TIMEOUT_MS));
    if with_timeout(timeout, stack.wait_config_up()).await.is_err() {
        fail_with(format_args!("no DHCP lease within {TIMEOUT_MS} ms"));
    }

    let rx = cortex_m::singleton!(: [u8; 2048] = [0; 2048]).unwrap_or_else(|| fail("rx taken"));
    let tx = cortex_m::singleton!(: [u8; 2048] = [0; 2048]).unwrap_or_else(|| fail("tx taken"));
    let mut socket = TcpSocket::new(stack, rx, tx);
    let (ip, port) = SERVER;
    let remote = (Ipv4Address::from(ip), port);
    match with_timeout(timeout, socket.connect(remote)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => fail_with(format_args!(
            "cannot connect to {}:{port}: {}",
            remote.0,
            match e {
                ConnectError::ConnectionReset => "connection refused",
                ConnectError::TimedOut => "timed out",
                ConnectError::NoRoute => "no route",
                ConnectError::InvalidState => "socket in use",
            }
        )),
        Err(_) => fail_with(format_args!(
            "cannot connect to {}:{port}: no connection within {TIMEOUT_MS} ms",
            remote.0
        )),
    }

    let client = cortex_m::singleton!(: LabClient<'static> = Client::with_storage(socket, ()))
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
async fn listen(
    client: &mut LabClient<'static>,
) -> Result<(), blocking::Error<embassy_net::tcp::Error>> {
    let timeout = Duration::from_millis(u64::from(TIMEOUT_MS));
    let id = match with_timeout(timeout, client.handshake(&lab::identity())).await {
        Ok(id) => id?,
        Err(_) => {
            lab::report_timeout(client.session().waiting());
            exit(1)
        }
    };
    lab::report(&Event::ClientId(id));
    loop {
        let waiting = client.session().waiting();
        let event = match lab::timeout(waiting) {
            Some(ms) => {
                let limit = Duration::from_millis(u64::from(ms));
                match with_timeout(limit, client.next_event()).await {
                    Ok(event) => event,
                    Err(_) => {
                        lab::report_timeout(waiting);
                        exit(1)
                    }
                }
            }
            None => client.next_event().await,
        };
        if lab::report(&event?) {
            return Ok(());
        }
    }
}

fn fail_with(why: core::fmt::Arguments<'_>) -> ! {
    hprintln!("error: {}", why);
    exit(1)
}
