//! `--web ADDR`: the class, live, in a browser (the projector page), and the same as JSON.
//!
//! Routes: `/` the page (its script and style are embedded in the binary: no CDN),
//! `/events` Server-Sent Events (a `snapshot` event, then `update` events), and
//! `/api/snapshot` the state as JSON for scripts.
//!
//! A publisher task turns the [`Roster`]'s changes into one `update` message at most every
//! [`PUBLISH_EVERY`], serialized once and shared by every page through a bounded broadcast
//! ring of [`RING`] messages. A page that falls behind (a stalled browser, a slow network)
//! loses its place in the ring and gets a fresh snapshot instead, so a page never holds more
//! than hyper's write buffer of server memory, and the lab protocol never waits for a page.
//! At most [`MAX_PAGES`] event streams are open at once; more get 503. At most
//! [`MAX_CONNECTIONS`] connections are served at once, and one that sends no request head
//! within 10 s is closed.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, Semaphore};

use crate::roster::{Entry, Roster};

/// The shortest time between two `update` messages.
pub(crate) const PUBLISH_EVERY: Duration = Duration::from_millis(100);
/// Updates kept for pages that are behind; a page further behind gets a snapshot.
pub(crate) const RING: usize = 32;
/// Event streams open at once.
pub(crate) const MAX_PAGES: usize = 1000;
/// Connections to the page's address at once (event streams and plain requests).
pub(crate) const MAX_CONNECTIONS: usize = MAX_PAGES + 64;
/// A request's head must arrive within this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How soon a page reconnects after losing the server (the `retry` of the event stream).
const RETRY: Duration = Duration::from_secs(1);

const INDEX_HTML: &str = include_str!("../web/index.html");
const APP_JS: &str = include_str!("../web/app.js");
const STYLE_CSS: &str = include_str!("../web/style.css");
/// Nothing but the page's own script and style runs or loads.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// One message to the pages, serialized once.
struct Message {
    seq: u64,
    json: Arc<str>,
}

/// The page's copy of the roster, as last published.
struct Mirror {
    seq: u64,
    clients: BTreeMap<i64, Entry>,
    /// The snapshot of `clients` at `seq`, built on demand.
    snapshot: Option<Arc<str>>,
}

/// What the page, the event streams and the publisher share.
pub(crate) struct Web {
    roster: Arc<Roster>,
    /// Where students connect, as the page shows it.
    lab: Vec<String>,
    /// Why students cannot connect there, if they cannot ([`unreachable`]).
    warning: Option<String>,
    mirror: Mutex<Mirror>,
    updates: broadcast::Sender<Arc<Message>>,
    pages: AtomicUsize,
}

#[derive(Serialize)]
struct Snapshot<'a> {
    seq: u64,
    lab: &'a [String],
    warning: Option<&'a str>,
    clients: Vec<&'a Entry>,
}

#[derive(Serialize)]
struct Update<'a> {
    seq: u64,
    clients: &'a [Entry],
    removed: &'a [i64],
}

impl Web {
    pub(crate) fn new(roster: Arc<Roster>, lab: SocketAddr) -> Arc<Web> {
        Arc::new(Web {
            roster,
            lab: lab_addresses(lab),
            warning: unreachable(lab),
            mirror: Mutex::new(Mirror {
                seq: 0,
                clients: BTreeMap::new(),
                snapshot: None,
            }),
            updates: broadcast::channel(RING).0,
            pages: AtomicUsize::new(0),
        })
    }

    fn mirror(&self) -> std::sync::MutexGuard<'_, Mirror> {
        self.mirror.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current state and the sequence number it includes.
    fn snapshot(&self) -> (u64, Arc<str>) {
        let mut mirror = self.mirror();
        if mirror.snapshot.is_none() {
            let json = serde_json::to_string(&Snapshot {
                seq: mirror.seq,
                lab: &self.lab,
                warning: self.warning.as_deref(),
                clients: mirror.clients.values().collect(),
            })
            .unwrap_or_default();
            mirror.snapshot = Some(json.into());
        }
        (mirror.seq, mirror.snapshot.clone().unwrap_or_default())
    }

    /// Takes the roster's changes into the mirror and sends them to every page.
    fn publish(&self) {
        let changes = self.roster.take_changes();
        if changes.rows.is_empty() && changes.removed.is_empty() {
            return;
        }
        let mut mirror = self.mirror();
        mirror.seq += 1;
        for id in &changes.removed {
            mirror.clients.remove(id);
        }
        for entry in &changes.rows {
            mirror.clients.insert(entry.id, entry.clone());
        }
        mirror.snapshot = None;
        let json = serde_json::to_string(&Update {
            seq: mirror.seq,
            clients: &changes.rows,
            removed: &changes.removed,
        })
        .unwrap_or_default();
        // Under the mirror's lock, so updates go out in order. No page open: nothing to do.
        let _ = self.updates.send(Arc::new(Message {
            seq: mirror.seq,
            json: json.into(),
        }));
    }
}

/// The lab's address for the page: the address it listens on, or, when that is every
/// interface (0.0.0.0 or ::), this machine's addresses other than loopback (IPv4 first).
fn lab_addresses(lab: SocketAddr) -> Vec<String> {
    if !lab.ip().is_unspecified() {
        return vec![lab.to_string()];
    }
    let ips = reachable_ips(lab.is_ipv6());
    if ips.is_empty() {
        return vec![lab.to_string()];
    }
    ips.into_iter()
        .map(|ip| SocketAddr::new(ip, lab.port()).to_string())
        .collect()
}

/// This machine's addresses other than loopback (IPv4 first; IPv6 too when `v6`).
fn reachable_ips(v6: bool) -> Vec<std::net::IpAddr> {
    let mut ips: Vec<_> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|interface| interface.ip())
        .filter(|ip| !ip.is_loopback() && (v6 || ip.is_ipv4()))
        .collect();
    ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    ips.dedup();
    ips
}

/// Why students on other machines cannot reach a lab server listening on `lab`, and what
/// to do: a loopback address, or every interface of a machine that has only loopback.
/// `None` when they can.
pub fn unreachable(lab: SocketAddr) -> Option<String> {
    let port = lab.port();
    let ips = reachable_ips(lab.is_ipv6());
    let theirs = match ips.as_slice() {
        [] => String::new(),
        ips => {
            let list: Vec<String> = ips
                .iter()
                .map(|ip| SocketAddr::new(*ip, port).to_string())
                .collect();
            format!("; they would then connect to {}", list.join(" or "))
        }
    };
    if lab.ip().is_loopback() {
        Some(format!(
            "students cannot reach the lab server at {lab}: it listens on loopback, which only \
             this machine can reach. Start it as brine-server 0.0.0.0:{port}{theirs}"
        ))
    } else if lab.ip().is_unspecified() && ips.is_empty() {
        Some(format!(
            "students cannot reach the lab server: this machine has no network address other \
             than loopback (connect it to the classroom's network; port {port})"
        ))
    } else {
        None
    }
}

/// Serves the page on `listener` and publishes the roster's changes, until the runtime stops.
pub(crate) async fn serve(listener: TcpListener, web: Arc<Web>) {
    let publisher = Arc::clone(&web);
    tokio::spawn(async move {
        loop {
            publisher.roster.changed.notified().await;
            publisher.publish();
            tokio::time::sleep(PUBLISH_EVERY).await;
        }
    });
    let app = Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/api/snapshot", get(snapshot))
        .route("/events", get(events))
        .with_state(web);
    // Served connection by connection (rather than with `axum::serve`) for two bounds: at
    // most MAX_CONNECTIONS at once (more wait in the listen queue), and a request's head
    // must arrive within HEADER_TIMEOUT, so idle sockets cannot pile up.
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: the lab's clients come first.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            // A connection's errors (a reset, a timeout) end that connection only.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

/// The headers every response carries.
fn secure(mut response: Response, content_type: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    secure(body.into_response(), content_type)
}

async fn snapshot(State(web): State<Arc<Web>>) -> Response {
    let (_, json) = web.snapshot();
    secure(json.to_string().into_response(), "application/json")
}

/// Counts an open event stream; frees its place when dropped.
struct Page(Arc<Web>);

impl Page {
    fn open(web: &Arc<Web>) -> Option<Page> {
        let open = web.pages.fetch_add(1, Ordering::Relaxed);
        let page = Page(Arc::clone(web));
        (open < MAX_PAGES).then_some(page)
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        self.0.pages.fetch_sub(1, Ordering::Relaxed);
    }
}

fn snapshot_event(json: &str) -> Event {
    Event::default().event("snapshot").retry(RETRY).data(json)
}

/// The event stream: a snapshot, then the updates after it; a fresh snapshot whenever the
/// page has fallen more than [`RING`] updates behind.
async fn events(State(web): State<Arc<Web>>) -> Response {
    let Some(page) = Page::open(&web) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "too many pages open\n").into_response();
    };
    // Subscribed before the snapshot is taken: nothing falls between the two.
    let updates = web.updates.subscribe();
    let stream = futures_util::stream::unfold(
        (page, updates, None::<u64>),
        |(page, mut updates, seen)| async move {
            let (event, seq) = match seen {
                None => {
                    let (seq, json) = page.0.snapshot();
                    (snapshot_event(&json), seq)
                }
                Some(seen) => loop {
                    match updates.recv().await {
                        Ok(message) if message.seq <= seen => continue,
                        Ok(message) => {
                            break (
                                Event::default().event("update").data(&*message.json),
                                message.seq,
                            )
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            // Only what comes after the snapshot; the ring's old messages
                            // would overtake this page again.
                            updates = updates.resubscribe();
                            let (seq, json) = page.0.snapshot();
                            break (snapshot_event(&json), seq);
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                },
            };
            Some((Ok::<_, Infallible>(event), (page, updates, Some(seq))))
        },
    );
    let response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    secure(response, "text/event-stream")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerEvent;
    use http_body_util::BodyExt;

    /// The next event of an event stream's body (frames until a blank line).
    async fn next_event(body: &mut axum::body::Body) -> String {
        let mut text = String::new();
        while !text.ends_with("\n\n") {
            let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
                .await
                .expect("an event within 5 s")
                .expect("the stream goes on")
                .expect("a frame");
            if let Ok(data) = frame.into_data() {
                text.push_str(std::str::from_utf8(&data).unwrap());
            }
        }
        text
    }

    fn connect(roster: &Roster, id: i64) {
        let peer = "127.0.0.1:5000".parse().unwrap();
        roster.observe(&ServerEvent::Connected { id, peer });
    }

    #[tokio::test]
    async fn a_page_that_keeps_up_gets_updates_and_one_that_falls_behind_a_snapshot() {
        let roster = Arc::new(Roster::new(false));
        let web = Web::new(Arc::clone(&roster), "127.0.0.1:12000".parse().unwrap());
        connect(&roster, 1);
        web.publish();
        let mut body = events(State(Arc::clone(&web))).await.into_body();
        let first = next_event(&mut body).await;
        assert!(first.starts_with("event: snapshot\n"), "{first}");
        assert!(first.contains(r#""lab":["127.0.0.1:12000"]"#), "{first}");
        assert!(first.contains(r#""id":1,"#), "{first}");

        connect(&roster, 2);
        web.publish();
        let update = next_event(&mut body).await;
        assert!(update.starts_with("event: update\n"), "{update}");
        assert!(update.contains(r#""id":2,"#) && !update.contains(r#""id":1,"#));

        // The page reads nothing while more than the ring's worth of updates go out.
        for id in 3..(RING as i64 + 10) {
            connect(&roster, id);
            web.publish();
        }
        let caught_up = next_event(&mut body).await;
        assert!(caught_up.starts_with("event: snapshot\n"), "{caught_up}");
        for id in 1..(RING as i64 + 10) {
            assert!(caught_up.contains(&format!(r#""id":{id},"#)), "{id}");
        }
        // And it goes on with updates after it.
        connect(&roster, 100);
        web.publish();
        let update = next_event(&mut body).await;
        assert!(
            update.starts_with("event: update\n") && update.contains(r#""id":100,"#),
            "{update}"
        );
    }

    #[test]
    fn the_lab_address_shown_is_one_students_can_use() {
        assert_eq!(
            lab_addresses("127.0.0.1:12000".parse().unwrap()),
            ["127.0.0.1:12000"]
        );
        // Every interface: this machine's addresses other than loopback (or 0.0.0.0 itself).
        let any = lab_addresses("0.0.0.0:12000".parse().unwrap());
        assert!(!any.is_empty());
        for addr in &any {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(addr.port(), 12000);
            assert!(addr.is_ipv4(), "{addr}");
            assert!(!addr.ip().is_loopback(), "{any:?}");
        }
    }

    #[test]
    fn a_loopback_lab_is_named_unreachable() {
        let warning = unreachable("127.0.0.1:12000".parse().unwrap()).unwrap();
        assert!(
            warning.starts_with(
                "students cannot reach the lab server at 127.0.0.1:12000: it listens on \
                 loopback, which only this machine can reach. Start it as brine-server \
                 0.0.0.0:12000"
            ),
            "{warning}"
        );
        // What this machine has decides the rest: its addresses, or that it has none.
        let ips = reachable_ips(false);
        let every = unreachable("0.0.0.0:12000".parse().unwrap());
        assert_eq!(every.is_some(), ips.is_empty(), "{every:?} {ips:?}");
        for ip in &ips {
            assert!(warning.contains(&format!("{ip}:12000")), "{warning}");
        }
    }

    #[tokio::test]
    async fn pages_beyond_the_limit_are_refused() {
        let web = Web::new(Arc::new(Roster::new(false)), "127.0.0.1:1".parse().unwrap());
        let mut open = Vec::new();
        for _ in 0..MAX_PAGES {
            let response = events(State(Arc::clone(&web))).await;
            assert_eq!(response.status(), StatusCode::OK);
            open.push(response);
        }
        let refused = events(State(Arc::clone(&web))).await;
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        open.pop();
        let again = events(State(Arc::clone(&web))).await;
        assert_eq!(again.status(), StatusCode::OK);
    }
}
