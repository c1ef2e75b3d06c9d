//! The async client over the same scripted in-memory transports and the same suite as the
//! blocking client (`common/driver.rs`), plus cancellation: a `next_event` future dropped at
//! an await point loses no received bytes.

mod common;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use brine_core::asynch::Client;
use brine_core::pickle::Decoder;
use brine_core::session::{Event, Session, Waiting};
use common::driver::{identity, lab_stream, Driver, LAB_EVENTS};
use common::fixtures::*;
use common::{describe, Scripted, Step};

struct Async;

impl Driver for Async {
    fn run(peer: Scripted) -> (Vec<String>, Scripted) {
        pollster::block_on(async {
            let mut client: Client<Scripted> = Client::new(peer);
            let mut events = Vec::new();
            match client.handshake(&identity()).await {
                Ok(id) => events.push(format!("id {id}")),
                Err(e) => {
                    events.push(format!("error: {e}"));
                    return (events, client.into_inner());
                }
            }
            if let Err(e) = client.run(|event| events.push(describe(&event))).await {
                events.push(format!("error: {e}"));
            }
            (events, client.into_inner())
        })
    }

    fn next_events(peer: Scripted) -> (Vec<String>, Scripted) {
        pollster::block_on(async {
            let mut client: Client<Scripted> = Client::new(peer);
            let mut events = Vec::new();
            match client.handshake(&identity()).await {
                Ok(id) => events.push(format!("id {id}")),
                Err(e) => {
                    events.push(format!("error: {e}"));
                    return (events, client.into_inner());
                }
            }
            loop {
                match client.next_event().await {
                    Ok(event) => {
                        events.push(describe(&event));
                        if matches!(event, Event::Closed) {
                            break;
                        }
                    }
                    Err(e) => {
                        events.push(format!("error: {e}"));
                        break;
                    }
                }
            }
            (events, client.into_inner())
        })
    }

    fn handshake(peer: Scripted) -> Result<String, String> {
        pollster::block_on(async {
            let mut client: Client<Scripted> = Client::new(peer);
            client
                .handshake(&identity())
                .await
                .map(|id| id.to_string())
                .map_err(|e| e.to_string())
        })
    }

    fn send_then_close(peer: Scripted, message: &str) -> (String, Scripted) {
        pollster::block_on(async {
            let mut client: Client<Scripted> = Client::new(peer);
            client.handshake(&identity()).await.unwrap();
            client.send(message).await.unwrap();
            client.run(|_| {}).await.unwrap();
            let late = client.send(message).await.unwrap_err().to_string();
            (late, client.into_inner())
        })
    }

    fn waits(peer: Scripted) -> Vec<Waiting> {
        let mut seen = Vec::new();
        pollster::block_on(async {
            let mut client = Client::with_before_read(peer, |_: &mut Scripted, waiting| {
                seen.push(waiting);
                Ok(())
            });
            client.handshake(&identity()).await.unwrap();
            client.run(|_| {}).await.unwrap();
        });
        seen
    }
}

driver_tests!(Async);

/// Drops every `next_event` future at its first await point, then calls again: the events
/// are those of an undisturbed run, for a pending step before every chunk.
#[test]
fn dropped_next_event_loses_nothing() {
    let stream = lab_stream();
    for chunk in [1, 7, 100, 4096] {
        let mut peer = Scripted::chunked(&stream, chunk);
        let steps: Vec<Step> = peer.reads.drain(..).collect();
        for step in steps {
            peer.reads.push_back(Step::Pending);
            peer.reads.push_back(step);
        }
        let mut client: Client<Scripted> = Client::new(peer);
        let mut events = vec![format!(
            "id {}",
            pollster::block_on(client.handshake(&identity())).unwrap()
        )];
        let mut cx = Context::from_waker(Waker::noop());
        let mut drops = 0;
        loop {
            // First poll: either an event is ready, or the read is pending and we drop it.
            let ready = {
                let mut future = pin!(client.next_event());
                match future.as_mut().poll(&mut cx) {
                    Poll::Ready(result) => Some(describe(&result.unwrap())),
                    Poll::Pending => None,
                }
            };
            match ready {
                Some(line) => {
                    let closed = line == "closed";
                    events.push(line);
                    if closed {
                        break;
                    }
                }
                None => drops += 1,
            }
        }
        assert_eq!(events, LAB_EVENTS, "chunk {chunk}");
        assert!(drops > 0, "chunk {chunk}: no future was dropped");
        assert_eq!(client.into_inner().written, IDENTITY);
    }
}

/// A client with small buffers and a small decoder (as `brine load` runs thousands of) goes
/// through the handshake and the acks; a list too big for its decoder is skipped, not fatal.
#[test]
fn small_decoder_and_buffers() {
    let mut stream = CLIENT_ID.to_vec();
    stream.extend_from_slice(ACK);
    stream.extend_from_slice(LIST);
    stream.extend_from_slice(ACK);
    let peer = Scripted::chunked(&stream, 7);
    let mut client: Client<Scripted, (), Session<256, 256, Decoder<4, 4, 4, 4>>> =
        Client::with_storage(peer, ());
    assert!(core::mem::size_of_val(&client) < 1024 + core::mem::size_of::<Scripted>());
    let mut events = Vec::new();
    pollster::block_on(async {
        let id = client.handshake(&identity()).await.unwrap();
        events.push(format!("id {id}"));
        client.run(|e| events.push(describe(&e))).await.unwrap();
    });
    assert_eq!(events[0], "id 54321");
    assert_eq!(events[1], describe_ack());
    assert!(events[2].starts_with("skipped "), "{events:?}");
    assert_eq!(events[3..], [describe_ack(), "closed".to_string()]);
}

fn describe_ack() -> String {
    "message 'Server got the data'".to_string()
}
