//! A polled driver for UART0 of the LM3S6965 (an ARM PL011), as `embedded-io` `Read` + `Write`.
//!
//! QEMU's `-serial tcp:HOST:PORT` joins this UART to a TCP connection, as a serial-to-TCP
//! module (ESP-AT, WIZnet) in transparent mode would on a board. A UART has no "closed":
//! reads give up after a timeout instead, which the caller sets before each read.

use core::sync::atomic::{AtomicBool, Ordering};

use embedded_io::{ErrorKind, ErrorType, Read, Write};

use crate::clock;

/// UART0's registers (LM3S6965 data sheet, "UART Register Map"; the PL011's layout).
const UART0: usize = 0x4000_C000;
/// Data: bits 0–7 the byte; on read, bits 8–11 are the framing/parity/break/overrun flags.
const DR: usize = 0x000;
/// Flags (read-only).
const FR: usize = 0x018;
/// Integer and fractional baud-rate divisors.
const IBRD: usize = 0x024;
const FBRD: usize = 0x028;
/// Line control: word length, FIFOs.
const LCRH: usize = 0x02C;
/// Control: enables.
const CR: usize = 0x030;

const FR_BUSY: u32 = 1 << 3;
const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
const FR_TXFE: u32 = 1 << 7;
const DR_ERRORS: u32 = 0xF00;
const LCRH_WLEN_8: u32 = 0b11 << 5;
const CR_UARTEN: u32 = 1 << 0;
const CR_TXE: u32 = 1 << 8;
const CR_RXE: u32 = 1 << 9;

/// Reads a UART0 register.
fn read_reg(offset: usize) -> u32 {
    // SAFETY: UART0 + offset is one of the 32-bit, 4-aligned PL011 registers named above,
    // memory-mapped on this chip; reading it has no effect beyond the UART (a DR read pops
    // the receive FIFO, which is what the callers want). Volatile: every read must happen.
    unsafe { core::ptr::read_volatile((UART0 + offset) as *const u32) }
}

/// Writes a UART0 register.
fn write_reg(offset: usize, value: u32) {
    // SAFETY: as in `read_reg`; the register belongs to UART0 alone, which only the one
    // `Uart0` value (see `take`) drives.
    unsafe { core::ptr::write_volatile((UART0 + offset) as *mut u32, value) }
}

/// A UART error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No byte arrived within the timeout.
    TimedOut,
    /// The received byte had a framing, parity, break or overrun error (the DR flags).
    Line(u8),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::TimedOut => f.write_str("no byte arrived in time"),
            Error::Line(flags) => write!(f, "line error (flags {flags:#x})"),
        }
    }
}

impl core::error::Error for Error {}

impl embedded_io::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::TimedOut => ErrorKind::TimedOut,
            Error::Line(_) => ErrorKind::InvalidData,
        }
    }
}

/// UART0, 115200 8N1; reads wait at most the timeout set last.
pub struct Uart0 {
    timeout_ms: u32,
}

static TAKEN: AtomicBool = AtomicBool::new(false);

impl Uart0 {
    /// UART0, configured; `None` if it was taken before (one driver per peripheral).
    pub fn take() -> Option<Self> {
        if TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        write_reg(CR, 0);
        // 115200 baud from the 12 MHz clock: 12e6 / (16 × 115200) = 6.5104 → 6 + 33/64.
        // (QEMU ignores the rate; a board would not.) LCRH after the divisors latches them.
        // The FIFOs stay off (one-byte holding register): switching them on flushes the
        // receive side, which would drop what the server sent before this code ran (it
        // speaks first, as soon as QEMU connects). QEMU holds further bytes back until the
        // holding register is read; on a board, use flow control or switch them on before
        // the peer can send.
        write_reg(IBRD, 6);
        write_reg(FBRD, 33);
        write_reg(LCRH, LCRH_WLEN_8);
        write_reg(CR, CR_UARTEN | CR_TXE | CR_RXE);
        Some(Uart0 { timeout_ms: 0 })
    }

    /// Bounds each following read's wait for its first byte; 0 waits forever.
    pub fn set_timeout(&mut self, ms: u32) {
        self.timeout_ms = ms;
    }
}

impl ErrorType for Uart0 {
    type Error = Error;
}

impl Read for Uart0 {
    /// Waits (up to the timeout) for one byte, then takes what else is waiting, up to `buf`.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let start = clock::millis();
        while read_reg(FR) & FR_RXFE != 0 {
            if self.timeout_ms != 0 && clock::millis().wrapping_sub(start) >= self.timeout_ms {
                return Err(Error::TimedOut);
            }
        }
        let mut n = 0;
        while n < buf.len() && read_reg(FR) & FR_RXFE == 0 {
            let word = read_reg(DR);
            if word & DR_ERRORS != 0 {
                return Err(Error::Line((word >> 8) as u8));
            }
            buf[n] = word as u8;
            n += 1;
        }
        Ok(n)
    }
}

impl Write for Uart0 {
    /// Writes all of `buf`, waiting for room in the transmit FIFO.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        for &byte in buf {
            while read_reg(FR) & FR_TXFF != 0 {}
            write_reg(DR, u32::from(byte));
        }
        Ok(buf.len())
    }

    /// Waits until the last byte has left the shift register.
    fn flush(&mut self) -> Result<(), Error> {
        while read_reg(FR) & (FR_BUSY | FR_TXFE) != FR_TXFE {}
        Ok(())
    }
}

/// Sets UART0's read timeout from what the session waits for (core has no clock):
/// [`TIMEOUT_MS`](crate::lab::TIMEOUT_MS) for the first message and the rest of a started
/// one, [`IDLE_MS`](crate::lab::IDLE_MS) between messages.
pub struct Timeouts;

impl brine_core::blocking::BeforeRead<Uart0> for Timeouts {
    fn before_read(
        &mut self,
        uart: &mut Uart0,
        waiting: brine_core::session::Waiting,
    ) -> Result<(), Error> {
        use brine_core::session::Waiting;
        uart.set_timeout(match waiting {
            Waiting::ClientId | Waiting::RestOfMessage => crate::lab::TIMEOUT_MS,
            _ => crate::lab::IDLE_MS,
        });
        Ok(())
    }
}
