//! Hostile senders.
