//! brine-server: the Python "pickle over TCP" lab server, done well, as a library.
//!
//! The protocol is the course lab's (see the workspace's `docs/DESIGN.md`): on connect the
//! server sends a pickled `{'clientid': id}`; the client's first pickle is its identity (a dict
//! such as `{'name': ..., 'email': ...}`); every later pickle is a message. The server
//! acknowledges the identity and every message with the pickled str `'Server got the data'`,
//! then sends its scripted messages, and can broadcast to everyone at any time.
//!
//! ```no_run
//! use brine_server::{Config, Message, Server, ServerEvent};
//!
//! let server = Server::start(Config {
//!     addr: "127.0.0.1:0".parse().unwrap(), // any free port
//!     script: vec![Message::Str("welcome".into()), Message::Close],
//!     ..Config::default()
//! })?;
//! println!("listening on {}", server.local_addr());
//! for event in server.events() {
//!     println!("{event}"); // "Client 1000 connected from 127.0.0.1:54321", ...
//!     if let ServerEvent::Disconnected { .. } = event {
//!         break;
//!     }
//! }
//! server.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Every client is served by its own task on a multi-thread tokio runtime that the [`Server`]
//! owns, so one slow, silent or hostile client never stops or slows the others: a stream that
//! is not pickles is disconnected, nothing a pickle names is ever run (an object of an unknown
//! class is shown as an inert stub, or refused without [`Config::stubs`]; the
//! client stays connected), a pickle larger than [`Config::max_message_len`] is cut off, a
//! client that sends no identity within [`Config::idle_timeout`] is dropped, and a client that
//! stops reading is dropped once its queue of outgoing messages is full or a write stalls.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// What the brine CLI and brine-server print on stderr the first time they show an inert
/// stub (an object of a class brine does not know; see `brine_core::pickle::Object`).
pub const STUB_NOTE: &str =
    "objects of classes brine does not know are shown as inert stubs; nothing is imported or run";

pub mod args;
mod conn;
mod events;
mod record;
mod roster;
mod web;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brine_core::pickle::{to_vec, Error as PickleError, Protocol};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{mpsc, watch};

pub use record::{Opened, CSV_HEADER};
pub use roster::{GITHUB_KEYS, NAME_KEYS, SID_KEYS};
pub use web::unreachable;

/// Raises this process's open-file limit (`RLIMIT_NOFILE`) from its soft value to its hard
/// value, where the OS has such a limit, and returns the limit now in force. Each client
/// holds one file descriptor; the soft limit is often 1024, too low for thousands of
/// clients. The `brine-server` binary calls this at startup; a program embedding the
/// library decides for itself.
///
/// # Errors
///
/// The OS's, when the limit cannot be read or set.
pub fn raise_open_file_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The most bytes of a client's value an event holds, as repr ([`ServerEvent::Identity`]'s
/// `value`, [`ServerEvent::Received`]'s `repr`) and as JSON (`json`): a longer repr is cut
/// there and ends with `…[cut: its repr is longer than 4096 bytes]`, a longer JSON is
/// `{"cut": "<reason>"}`. This bounds the work one pickle costs the server (an expansion bomb
/// of a few hundred bytes would otherwise print gigabytes) and each event's size.
pub const LOG_LIMIT: usize = 4096;

/// The acknowledgement the lab server sends for every message it receives.
pub const ACK: &str = "Server got the data";

/// What to run: where to listen and what to tell each client.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen. Port 0 picks any free port ([`Server::local_addr`] says which).
    /// Default `127.0.0.1:12000`, the lab's.
    pub addr: SocketAddr,
    /// The pickle protocol of everything the server sends. Default 4 (CPython 3.8–3.13's).
    pub protocol: Protocol,
    /// The first client id; ids are unique and increase by one per connection. Default 1000.
    pub first_id: i64,
    /// Sent to every client after its identity arrives, right after the acknowledgement (if
    /// any), each message in one write. [`Message::Close`] closes that client's connection
    /// after the messages before it. Default: nothing.
    pub script: Vec<Message>,
    /// Reply `'Server got the data'` to the identity and to every message. Default true.
    pub ack: bool,
    /// Clients served at once; a client beyond this is accepted and closed at once (it sees
    /// the connection close before any id) and reported as [`ServerEvent::Rejected`].
    /// Default 10,000 (a few KiB each; BENCHMARKS.md measures 10,000 on two cores). Each
    /// client holds a socket, so the process's open-file limit must allow this many: see
    /// [`raise_open_file_limit`]. When it does not, the accept loop waits for clients to leave.
    pub max_clients: usize,
    /// Drop a client that has not sent its identity this long after connecting (so silent
    /// clients never pile up), and a client that stops for this long in the middle of a
    /// message. Silence between messages, once the identity is in, is normal and never timed.
    /// Default 30 s; `None` waits forever.
    pub idle_timeout: Option<Duration>,
    /// The largest pickle accepted from a client, in bytes: a client sending a larger one is
    /// disconnected. This bounds each connection's buffer. Default 64 KiB.
    pub max_message_len: usize,
    /// Serve the live class page (and `/api/snapshot`, `/events`) on this address, on the
    /// server's runtime. Anyone who can reach it sees every client's identity. Default: none.
    pub web: Option<SocketAddr>,
    /// Record one row per student per run in this file: CSV with a header, or JSON lines
    /// when it ends in `.jsonl` (a student who reconnects updates the row). Default: none.
    pub record: Option<PathBuf>,
    /// Show each student id on the page masked to its last three characters (the record
    /// keeps it whole). Default: false.
    pub mask_sid: bool,
    /// Show objects of classes brine does not know (a client's own classes) as inert stubs
    /// (`<menu.Menu object {...}>`; nothing is imported or run) instead of refusing the
    /// message; the first one also prints [`STUB_NOTE`] on stderr. Default true.
    pub stubs: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 12000)),
            protocol: Protocol::V4,
            first_id: 1000,
            script: Vec::new(),
            ack: true,
            max_clients: 10_000,
            idle_timeout: Some(Duration::from_secs(30)),
            max_message_len: 64 * 1024,
            web: None,
            record: None,
            mask_sid: false,
            stubs: true,
        }
    }
}

/// Something the server sends to a client.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A Python `str`.
    Str(String),
    /// The Python object `json.loads` would build from this JSON: object → dict (key order
    /// kept), array → list, integers exact, float, str, bool, null → None.
    Json(serde_json::Value),
    /// The Python object `json.loads` builds from a JSON text, `NaN`/`Infinity` and lone
    /// surrogates included ([`brine_json::parse`]); what `--send-json` sends.
    Python(brine_json::Python),
    /// Not a message: close the connection (in order: the client reads everything sent before
    /// and then sees the end of the stream).
    Close,
}

impl Message {
    /// The message pickled in `protocol`, as CPython's `pickle.dumps(obj, protocol)` writes it
    /// for protocols 2–5; `None` for [`Message::Close`].
    ///
    /// # Errors
    ///
    /// What [`to_vec`] reports for an unrepresentable value (an int of more than 4300 digits
    /// in protocols 0 and 1, which CPython cannot write either).
    pub fn to_pickle(&self, protocol: Protocol) -> Result<Option<Vec<u8>>, PickleError> {
        match self {
            Message::Str(text) => to_vec(text.as_str(), protocol).map(Some),
            Message::Json(value) => to_vec(&brine_json::AsPython(value), protocol).map(Some),
            Message::Python(value) => to_vec(value, protocol).map(Some),
            Message::Close => Ok(None),
        }
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Str(text.to_owned())
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Str(text)
    }
}

impl From<serde_json::Value> for Message {
    fn from(value: serde_json::Value) -> Self {
        Message::Json(value)
    }
}

/// What happened, for printing and tests. `Display` prints the lab server's console line.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A client connected and was given `id` (its `{'clientid': id}` is on its way).
    Connected {
        /// The client's id.
        id: i64,
        /// Its address.
        peer: SocketAddr,
    },
    /// The client's first pickle, its identity (usually a dict).
    Identity {
        /// The client's id.
        id: i64,
        /// Python's repr of the value, e.g. `{'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu'}`
        /// (cut after [`LOG_LIMIT`] bytes, with a marker).
        value: String,
        /// The value as JSON (`brine_json`'s mapping), at most [`LOG_LIMIT`] bytes of it.
        json: serde_json::Value,
    },
    /// A later pickle from the client.
    Received {
        /// The client's id.
        id: i64,
        /// Python's repr of the value (cut after [`LOG_LIMIT`] bytes, with a marker).
        repr: String,
    },
    /// A pickle the server would not decode (it would import or call code, or exceeds the
    /// decoder's limits). Nothing ran, nothing is acknowledged; the client stays connected.
    Refused {
        /// The client's id.
        id: i64,
        /// Why, e.g. `refused GLOBAL of os.system at byte 0 ...`.
        reason: String,
    },
    /// The connection ended.
    Disconnected {
        /// The client's id.
        id: i64,
        /// Why: the client closed, a bad stream, a timeout, the script, shutdown, ...
        reason: String,
    },
    /// A connection was accepted and closed at once, without an id (too many clients).
    Rejected {
        /// Its address.
        peer: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The server could not accept a connection (e.g. out of file descriptors); it retries.
    Error {
        /// What went wrong.
        message: String,
    },
}

impl fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerEvent::Connected { id, peer } => write!(f, "Client {id} connected from {peer}"),
            ServerEvent::Identity { id, value, .. } => write!(f, "Client {id} identity: {value}"),
            ServerEvent::Received { id, repr } => write!(f, "Client {id} sent: {repr}"),
            ServerEvent::Refused { id, reason } => write!(f, "Client {id} refused: {reason}"),
            ServerEvent::Disconnected { id, reason } => {
                write!(f, "Client {id} disconnected: {reason}")
            }
            ServerEvent::Rejected { peer, reason } => {
                write!(f, "Rejected connection from {peer}: {reason}")
            }
            ServerEvent::Error { message } => write!(f, "Error: {message}"),
        }
    }
}

/// What a connection is asked to send; pickles are encoded once and shared.
#[derive(Clone, Debug)]
enum Outgoing {
    /// One pickle, written in one write.
    Pickle(Arc<[u8]>),
    /// Close in order after what was queued before.
    Close(&'static str),
}

/// A connected client as the server sees it from outside its task.
struct Client {
    /// Its queue of outgoing pickles.
    queue: mpsc::Sender<Outgoing>,
    /// Tells its task to disconnect it (its queue overflowed).
    kick: Arc<tokio::sync::Notify>,
    /// It has sent its identity (broadcasts go to these).
    identified: bool,
}

/// State shared by the accept loop, the connections and the [`Server`] handle.
struct Shared {
    config: Config,
    /// `'Server got the data'` pickled.
    ack: Arc<[u8]>,
    /// The script, pickled.
    script: Vec<Outgoing>,
    next_id: AtomicI64,
    clients: Mutex<std::collections::HashMap<i64, Client>>,
    active: AtomicUsize,
    events: events::Hub,
    /// The class as the page and the record see it (with `web` or `record` only).
    roster: Option<Arc<roster::Roster>>,
}

impl Shared {
    fn emit(&self, event: ServerEvent) {
        if let Some(roster) = &self.roster {
            roster.observe(&event);
        }
        self.events.emit(event);
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, Client>> {
        // A panic while holding the lock cannot leave the map inconsistent: keep serving.
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running server. Dropping it shuts it down as [`Server::shutdown`] does.
pub struct Server {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    /// Disconnects when the accept loop and every connection task have ended.
    done: Mutex<std_mpsc::Receiver<()>>,
    runtime: Option<tokio::runtime::Runtime>,
    web_addr: Option<SocketAddr>,
    recorder: Option<std::thread::JoinHandle<()>>,
    recording: Option<Opened>,
}

/// Why [`Server::start`] could not set up [`Config::web`] or [`Config::record`] (inside the
/// `io::Error` it returns, whose kind is the OS error's).
#[derive(Debug)]
pub struct SetupError(String);

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

fn setup_error(e: io::Error, what: String) -> io::Error {
    io::Error::new(e.kind(), SetupError(format!("{what}: {e}")))
}

/// Connections the kernel queues before the accept loop takes them.
const LISTEN_BACKLOG: u32 = 4096;

/// How long shutdown waits for clients to close their side after the server closed its own.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

impl Server {
    /// Binds `config.addr` and starts serving on background threads; returns at once.
    ///
    /// # Errors
    ///
    /// The bind error (`ErrorKind::AddrInUse` when another server has the port), or
    /// `ErrorKind::InvalidInput` when a scripted message cannot be pickled. Errors of the web
    /// page's address or the record file carry a [`SetupError`] naming which.
    pub fn start(config: Config) -> io::Result<Server> {
        let encode = |message: &Message| {
            message
                .to_pickle(config.protocol)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
        };
        let ack = encode(&Message::from(ACK))?.unwrap_or_default();
        let mut script = Vec::with_capacity(config.script.len());
        for message in &config.script {
            script.push(match encode(message)? {
                Some(bytes) => Outgoing::Pickle(bytes.into()),
                None => Outgoing::Close("closed by the server's script"),
            });
        }

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_io()
            .enable_time()
            .thread_name("brine-server")
            // The decoder each worker keeps is a few hundred KiB; leave room on the stack.
            .thread_stack_size(4 << 20)
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            bind(config.addr)?
        };
        let local_addr = listener.local_addr()?;
        let roster = (config.web.is_some() || config.record.is_some())
            .then(|| Arc::new(roster::Roster::new(config.mask_sid)));
        let record = match &config.record {
            Some(path) => Some(record::Record::open(path).map_err(|e| {
                setup_error(e, format!("cannot open the record {}", path.display()))
            })?),
            None => None,
        };
        let recording = record.as_ref().map(record::Record::opened).transpose()?;
        let web_listener = match config.web {
            Some(addr) => Some({
                let _entered = runtime.enter();
                bind(addr)
                    .map_err(|e| setup_error(e, format!("cannot serve the web page on {addr}")))?
            }),
            None => None,
        };
        let web_addr = web_listener
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()?;

        let shared = Arc::new(Shared {
            next_id: AtomicI64::new(config.first_id),
            config,
            ack: ack.into(),
            script,
            clients: Mutex::new(Default::default()),
            active: AtomicUsize::new(0),
            events: events::Hub::new(),
            roster: roster.clone(),
        });
        if let (Some(listener), Some(roster)) = (web_listener, &roster) {
            let web = web::Web::new(Arc::clone(roster), local_addr);
            runtime.spawn(web::serve(listener, web));
        }
        let recorder = match (record, &roster) {
            (Some(record), Some(roster)) => {
                let events = Arc::clone(&shared);
                Some(record::spawn(record, Arc::clone(roster), move |message| {
                    events.emit(ServerEvent::Error { message })
                })?)
            }
            _ => None,
        };
        let (stop, stop_rx) = watch::channel(false);
        let (done_tx, done) = std_mpsc::channel();
        runtime.spawn(conn::accept_loop(
            listener,
            Arc::clone(&shared),
            stop_rx,
            done_tx,
        ));
        Ok(Server {
            local_addr,
            shared,
            stop,
            done: Mutex::new(done),
            runtime: Some(runtime),
            web_addr,
            recorder,
            recording,
        })
    }

    /// The record file ([`Config::record`]) as opened: its absolute path, format and the
    /// rows of earlier runs in it.
    pub fn recording(&self) -> Option<&Opened> {
        self.recording.as_ref()
    }

    /// Where the web page is served ([`Config::web`], with the port picked for port 0).
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web_addr
    }

    /// The address the server listens on (with the port picked when `addr` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A receiver of what happens from now on. The first call also gets every event since
    /// [`start`](Server::start) (up to the last 10,000), so nothing is missed between
    /// starting and subscribing. Several receivers may be open; each gets every event.
    /// Each receiver's queue is bounded (4096 events beyond the backlog): a receiver that
    /// falls behind loses the newest events, counted and then reported to it as a
    /// [`ServerEvent::Error`]; the server never waits for a receiver.
    pub fn events(&self) -> std_mpsc::Receiver<ServerEvent> {
        self.shared.events.subscribe()
    }

    /// Sends `message` to every client that has sent its identity (those still in the
    /// handshake are skipped so a broadcast never comes between an id and its exchange).
    /// [`Message::Close`] closes them all in order. Returns how many clients it was queued to.
    /// A client whose queue is full (it has stopped reading) is disconnected rather than
    /// waited for.
    ///
    /// # Errors
    ///
    /// `ErrorKind::InvalidInput` when the message cannot be pickled.
    pub fn broadcast(&self, message: &Message) -> io::Result<usize> {
        let outgoing = self.outgoing(message)?;
        let clients = self.shared.clients();
        let mut sent = 0;
        for client in clients.values().filter(|c| c.identified) {
            if conn::enqueue(client, outgoing.clone()) {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Sends `message` to client `id` (whatever its state). Returns false when no such client
    /// is connected.
    ///
    /// # Errors
    ///
    /// `ErrorKind::InvalidInput` when the message cannot be pickled.
    pub fn send_to(&self, id: i64, message: &Message) -> io::Result<bool> {
        let outgoing = self.outgoing(message)?;
        let clients = self.shared.clients();
        Ok(clients
            .get(&id)
            .is_some_and(|client| conn::enqueue(client, outgoing)))
    }

    /// Connections open right now (including those closing, which linger up to 2 s for the
    /// client to close its side).
    pub fn client_count(&self) -> usize {
        self.shared.active.load(Ordering::Relaxed)
    }

    fn outgoing(&self, message: &Message) -> io::Result<Outgoing> {
        match message.to_pickle(self.shared.config.protocol) {
            Ok(Some(bytes)) => Ok(Outgoing::Pickle(bytes.into())),
            Ok(None) => Ok(Outgoing::Close("closed by the server")),
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, e.to_string())),
        }
    }

    /// Stops accepting, closes every connection in order (each client reads what was sent and
    /// then the end of the stream), waits up to a few seconds for the clients to close their
    /// side, and stops the runtime. Each client gets a [`ServerEvent::Disconnected`].
    ///
    /// Blocks; call it from a plain thread (inside an async task it blocks that task's
    /// thread for as long).
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let _ = self.stop.send(true);
        // Every task holds a sender; all gone = all ended (bounded by the tasks' own linger).
        let done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        let _ = done.recv_timeout(SHUTDOWN_GRACE + Duration::from_secs(1));
        if tokio::runtime::Handle::try_current().is_ok() {
            // Dropping a runtime inside another one's task panics; let it wind down alone.
            runtime.shutdown_background();
        } else {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
        // The record's writer ends once the rows of the last clients are written.
        if let Some(roster) = &self.shared.roster {
            roster.close();
        }
        if let Some(recorder) = self.recorder.take() {
            let _ = recorder.join();
        }
    }
}

/// A listening socket on `addr` (inside the runtime).
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // Restarting right after a stop must not wait out TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    // Room for a burst of thousands of connects (the kernel caps it at somaxconn).
    socket.listen(LISTEN_BACKLOG)
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_now();
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("clients", &self.client_count())
            .finish_non_exhaustive()
    }
}
