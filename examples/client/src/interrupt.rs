//! Ctrl-C: end the session as if the server had closed, print what arrived, exit 130.
//!
//! The handler (on the `ctrlc` crate's own thread) shuts the socket down for reading: the
//! blocked read returns the bytes already received and then the end of the stream, so the
//! session loop delivers every complete message before it, then sees [`Interrupt::happened`]
//! and exits with status 130. Before a connection exists, Ctrl-C exits 130 at once.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::exit;

/// The socket a Ctrl-C shuts, and whether one came.
#[derive(Clone)]
pub struct Interrupt {
    socket: Arc<Mutex<Option<TcpStream>>>,
    happened: Arc<AtomicBool>,
}

impl Interrupt {
    /// Installs the Ctrl-C handler (once per process); `None` if it cannot be installed, in
    /// which case Ctrl-C keeps its default action (the process ends at once).
    pub fn install() -> Option<Interrupt> {
        let interrupt = Interrupt {
            socket: Arc::new(Mutex::new(None)),
            happened: Arc::new(AtomicBool::new(false)),
        };
        let handler = interrupt.clone();
        ctrlc::set_handler(move || {
            handler.happened.store(true, Ordering::SeqCst);
            let socket = handler.socket.lock().ok().and_then(|mut s| s.take());
            match socket {
                Some(socket) => {
                    let _ = socket.shutdown(Shutdown::Read);
                }
                None => std::process::exit(exit::INTERRUPTED.into()),
            }
        })
        .ok()?;
        Some(interrupt)
    }

    /// From now on Ctrl-C ends the reads on `socket` (a clone of the session's).
    pub fn watch(&self, socket: TcpStream) {
        if let Ok(mut slot) = self.socket.lock() {
            *slot = Some(socket);
        }
    }

    /// True once Ctrl-C was pressed.
    pub fn happened(&self) -> bool {
        self.happened.load(Ordering::SeqCst)
    }
}
