//! The identity dict the flags describe: which keys (`--keys`, `--key`), which value types,
//! and the `--field`s after them.

use brine_core::pickle::{to_slice, Decoder, Encoding, Protocol, Value};
use clap::{Args, ValueEnum};

use crate::{exit, Fail};
use brine_json::Python;

/// Other spellings of `--name`, `--student-id` and `--github` that students type (the
/// keys' names, the handout's words): accepted as the flag.
pub const NAME_ALIASES: [&str; 2] = ["student-name", "student_name"];
/// See [`NAME_ALIASES`].
pub const STUDENT_ID_ALIASES: [&str; 3] = ["sid", "student_id", "id"];
/// See [`NAME_ALIASES`].
pub const GITHUB_ALIASES: [&str; 2] = ["github-username", "github_username"];

/// The identity flags, shared by `brine` and `brine load`.
#[derive(Args, Debug, Clone, Default)]
pub struct IdentityArgs {
    /// Your name (quote it: --name "Jose Ortiz")
    ///
    /// Sent as 'student_name' (--keys handout: 'name').
    #[arg(long, env = "BRINE_NAME", aliases = NAME_ALIASES)]
    pub name: Option<String>,

    /// Your email
    ///
    /// Sent as 'email'.
    #[arg(long, env = "BRINE_EMAIL")]
    pub email: Option<String>,

    /// Your student id (also --sid)
    ///
    /// Sent as 'sid': an int when all digits without a leading zero, else a str (--keys
    /// handout: 'student_id', always a str). Also accepted as --sid, --student_id, --id.
    #[arg(long, env = "BRINE_STUDENT_ID", value_name = "ID", aliases = STUDENT_ID_ALIASES)]
    pub student_id: Option<String>,

    /// Your GitHub user name
    ///
    /// Sent as 'github_username'. Also accepted as --github-username.
    #[arg(long, env = "BRINE_GITHUB", value_name = "USER", aliases = GITHUB_ALIASES)]
    pub github: Option<String>,

    /// lab (student_name, sid: the default) or handout (name, student_id)
    ///
    /// lab: the instructor's lab server reads student_name, email, sid, github_username.
    /// handout: servers written from the handout's example: name, email, student_id,
    /// github_username.
    #[arg(long, env = "BRINE_KEYS", value_enum, default_value_t = Keys::Lab, hide_possible_values = true, hide_default_value = true)]
    pub keys: Keys,

    /// Send an identity flag under another key (e.g. --key name=full_name)
    ///
    /// FLAG is name, email, student-id or github; repeatable.
    #[arg(long = "key", value_name = "FLAG=KEY", value_parser = parse_rename, hide_short_help = true)]
    pub renames: Vec<Rename>,

    /// An extra identity field: KEY=VALUE (a str) or KEY:=JSON (typed)
    ///
    /// KEY:=JSON reads the value as Python's json.loads does: 123, true, null, [1,2],
    /// {"a":1}, NaN, Infinity, "\ud800", integers up to 4300 digits; Python's standard
    /// types as `brine pickle encode` writes them (--help there): 'at:={"$datetime":
    /// "2026-12-06T14:00:00Z"}', 'price:={"$decimal": "9.99"}'. Repeatable, sent after the
    /// flags above, in order; a key given twice keeps its first place and its last value
    /// (--field sid=0042 keeps 'sid' a str).
    #[arg(long = "field", value_name = "KEY=VALUE|KEY:=JSON", value_parser = parse_field, hide_short_help = true)]
    pub fields: Vec<Field>,
}

/// Which keys the identity flags are sent as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Keys {
    /// The instructor's lab server: student_name, email, sid (int when all digits),
    /// github_username
    #[default]
    Lab,
    /// The handout's example: name, email, student_id (a str), github_username
    Handout,
}

/// An identity field from `--field`.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The key.
    pub key: String,
    /// The value (a str for KEY=VALUE; for KEY:=JSON what Python's `json.loads` makes of it).
    pub value: Python,
}

/// `KEY=VALUE` (str) or `KEY:=JSON` (typed), as httpie reads them.
fn parse_field(s: &str) -> Result<Field, String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE or KEY:=JSON, got '{s}'"))?;
    let (key, value) = match key.strip_suffix(':') {
        Some(key) => {
            let value = brine_json::parse(value).map_err(|e| {
                // A standard type's form with a value it does not take says so itself.
                let what = if e.starts_with("{\"$") {
                    ":"
                } else {
                    " is not valid JSON:"
                };
                format!("the value of '{key}'{what} {e}")
            })?;
            (key, value)
        }
        None => (key, Python::Str(value.as_bytes().to_vec())),
    };
    if key.is_empty() {
        return Err(format!("the key is empty in '{s}'"));
    }
    Ok(Field {
        key: key.to_owned(),
        value,
    })
}

/// An identity flag, as `--key FLAG=KEY` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    Name,
    Email,
    StudentId,
    Github,
}

impl Flag {
    const ALL: [(Flag, &'static str); 4] = [
        (Flag::Name, "name"),
        (Flag::Email, "email"),
        (Flag::StudentId, "student-id"),
        (Flag::Github, "github"),
    ];

    /// The key this flag is sent as under `keys`.
    fn key(self, keys: Keys) -> &'static str {
        match (self, keys) {
            (Flag::Name, Keys::Lab) => "student_name",
            (Flag::Name, Keys::Handout) => "name",
            (Flag::Email, _) => "email",
            (Flag::StudentId, Keys::Lab) => "sid",
            (Flag::StudentId, Keys::Handout) => "student_id",
            (Flag::Github, _) => "github_username",
        }
    }
}

/// `--key FLAG=KEY`: send `flag`'s value under `key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rename {
    pub flag: Flag,
    pub key: String,
}

/// `name=full_name`, `student-id=id` (also `student_id`).
pub fn parse_rename(s: &str) -> Result<Rename, String> {
    let (flag, key) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FLAG=KEY (e.g. name=full_name), got '{s}'"))?;
    let wanted = flag.trim_start_matches("--").replace('_', "-");
    let flag = Flag::ALL
        .iter()
        .find(|(_, name)| *name == wanted)
        .map(|(flag, _)| *flag)
        .ok_or_else(|| {
            format!("unknown flag '{flag}' in '{s}': expected name, email, student-id or github")
        })?;
    if key.is_empty() {
        return Err(format!("the key is empty in '{s}'"));
    }
    Ok(Rename {
        flag,
        key: key.to_owned(),
    })
}

/// A student id as the lab's template client sends it: an int when it is all digits without
/// a leading zero (and below 2^63), else the str as typed.
fn sid_value(id: &str) -> Python {
    let digits = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = id.len() > 1 && id.starts_with('0');
    match id.parse::<i64>() {
        Ok(n) if digits && !leading_zero => Python::Int(n.to_string()),
        _ => Python::Str(id.as_bytes().to_vec()),
    }
}

/// The identity dict: the flags given (name, email, student id, GitHub, in that order, under
/// the keys `--keys` and `--key` choose), then the `--field`s in order (a repeated key keeps
/// its first place and takes the last value). A `Python::Dict`.
pub fn identity(args: &IdentityArgs) -> Python {
    let mut entries: Vec<(Vec<u8>, Python)> = Vec::new();
    let mut put =
        |key: &str, value: Python| match entries.iter_mut().find(|(k, _)| k == key.as_bytes()) {
            Some(entry) => entry.1 = value,
            None => entries.push((key.as_bytes().to_vec(), value)),
        };
    let given = [
        (Flag::Name, &args.name),
        (Flag::Email, &args.email),
        (Flag::StudentId, &args.student_id),
        (Flag::Github, &args.github),
    ];
    for (flag, value) in given {
        let Some(value) = value else { continue };
        let key = args
            .renames
            .iter()
            .rev()
            .find(|r| r.flag == flag)
            .map_or(flag.key(args.keys), |r| r.key.as_str());
        let value = match (flag, args.keys) {
            (Flag::StudentId, Keys::Lab) => sid_value(value),
            _ => Python::Str(value.as_bytes().to_vec()),
        };
        put(key, value);
    }
    for field in &args.fields {
        put(&field.key, field.value.clone());
    }
    Python::Dict(entries)
}

/// The identity's keys (each from a command-line argument, so UTF-8).
pub fn keys(identity: &Python) -> Vec<String> {
    match identity {
        Python::Dict(entries) => entries
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// The identity's keys, as Python prints them: `'student_name', 'email'`.
pub fn keys_repr(identity: &Python) -> String {
    let keys: Vec<String> = keys(identity).iter().map(|k| repr_str(k)).collect();
    keys.join(", ")
}

/// A str's repr, through the codec (pickled and decoded, so it is Python's).
fn repr_str(text: &str) -> String {
    let mut buf = vec![0u8; text.len() + 64];
    let mut decoder: Decoder<4, 4, 4, 4> = Decoder::new();
    to_slice(text, &mut buf, Protocol::V4)
        .ok()
        .and_then(|bytes| decoder.decode(bytes).ok().map(|v| v.to_string()))
        .unwrap_or_else(|| format!("'{text}'"))
}

/// The identity as Python prints it (pickled and decoded again, so it is exactly what the
/// server will see), or why it cannot be sent.
pub fn identity_repr(identity: &Python, protocol: impl Into<Encoding>) -> Result<String, Fail> {
    identity_shown(identity, protocol, |value| value.to_string())
}

/// `show` of the identity as the server will see it: pickled with `protocol` and decoded
/// again; `Err` says why it cannot be sent.
pub fn identity_shown<T>(
    identity: &Python,
    protocol: impl Into<Encoding>,
    show: impl FnOnce(&Value<'_>) -> T,
) -> Result<T, Fail> {
    // The session's transmit buffer is 4096 bytes, the lab server's recv size.
    let mut buf = vec![0u8; 4096];
    let bytes = to_slice(identity, &mut buf, protocol).map_err(|e| {
        Fail::new(
            exit::USAGE,
            format!("cannot send this identity: {e} (the lab server reads at most 4096 bytes)"),
        )
    })?;
    // A server using brine's decoder would refuse what brine's decoder refuses (e.g. nesting
    // deeper than pickle::MAX_DEPTH): that identity is a usage error naming the limit.
    let mut decoder: Decoder = Decoder::new();
    let value = decoder.decode(bytes).map_err(|e| {
        Fail::new(
            exit::USAGE,
            format!("cannot send this identity: brine's own decoder refuses it: {e}"),
        )
    })?;
    Ok(show(&value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn identity_of(args: &[&str]) -> String {
        let cli = crate::Cli::try_parse_from([&["brine"], args].concat()).unwrap();
        identity_repr(&identity(&cli.connect.identity), Protocol::V4).unwrap()
    }

    #[test]
    fn lab_keys_by_default_and_sid_as_int_when_digits() {
        let all = [
            "--name",
            "Ada",
            "--email",
            "a@b.c",
            "--student-id",
            "917654321",
            "--github",
            "ada",
        ];
        assert_eq!(
            identity_of(&all),
            "{'student_name': 'Ada', 'email': 'a@b.c', 'sid': 917654321, 'github_username': 'ada'}"
        );
        assert_eq!(identity_of(&["--student-id", "0042"]), "{'sid': '0042'}");
        assert_eq!(identity_of(&["--student-id", "0"]), "{'sid': 0}");
        assert_eq!(identity_of(&["--student-id", "A123"]), "{'sid': 'A123'}");
        assert_eq!(
            identity_of(&["--student-id", "99999999999999999999"]),
            "{'sid': '99999999999999999999'}"
        );
        assert_eq!(
            identity_of(&[&all[..], &["--keys", "handout"]].concat()),
            "{'name': 'Ada', 'email': 'a@b.c', 'student_id': '917654321', 'github_username': 'ada'}"
        );
    }

    #[test]
    fn fields() {
        let str = |s: &str| Python::Str(s.as_bytes().to_vec());
        let f = parse_field("a=1").unwrap();
        assert_eq!((f.key.as_str(), f.value), ("a", str("1")));
        let f = parse_field("a:=1").unwrap();
        assert_eq!((f.key.as_str(), f.value), ("a", Python::Int("1".into())));
        let f = parse_field("url=x=y").unwrap();
        assert_eq!((f.key.as_str(), f.value), ("url", str("x=y")));
        let f = parse_field("tags:=[\"a\",2]").unwrap();
        assert_eq!(
            f.value,
            Python::List(vec![str("a"), Python::Int("2".into())])
        );
        // What Python's json.loads accepts beyond RFC 8259.
        let f = parse_field("x:=NaN").unwrap();
        assert!(matches!(f.value, Python::Float(x) if x.is_nan()));
        let f = parse_field("y:=\"\\ud800\"").unwrap();
        assert_eq!(f.value, Python::Str(vec![0xED, 0xA0, 0x80]));
        assert!(parse_field("novalue").is_err());
        assert!(parse_field("=x").is_err());
        assert!(parse_field("a:=nope").is_err());
        // Python's standard types, as `brine pickle encode` writes them; a bad form says why.
        let f = parse_field("at:={\"$datetime\": \"2026-12-06T14:00:00Z\"}").unwrap();
        assert!(matches!(f.value, Python::Standard(_)), "{:?}", f.value);
        let e = parse_field("r:={\"$range\": {\"stop\": 3, \"step\": 0}}").unwrap_err();
        assert!(e.contains("\"step\" must not be 0"), "{e}");
    }

    #[test]
    fn renames_and_fields() {
        assert_eq!(
            identity_of(&[
                "--name",
                "Ada",
                "--key",
                "name=full_name",
                "--student-id",
                "7",
                "--key",
                "student_id=id"
            ]),
            "{'full_name': 'Ada', 'id': 7}"
        );
        // A --field of the same key keeps the place and takes the value (here: sid as a str).
        assert_eq!(
            identity_of(&["--student-id", "7", "--github", "g", "--field", "sid=7"]),
            "{'sid': '7', 'github_username': 'g'}"
        );
        assert!(parse_rename("nick=x").is_err());
        assert!(parse_rename("name=").is_err());
        assert!(parse_rename("name").is_err());
    }
}
