//! The identity's keys and values as the `brine` command sends them: `--keys lab` (its
//! default) or `--keys handout`, chosen here by `BRINE_KEYS` when the firmware is built.
//! Shared by `src/lab.rs` (the identity pickled at run time) and `build.rs` (pickled on the
//! host for a firmware without brine-core's pickler), so both send the same dict.

use brine_core::FieldValue;

/// Which keys the identity is sent under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// The instructor's lab server: `student_name`, `email`, `sid` (an int when the id is all
    /// digits without a leading zero), `github_username`. The default.
    Lab,
    /// Servers written from the handout's example: `name`, `email`, `student_id` (a str),
    /// `github_username`.
    Handout,
}

impl Keys {
    /// `BRINE_KEYS`: unset or empty is [`Keys::Lab`]; `lab` or `handout`; anything else stops
    /// the build.
    pub const fn from_setting(value: Option<&str>) -> Keys {
        match value {
            None => Keys::Lab,
            Some(s) if s.is_empty() || same(s, "lab") => Keys::Lab,
            Some(s) if same(s, "handout") => Keys::Handout,
            Some(_) => panic!("BRINE_KEYS is neither `lab` nor `handout`"),
        }
    }
}

/// The identity's four fields in the order sent (name, email, student id, GitHub), under
/// `keys`, as the `brine` command builds them from the same four flags. A const fn, so a
/// firmware holds the result and links no parsing.
pub const fn fields<'a>(
    keys: Keys,
    [name, email, id, github]: [&'a str; 4],
) -> [(&'static str, FieldValue<'a>); 4] {
    let (name_key, id_key, id) = match (keys, sid(id)) {
        (Keys::Lab, Some(n)) => ("student_name", "sid", FieldValue::Int(n)),
        (Keys::Lab, None) => ("student_name", "sid", FieldValue::Str(id)),
        (Keys::Handout, _) => ("name", "student_id", FieldValue::Str(id)),
    };
    [
        (name_key, FieldValue::Str(name)),
        ("email", FieldValue::Str(email)),
        (id_key, id),
        ("github_username", FieldValue::Str(github)),
    ]
}

/// The id as the lab's template client sends `sid`: an int when it is all digits without a
/// leading zero and below 2^63; `None` keeps the str as set.
const fn sid(id: &str) -> Option<i64> {
    let digits = id.as_bytes();
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut n: i64 = 0;
    let mut i = 0;
    while i < digits.len() {
        if !digits[i].is_ascii_digit() {
            return None;
        }
        n = match n.checked_mul(10) {
            Some(m) => match m.checked_add((digits[i] - b'0') as i64) {
                Some(m) => m,
                None => return None,
            },
            None => return None,
        };
        i += 1;
    }
    Some(n)
}

/// `a == b`, in a const fn.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
