//! brine's lab client over the board's own TCP/IP stack, blocking: the Stellaris Ethernet MAC
//! → smoltcp (DHCP, TCP) → smoltcp-nal's embedded-nal `TcpClientStack` → brine-adapters' `nal`
//! transport → brine-core's `blocking::Client`.
//!
//! It gets an address by DHCP, connects to `BRINE_SERVER`, waits for the client id, sends the
//! identity and prints every event over semihosting (see `brine_firmware::lab`), then exits
//! QEMU: status 0 when the server closed in order, 1 after an `error:` line. Every wait polls
//! the stack, then sleeps until the next interrupt (a frame, or the 1 ms tick).

#![no_std]
#![no_main]

use core::net::SocketAddr;

use brine_adapters::nal::{self, OkZero, Op, TimedOut, Transport, WouldBlock};
use brine_core::blocking::{self, BeforeRead, Client};
use brine_core::pickle::Decoder;
use brine_core::session::{Session, Waiting};
use brine_firmware::eth::{self, Mac};
use brine_firmware::lab::{self, SERVER, TIMEOUT_MS};
use brine_firmware::{clock, exit, fail};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use smoltcp_nal::smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp_nal::smoltcp::socket::{dhcpv4, tcp};
use smoltcp_nal::smoltcp::time::Instant;
use smoltcp_nal::smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};
use smoltcp_nal::NetworkStack;

/// SysTick's milliseconds as the `embedded-time` clock smoltcp-nal keeps time with.
struct Millis;

impl embedded_time::Clock for Millis {
    type T = u32;
    const SCALING_FACTOR: embedded_time::rate::Fraction =
        embedded_time::rate::Fraction::new(1, 1000);

    fn try_now(&self) -> Result<embedded_time::Instant<Self>, embedded_time::clock::Error> {
        Ok(embedded_time::Instant::new(clock::millis()))
    }
}

type Stack = NetworkStack<'static, Mac, Millis>;
type Socket = Transport<'static, Stack, Poll>;
/// The UART client's sizes: 4096-byte buffers, a decoder of about 0.8 KiB.
type LabClient = Client<Socket, Arm, Session, Decoder<32, 64, 16, 32>>;

/// The `WouldBlock` hook: polls smoltcp; when nothing moved, gives up past the deadline or
/// sleeps until the next interrupt.
struct Poll {
    /// `clock::millis()` to give up at; `None`: wait as long as the server stays connected.
    deadline: Option<u32>,
}

impl Poll {
    fn within(ms: Option<u32>) -> Self {
        Poll {
            deadline: ms.map(|ms| clock::millis().wrapping_add(ms)),
        }
    }

    fn wait(&mut self, stack: &mut Stack) -> Result<(), TimedOut> {
        if stack.poll().unwrap_or(false) {
            return Ok(());
        }
        if self
            .deadline
            .is_some_and(|at| clock::millis().wrapping_sub(at) < u32::MAX / 2)
        {
            return Err(TimedOut);
        }
        cortex_m::asm::wfi();
        Ok(())
    }
}

impl WouldBlock<Stack> for Poll {
    fn would_block(&mut self, stack: &mut Stack, _: Op) -> Result<(), TimedOut> {
        self.wait(stack)
    }
}

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
    let mac = Mac::take().unwrap_or_else(|| fail("Ethernet MAC taken"));
    eth::enable_interrupt();
    let stack = new_stack(mac);

    let mut dhcp = Poll::within(Some(TIMEOUT_MS));
    while stack
        .interface()
        .ipv4_addr()
        .is_none_or(|a| a.is_unspecified())
    {
        if dhcp.wait(stack).is_err() {
            fail_with(format_args!("no DHCP lease within {TIMEOUT_MS} ms"));
        }
    }

    let (ip, port) = SERVER;
    let server = SocketAddr::from((ip, port));
    let socket = match nal::connect(stack, server, Poll::within(Some(TIMEOUT_MS))) {
        Ok(socket) => socket.ok_zero(OkZero::WouldBlock),
        // smoltcp-nal retries a refused connection until the hook gives up.
        Err(nal::Error::TimedOut) => fail_with(format_args!(
            "cannot connect to {server}: no connection within {TIMEOUT_MS} ms"
        )),
        Err(nal::Error::Stack(e)) => fail_with(format_args!("cannot connect to {server}: {e:?}")),
    };
    let client = new_client(socket);
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
fn listen(
    client: &mut LabClient,
) -> Result<(), blocking::Error<nal::Error<smoltcp_nal::NetworkError>>> {
    let id = client.handshake(&lab::identity())?;
    lab::report(&brine_core::session::Event::ClientId(id));
    while !lab::report(&client.next_event()?) {}
    Ok(())
}

fn fail_with(why: core::fmt::Arguments<'_>) -> ! {
    hprintln!("error: {}", why);
    exit(1)
}

/// The interface (no address until DHCP gives one), a DHCP socket and one TCP socket of
/// 2 KiB each way, in statics.
#[inline(never)]
fn new_stack(mut mac: Mac) -> &'static mut Stack {
    let config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac.address())));
    let mut iface = Interface::new(config, &mut mac, Instant::from_millis(clock::millis()));
    // smoltcp-nal replaces the first IPv4 address with the lease.
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(Ipv4Address::UNSPECIFIED.into(), 0));
    });
    let storage = cortex_m::singleton!(: [SocketStorage<'static>; 2] = Default::default())
        .unwrap_or_else(|| fail("sockets taken"));
    let rx = cortex_m::singleton!(: [u8; 2048] = [0; 2048]).unwrap_or_else(|| fail("rx taken"));
    let tx = cortex_m::singleton!(: [u8; 2048] = [0; 2048]).unwrap_or_else(|| fail("tx taken"));
    let mut sockets = SocketSet::new(&mut storage[..]);
    sockets.add(dhcpv4::Socket::new());
    sockets.add(tcp::Socket::new(
        tcp::SocketBuffer::new(&mut rx[..]),
        tcp::SocketBuffer::new(&mut tx[..]),
    ));
    let mut stack = NetworkStack::new(iface, mac, sockets, Millis);
    stack.seed_random_port(&mac_seed());
    cortex_m::singleton!(: Stack = stack).unwrap_or_else(|| fail("stack taken"))
}

/// Seeds the local port choice: the boot time in ms (a board would use its unique id).
fn mac_seed() -> [u8; 8] {
    u64::from(clock::millis()).to_le_bytes()
}

/// The client in a static, built off `main`'s frame (as the UART firmware's).
#[inline(never)]
fn new_client(socket: Socket) -> &'static mut LabClient {
    cortex_m::singleton!(: LabClient = Client::with_storage(socket, Arm))
        .unwrap_or_else(|| fail("client taken"))
}
