//! The listeners: TCP connections framed as `SocketHandler` writes them (a 4-byte big-endian
//! length, then the pickle) and UDP datagrams as `DatagramHandler` sends them (the same bytes,
//! one record each). Each connection is one task that reads whole records and hands them, in
//! order, to the sink ([`super::sink`]); nothing here decodes.
//!
//! Memory: a record's body is read only after its bytes are reserved from one budget shared
//! by every connection (`--max-pending`), and released when the sink is done with it; a
//! record over `--max-record` is skipped without being kept. So the records held at once
//! never exceed the budget, whatever the number of senders.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Limits every connection shares.
#[derive(Clone)]
pub struct Limits {
    /// Largest record kept (bytes after the length prefix).
    pub max_record: u32,
    /// Bytes of records received and not yet printed, in all.
    pub pending: Arc<Semaphore>,
    /// Open connections allowed at once.
    pub connections: Arc<Semaphore>,
    /// Longest time a record may take from its first byte to its last.
    pub timeout: Option<Duration>,
}

/// One TCP connection, as the sink sees it.
pub struct Conn {
    /// The sender.
    pub peer: SocketAddr,
    /// Records printed so far (the sink's count).
    pub records: AtomicU64,
    /// Set by the sink when it cuts the sender off: later records are dropped.
    cut: AtomicBool,
    kill: Notify,
}

impl Conn {
    /// Cuts the connection off: the sink drops its queued records and its task closes it.
    pub fn cut_off(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.kill.notify_one();
    }

    /// True once [`cut_off`](Self::cut_off) was called.
    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

/// What the listeners tell the sink, in the order it happened on each connection.
pub enum Event {
    /// A connection opened.
    Opened(Arc<Conn>),
    /// A whole record (the pickle, without its length prefix).
    Record(Arc<Conn>, Vec<u8>, OwnedSemaphorePermit),
    /// A record over `--max-record`, skipped.
    Oversize(Arc<Conn>, u32),
    /// The connection ended: in order (`None`) or why not.
    Closed(Arc<Conn>, Option<String>),
    /// A UDP datagram: its sender and bytes (length prefix included).
    Datagram(SocketAddr, Vec<u8>, OwnedSemaphorePermit),
    /// A datagram over `--max-record` or the pending budget, dropped.
    DatagramDropped(SocketAddr, String),
    /// Ctrl-C.
    Interrupted,
}

/// Accepts connections until the process ends; one task each.
pub async fn accept(listener: TcpListener, limits: Limits, events: mpsc::Sender<Event>) {
    loop {
        // Wait for a free slot before accepting: the kernel's backlog holds the rest.
        let Ok(slot) = limits.connections.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: note it, wait, go on.
                eprintln!("brine logs: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(Conn {
            peer,
            records: AtomicU64::new(0),
            cut: AtomicBool::new(false),
            kill: Notify::new(),
        });
        let limits = limits.clone();
        let events = events.clone();
        tokio::spawn(async move {
            if events.send(Event::Opened(conn.clone())).await.is_err() {
                return;
            }
            let ended = tokio::select! {
                ended = read_records(stream, &conn, &limits, &events) => ended,
                () = conn.kill.notified() => return,
            };
            let _ = events.send(Event::Closed(conn, ended.err())).await;
            drop(slot);
        });
    }
}

/// Reads records until the sender closes (`Ok`) or something goes wrong (`Err`: why).
async fn read_records(
    stream: TcpStream,
    conn: &Arc<Conn>,
    limits: &Limits,
    events: &mpsc::Sender<Event>,
) -> Result<(), String> {
    let mut reader = BufReader::with_capacity(8 << 10, stream);
    loop {
        let mut prefix = [0u8; 4];
        // The first byte may take forever (a quiet sender); the rest of a record may not.
        match reader.read(&mut prefix[..1]).await {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("read failed: {e}")),
        }
        // The prefix (and a skipped record) within --timeout from its first byte.
        let deadline = limits.timeout.map(|limit| (Instant::now() + limit, limit));
        within(deadline, reader.read_exact(&mut prefix[1..]))
            .await
            .map_err(|e| format!("{e} in a record's length prefix"))?;
        let len = u32::from_be_bytes(prefix);
        if len > limits.max_record {
            if events
                .send(Event::Oversize(conn.clone(), len))
                .await
                .is_err()
            {
                return Ok(());
            }
            skip(&mut reader, u64::from(len), deadline)
                .await
                .map_err(|e| format!("{e} while skipping a record of {len} bytes"))?;
            continue;
        }
        let permit = limits
            .pending
            .clone()
            .acquire_many_owned(len.max(1))
            .await
            .map_err(|_| "shutting down".to_owned())?;
        let mut body = vec![0u8; len as usize];
        // The body within --timeout from when its memory was granted (a wait for the budget
        // is brine's, not the sender's).
        let deadline = limits.timeout.map(|limit| (Instant::now() + limit, limit));
        within(deadline, reader.read_exact(&mut body))
            .await
            .map_err(|e| format!("{e} in a record of {len} bytes"))?;
        if events
            .send(Event::Record(conn.clone(), body, permit))
            .await
            .is_err()
        {
            return Ok(());
        }
    }
}

/// Reads and drops `len` bytes, 64 KiB at a time.
async fn skip(
    reader: &mut (impl AsyncRead + Unpin),
    mut len: u64,
    deadline: Option<(Instant, Duration)>,
) -> Result<(), String> {
    let mut scratch = [0u8; 1 << 16];
    while len > 0 {
        let want = scratch
            .len()
            .min(usize::try_from(len).unwrap_or(usize::MAX));
        let n = within(deadline, reader.read(&mut scratch[..want])).await?;
        if n == 0 {
            return Err("the sender closed".into());
        }
        len -= n as u64;
    }
    Ok(())
}

/// `io` before the deadline (none: as long as it takes; with it, the limit it came from); a
/// read that ends early is an error.
async fn within<T>(
    deadline: Option<(Instant, Duration)>,
    io: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, String> {
    let result = match deadline {
        Some((at, limit)) => tokio::time::timeout_at(at, io).await.map_err(|_| {
            format!(
                "the record did not arrive whole within {} s (--timeout)",
                limit.as_secs_f64()
            )
        })?,
        None => io.await,
    };
    result.map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "the sender closed".to_owned(),
        _ => format!("read failed: {e}"),
    })
}

/// Receives datagrams until the process ends.
pub async fn receive(socket: UdpSocket, limits: Limits, events: mpsc::Sender<Event>) {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                eprintln!("brine logs: UDP receive failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let event = if n > limits.max_record as usize + 4 {
            Event::DatagramDropped(peer, format!("{n} bytes, over --max-record"))
        } else {
            match limits
                .pending
                .clone()
                .try_acquire_many_owned(n.max(1) as u32)
            {
                Ok(permit) => Event::Datagram(peer, buf[..n].to_vec(), permit),
                // UDP has no back-pressure: a datagram past the budget is dropped, as the
                // kernel drops them when its buffer is full.
                Err(_) => Event::DatagramDropped(peer, "over --max-pending".into()),
            }
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}
