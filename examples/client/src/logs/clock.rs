//! `asctime` as `logging.Formatter.formatTime` writes it: `time.strftime(datefmt,
//! time.localtime(record.created))`, or without `--datefmt` `%Y-%m-%d %H:%M:%S` and `,%03d`
//! of `msecs`.
//!
//! Python's `time.localtime` and `time.strftime` are the C library's `localtime_r` and
//! `strftime`/`wcsftime` in the C locale for time (Python never sets `LC_TIME`); brine calls
//! the same two functions, so `%c`, `%p`, `%Z` and the time zone (`TZ`) agree with Python's
//! by construction. This is the CLI's one use of `unsafe`: two libc calls on buffers Rust owns.

use std::ffi::CString;

extern "C" {
    /// POSIX `tzset` (the libc crate does not declare it).
    fn tzset();
}

/// Logging's `default_time_format`.
const DEFAULT_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Formats record times; caches the last second's text (records come in bursts).
pub struct Clock {
    format: CString,
    default_msecs: bool,
    cached: Option<(i64, String)>,
}

impl Clock {
    /// A clock for `datefmt` (`None`: logging's default with milliseconds). Fails on a NUL
    /// in the format, which Python refuses too ("embedded null character").
    pub fn new(datefmt: Option<&str>) -> Result<Clock, String> {
        // SAFETY: tzset reads the TZ environment variable into libc's globals; called once
        // here, before any localtime_r, as POSIX asks.
        unsafe { tzset() };
        let format = CString::new(datefmt.unwrap_or(DEFAULT_FORMAT))
            .map_err(|_| "--datefmt: embedded null character".to_owned())?;
        Ok(Clock {
            format,
            default_msecs: datefmt.is_none(),
            cached: None,
        })
    }

    /// True if the text has logging's `,mmm` after the seconds.
    pub fn with_msecs(&self) -> bool {
        self.default_msecs
    }

    /// `time.strftime(format, time.localtime(created))`; `None` for a time the C library
    /// cannot represent (Python: `OverflowError`/`OSError`).
    pub fn format(&mut self, created: f64) -> Option<&str> {
        if !created.is_finite() || created.abs() > 1e17 {
            return None;
        }
        // time.localtime floors (_PyTime_ROUND_FLOOR).
        let secs = created.floor() as i64;
        if self.cached.as_ref().is_none_or(|(at, _)| *at != secs) {
            let text = strftime(&self.format, &localtime(secs)?)?;
            self.cached = Some((secs, text));
        }
        self.cached.as_ref().map(|(_, text)| text.as_str())
    }
}

/// `localtime_r(&secs)`.
fn localtime(secs: i64) -> Option<libc::tm> {
    #[allow(clippy::useless_conversion)] // time_t is 32 bits on some targets.
    let time: libc::time_t = secs.try_into().ok()?;
    // SAFETY: libc::tm is plain data (integers and a pointer that may be null), so all-zero is
    // a valid value; localtime_r writes only into `tm` and returns null on failure.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::localtime_r(&time, &mut tm) };
    (!ok.is_null()).then_some(tm)
}

/// `strftime` into a buffer grown as Python grows it (from 1024 bytes, doubling, until the
/// text fits or the buffer is 256 times the format: then the text is empty).
fn strftime(format: &CString, tm: &libc::tm) -> Option<String> {
    let format_len = format.as_bytes().len().max(1);
    let mut size = 1024;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: `buf` has `size` writable bytes, `format` is NUL-terminated and `tm` came
        // from localtime_r (its tm_zone points into libc's static zone names).
        let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), size, format.as_ptr(), tm) };
        if n > 0 || size >= 256 * format_len {
            buf.truncate(n);
            return Some(String::from_utf8_lossy(&buf).into_owned());
        }
        size *= 2;
    }
}
