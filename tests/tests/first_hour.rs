//! The first hour (issue 26) across both binaries: no argument or environment value makes
//! `brine`, any of its subcommands or `brine-server` panic.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::process::{Command, Stdio};

use brine_e2e::{brine_bin, brine_server_bin, Proc, DEADLINE};

/// `Jos\xe9`: Latin-1 "José", not UTF-8.
fn latin1() -> OsString {
    OsString::from_vec(b"Jos\xe9".to_vec())
}

/// Runs `bin ARGS` with `env` (no BRINE_* of the caller's) and stdin closed; its exit code
/// and output. A panic (status 101) or a signal fails the test.
fn run(bin: &Path, args: &[OsString], env: &[(&str, OsString)]) -> (i32, String, String) {
    let mut command = Command::new(bin);
    command.args(args).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BRINE_") {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let finished =
        Proc::spawn(&format!("{} {args:?} {env:?}", bin.display()), command).wait(DEADLINE);
    let code = finished
        .code()
        .unwrap_or_else(|| panic!("killed by a signal\n{finished}"));
    let (out, err) = (finished.stdout.join("\n"), finished.stderr.join("\n"));
    assert_ne!(code, 101, "a panic\n{finished}");
    assert!(!err.contains("panicked"), "a panic\n{finished}");
    (code, out, err)
}

fn os(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

#[test]
fn no_command_panics_on_an_argument_that_is_not_utf8() {
    let bad = latin1();
    // Each command line with the bad value in each place a student may type one.
    let brine_lines: [&[&str]; 12] = [
        &["BAD"],
        &["127.0.0.1:1", "--name", "BAD"],
        &["127.0.0.1:1", "--field", "BAD"],
        &["127.0.0.1:1", "--key", "BAD"],
        &["127.0.0.1:1", "--format", "json", "--email", "BAD"],
        &["pickle", "encode", "--protocol", "BAD"],
        &["pickle", "decode", "BAD"],
        &["demo", "BAD"],
        &["load", "BAD"],
        &["load", "127.0.0.1:1", "--name", "BAD"],
        &["help", "BAD"],
        &["--BAD"],
    ];
    for line in brine_lines {
        let args: Vec<OsString> = line
            .iter()
            .map(|a| match *a {
                "BAD" => bad.clone(),
                "--BAD" => OsString::from_vec(b"--\xff".to_vec()),
                a => a.into(),
            })
            .collect();
        let (code, out, err) = run(brine_bin(), &args, &[]);
        assert_eq!(code, 2, "{line:?}: {err}");
        let at = 1 + args.iter().position(|a| a.to_str().is_none()).unwrap();
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("error: argument {at}"))
                && first.contains("is not valid UTF-8"),
            "{line:?}: {err}"
        );
        if line.contains(&"json") {
            assert!(
                out.starts_with(r#"{"event":"error","kind":"usage","code":2,"#),
                "{out}"
            );
        } else {
            assert!(out.is_empty(), "{line:?}: {out}");
        }
    }

    // Every environment variable brine reads, for the client and for each subcommand.
    let help = run(brine_bin(), &os(&["--help"]), &[]).1;
    let vars: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Environment"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(vars.len() >= 13 && vars.contains(&"BRINE_NAME"), "{vars:?}");
    for var in &vars {
        for args in [&["127.0.0.1:1"][..], &["load", "127.0.0.1:1"], &["demo"]] {
            let (code, _, err) = run(brine_bin(), &os(args), &[(var, bad.clone())]);
            assert_eq!(code, 2, "{var} {args:?}: {err}");
            assert_eq!(
                err,
                format!(
                    "error: the environment variable {var} is not valid UTF-8: 'Jos\\xe9' (text \
                     must be UTF-8)"
                ),
                "{args:?}"
            );
        }
    }

    // brine-server: the address, each text flag; a file name may be any bytes.
    for line in [
        &["BAD"][..],
        &["127.0.0.1:0", "--send", "BAD"],
        &["127.0.0.1:0", "--send-json", "BAD"],
        &["127.0.0.1:0", "--web", "BAD"],
        &["127.0.0.1:0", "--protocol", "BAD"],
    ] {
        let args: Vec<OsString> = line
            .iter()
            .map(|a| if *a == "BAD" { bad.clone() } else { a.into() })
            .collect();
        let (code, out, err) = run(brine_server_bin(), &args, &[]);
        assert_eq!(code, 2, "{line:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.starts_with("brine-server: argument ")
                && err.contains("is not valid UTF-8: 'Jos\\xe9'"),
            "{line:?}: {err}"
        );
    }
    // A non-UTF-8 --record path passes that check; the bad port then stops it cleanly.
    let args = vec!["99999".into(), "--record".into(), bad.clone()];
    let (code, _, err) = run(brine_server_bin(), &args, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("invalid value '99999'"), "{err}");
}
