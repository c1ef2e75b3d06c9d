//! Usage errors as a student meets them: a name typed without quotes, and `--format json`'s
//! error event carrying the message clap prints. Reads the raw (`OsString`) arguments, so an
//! argument that is not UTF-8 is compared, never unwrapped.

use std::ffi::{OsStr, OsString};

use crate::identity::{GITHUB_ALIASES, NAME_ALIASES, STUDENT_ID_ALIASES};

/// The subcommands: a word after a value that names one is clap's to judge.
const SUBCOMMANDS: [&str; 5] = ["pickle", "demo", "load", "logs", "help"];

/// `--format json` or `BRINE_FORMAT=json` on a command line clap refused.
pub fn json_requested(args: &[OsString]) -> bool {
    let flag = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json");
    flag || std::env::var_os("BRINE_FORMAT").is_some_and(|f| f == "json")
}

/// The identity flags that take one word, with their aliases, as typed (`--name`).
fn identity_flags() -> impl Iterator<Item = String> {
    ["name", "email", "student-id", "github"]
        .into_iter()
        .chain(NAME_ALIASES)
        .chain(STUDENT_ID_ALIASES)
        .chain(GITHUB_ALIASES)
        .map(|flag| format!("--{flag}"))
}

/// A word right after an identity flag's value that cannot be the server (`--name Jose
/// Ortiz`: no `:`, `.` or digits-only, not `localhost`, not a subcommand): the line that says
/// how to quote it. `None` when there is no such word.
pub fn stray_word(args: &[OsString]) -> Option<String> {
    let flags: Vec<String> = identity_flags().collect();
    let lossy = |a: &OsStr| a.to_string_lossy().into_owned();
    for (i, arg) in args.iter().enumerate() {
        let arg = lossy(arg);
        if arg == "--" {
            return None;
        }
        let (flag, value, next) = match arg.split_once('=') {
            Some((flag, value)) if flags.iter().any(|f| f == flag) => {
                (flag.to_owned(), value.to_owned(), i + 1)
            }
            None if flags.contains(&arg) => match args.get(i + 1) {
                Some(value) => (arg.clone(), lossy(value), i + 2),
                None => continue,
            },
            _ => continue,
        };
        let Some(word) = args.get(next).map(|w| lossy(w)) else {
            continue;
        };
        let address = word.contains([':', '.', '['])
            || word.bytes().all(|b| b.is_ascii_digit())
            || word.eq_ignore_ascii_case("localhost");
        if word.starts_with('-') || address || SUBCOMMANDS.contains(&word.as_str()) {
            continue;
        }
        return Some(format!(
            "'{word}' follows {flag} {value}: quote a value with spaces: {flag} \"{value} \
             {word}\" (a server named {word}: write {word}:PORT)"
        ));
    }
    None
}

/// The message clap prints for `error`, without `error: `, the usage and the `--help` line
/// (its tips joined with `; `): the `message` of a `--format json` usage error event.
pub fn clap_message(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let message = lines.join("; ");
    message
        .strip_prefix("error: ")
        .unwrap_or(&message)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_name_without_quotes() {
        let stray = stray_word(&args(&["brine", "--name", "Jose", "Ortiz"])).unwrap();
        assert!(stray.contains("--name \"Jose Ortiz\""), "{stray}");
        let stray = stray_word(&args(&["brine", "--name=Jose", "Ortiz", "h:1"])).unwrap();
        assert!(stray.contains("--name \"Jose Ortiz\""), "{stray}");
        assert!(stray_word(&args(&["brine", "--sid", "1", "two"])).is_some());
        // What can be the server, or a flag, or a subcommand, is not a stray word.
        for ok in [
            &["brine", "--name", "Jose", "10.0.0.5:12000"][..],
            &["brine", "--name", "Jose", "12000"],
            &["brine", "--name", "Jose", "localhost"],
            &["brine", "--name", "Jose", "lab.example.edu"],
            &["brine", "--name", "Jose", "--email", "e"],
            &["brine", "--name", "Jose Ortiz", "demo"],
            &["brine", "--name"],
            &["brine", "--", "--name", "a", "b"],
        ] {
            assert_eq!(stray_word(&args(ok)), None, "{ok:?}");
        }
    }
}
