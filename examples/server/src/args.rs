//! The command lines of `brine-server` and the `brine` CLI: text that is not UTF-8, named
//! for the user (clap's own error names neither the argument nor the variable), and help
//! texts kept within 100 columns.

use std::ffi::{OsStr, OsString};

/// The first of `args` (the program's name first, skipped), or of the environment variables
/// `envs`, that is not UTF-8: the line naming it, its bytes escaped (`'Jos\xe9'`). The value
/// of a flag in `paths` (a file name) may be any bytes.
pub fn not_utf8(args: &[OsString], envs: &[String], paths: &[&str]) -> Option<String> {
    for (i, arg) in args.iter().enumerate().skip(1) {
        let flag = args
            .get(i - 1)
            .and_then(|a| a.to_str())
            .filter(|f| i > 1 && f.starts_with('-'));
        if arg.to_str().is_some() || flag.is_some_and(|f| paths.contains(&f)) {
            continue;
        }
        let of = flag.map_or_else(String::new, |f| format!(" (the value of {f})"));
        return Some(format!(
            "argument {i}{of} is not valid UTF-8: '{}' (text must be UTF-8; check the \
             terminal's or the script's encoding)",
            escaped(arg)
        ));
    }
    envs.iter().find_map(|name| {
        let value = std::env::var_os(name)?;
        value.to_str().is_none().then(|| {
            format!(
                "the environment variable {name} is not valid UTF-8: '{}' (text must be UTF-8)",
                escaped(&value)
            )
        })
    })
}

/// `text` with each byte that is not UTF-8 as `\xNN`.
fn escaped(text: &OsStr) -> String {
    let mut out = String::new();
    for chunk in text.as_encoded_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// `cmd` and its subcommands with every long text wrapped to 100 columns.
pub fn fit_help(cmd: clap::Command) -> clap::Command {
    let about = cmd.get_long_about().map(|a| wrap(&a.to_string(), 90));
    let mut cmd = cmd.mut_args(|a| {
        let long = a.get_long_help().map(|h| wrap(&h.to_string(), 88));
        match long {
            Some(long) => a.long_help(long),
            None => a,
        }
    });
    if let Some(about) = about {
        cmd = cmd.long_about(about);
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, fit_help);
    }
    cmd
}

/// `text` with its lines broken at spaces to at most `width` columns (clap indents them
/// under the option: 10 columns in `--help`, so 88 keeps every line within 100).
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut column = 0;
        for word in line.split(' ') {
            if column > 0 && column + 1 + word.len() > width {
                out.push('\n');
                column = 0;
            } else if column > 0 {
                out.push(' ');
                column += 1;
            }
            out.push_str(word);
            column += word.len();
        }
    }
    out
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn names_the_argument() {
        let args = |list: Vec<Vec<u8>>| -> Vec<OsString> {
            list.into_iter().map(OsString::from_vec).collect()
        };
        let bad = args(vec![b"x".to_vec(), b"--send".to_vec(), b"Jos\xe9".to_vec()]);
        assert_eq!(
            not_utf8(&bad, &[], &[]).unwrap(),
            "argument 2 (the value of --send) is not valid UTF-8: 'Jos\\xe9' (text must be \
             UTF-8; check the terminal's or the script's encoding)"
        );
        assert_eq!(not_utf8(&bad, &[], &["--send"]), None);
        let bare = args(vec![b"x".to_vec(), b"\xff".to_vec()]);
        assert!(not_utf8(&bare, &[], &[])
            .unwrap()
            .starts_with("argument 1 is not"));
        assert_eq!(not_utf8(&args(vec![b"x".to_vec()]), &[], &[]), None);
    }
}
