//! Fan-out of [`ServerEvent`]s to any number of `std::sync::mpsc` receivers, each with a
//! bounded queue: a receiver that falls behind loses events (counted, and reported to it by
//! an [`ServerEvent::Error`] once it has room again), it never makes the server wait or grow.

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;

use crate::ServerEvent;

/// Events kept for the first subscriber, from the server's start until it subscribes.
const BACKLOG: usize = 10_000;

/// Events a subscriber may have waiting; past this, new events are dropped (and counted).
/// Each event holds at most two values of [`crate::LOG_LIMIT`] bytes (repr and JSON).
pub(crate) const QUEUE: usize = 4096;

pub(crate) struct Hub {
    inner: Mutex<Inner>,
}

struct Subscriber {
    sender: SyncSender<ServerEvent>,
    /// Events dropped since the last one delivered.
    dropped: u64,
}

struct Inner {
    subscribers: Vec<Subscriber>,
    /// `Some` until the first subscription; the oldest events go first when it is full.
    backlog: Option<VecDeque<ServerEvent>>,
}

impl Subscriber {
    /// Queues `event` without waiting: false when the receiver is gone.
    fn offer(&mut self, event: ServerEvent) -> bool {
        if self.dropped > 0 {
            let notice = ServerEvent::Error {
                message: format!(
                    "{} events were dropped: this reader of the server's events fell behind \
                     (it may hold {QUEUE})",
                    self.dropped
                ),
            };
            match self.sender.try_send(notice) {
                Ok(()) => self.dropped = 0,
                Err(TrySendError::Full(_)) => {
                    self.dropped += 1;
                    return true;
                }
                Err(TrySendError::Disconnected(_)) => return false,
            }
        }
        match self.sender.try_send(event) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.dropped += 1;
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
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
            .retain_mut(|subscriber| subscriber.offer(event.clone()));
    }

    pub(crate) fn subscribe(&self) -> Receiver<ServerEvent> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let backlog = inner.backlog.take().unwrap_or_default();
        // The first subscriber's queue also holds the backlog.
        let (sender, receiver) = sync_channel(QUEUE + backlog.len());
        let mut subscriber = Subscriber { sender, dropped: 0 };
        for event in backlog {
            subscriber.offer(event);
        }
        inner.subscribers.push(subscriber);
        receiver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64) -> ServerEvent {
        ServerEvent::Received {
            id,
            repr: "'x'".to_owned(),
        }
    }

    #[test]
    fn a_slow_reader_loses_events_counted_and_the_hub_stays_bounded() {
        let hub = Hub::new();
        let receiver = hub.subscribe();
        for id in 0..(QUEUE as i64 + 10) {
            hub.emit(event(id));
        }
        // The queue holds QUEUE events; ten were dropped.
        let first: Vec<ServerEvent> = receiver.try_iter().collect();
        assert_eq!(first.len(), QUEUE);
        assert_eq!(first.last(), Some(&event(QUEUE as i64 - 1)));
        hub.emit(event(-1));
        let next: Vec<ServerEvent> = receiver.try_iter().collect();
        assert_eq!(
            next,
            [
                ServerEvent::Error {
                    message: format!(
                        "10 events were dropped: this reader of the server's events fell \
                         behind (it may hold {QUEUE})"
                    )
                },
                event(-1)
            ]
        );
        // A dropped receiver is forgotten.
        drop(receiver);
        hub.emit(event(0));
        assert!(hub.inner.lock().unwrap().subscribers.is_empty());
    }
}
