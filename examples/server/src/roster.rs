//! The class as the projector page and the attendance record see it: who is connected, who
//! has identified (with which name, student id and GitHub user name), who has left.
//!
//! The server calls [`Roster::observe`] for every event, on the connection's task: it updates
//! a map under a mutex and wakes the page's publisher and the record's writer, nothing more,
//! so neither a browser nor the disk ever waits on the lab protocol or holds it up. Memory is
//! bounded: one entry per connected client (each field cut to [`FIELD_CHARS`]), at most
//! [`MAX_GONE`] clients who have left, and at most [`MAX_PENDING_ROWS`] record rows waiting
//! for the disk.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value as Json;
use tokio::sync::Notify;

use crate::ServerEvent;

/// Keys lab servers read the student's name from, the first present wins: the instructor's
/// server (`student_name`) and the handout's example (`name`).
pub const NAME_KEYS: [&str; 2] = ["student_name", "name"];
/// Keys of the student id: `sid` (instructor's server) and `student_id` (handout).
pub const SID_KEYS: [&str; 2] = ["sid", "student_id"];
/// Keys of the GitHub user name: `github_username` and `github`.
pub const GITHUB_KEYS: [&str; 2] = ["github_username", "github"];
/// Keys of the email.
pub const EMAIL_KEYS: [&str; 1] = ["email"];

/// Characters kept of each identity field on the page (the record keeps them whole).
pub(crate) const FIELD_CHARS: usize = 80;
/// Characters kept of the other identity fields on the page.
const DETAILS_CHARS: usize = 240;
/// Clients who have left that stay on the page; the oldest go first.
pub(crate) const MAX_GONE: usize = 1000;
/// Record rows waiting for the disk; past this, rows are counted as lost and reported.
const MAX_PENDING_ROWS: usize = 65_536;

/// The identity fields found in a client's first pickle.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Identity {
    pub(crate) name: Option<String>,
    pub(crate) sid: Option<String>,
    pub(crate) github: Option<String>,
    pub(crate) email: Option<String>,
    /// Everything else: the other keys of a dict, as a JSON object, or the whole value when
    /// it is not a dict.
    pub(crate) other: Option<Json>,
}

impl Identity {
    /// Picks the fields out of an identity as [`crate::ServerEvent::Identity`]'s `json` gives it.
    pub(crate) fn from_json(json: &Json) -> Identity {
        let Json::Object(map) = json else {
            return Identity {
                other: Some(json.clone()),
                ..Identity::default()
            };
        };
        let mut rest = map.clone();
        let mut take = |keys: &[&str]| {
            let key = keys.iter().find(|key| rest.contains_key(**key))?;
            rest.shift_remove(*key).map(|value| match value {
                Json::String(text) => text,
                other => other.to_string(),
            })
        };
        let name = take(&NAME_KEYS);
        let sid = take(&SID_KEYS);
        let github = take(&GITHUB_KEYS);
        let email = take(&EMAIL_KEYS);
        Identity {
            name,
            sid,
            github,
            email,
            other: (!rest.is_empty()).then_some(Json::Object(rest)),
        }
    }

    /// Who the student is, to keep one row per student in a session: the student id, else
    /// the name and GitHub user name (case and spaces ignored); `None` when there is none.
    pub(crate) fn student(&self) -> Option<String> {
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
        };
        match (clean(&self.sid), clean(&self.name), clean(&self.github)) {
            (Some(sid), _, _) => Some(format!("sid {sid}")),
            (None, None, None) => None,
            (None, name, github) => Some(format!(
                "name {} github {}",
                name.unwrap_or_default(),
                github.unwrap_or_default()
            )),
        }
    }

    /// The email and the other fields as one line of text (the page's last column):
    /// `key: value, ...` for a dict's keys (str values unquoted), JSON for anything else.
    pub(crate) fn details(&self) -> String {
        let email = self.email.as_ref().map(|e| format!("email: {e}"));
        let other = self.other_text();
        match (email, other.is_empty()) {
            (Some(email), true) => email,
            (Some(email), false) => format!("{email}, {other}"),
            (None, _) => other,
        }
    }

    fn other_text(&self) -> String {
        match &self.other {
            None => String::new(),
            Some(Json::Object(map)) => map
                .iter()
                .map(|(key, value)| match value {
                    Json::String(text) => format!("{key}: {text}"),
                    other => format!("{key}: {other}"),
                })
                .collect::<Vec<_>>()
                .join(", "),
            Some(other) => other.to_string(),
        }
    }
}

/// Where a client is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Presence {
    Connected,
    Identified,
    Gone,
}

/// One client on the page (fields cut to [`FIELD_CHARS`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Entry {
    pub(crate) id: i64,
    pub(crate) peer: String,
    /// RFC 3339, UTC.
    pub(crate) connected_at: String,
    pub(crate) state: Presence,
    /// Whether it identified before leaving (a gone client keeps its fields).
    pub(crate) identified: bool,
    pub(crate) name: Option<String>,
    /// As the page shows it (masked with `--mask-sid`).
    pub(crate) sid: Option<String>,
    pub(crate) github: Option<String>,
    pub(crate) details: String,
    /// Pickles received after the identity.
    pub(crate) messages: u64,
}

/// One line of the attendance record.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) time: SystemTime,
    pub(crate) id: i64,
    pub(crate) peer: String,
    pub(crate) identity: Identity,
    /// The identity as JSON, whole.
    pub(crate) json: Json,
    /// [`Identity::student`]: a later row of the same student replaces this one.
    pub(crate) student: Option<String>,
}

/// What changed since the publisher last looked.
pub(crate) struct Changes {
    pub(crate) rows: Vec<Entry>,
    pub(crate) removed: Vec<i64>,
}

#[derive(Default)]
struct State {
    clients: BTreeMap<i64, Entry>,
    dirty: BTreeSet<i64>,
    removed: Vec<i64>,
    /// Ids of clients who left, oldest first.
    gone: VecDeque<i64>,
    rows: VecDeque<Row>,
    lost_rows: u64,
    closed: bool,
    /// The client now showing each student ([`Identity::student`]).
    students: BTreeMap<String, i64>,
}

/// See the module's documentation.
pub(crate) struct Roster {
    state: Mutex<State>,
    /// Show student ids masked to their last three characters.
    mask_sid: bool,
    /// Wakes the page's publisher (one permit is kept while it is busy).
    pub(crate) changed: Notify,
    /// Wakes the record's writer.
    rows_ready: Condvar,
}

impl Roster {
    /// A roster; with `mask_sid` the page shows each student id masked (`••••••321`).
    pub(crate) fn new(mask_sid: bool) -> Roster {
        Roster {
            state: Mutex::new(State::default()),
            mask_sid,
            changed: Notify::new(),
            rows_ready: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update leaves the maps consistent: a panic elsewhere is no reason to stop.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes note of `event`. O(log n) under the lock, plus the identity's fields.
    pub(crate) fn observe(&self, event: &ServerEvent) {
        let now = SystemTime::now();
        let mut state = self.state();
        let state = &mut *state;
        let id = match event {
            ServerEvent::Connected { id, peer } => {
                state.clients.insert(
                    *id,
                    Entry {
                        id: *id,
                        peer: peer.to_string(),
                        connected_at: humantime::format_rfc3339_millis(now).to_string(),
                        state: Presence::Connected,
                        identified: false,
                        name: None,
                        sid: None,
                        github: None,
                        details: String::new(),
                        messages: 0,
                    },
                );
                *id
            }
            ServerEvent::Identity { id, json, .. } => {
                let Some(entry) = state.clients.get_mut(id) else {
                    return;
                };
                let identity = Identity::from_json(json);
                entry.state = Presence::Identified;
                entry.identified = true;
                entry.name = identity.name.as_deref().map(|s| cut(s, FIELD_CHARS));
                entry.sid = identity.sid.as_deref().map(|s| match self.mask_sid {
                    true => mask(s),
                    false => cut(s, FIELD_CHARS),
                });
                entry.github = identity.github.as_deref().map(|s| cut(s, FIELD_CHARS));
                entry.details = cut(&identity.details(), DETAILS_CHARS);
                let student = identity.student();
                let row = Row {
                    time: now,
                    id: *id,
                    peer: entry.peer.clone(),
                    identity,
                    json: json.clone(),
                    student: student.clone(),
                };
                // A student who reconnects: one row, the newest (the older one leaves).
                if let Some(student) = student {
                    if let Some(old) = state.students.insert(student, *id).filter(|o| o != id) {
                        if state.clients.remove(&old).is_some() {
                            state.dirty.remove(&old);
                            state.gone.retain(|g| *g != old);
                            state.removed.push(old);
                        }
                    }
                }
                if state.rows.len() < MAX_PENDING_ROWS {
                    state.rows.push_back(row);
                    self.rows_ready.notify_one();
                } else {
                    state.lost_rows += 1;
                }
                *id
            }
            ServerEvent::Received { id, .. } => match state.clients.get_mut(id) {
                Some(entry) => {
                    entry.messages += 1;
                    *id
                }
                None => return,
            },
            ServerEvent::Disconnected { id, .. } => {
                let Some(entry) = state.clients.get_mut(id) else {
                    return;
                };
                entry.state = Presence::Gone;
                state.gone.push_back(*id);
                if state.gone.len() > MAX_GONE {
                    if let Some(old) = state.gone.pop_front() {
                        state.clients.remove(&old);
                        state.dirty.remove(&old);
                        state.removed.push(old);
                    }
                }
                *id
            }
            _ => return,
        };
        state.dirty.insert(id);
        self.changed.notify_one();
    }

    /// The entries changed since the last call, and the ids removed.
    pub(crate) fn take_changes(&self) -> Changes {
        let mut state = self.state();
        let dirty = std::mem::take(&mut state.dirty);
        Changes {
            rows: dirty
                .iter()
                .filter_map(|id| state.clients.get(id).cloned())
                .collect(),
            removed: std::mem::take(&mut state.removed),
        }
    }

    /// Waits until record rows are waiting (or the roster is closed) and takes them, with the
    /// count of rows lost since the last call. `None` once closed and drained.
    pub(crate) fn wait_rows(&self) -> Option<(Vec<Row>, u64)> {
        let mut state = self.state();
        while state.rows.is_empty() && !state.closed {
            state = self
                .rows_ready
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        if state.rows.is_empty() && state.lost_rows == 0 {
            return None;
        }
        let rows = state.rows.drain(..).collect();
        Some((rows, std::mem::take(&mut state.lost_rows)))
    }

    /// Ends [`wait_rows`](Roster::wait_rows) once the rows waiting are taken.
    pub(crate) fn close(&self) {
        self.state().closed = true;
        self.rows_ready.notify_all();
    }
}

/// A student id as the page shows it with `--mask-sid`: its last three characters, each
/// other one as `•` (at most [`FIELD_CHARS`] in all).
pub(crate) fn mask(sid: &str) -> String {
    let chars: Vec<char> = sid.chars().collect();
    let keep = chars.len().saturating_sub(3);
    let hidden = keep.min(FIELD_CHARS - 3);
    std::iter::repeat_n('•', hidden)
        .chain(chars[keep..].iter().copied())
        .collect()
}

/// `text` cut to `max` characters, with `…` when something was cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => {
            let mut out = text[..end].to_owned();
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::net::SocketAddr;

    #[test]
    fn both_key_sets_are_recognised() {
        let lab = Identity::from_json(&json!({
            "student_name": "Ana", "github_username": "ana", "sid": 917000001, "email": "a@x"
        }));
        assert_eq!(lab.name.as_deref(), Some("Ana"));
        assert_eq!(lab.sid.as_deref(), Some("917000001"));
        assert_eq!(lab.github.as_deref(), Some("ana"));
        assert_eq!(lab.details(), "email: a@x");

        let handout = Identity::from_json(&json!({
            "name": "Bo", "email": "b@x", "student_id": "0917", "github": "bo"
        }));
        assert_eq!(
            (handout.name, handout.sid, handout.github),
            (Some("Bo".into()), Some("0917".into()), Some("bo".into()))
        );
        // Both present: the instructor's key wins, the other stays in the details.
        let both = Identity::from_json(&json!({"name": "x", "student_name": "y"}));
        assert_eq!(both.name.as_deref(), Some("y"));
        assert_eq!(both.details(), "name: x");
    }

    #[test]
    fn a_value_that_is_not_a_dict_goes_to_the_details() {
        let identity = Identity::from_json(&json!(["Ana", 1]));
        assert_eq!(identity.name, None);
        assert_eq!(identity.details(), r#"["Ana",1]"#);
    }

    #[test]
    fn a_reconnecting_student_keeps_one_row_and_ids_can_be_masked() {
        let roster = Roster::new(true);
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let identity = |id| ServerEvent::Identity {
            id,
            value: String::new(),
            json: json!({"student_name": "Ana", "sid": 917654321, "email": "a@x"}),
        };
        roster.observe(&ServerEvent::Connected { id: 1, peer });
        roster.observe(&identity(1));
        roster.observe(&ServerEvent::Disconnected {
            id: 1,
            reason: String::new(),
        });
        roster.observe(&ServerEvent::Connected { id: 2, peer });
        roster.observe(&identity(2));
        let changes = roster.take_changes();
        assert_eq!(changes.removed, [1]);
        assert_eq!(changes.rows.len(), 1);
        assert_eq!(changes.rows[0].id, 2);
        assert_eq!(changes.rows[0].sid.as_deref(), Some("••••••321"));
        assert_eq!(changes.rows[0].details, "email: a@x");
        let (rows, _) = roster.wait_rows().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].identity.email.as_deref(), Some("a@x"));
        assert_eq!(rows[1].student.as_deref(), Some("sid 917654321"));
        assert_eq!(mask("12"), "12");
    }

    #[test]
    fn fields_are_cut_on_characters() {
        assert_eq!(cut("ñandú", 3), "ñan…");
        assert_eq!(cut("abc", 3), "abc");
    }

    #[test]
    fn gone_clients_are_bounded() {
        let roster = Roster::new(false);
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        for id in 0..(MAX_GONE as i64 + 5) {
            roster.observe(&ServerEvent::Connected { id, peer });
            roster.observe(&ServerEvent::Disconnected {
                id,
                reason: String::new(),
            });
        }
        let changes = roster.take_changes();
        assert_eq!(changes.rows.len(), MAX_GONE);
        assert_eq!(changes.removed, (0..5).collect::<Vec<_>>());
        assert!(changes.rows.iter().all(|e| e.state == Presence::Gone));
    }
}
