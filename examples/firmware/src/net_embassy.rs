//! The async network setup (feature `embassy`): the MAC under embassy-net, its runner task,
//! DHCP, and a `TcpSocket` connected to `BRINE_SERVER`.

use embassy_executor::{Executor, SpawnError, SpawnToken, Spawner};
use embassy_net::tcp::{ConnectError, TcpSocket};
use embassy_net::{Ipv4Address, Runner, StackResources};
use embassy_time::{with_timeout, Duration};

use crate::eth::{self, Mac};
use crate::lab::{SERVER, TIMEOUT_MS};
use crate::{clock, fail};

/// Starts the clock and runs `task` (a `#[embassy_executor::task]` function) on the executor,
/// forever: the task ends the run with [`crate::exit`].
pub fn run<S>(task: impl FnOnce(Spawner) -> Result<SpawnToken<S>, SpawnError>) -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals taken"));
    clock::start(peripherals.SYST);
    let executor =
        cortex_m::singleton!(: Executor = Executor::new()).unwrap_or_else(|| fail("executor"));
    executor.run(|spawner| match task(spawner) {
        Ok(token) => spawner.spawn(token),
        Err(_) => fail("cannot spawn the task"),
    })
}

/// Runs the network stack: frames in and out, timers, DHCP.
#[embassy_executor::task]
async fn network(mut runner: Runner<'static, Mac>) -> ! {
    runner.run().await
}

/// Takes the MAC, starts the stack's task, gets a DHCP lease and connects a socket (2 KiB
/// each way) to `BRINE_SERVER`; on failure prints the `error:` line and exits with status 1.
pub async fn connect(spawner: Spawner) -> TcpSocket<'static> {
    let mac = Mac::take().unwrap_or_else(|| fail("Ethernet MAC taken"));
    eth::enable_interrupt();
    let resources = cortex_m::singleton!(: StackResources<2> = StackResources::new())
        .unwrap_or_else(|| fail("stack resources taken"));
    let config = embassy_net::Config::dhcpv4(Default::default());
    // The seed of smoltcp's choices (local port, ISN): the boot time (a board: its unique id).
    let seed = u64::from(clock::millis());
    let (stack, runner) = embassy_net::new(mac, config, resources, seed);
    match network(runner) {
        Ok(task) => spawner.spawn(task),
        Err(_) => fail("cannot spawn the network task"),
    }

    let timeout = Duration::from_millis(u64::from(TIMEOUT_MS));
    if with_timeout(timeout, stack.wait_config_up()).await.is_err() {
        fail(format_args!("no DHCP lease within {TIMEOUT_MS} ms"));
    }
    let rx = cortex_m::singleton!(: [u8; 2048] = [0; 2048]).unwrap_or_else(|| fail("rx taken"));
    let tx = cortex_m::singleton!(: [u8; 2048] = [0; 2048]).unwrap_or_else(|| fail("tx taken"));
    let mut socket = TcpSocket::new(stack, rx, tx);
    let (ip, port) = SERVER;
    let ip = Ipv4Address::from(ip);
    let why = match with_timeout(timeout, socket.connect((ip, port))).await {
        Ok(Ok(())) => return socket,
        Ok(Err(ConnectError::ConnectionReset)) => "connection refused",
        Ok(Err(ConnectError::TimedOut)) => "timed out",
        Ok(Err(ConnectError::NoRoute)) => "no route",
        Ok(Err(ConnectError::InvalidState)) => "socket in use",
        Err(_) => fail(format_args!(
            "cannot connect to {ip}:{port}: no connection within {TIMEOUT_MS} ms"
        )),
    };
    fail(format_args!("cannot connect to {ip}:{port}: {why}"))
}
