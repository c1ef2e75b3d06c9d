//! A polled driver for the LM3S6965's Ethernet MAC (the "Stellaris Ethernet controller" that
//! QEMU emulates with `-nic user,model=stellaris`), with two faces over one register layer:
//! an `embassy-net-driver` [`Driver`](embassy_net_driver::Driver) (feature `embassy`) and a
//! smoltcp [`Device`](smoltcp_nal::smoltcp::phy::Device) (feature `nal`).
//!
//! The MAC moves whole frames through two FIFOs, one 32-bit word at a time through the DATA
//! register. Receive: the first word's low half is the length of what follows the length
//! itself (frame + 4-byte FCS, plus the 2 bytes of the length), its high half the frame's first
//! two bytes; the rest comes word by word; NP counts the frames waiting. Transmit: the first
//! word carries the frame's length without its 14-byte header and the frame's first two
//! bytes, then the rest word by word, then TR's NEWTX bit sends it (the MAC pads and appends
//! the FCS). A board's PHY would also need MII setup and a link check; QEMU's link is always
//! up and its MII is not modelled.

use core::sync::atomic::{AtomicBool, Ordering};

/// The MAC's registers (LM3S6965 data sheet, "Ethernet Controller Register Map").
const MAC: usize = 0x4004_8000;
/// Raw interrupt status (read) / acknowledge (write).
const RIS_IACK: usize = 0x00;
/// Interrupt mask.
const IM: usize = 0x04;
const RCTL: usize = 0x08;
const TCTL: usize = 0x0C;
const DATA: usize = 0x10;
/// The station address: bytes 0–3, then 4–5.
const IA0: usize = 0x14;
const IA1: usize = 0x18;
/// Transmit threshold: 0x3F (the reset value) switches early transmission off.
const THR: usize = 0x1C;
/// Frames waiting in the receive FIFO.
const NP: usize = 0x34;
/// Transmission request.
const TR: usize = 0x38;

const INT_RX: u32 = 1 << 0;
const RCTL_RXEN: u32 = 1 << 0;
const RCTL_RSTFIFO: u32 = 1 << 4;
const TCTL_TXEN: u32 = 1 << 0;
const TCTL_PADEN: u32 = 1 << 1;
const TCTL_CRC: u32 = 1 << 2;
const TR_NEWTX: u32 = 1 << 0;

/// The MAC's interrupt: IRQ 42 on the LM3S6965.
pub const IRQ: u16 = 42;
/// The largest frame handled: 1500 bytes of payload and a 14-byte header (no VLAN tag).
pub const MTU: usize = 1514;
/// A frame buffer: the MTU rounded up to whole FIFO words, plus the 2-byte length prefix.
const BUF: usize = MTU + 6;

fn read_reg(offset: usize) -> u32 {
    // SAFETY: MAC + offset is one of the 32-bit, 4-aligned MAC registers named above,
    // memory-mapped on this chip; a DATA read pops the receive FIFO, which only `Mac`'s
    // receive path does, with `&mut` access to the one `Mac`. Volatile: every read happens.
    unsafe { core::ptr::read_volatile((MAC + offset) as *const u32) }
}

fn write_reg(offset: usize, value: u32) {
    // SAFETY: as in `read_reg`; the registers belong to the MAC alone, which only the one
    // `Mac` value (see `take`) drives.
    unsafe { core::ptr::write_volatile((MAC + offset) as *mut u32, value) }
}

/// The MAC with one receive and one transmit frame buffer (3 KiB).
pub struct Mac {
    rx: [u8; BUF],
    tx: [u8; BUF],
}

static TAKEN: AtomicBool = AtomicBool::new(false);

impl Mac {
    /// The MAC, receiving and transmitting; `None` if it was taken before.
    /// Of its interrupts only "frame received" is on (see [`enable_interrupt`]).
    pub fn take() -> Option<Self> {
        if TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        write_reg(IM, 0);
        write_reg(RCTL, RCTL_RSTFIFO);
        write_reg(RIS_IACK, 0x7F);
        write_reg(THR, 0x3F);
        write_reg(TCTL, TCTL_TXEN | TCTL_PADEN | TCTL_CRC);
        write_reg(RCTL, RCTL_RXEN);
        write_reg(IM, INT_RX);
        Some(Mac {
            rx: [0; BUF],
            tx: [0; BUF],
        })
    }

    /// The station (MAC) address the board was given (QEMU: 52:54:00:12:34:56 unless set).
    pub fn address(&self) -> [u8; 6] {
        let [a, b, c, d] = read_reg(IA0).to_le_bytes();
        let [e, f, _, _] = read_reg(IA1).to_le_bytes();
        [a, b, c, d, e, f]
    }

    /// Whether a received frame waits in the FIFO.
    pub fn frame_waiting(&self) -> bool {
        read_reg(NP) != 0
    }

    /// Tokens to receive the next frame (and to answer it), if one waits.
    fn tokens(&mut self) -> Option<(RxToken<'_>, TxToken<'_>)> {
        self.frame_waiting()
            .then_some((RxToken(&mut self.rx), TxToken(&mut self.tx)))
    }
}

/// Pops the next frame from the receive FIFO into `buf`; its length without the FCS, or 0 for
/// a frame longer than [`MTU`] (drained and dropped).
fn read_frame(buf: &mut [u8; BUF]) -> usize {
    let first = read_reg(DATA);
    // What the FIFO holds for this frame: length (2) + frame + FCS (4), in whole words.
    let total = (first & 0xFFFF) as usize;
    let frame = total.saturating_sub(6);
    let fits = frame <= MTU;
    let mut at = 0;
    let mut store = |byte: u8| {
        if fits && at < frame {
            buf[at] = byte;
        }
        at += 1;
    };
    let [_, _, b0, b1] = first.to_le_bytes();
    store(b0);
    store(b1);
    for _ in 1..total.div_ceil(4) {
        read_reg(DATA)
            .to_le_bytes()
            .into_iter()
            .for_each(&mut store);
    }
    if fits {
        frame
    } else {
        0
    }
}

/// Sends `frame` (header included, at least 14 bytes): waits until the MAC took the last one.
fn write_frame(frame: &[u8]) {
    while read_reg(TR) & TR_NEWTX != 0 {}
    let body = frame.len().saturating_sub(14) as u32;
    let (head, rest) = frame.split_at(2.min(frame.len()));
    let mut first = [0u8; 4];
    first[2..2 + head.len()].copy_from_slice(head);
    write_reg(DATA, body | u32::from_le_bytes(first));
    for chunk in rest.chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        write_reg(DATA, u32::from_le_bytes(word));
    }
    write_reg(TR, TR_NEWTX);
}

/// Receives one frame.
pub struct RxToken<'a>(&'a mut [u8; BUF]);

/// Sends one frame.
pub struct TxToken<'a>(&'a mut [u8; BUF]);

impl RxToken<'_> {
    fn consume_with<R>(self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let len = read_frame(self.0);
        f(&mut self.0[..len])
    }
}

impl TxToken<'_> {
    fn consume_with<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let len = len.min(MTU);
        let result = f(&mut self.0[..len]);
        write_frame(&self.0[..len]);
        result
    }
}

/// The MAC's interrupt line in the NVIC.
#[derive(Clone, Copy)]
struct Irq;

// SAFETY: 42 is the LM3S6965's Ethernet interrupt, a valid IRQ number of this chip.
unsafe impl cortex_m::interrupt::InterruptNumber for Irq {
    fn number(self) -> u16 {
        IRQ
    }
}

/// Lets "frame received" interrupt the core: it ends a `wfi`/`wfe` wait, and (with the
/// `embassy` feature) wakes the network task.
pub fn enable_interrupt() {
    // SAFETY: the handler below only acknowledges the MAC and wakes a waker; unmasking it
    // cannot break a critical section (critical sections mask all interrupts).
    unsafe { cortex_m::peripheral::NVIC::unmask(Irq) }
}

/// Without the `device` feature, cortex-m-rt points every device interrupt here, with its
/// number: the MAC's is acknowledged, any other (never unmasked) is a bug.
#[cortex_m_rt::exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn != IRQ as i16 {
        panic!("unexpected interrupt {irqn}");
    }
    let status = read_reg(RIS_IACK);
    write_reg(RIS_IACK, status);
    #[cfg(feature = "embassy")]
    if status & INT_RX != 0 {
        embassy::RX_WAKER.wake();
    }
}

#[cfg(feature = "embassy")]
mod embassy {
    use super::{Mac, RxToken, TxToken, MTU};
    use core::task::Context;
    use embassy_net_driver::{Capabilities, HardwareAddress, LinkState};
    use embassy_sync::waitqueue::AtomicWaker;

    /// Woken by the MAC's interrupt: a frame arrived.
    pub(super) static RX_WAKER: AtomicWaker = AtomicWaker::new();

    impl embassy_net_driver::Driver for Mac {
        type RxToken<'a> = RxToken<'a>;
        type TxToken<'a> = TxToken<'a>;

        fn receive(&mut self, cx: &mut Context<'_>) -> Option<(RxToken<'_>, TxToken<'_>)> {
            // Register before looking, so a frame arriving in between still wakes the task.
            RX_WAKER.register(cx.waker());
            self.tokens()
        }

        /// The FIFO takes a frame at once; the previous one leaves first (see `write_frame`).
        fn transmit(&mut self, _cx: &mut Context<'_>) -> Option<TxToken<'_>> {
            Some(TxToken(&mut self.tx))
        }

        fn link_state(&mut self, _cx: &mut Context<'_>) -> LinkState {
            LinkState::Up
        }

        fn capabilities(&self) -> Capabilities {
            let mut caps = Capabilities::default();
            caps.max_transmission_unit = MTU;
            caps.max_burst_size = Some(1);
            caps
        }

        fn hardware_address(&self) -> HardwareAddress {
            HardwareAddress::Ethernet(self.address())
        }
    }

    impl embassy_net_driver::RxToken for RxToken<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
            self.consume_with(f)
        }
    }

    impl embassy_net_driver::TxToken for TxToken<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            self.consume_with(len, f)
        }
    }
}

#[cfg(feature = "nal")]
mod smoltcp {
    use super::{Mac, RxToken, TxToken, MTU};
    use smoltcp_nal::smoltcp::phy::{self, DeviceCapabilities, Medium};
    use smoltcp_nal::smoltcp::time::Instant;

    impl phy::Device for Mac {
        type RxToken<'a> = RxToken<'a>;
        type TxToken<'a> = TxToken<'a>;

        fn receive(&mut self, _: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
            self.tokens()
        }

        fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
            Some(TxToken(&mut self.tx))
        }

        fn capabilities(&self) -> DeviceCapabilities {
            let mut caps = DeviceCapabilities::default();
            caps.medium = Medium::Ethernet;
            caps.max_transmission_unit = MTU;
            caps.max_burst_size = Some(1);
            caps
        }
    }

    impl phy::RxToken for RxToken<'_> {
        fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
            self.consume_with(|frame| f(frame))
        }
    }

    impl phy::TxToken for TxToken<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            self.consume_with(len, f)
        }
    }
}
