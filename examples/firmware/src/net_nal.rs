//! The blocking network setup (feature `nal`): the MAC under smoltcp, smoltcp-nal's embedded-nal
//! stack on it, DHCP, and a brine-adapters `nal` transport connected to `BRINE_SERVER`.
//! Every wait polls the stack, then sleeps until the next interrupt (a frame, or the 10 ms tick).

use core::net::SocketAddr;

use brine_adapters::nal::{self, OkZero, Op, TimedOut, Transport, WouldBlock};
use smoltcp_nal::smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp_nal::smoltcp::socket::{dhcpv4, tcp};
use smoltcp_nal::smoltcp::time::Instant;
use smoltcp_nal::smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};
use smoltcp_nal::NetworkStack;

use crate::eth::{self, Mac};
use crate::lab::{SERVER, TIMEOUT_MS};
use crate::{clock, fail};

/// SysTick's milliseconds as the `embedded-time` clock smoltcp-nal keeps time with.
pub struct Millis;

impl embedded_time::Clock for Millis {
    type T = u32;
    const SCALING_FACTOR: embedded_time::rate::Fraction =
        embedded_time::rate::Fraction::new(1, 1000);

    fn try_now(&self) -> Result<embedded_time::Instant<Self>, embedded_time::clock::Error> {
        Ok(embedded_time::Instant::new(clock::millis()))
    }
}

/// smoltcp-nal's stack on the MAC.
pub type Stack = NetworkStack<'static, Mac, Millis>;
/// The connection, as an `embedded-io` stream.
pub type Socket = Transport<'static, Stack, Poll>;

/// The `WouldBlock` hook: polls smoltcp; when nothing moved, gives up past the deadline or
/// sleeps until the next interrupt.
pub struct Poll {
    /// `clock::millis()` to give up at; `None`: wait as long as the server stays connected.
    deadline: Option<u32>,
}

impl Poll {
    /// Gives up `ms` from now (`None`: never).
    pub fn within(ms: Option<u32>) -> Self {
        Poll {
            deadline: ms.map(|ms| clock::millis().wrapping_add(ms)),
        }
    }

    /// Gives up past the deadline (even while the stack keeps moving, e.g. a connection
    /// refused and retried); else polls, and sleeps if nothing moved.
    fn wait(&mut self, stack: &mut Stack) -> Result<(), TimedOut> {
        if self
            .deadline
            .is_some_and(|at| clock::millis().wrapping_sub(at) < u32::MAX / 2)
        {
            return Err(TimedOut);
        }
        if !stack.poll().unwrap_or(false) {
            cortex_m::asm::wfi();
        }
        Ok(())
    }
}

impl WouldBlock<Stack> for Poll {
    fn would_block(&mut self, stack: &mut Stack, _: Op) -> Result<(), TimedOut> {
        self.wait(stack)
    }
}

/// Takes the MAC, gets a DHCP lease and connects to `BRINE_SERVER`; on failure prints the
/// `error:` line and exits with status 1. smoltcp-nal answers `Ok(0)` when nothing has
/// arrived yet, so the transport reads it that way ([`OkZero::WouldBlock`]).
pub fn connect() -> Socket {
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
            fail(format_args!("no DHCP lease within {TIMEOUT_MS} ms"));
        }
    }
    let server = SocketAddr::from(SERVER);
    match nal::connect(stack, server, Poll::within(Some(TIMEOUT_MS))) {
        Ok(socket) => socket.ok_zero(OkZero::WouldBlock),
        // smoltcp-nal retries a refused connection until the hook gives up.
        Err(nal::Error::TimedOut) => fail(format_args!(
            "cannot connect to {server}: no connection within {TIMEOUT_MS} ms"
        )),
        Err(nal::Error::Stack(e)) => fail(format_args!("cannot connect to {server}: {e:?}")),
    }
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
    // The local port's seed: the boot time in ms (a board would use its unique id).
    stack.seed_random_port(&u64::from(clock::millis()).to_le_bytes());
    cortex_m::singleton!(: Stack = stack).unwrap_or_else(|| fail("stack taken"))
}
