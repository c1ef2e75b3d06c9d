//! Fan-out of [`ServerEvent`]s to any number of `std::sync::mpsc` receivers.

use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

use crate::ServerEvent;

/// Events kept for the first subscriber, from the server's start until it subscribes.
const BACKLOG: usize = 10_000;

pub(crate) struct Hub {
    inner: Mutex<Inner>,
}

struct Inner {
    subscribers: Vec<Sender<ServerEvent>>,
    /// `Some` until the first subscription; the oldest events go first when it is full.
    backlog: Option<VecDeque<ServerEvent>>,
}

impl Hub {
    pub(crate) fn new() -> Self {
        Hub {
            inner: Mutex::new(Inner {
                subscribers: Vec::new(),
                backlog: Some(VecDeque::new()),
            }),
        }
    }

    pub(crate) fn emit(&self, event: ServerEvent) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(backlog) = inner.backlog.as_mut() {
            if backlog.len() == BACKLOG {
                backlog.pop_front();
            }
            backlog.push_back(event);
            return;
        }
        // Receivers that were dropped are forgotten.
        inner
            .subscribers
            .retain(|subscriber| subscriber.send(event.clone()).is_ok());
    }

    pub(crate) fn subscribe(&self) -> Receiver<ServerEvent> {
        let (sender, receiver) = channel();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for event in inner.backlog.take().into_iter().flatten() {
            let _ = sender.send(event);
        }
        inner.subscribers.push(sender);
        receiver
    }
}
