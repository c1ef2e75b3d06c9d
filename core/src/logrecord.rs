//! Log records for Python's `logging` over a socket: what `logging.handlers.SocketHandler`
//! sends (a 4-byte big-endian length, [`Framing::Len32`], then `pickle.dumps(record.__dict__, 1)`), written by the
//! serde encoder into a caller's buffer. A device sends its logs to `brine logs` or to the
//! logging cookbook's receiver (`LogRecordStreamHandler`, which rebuilds each record with
//! `logging.makeLogRecord` and handles it as if it were logged there).
//!
//! Needs the `pickler` feature; allocates nothing.
//!
//! ```
//! use brine_core::logrecord::{Level, LogRecord};
//!
//! let mut record = LogRecord::new("sensor.temp", Level::Warning, "too hot: 81 C");
//! record.created = 1_796_573_042.5;
//! record.lineno = 42;
//! let mut buf = [0u8; 1024];
//! let frame = record.write_frame(&mut buf).unwrap();
//! let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
//! assert_eq!(len, frame.len() - 4);
//! assert_eq!(&frame[4..6], b"}q"); // protocol 1: EMPTY_DICT, then BINPUT
//! ```

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::framing::{Framing, MAX_PREFIX};
use crate::pickle::{to_slice, Error, Protocol};

/// `logging`'s standard levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Level {
    /// `logging.DEBUG` (10).
    Debug,
    /// `logging.INFO` (20).
    Info,
    /// `logging.WARNING` (30).
    Warning,
    /// `logging.ERROR` (40).
    Error,
    /// `logging.CRITICAL` (50).
    Critical,
}

impl Level {
    /// `levelno`.
    pub const fn number(self) -> u8 {
        match self {
            Level::Debug => 10,
            Level::Info => 20,
            Level::Warning => 30,
            Level::Error => 40,
            Level::Critical => 50,
        }
    }

    /// `levelname`, as `logging.getLevelName` gives it.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }
}

/// A `logging.LogRecord`'s attributes, as `SocketHandler.makePickle` sends them: `msg`
/// already formatted, `args` and `exc_info` `None`. Every attribute `makeLogRecord` and the
/// standard `Formatter` read is here; [`new`](Self::new) fills what a device may not know
/// (`pathname`, times, thread and process) with neutral values, set the fields to change them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogRecord<'a> {
    /// The logger's name (`name`), dotted (`app.db`).
    pub name: &'a str,
    /// The message, formatted (`msg`; `args` is sent as `None`).
    pub msg: &'a str,
    /// `levelno` (any number: [`Level::number`] for the standard ones).
    pub levelno: u8,
    /// `levelname`.
    pub levelname: &'a str,
    /// `pathname`: the source file's path.
    pub pathname: &'a str,
    /// `filename`: its last component.
    pub filename: &'a str,
    /// `module`: the file name without its extension.
    pub module: &'a str,
    /// `lineno`.
    pub lineno: u32,
    /// `funcName`.
    pub func_name: &'a str,
    /// `exc_text`: a traceback's text, printed after the message.
    pub exc_text: Option<&'a str>,
    /// `stack_info`: printed after the message (and `exc_text`).
    pub stack_info: Option<&'a str>,
    /// `created`: seconds since the Unix epoch (or since boot, for a device without a clock).
    pub created: f64,
    /// `relativeCreated`: milliseconds since the logger started.
    pub relative_created: f64,
    /// `thread`: a thread (or task) id.
    pub thread: u64,
    /// `threadName`.
    pub thread_name: &'a str,
    /// `processName`.
    pub process_name: &'a str,
    /// `process`: a process id.
    pub process: u32,
}

impl<'a> LogRecord<'a> {
    /// A record of `msg` at `level` from logger `name`; the other fields as a device without
    /// files, threads or a clock would have them (`created` 0, `threadName` `MainThread`,
    /// `processName` `MainProcess`, the rest empty or 0).
    pub const fn new(name: &'a str, level: Level, msg: &'a str) -> Self {
        LogRecord {
            name,
            msg,
            levelno: level.number(),
            levelname: level.name(),
            pathname: "",
            filename: "",
            module: "",
            lineno: 0,
            func_name: "",
            exc_text: None,
            stack_info: None,
            created: 0.0,
            relative_created: 0.0,
            thread: 0,
            thread_name: "MainThread",
            process_name: "MainProcess",
            process: 0,
        }
    }

    /// `msecs`: the milliseconds of `created`, as `LogRecord.__init__` computes them
    /// (`int((created - int(created)) * 1000) + 0.0`).
    pub fn msecs(&self) -> f64 {
        let fraction = self.created - trunc(self.created);
        trunc(fraction * 1000.0)
    }

    /// The record as `SocketHandler` sends it, into `buf`: a 4-byte big-endian length, then
    /// the record's dict pickled in protocol 1. Returns the frame.
    ///
    /// # Errors
    ///
    /// [`Error::BufferFull`] if `buf` is too small (records with short fields take about 500
    /// bytes).
    pub fn write_frame<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8], Error> {
        let full = Error::BufferFull {
            capacity: buf.len(),
        };
        let (prefix, body) = buf.split_at_mut_checked(4).ok_or(full.clone())?;
        let len = to_slice(self, body, Protocol::V1)?.len();
        let mut header = [0u8; MAX_PREFIX];
        let header_len = Framing::Len32
            .encode_prefix(len, &mut header)
            .map_err(|_| full)?;
        prefix.copy_from_slice(&header[..header_len]);
        Ok(&buf[..4 + len])
    }
}

/// `f64::trunc` without std (for the finite, modest values of a time).
fn trunc(x: f64) -> f64 {
    if x.is_finite() && x.abs() < 9.0e15 {
        (x as i64) as f64
    } else {
        x
    }
}

/// The record's `__dict__`, in the order `LogRecord.__init__` fills it.
impl Serialize for LogRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("LogRecord", 20)?;
        s.serialize_field("name", self.name)?;
        s.serialize_field("msg", self.msg)?;
        s.serialize_field("args", &None::<()>)?;
        s.serialize_field("levelname", self.levelname)?;
        s.serialize_field("levelno", &self.levelno)?;
        s.serialize_field("pathname", self.pathname)?;
        s.serialize_field("filename", self.filename)?;
        s.serialize_field("module", self.module)?;
        s.serialize_field("exc_info", &None::<()>)?;
        s.serialize_field("exc_text", &self.exc_text)?;
        s.serialize_field("stack_info", &self.stack_info)?;
        s.serialize_field("lineno", &self.lineno)?;
        s.serialize_field("funcName", self.func_name)?;
        s.serialize_field("created", &self.created)?;
        s.serialize_field("msecs", &self.msecs())?;
        s.serialize_field("relativeCreated", &self.relative_created)?;
        s.serialize_field("thread", &self.thread)?;
        s.serialize_field("threadName", self.thread_name)?;
        s.serialize_field("processName", self.process_name)?;
        s.serialize_field("process", &self.process)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::format;
    use std::string::String;

    /// CPython loads the frame's pickle, `makeLogRecord` makes a record of it, and a
    /// `Formatter` prints it as brine meant it.
    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn cpython_formats_the_record() {
        let mut record = LogRecord::new("dev.ünï", Level::Error, "boom: 'x' \u{1F600}");
        record.created = 1_796_573_042.125;
        record.relative_created = 12.5;
        record.lineno = 7;
        record.func_name = "main";
        record.pathname = "src/main.rs";
        record.filename = "main.rs";
        record.module = "main";
        record.thread = 140_223_723_580_288;
        record.exc_text = Some("Traceback: none");
        let mut buf = [0u8; 1024];
        let frame = record.write_frame(&mut buf).unwrap();
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        let script = "import logging, pickle, struct, sys\n\
             frame = bytes.fromhex(sys.stdin.read())\n\
             assert struct.unpack('>L', frame[:4])[0] == len(frame) - 4\n\
             r = logging.makeLogRecord(pickle.loads(frame[4:]))\n\
             f = logging.Formatter('%(name)s|%(levelname)s|%(levelno)d|%(message)s|%(pathname)s|%(filename)s|%(module)s|%(lineno)d|%(funcName)s|%(created)f|%(msecs)d|%(relativeCreated)s|%(thread)d|%(threadName)s|%(processName)s|%(process)d')\n\
             sys.stdout.buffer.write(f.format(r).encode())";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(hex.as_bytes())?;
                child.wait_with_output()
            })
            .expect("python3 (the CPython oracle) must be installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "dev.ünï|ERROR|40|boom: 'x' \u{1F600}|src/main.rs|main.rs|main|7|main|1796573042.125000|125|12.5|140223723580288|MainThread|MainProcess|0\nTraceback: none"
        );
    }

    #[test]
    fn a_small_buffer_is_an_error() {
        let record = LogRecord::new("a", Level::Info, "b");
        assert!(record.write_frame(&mut [0u8; 3]).is_err());
        assert!(record.write_frame(&mut [0u8; 64]).is_err());
        assert!(record.write_frame(&mut [0u8; 1024]).is_ok());
    }
}
