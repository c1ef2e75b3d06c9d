//! The accept loop and one task per connection.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use brine_core::pickle::{to_vec, Decoder, Pickles, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::{timeout, Instant};

use brine_core::pickle::Escaped;

use crate::{Client, Outgoing, ServerEvent, Shared, LOG_LIMIT};

/// "Too many open files" (Linux, macOS and the BSDs agree on 24).
const EMFILE: i32 = 24;
/// Outgoing pickles a client may have waiting before it counts as not reading.
const QUEUE: usize = 256;
/// A write that makes no progress for this long means the client stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After the server closes its side, how long it reads (and discards) until the client
/// closes too. Closing with unread bytes would reset the connection and could destroy what
/// the client had not read yet.
const LINGER: Duration = Duration::from_secs(2);
/// Bytes read per read call (on the reading thread's stack, not per connection).
const READ_CHUNK: usize = 16 * 1024;

/// The decoder's capacities: enough values for any pickle up to the default 64 KiB message
/// limit of small items (about 450 KiB, one per worker thread).
type ServerDecoder = Decoder<16384, 32768, 1024, 16384>;

thread_local! {
    static DECODER: RefCell<Box<ServerDecoder>> = RefCell::new(Box::new(Decoder::new()));
}

/// Prints [`STUB_NOTE`](crate::STUB_NOTE) on stderr the first time a value holds a stub.
fn note_stubs(value: &brine_core::pickle::Value<'_>) {
    static NOTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !NOTED.load(std::sync::atomic::Ordering::Relaxed) && value.contains_stub() {
        NOTED.store(true, std::sync::atomic::Ordering::Relaxed);
        eprintln!("note: {}", crate::STUB_NOTE);
    }
}

/// Queues `outgoing` for `client`; a client whose queue is full is told to disconnect.
pub(crate) fn enqueue(client: &Client, outgoing: Outgoing) -> bool {
    match client.queue.try_send(outgoing) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            client.kick.notify_one();
            false
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    done: std_mpsc::Sender<()>,
) {
    // Accept errors in a row (e.g. EMFILE while out of file descriptors): reported once per
    // run, not once per retry, so a flood of connects cannot flood the event stream.
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|&stopped| stopped) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                failing = false;
                accepted
            }
            Err(e) => {
                if !failing {
                    shared.emit(ServerEvent::Error {
                        message: format!(
                            "cannot accept a connection: {e}{}",
                            if e.raw_os_error() == Some(EMFILE) {
                                " (the open-file limit is reached: waiting for clients to leave)"
                            } else {
                                ""
                            }
                        ),
                    });
                    failing = true;
                }
                // Out of file descriptors and the like: give the clients time to leave. The
                // connection stays in the listen queue and is accepted once a slot is free.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let max = shared.config.max_clients;
        if shared.active.load(Ordering::Relaxed) >= max {
            shared.emit(ServerEvent::Rejected {
                peer,
                reason: format!("too many clients (at most {max})"),
            });
            drop(stream);
            continue;
        }
        shared.active.fetch_add(1, Ordering::Relaxed);
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, outgoing) = mpsc::channel(QUEUE);
        let kick = Arc::new(Notify::new());
        shared.clients().insert(
            id,
            Client {
                queue,
                kick: Arc::clone(&kick),
                identified: false,
            },
        );
        let connection = Connection {
            id,
            shared: Arc::clone(&shared),
            outgoing,
            kick,
            stop: stop.clone(),
            _done: done.clone(),
        };
        tokio::spawn(connection.serve(stream, peer));
    }
}

/// One client's task.
struct Connection {
    id: i64,
    shared: Arc<Shared>,
    outgoing: mpsc::Receiver<Outgoing>,
    kick: Arc<Notify>,
    stop: watch::Receiver<bool>,
    /// Dropped when the task ends, which [`crate::Server::shutdown`] waits for.
    _done: std_mpsc::Sender<()>,
}

/// How a connection ends.
struct End {
    reason: String,
    /// Close our side and wait for the client's (the server decided to close); otherwise the
    /// connection is already over and is just dropped.
    in_order: bool,
}

impl End {
    fn close(reason: impl Into<String>) -> Self {
        End {
            reason: reason.into(),
            in_order: true,
        }
    }

    fn over(reason: impl Into<String>) -> Self {
        End {
            reason: reason.into(),
            in_order: false,
        }
    }
}

/// What woke the connection up.
enum Step {
    Stop,
    Kick,
    Outgoing(Option<Outgoing>),
    Readable(io::Result<()>),
    Timeout,
}

impl Connection {
    async fn serve(mut self, mut stream: TcpStream, peer: SocketAddr) {
        let id = self.id;
        self.shared.emit(ServerEvent::Connected { id, peer });
        let end = self.run(&mut stream).await;
        self.shared.clients().remove(&id);
        // Reported when decided; the socket may linger a little while the client closes.
        self.shared.emit(ServerEvent::Disconnected {
            id,
            reason: end.reason,
        });
        if end.in_order {
            close_in_order(&mut stream).await;
        }
        drop(stream);
        self.shared.active.fetch_sub(1, Ordering::Relaxed);
    }

    async fn run(&mut self, stream: &mut TcpStream) -> End {
        // Each pickle goes out at once, not after Nagle's wait for the previous one's ack.
        let _ = stream.set_nodelay(true);
        let hello = BTreeMap::from([("clientid", self.id)]);
        match to_vec(&hello, self.shared.config.protocol) {
            Ok(bytes) => {
                if let Err(end) = send(stream, &bytes).await {
                    return end;
                }
            }
            Err(e) => return End::close(format!("cannot pickle the client id: {e}")),
        }

        let idle = self.shared.config.idle_timeout;
        let mut reader = Reader::new(self.shared.config.max_message_len);
        // Until the identity arrives: a deadline from the connection's start.
        let mut deadline = idle.map(|idle| Instant::now() + idle);
        // The stream offset where the unfinished message began, and when.
        let mut message: Option<(usize, Instant)> = None;
        loop {
            let timer = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            let step = tokio::select! {
                biased;
                _ = self.stop.wait_for(|&stopped| stopped) => Step::Stop,
                _ = self.kick.notified() => Step::Kick,
                outgoing = self.outgoing.recv() => Step::Outgoing(outgoing),
                readable = stream.readable() => Step::Readable(readable),
                _ = timer => Step::Timeout,
            };
            match step {
                Step::Stop | Step::Outgoing(None) => return End::close("server shutting down"),
                Step::Kick => {
                    return End::close(format!("not reading: {QUEUE} messages were waiting for it"))
                }
                Step::Outgoing(Some(Outgoing::Pickle(bytes))) => {
                    if let Err(end) = send(stream, &bytes).await {
                        return end;
                    }
                }
                Step::Outgoing(Some(Outgoing::Close(reason))) => return End::close(reason),
                Step::Readable(Err(e)) => return End::over(format!("connection error: {e}")),
                Step::Readable(Ok(())) => {
                    let mut replies = Vec::new();
                    let read = reader.read(stream, self.id, &self.shared, &mut replies);
                    for reply in replies {
                        match reply {
                            Outgoing::Pickle(bytes) => {
                                if let Err(end) = send(stream, &bytes).await {
                                    return end;
                                }
                            }
                            Outgoing::Close(reason) => return End::close(reason),
                        }
                    }
                    if let Some(end) = read {
                        return end;
                    }
                    if reader.identified {
                        // Silence between messages is normal; a message still arriving
                        // `idle` after its first byte is not, however it trickles in.
                        let started = reader.pickles.unfinished().map(|(offset, _)| offset);
                        if started != message.map(|(offset, _)| offset) {
                            message = started.map(|offset| (offset, Instant::now()));
                        }
                        deadline = idle.zip(message).map(|(idle, (_, since))| since + idle);
                    }
                    // Bounded work per wake-up (each pickle costs at most its decoding and
                    // LOG_LIMIT bytes of output); then let the other clients run.
                    tokio::task::yield_now().await;
                }
                Step::Timeout => {
                    let secs = idle.unwrap_or_default().as_secs_f64();
                    return End::close(if reader.identified {
                        format!("a message was still unfinished {secs} s after it began")
                    } else {
                        format!("sent no identity within {secs} s")
                    });
                }
            }
        }
    }
}

/// Writes one pickle in one write, bounded by [`WRITE_TIMEOUT`].
async fn send(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), End> {
    match timeout(WRITE_TIMEOUT, stream.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(End::over(format!("cannot send: {e}"))),
        Err(_) => Err(End::close(format!(
            "not reading: a write made no progress for {} s",
            WRITE_TIMEOUT.as_secs()
        ))),
    }
}

/// Sends FIN after everything queued, then reads and discards until the client closes too
/// (bounded by [`LINGER`]), so the client sees a clean end of stream rather than a reset.
async fn close_in_order(stream: &mut TcpStream) {
    let _ = timeout(LINGER, async {
        if stream.shutdown().await.is_err() {
            return;
        }
        let mut discard = [0u8; 512];
        while let Ok(n) = stream.read(&mut discard).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// The receiving half of a connection: the splitter holding the bytes of an unfinished pickle.
struct Reader {
    pickles: Pickles,
    identified: bool,
}

impl Reader {
    fn new(max_message_len: usize) -> Self {
        Reader {
            pickles: Pickles::with_max_len(max_message_len),
            identified: false,
        }
    }

    /// Reads what is there (never waits), reports each complete pickle and queues the replies.
    /// `Some` when the connection is over.
    fn read(
        &mut self,
        stream: &TcpStream,
        id: i64,
        shared: &Shared,
        replies: &mut Vec<Outgoing>,
    ) -> Option<End> {
        let mut chunk = [0u8; READ_CHUNK];
        match stream.try_read(&mut chunk) {
            Ok(0) => Some(End::over(
                if let Some((_, len)) = self.pickles.unfinished() {
                    format!("client closed the connection in the middle of a message ({len} bytes)")
                } else if !self.identified {
                    "client closed the connection before sending its identity".to_owned()
                } else {
                    "client closed the connection".to_owned()
                },
            )),
            Ok(n) => self.feed(&chunk[..n], id, shared, replies).err(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) => Some(End::over(format!("connection error: {e}"))),
        }
    }

    fn feed(
        &mut self,
        chunk: &[u8],
        id: i64,
        shared: &Shared,
        replies: &mut Vec<Outgoing>,
    ) -> Result<(), End> {
        self.pickles.push(chunk);
        loop {
            match self.pickles.next_pickle() {
                Ok(Some(message)) => {
                    Self::handle(&mut self.identified, message.bytes, id, shared, replies)
                }
                Ok(None) => return Ok(()),
                Err(StreamError::TooLong { max_len, .. }) => {
                    return Err(End::close(format!("message larger than {max_len} bytes")))
                }
                Err(e) => return Err(End::close(e.to_string())),
            }
        }
    }

    /// Decodes one complete pickle and reports it.
    fn handle(
        identified: &mut bool,
        pickle: &[u8],
        id: i64,
        shared: &Shared,
        replies: &mut Vec<Outgoing>,
    ) {
        let event = DECODER.with(|decoder| {
            let mut decoder = decoder.borrow_mut();
            decoder.allow_stubs(shared.config.stubs);
            let decoded = decoder.decode(pickle);
            if let Ok(value) = &decoded {
                note_stubs(value);
            }
            match decoded {
                // Bounded: at most LOG_LIMIT bytes of repr and of JSON, whatever the value
                // expands to (the walks stop there).
                Ok(value) if !*identified => ServerEvent::Identity {
                    id,
                    value: brine_json::repr_line(&value, LOG_LIMIT),
                    json: brine_json::to_json_value(&value, LOG_LIMIT),
                },
                Ok(value) => ServerEvent::Received {
                    id,
                    repr: brine_json::repr_line(&value, LOG_LIMIT),
                },
                // A refusal may quote the pickle (a global's name): escaped for the console.
                Err(e) => ServerEvent::Refused {
                    id,
                    reason: Escaped(&e.to_string()).to_string(),
                },
            }
        });
        let accepted = !matches!(event, ServerEvent::Refused { .. });
        let identity = matches!(event, ServerEvent::Identity { .. });
        if identity {
            // Before the event: whoever broadcasts on seeing it must reach this client. (Its
            // broadcasts queue behind the replies below, which are written first.)
            *identified = true;
            if let Some(client) = shared.clients().get_mut(&id) {
                client.identified = true;
            }
        }
        shared.emit(event);
        if accepted && shared.config.ack {
            replies.push(Outgoing::Pickle(Arc::clone(&shared.ack)));
        }
        if identity {
            replies.extend(shared.script.iter().cloned());
        }
    }
}
