//! brine's lab client as firmware for QEMU's `lm3s6965evb` (a Cortex-M3): the blocking client
//! of `brine-core` over UART0, which QEMU joins to a TCP server (`-serial tcp:HOST:PORT`).
//!
//! It waits for the server's `{'clientid': id}`, sends the identity fixed at build time
//! (pickled at run time, or by build.rs without the `pickler` feature), then prints every
//! message (Python's `repr`; without the `repr` feature its type and length) through
//! semihosting. A UART never reports "closed", so it ends after `BRINE_IDLE_MS` without a
//! byte, or after `BRINE_MESSAGES` messages, and exits QEMU with status 0; any failure exits
//! with status 1 after saying why.
//!
//! Build-time settings (environment variables read by `option_env!`, so a change rebuilds):
//! `BRINE_NAME`, `BRINE_EMAIL`, `BRINE_STUDENT_ID`, `BRINE_GITHUB` (the identity's fields),
//! `BRINE_KEYS` (`lab`, the default: `student_name`, `email`, `sid`, `github_username`; or
//! `handout`: `name`, `email`, `student_id`, `github_username`; as the `brine` command's `--keys`),
//! `BRINE_IDLE_MS` (default 3000), `BRINE_TIMEOUT_MS` (the wait for the id and for the rest
//! of a started message, default 10000), `BRINE_MESSAGES` (default 0: no limit).

#![no_std]
#![no_main]

use brine_core::blocking::{self, Client};
use brine_core::session::{Event, Waiting};
use brine_firmware::lab::{self, number, print_message, LabDecoder, LabSession, Part, IDLE_MS};
use brine_firmware::uart::{self, Timeouts, Uart0};
use brine_firmware::{clock, exit, fail, report_memory};
use core::mem::{ManuallyDrop, MaybeUninit};

use cortex_m_rt::entry;
use cortex_m_semihosting::{hprint, hprintln};

const MAX_MESSAGES: u32 = number(option_env!("BRINE_MESSAGES"), 0);

/// `client: <N> bytes = session <N> (of which decoder <N>) + UART <N>`, written out at
/// compile time (the sizes are constants).
const CLIENT_SIZES: &str = brine_firmware::const_line!(
    Part::Text("client: "),
    Part::Num(size_of::<LabClient>()),
    Part::Text(" bytes = session "),
    Part::Num(size_of::<LabSession>()),
    Part::Text(" (of which decoder "),
    Part::Num(size_of::<LabDecoder>()),
    Part::Text(") + UART "),
    Part::Num(size_of::<Uart0>()),
    Part::Text("\n"),
);

/// The client: the UART and a [`LabSession`] (4096-byte buffers, the small [`LabDecoder`]).
type LabClient = Client<Uart0, Timeouts, LabSession>;

#[entry]
fn main() -> ! {
    // cortex-m-rt hands `main`'s `static mut`s out as `&'static mut` (main runs once): the
    // client's place, in `.bss` (uninitialised: no initializer stored in flash).
    static mut CLIENT: MaybeUninit<LabClient> = MaybeUninit::uninit();
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals taken"));
    clock::start(peripherals.SYST);
    let uart = Uart0::take().unwrap_or_else(|| fail("UART0 taken"));
    let client = new_client(CLIENT, uart);

    let code = listen(client);
    hprint!(CLIENT_SIZES);
    report_memory(size_of::<LabClient>());
    exit(code)
}

/// The client, built in its static `place`. Not inlined: should the value be built on a stack
/// frame first, that frame is gone before `main` goes on (`main` never returns).
#[inline(never)]
fn new_client(place: &'static mut MaybeUninit<LabClient>, uart: Uart0) -> &'static mut LabClient {
    place.write(Client::with_storage(uart, Timeouts))
}

/// The handshake, then messages until the line is idle or enough arrived: the exit status
/// (1 after printing the error that ended it). One loop of `next_event` from the start: the
/// client id is its first event, and the identity goes out before the next read (what
/// `handshake` does, with one call site of `next_event` and one error print: flash). Each
/// error is printed where it is returned, not moved out first (brine's errors are large).
fn listen(client: &mut LabClient) -> u8 {
    hprintln!("brine firmware: waiting for the client id on UART0");
    #[cfg(feature = "pickler")]
    let begun = ManuallyDrop::new(client.begin(&brine_firmware::lab::identity()));
    #[cfg(not(feature = "pickler"))]
    let begun = ManuallyDrop::new(client.begin(&brine_firmware::lab::IDENTITY_PICKLE));
    if let Err(e) = &*begun {
        lab::print_error(e);
        return 1;
    }
    let mut messages = 0u32;
    loop {
        // Not dropped (`ManuallyDrop`): brine's errors hold `heapless` strings, whose `Drop`
        // does nothing for bytes but links drop glue that checks the variant (~100 bytes).
        let idle = match &*ManuallyDrop::new(client.next_event()) {
            Ok(Event::ClientId(id)) => {
                lab::print_client_id(id);
                hprint!(lab::SENT_IDENTITY);
                continue;
            }
            Ok(Event::Message(value)) => {
                messages += 1;
                print_message(value);
                if messages == MAX_MESSAGES {
                    hprintln!("done: {} messages", messages);
                    return 0;
                }
                continue;
            }
            Ok(Event::Skipped { len, reason }) => {
                lab::print_skipped(*len, reason);
                continue;
            }
            Ok(Event::Closed) => {
                hprintln!("done: closed after {} messages", messages);
                return 0;
            }
            Ok(_) => continue,
            // Silence between messages is how a UART line ends; silence inside one is an
            // error.
            Err(blocking::Error::Transport(uart::Error::TimedOut)) => true,
            Err(e) => {
                lab::print_error(e);
                return 1;
            }
        };
        if idle && client.session().waiting() == Waiting::NextMessage {
            hprintln!("done: idle for {} ms after {} messages", IDLE_MS, messages);
            return 0;
        }
        lab::print_error(&*ManuallyDrop::new(blocking::Error::Transport(
            uart::Error::TimedOut,
        )));
        return 1;
    }
}
