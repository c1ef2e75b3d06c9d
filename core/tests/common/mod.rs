//! Shared by the integration tests: CPython byte fixtures and an in-memory scripted transport
//! (the one mock: TCP cannot be made to split reads at chosen bytes).
#![allow(dead_code)]

pub mod driver;
pub mod fixtures {
    include!("fixtures.rs");
}

use std::collections::VecDeque;
use std::string::String;
use std::vec::Vec;

use brine_core::session::Event;
use embedded_io::ErrorKind;

/// One step of what the scripted peer does when the client reads.
#[derive(Clone, Debug)]
pub enum Step {
    /// The client's read gets (at most) these bytes; the rest stays for the next read.
    Data(Vec<u8>),
    /// The read fails with this kind (`Interrupted` is retried by the client).
    Fail(ErrorKind),
    /// An async read is pending once (then wakes at once); for cancellation tests. A
    /// blocking read skips it.
    Pending,
}

/// An in-memory transport: reads follow a script, then EOF; writes are recorded, at most
/// `max_write` bytes each, with optional injected failures.
#[derive(Debug, Default)]
pub struct Scripted {
    pub reads: VecDeque<Step>,
    pub written: Vec<u8>,
    /// Largest write accepted at once (0: unlimited).
    pub max_write: usize,
    /// Results to return from the next writes instead of accepting bytes.
    pub write_faults: VecDeque<Result<usize, ErrorKind>>,
    /// How many write calls were made.
    pub write_calls: usize,
    /// Every read and write that moved bytes, in order (`read N`, `write N`; `read 0`: EOF).
    pub log: Vec<String>,
}

impl Scripted {
    /// A peer that sends `stream` cut into pieces at `cuts` (sorted offsets; past the end
    /// means the end), then closes.
    pub fn cut(stream: &[u8], cuts: &[usize]) -> Self {
        let mut reads = VecDeque::new();
        let mut start = 0;
        for &cut in cuts.iter().chain(core::iter::once(&stream.len())) {
            let cut = cut.min(stream.len());
            if cut > start {
                reads.push_back(Step::Data(stream[start..cut].to_vec()));
                start = cut;
            }
        }
        Scripted {
            reads,
            ..Default::default()
        }
    }

    /// A peer that sends `stream` in chunks of `chunk` bytes, then closes.
    pub fn chunked(stream: &[u8], chunk: usize) -> Self {
        let cuts: Vec<usize> = (chunk..stream.len()).step_by(chunk.max(1)).collect();
        Self::cut(stream, &cuts)
    }
}

impl embedded_io::ErrorType for Scripted {
    type Error = ErrorKind;
}

impl embedded_io::Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        match self.reads.pop_front() {
            None => {
                self.log.push("read 0".into());
                Ok(0)
            }
            Some(Step::Fail(kind)) => Err(kind),
            Some(Step::Pending) => self.read(buf),
            Some(Step::Data(mut data)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                if n < data.len() {
                    data.drain(..n);
                    self.reads.push_front(Step::Data(data));
                }
                self.log.push(format!("read {n}"));
                Ok(n)
            }
        }
    }
}

impl embedded_io::Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        self.write_calls += 1;
        if let Some(fault) = self.write_faults.pop_front() {
            return fault;
        }
        let n = if self.max_write == 0 {
            buf.len()
        } else {
            buf.len().min(self.max_write)
        };
        self.written.extend_from_slice(&buf[..n]);
        self.log.push(format!("write {n}"));
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

/// An event as one line of text, for comparing runs.
pub fn describe(event: &Event<'_>) -> String {
    match event {
        Event::ClientId(id) => format!("id {id}"),
        Event::Message(v) => format!("message {v}"),
        Event::Skipped { len, reason } => format!("skipped {len}: {reason}"),
        Event::Closed => "closed".to_string(),
        other => format!("unknown event {other:?}"),
    }
}

/// Resolves on the second poll (waking itself on the first): an await point.
struct YieldOnce(bool);

impl core::future::Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        if self.0 {
            core::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            core::task::Poll::Pending
        }
    }
}

impl embedded_io_async::Read for Scripted {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        if matches!(self.reads.front(), Some(Step::Pending)) {
            self.reads.pop_front();
            // Dropped here, this read consumed nothing but the pending step.
            YieldOnce(false).await;
        }
        embedded_io::Read::read(self, buf)
    }
}

impl embedded_io_async::Write for Scripted {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        embedded_io::Write::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}
