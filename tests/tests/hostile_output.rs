//! Issue 12, the client's side: expansion bombs, terminal injection, a reset right after the
//! data, exit codes. The real `brine` binary against `tests/servers/hostile_server.py`, run
//! by a python3 wrapper that limits its address space to 256 MiB (`RLIMIT_AS`) and reports
//! its peak RSS (`ru_maxrss`), so "bounded" is measured, not assumed.

use std::process::Command;
use std::time::Duration;

use brine_e2e::{
    brine_bin, event_kinds, hostile_server, json_events, Finished, Proc, Server, IDENTITY_ARGS,
};

const BEFORE: &str = "'message before the fault'";
const AFTER: &str = "'message after the fault'";
/// brine's per-message output limit (examples/client: `MESSAGE_OUTPUT_LIMIT`).
const LIMIT: usize = 1 << 20;
/// "Done when": the bombs leave the client under 64 MB RSS.
const MAX_RSS_KIB: u64 = 64 * 1000;
/// A bomb costs at most 1 MiB of output: a debug build does both in about 3 s, 15 s on a
/// 2-core machine at load 14 (before: 2 GB and an abort, or many minutes of big-int
/// printing, 13 min for the int bomb in a release build).
const TIME_BOUND: Duration = Duration::from_secs(60);

/// Runs `brine ARGS` under `RLIMIT_AS` = 256 MiB with `stdin` (a file, or nothing); the
/// wrapper's last stderr line is `MAXRSS_KIB <n>`, which is taken off and returned.
fn run_limited(args: &[&str], stdin: Option<&[u8]>) -> (Finished, u64) {
    let input = stdin.map(|bytes| {
        let path = brine_e2e::scratch_dir("hostile_output").join(format!(
            "stdin-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, bytes).unwrap();
        path
    });
    let mut command = Command::new("python3");
    command.arg("-c").arg(
        "import resource, subprocess, sys\n\
         limit = 256 << 20\n\
         resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n\
         stdin = open(sys.argv[1], 'rb') if sys.argv[1] else subprocess.DEVNULL\n\
         code = subprocess.run(sys.argv[2:], stdin=stdin).returncode\n\
         rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n\
         print('MAXRSS_KIB', rss, file=sys.stderr)\n\
         sys.exit(code if code >= 0 else 128 - code)\n",
    );
    command
        .arg(
            input
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string()),
        )
        .arg(brine_bin())
        .args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BRINE_") {
            command.env_remove(key);
        }
    }
    let name = format!("brine {}", args.join(" "));
    let mut finished = Proc::spawn(&name, command).wait(TIME_BOUND + Duration::from_secs(10));
    let rss = finished
        .stderr
        .pop()
        .and_then(|line| line.strip_prefix("MAXRSS_KIB ")?.parse().ok())
        .unwrap_or_else(|| panic!("the wrapper reported no MAXRSS_KIB\n{finished}"));
    assert!(
        finished.code().is_some_and(|c| c < 128),
        "brine died of a signal (out of memory?)\n{finished}"
    );
    assert!(
        !finished.stderr.iter().any(|l| l.contains("panicked")),
        "brine panicked\n{finished}"
    );
    (finished, rss)
}

fn run_against(server: &Server, extra: &[&str]) -> (Finished, u64) {
    let addr = server.addr();
    let mut args = vec![addr.as_str()];
    args.extend(IDENTITY_ARGS);
    args.extend(extra);
    run_limited(&args, None)
}

/// hostile_server.py's bombs, by name (`STR_BOMB`, ...), as bytes.
fn bomb(name: &str) -> Vec<u8> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sys; sys.path.insert(0, sys.argv[1]); import hostile_server as h; \
             sys.stdout.write(h.{name}.hex())"
        ))
        .arg(brine_e2e::workspace_dir().join("tests/servers"))
        .output()
        .expect("python3 must be installed");
    let hex = String::from_utf8(out.stdout).unwrap();
    assert!(!hex.is_empty(), "no bomb {name}");
    (0..hex.len())
        .step_by(2)
        .map(|k| u8::from_str_radix(&hex[k..k + 2], 16).unwrap())
        .collect()
}

/// Asserts `line` is a cut repr: at most LIMIT bytes of it, then the marker.
fn assert_cut(line: &str, starts: &str) {
    let marker = format!("…[cut: its repr is longer than {LIMIT} bytes]");
    assert!(line.starts_with(starts), "{}", &line[..80.min(line.len())]);
    assert!(line.ends_with(&marker), "{}", &line[line.len() - 80..]);
    assert!(line.len() <= LIMIT + marker.len(), "{}", line.len());
    assert!(line.len() >= LIMIT - 4 + marker.len(), "{}", line.len());
}

/// Issue 12's bombs (2**19 references to a 1000-byte bytes object or a 4299-digit int) are
/// refused by the decoder's expansion limit (16 MiB of leaves) and skipped with the reason;
/// smaller ones within that limit (8 MiB, 8.8 MB of digits) are decoded and their repr cut at
/// the 1 MiB output limit; the message after them is delivered.
#[test]
fn expansion_bombs_are_skipped_or_cut_within_bounds_and_the_next_message_is_delivered() {
    let server = hostile_server("bombs", &[]);
    let (brine, rss) = run_against(&server, &[]);
    let server = server.wait();
    brine.assert_code(0);
    assert_eq!(brine.stdout.len(), 5, "{server}");
    assert_eq!(brine.stdout[1], BEFORE);
    let skipped: Vec<&String> = brine
        .stderr
        .iter()
        .filter(|l| l.starts_with("skipped"))
        .collect();
    assert_eq!(skipped.len(), 2, "{brine}");
    for (line, len) in skipped.iter().zip([1142, 1927]) {
        assert!(
            line.starts_with(&format!("skipped a {len}-byte message: ")),
            "{line}"
        );
        assert!(line.contains("after expanding shared references"), "{line}");
    }
    // B is BINBYTES: 2**13 references to a 1000-byte bytes object.
    assert_cut(&brine.stdout[2], "[[[[[[[[[[[[[b'\\x00\\x00");
    // 2**11 references to a 4299-digit int.
    assert_cut(&brine.stdout[3], "[[[[[[[[[[[2554512816627950703245");
    assert_eq!(brine.stdout[4], AFTER);
    assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB\n{brine}");
    assert!(brine.elapsed < TIME_BOUND, "{:?}\n{brine}", brine.elapsed);
}

#[test]
fn expansion_bombs_in_json_are_skipped_with_the_reason() {
    let server = hostile_server("bombs", &[]);
    let (brine, rss) = run_against(&server, &["--format", "json"]);
    drop(server.wait());
    brine.assert_code(0);
    let events = json_events(&brine);
    let kinds = event_kinds(&events);
    assert_eq!(
        kinds,
        [
            "connected",
            "client_id",
            "sent",
            "message",
            "skipped",
            "skipped",
            "skipped",
            "skipped",
            "message",
            "closed"
        ],
        "{brine}"
    );
    for (event, len) in events[4..6].iter().zip([1142, 1927]) {
        assert_eq!(event["bytes"], len, "{event}");
        let reason = event["reason"].as_str().unwrap();
        assert!(
            reason.contains("after expanding shared references"),
            "{event}"
        );
    }
    let too_long = serde_json::json!({
        "event": "skipped",
        "reason": format!("its JSON is longer than {LIMIT} bytes")
    });
    assert_eq!(events[6], too_long);
    assert_eq!(events[7], too_long);
    assert_eq!(events[8]["value"], "message after the fault");
    assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB\n{brine}");
    assert!(brine.elapsed < TIME_BOUND, "{:?}\n{brine}", brine.elapsed);
}

#[test]
fn pickle_decode_of_the_bombs_is_bounded_too() {
    let mut input = bomb("STR_BOMB_DECODED");
    input.extend(bomb("INT_BOMB_DECODED"));
    input.extend(b"\x80\x04K\x07.");
    let (brine, rss) = run_limited(&["pickle", "decode"], Some(&input));
    brine.assert_code(0);
    assert_eq!(brine.stdout.len(), 3, "{brine}");
    assert_cut(&brine.stdout[0], "[[[[[[[[[[[[[b'\\x00");
    assert_cut(&brine.stdout[1], "[[[[[[[[[[[2554512816627950703245");
    assert_eq!(brine.stdout[2], "7");
    assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB\n{brine}");
    assert!(brine.elapsed < TIME_BOUND, "{:?}\n{brine}", brine.elapsed);
    let (json, _) = run_limited(&["pickle", "decode", "--format", "json"], Some(&input));
    json.assert_code(0);
    let cut = format!("{{\"cut\":\"its JSON is longer than {LIMIT} bytes\"}}");
    assert_eq!(json.stdout, [cut.as_str(), cut.as_str(), "7"], "{json}");
    // Issue 12's own bytes: refused (exit 5, a local file's first bad pickle ends decode).
    for name in ["STR_BOMB", "INT_BOMB"] {
        let (refused, rss) = run_limited(&["pickle", "decode"], Some(&bomb(name)));
        refused.assert_code(5);
        refused.assert_stderr_has("after expanding shared references");
        assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB\n{refused}");
    }
}

/// Issue 12 point 7: a str client id that forges a message line and clears the terminal's line.
#[test]
fn control_characters_from_the_server_never_reach_the_terminal_raw() {
    let evil = "1\n'Server got the data'\x1b[2K";
    let server = hostile_server("half-close", &["--client-id-text", evil]);
    let (brine, _) = run_against(&server, &[]);
    drop(server.wait());
    brine.assert_code(0);
    assert_eq!(
        brine.stdout,
        [
            "Assigned client id by server: 1\\n'Server got the data'\\x1b[2K",
            BEFORE,
            AFTER
        ],
        "{brine}"
    );
    let all = brine.stdout.iter().chain(&brine.stderr);
    assert!(all.clone().all(|l| !l.contains('\x1b')), "{brine}");

    let server = hostile_server("half-close", &["--client-id-text", evil]);
    let (json, _) = run_against(&server, &["--format", "json"]);
    drop(server.wait());
    json.assert_code(0);
    assert_eq!(
        json.stdout[1],
        r#"{"event":"client_id","value":"1\n'Server got the data'\u001b[2K"}"#
    );
}

/// Issue 12 point 5: the id and a message, then a reset before brine even sent its
/// identity: both are printed, then "reset" (exit 6), never "could not connect" (exit 3).
#[test]
fn what_arrived_before_a_reset_is_printed_then_exit_6() {
    for round in 0..8 {
        let server = hostile_server("id-reset", &[]);
        let (brine, _) = run_against(&server, &[]);
        drop(server.wait());
        assert_eq!(
            brine.stdout,
            ["Assigned client id by server: 54321", BEFORE],
            "round {round}\n{brine}"
        );
        brine.assert_code(6);
        brine.assert_stderr_has("error: the server reset the connection");
    }
}

#[test]
fn bad_timeouts_and_identities_brine_would_refuse_are_usage_errors() {
    let (brine, _) = run_limited(&["127.0.0.1:9", "--idle-timeout", "0.0000000001"], None);
    brine.assert_code(2);
    brine.assert_stderr_has("below one nanosecond");
    let deep = format!("x:={}{}", "[".repeat(100), "]".repeat(100));
    let (brine, _) = run_limited(&["127.0.0.1:9", "--field", &deep], None);
    brine.assert_code(2);
    brine.assert_stderr_has("more than 64 nesting depth");
}
