//! Output against CPython's own Formatter.

use std::collections::BTreeMap;

use crate::common::{scratch_dir, send, sender, Logs};

/// Every LogRecord attribute, flags, widths, precisions, and the catalog's extra= fields.
const RICH: &str = "%(asctime)s|%(created)f|%(msecs)03d|%(relativeCreated)12.3f|%(levelno)+05d|\
%(levelname)-8.3s|%(name)-12s|%(pathname)s|%(filename)r|%(module)s|%(funcName)s|%(lineno)5d|\
%(thread)x|%(threadName)s|%(process)d|%(processName)s|%(user)s|%(count)03d|\
%(ratio).1e|%(tags)r|%(flag)s|%(nothing)s|%(big)d|%(raw)a|%(message)s";

/// The catalog through SocketHandler (or DatagramHandler): brine's stdout is exactly the
/// sender's Formatter output (the record with a datetime in extra= too: a standard type is
/// data); Ctrl-C exits 130.
fn catalog(brine_args: &[&str], python_args: &[&str], tz: &str) {
    let logs = Logs::start(brine_args, tz);
    let udp = brine_args.contains(&"--udp");
    let port = if udp { logs.udp_port } else { logs.tcp_port }.unwrap();
    let mut args = python_args.to_vec();
    if udp {
        args.insert(0, "--udp");
    }
    args.push("catalog");
    let expected = send(port, &args, tz);
    assert!(expected.lines().count() > 20, "{expected}");
    logs.wait_for_bytes(expected.len());
    let (code, got, notes) = logs.interrupt();
    assert_eq!(code, Some(130), "{notes:?}");
    assert_eq!(got, expected, "stderr: {notes:#?}");
    assert!(
        !notes.iter().any(|n| n.contains("skipped a record")),
        "{notes:#?}"
    );
}

#[test]
fn basic_format_over_tcp() {
    catalog(&[], &[], "UTC");
}

#[test]
fn every_attribute_with_a_datefmt() {
    let datefmt = "%a %d %b %Y %H:%M:%S %Z %z %p %j %%";
    catalog(
        &["--log-format", RICH, "--datefmt", datefmt],
        &["--fmt", RICH, "--datefmt", datefmt],
        "America/New_York",
    );
}

#[test]
fn default_asctime_in_a_half_hour_zone() {
    let fmt = "%(asctime)s %(levelname)-8s %(name)s: %(message)s";
    catalog(&["--log-format", fmt], &["--fmt", fmt], "Asia/Kolkata");
}

#[test]
fn datagram_handler() {
    catalog(
        &["--udp", "--log-format", RICH],
        &["--fmt", RICH],
        "Europe/Berlin",
    );
}

/// `--format json`: one object per record with every field the sender sent; `--record`
/// appends the same lines to a file (twice: two runs append).
#[test]
fn json_and_record_file() {
    let file = scratch_dir().join("records.jsonl");
    let file_arg = file.to_str().unwrap();
    let mut previous = String::new();
    for run in 0..2 {
        let logs = Logs::start(&["--format", "json", "--record", file_arg], "UTC");
        let expected = send(
            logs.tcp_port.unwrap(),
            &["--fmt", "%(levelno)d|%(name)s|%(message)s", "catalog"],
            "UTC",
        );
        let records = expected
            .lines()
            .filter(|l| l.split('|').count() >= 3 && l.starts_with(|c: char| c.is_ascii_digit()))
            .count();
        assert!(logs.wait_for_note("disconnected", 1));
        let (code, got, notes) = logs.interrupt();
        assert_eq!(code, Some(130), "{notes:?}");
        let lines: Vec<serde_json::Value> = got
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), records, "{got}");
        let first = &lines[0];
        assert_eq!(first["msg"], "debug message");
        assert_eq!(first["levelname"], "DEBUG");
        assert_eq!(first["levelno"], 10);
        assert_eq!(first["name"], "app.db");
        assert_eq!(first["args"], serde_json::Value::Null);
        assert_eq!(first["big"].to_string(), (1u128 << 100).to_string());
        assert_eq!(first["raw"], serde_json::json!({"bytes_hex": "00ff"}));
        assert!(first["created"].as_f64().unwrap() > 1.7e9);
        assert!(lines.iter().any(|l| l["exc_text"]
            .as_str()
            .is_some_and(|t| t.contains("KeyError: 'missing'"))));
        let recorded = std::fs::read_to_string(&file).unwrap();
        assert_eq!(recorded, format!("{previous}{got}"), "run {run}");
        previous = recorded;
    }
}

/// `--level` and `--name` keep what a handler at that level with `logging.Filter(name)` keeps.
#[test]
fn level_and_name_filters() {
    let fmt = "%(levelno)d|%(name)s|%(message)r";
    let logs = Logs::start(
        &["--log-format", fmt, "--level", "warning", "--name", "app"],
        "UTC",
    );
    let expected = send(logs.tcp_port.unwrap(), &["--fmt", fmt, "catalog"], "UTC");
    assert!(logs.wait_for_note("disconnected", 1));
    let (code, got, _) = logs.interrupt();
    assert_eq!(code, Some(130));
    let records = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| {
                l.split('|')
                    .next()
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .map(str::to_owned)
            .collect()
    };
    let want: Vec<String> = records(&expected)
        .into_iter()
        .filter(|l| {
            let mut f = l.split('|');
            let level: u32 = f.next().unwrap().parse().unwrap();
            let name = f.next().unwrap();
            level >= 30 && (name == "app" || name.starts_with("app."))
        })
        .collect();
    assert!(want.len() >= 5, "{want:?}");
    assert_eq!(records(&got), want);
}

/// Colour only when asked (stdout here is a file: `auto` means none).
#[test]
fn colour_by_level_when_asked() {
    let logs = Logs::start(&["--color", "always"], "UTC");
    let expected = send(logs.tcp_port.unwrap(), &["catalog"], "UTC");
    assert!(logs.wait_for_note("disconnected", 1));
    let (_, got, _) = logs.interrupt();
    assert!(got.contains("\x1b[33mWARNING:app.db:héllo"), "{got}");
    assert!(
        got.contains("\x1b[2mDEBUG:app.db:debug message\x1b[0m"),
        "{got}"
    );
    let plain: String = got
        .replace("\x1b[0m", "")
        .replace("\x1b[2m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[31m", "")
        .replace("\x1b[1;31m", "");
    assert_eq!(plain, expected);
}

/// 120 CPython processes at once, 4 threads each, 25 records per thread: every record
/// arrives, and each thread's records in the order it logged them.
#[test]
fn many_processes_and_threads_at_once() {
    const PROCESSES: usize = 120;
    let fmt = "%(process)d %(thread)d %(threadName)s %(message)s";
    let logs = Logs::start(&["--log-format", fmt, "-q"], "UTC");
    let port = logs.tcp_port.unwrap();
    let senders: Vec<_> = (0..PROCESSES)
        .map(|_| {
            sender(
                port,
                &["--fmt", fmt, "load", "--threads", "4", "--records", "25"],
                "UTC",
            )
        })
        .collect();
    let mut expected = String::new();
    for child in senders {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        expected.push_str(&String::from_utf8(out.stdout).unwrap());
    }
    assert_eq!(expected.lines().count(), PROCESSES * 4 * 25);
    logs.wait_for_bytes(expected.len());
    let (code, got, notes) = logs.interrupt();
    assert_eq!(code, Some(130), "{notes:?}");
    let by_thread = |text: &str| {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in text.lines() {
            // Process and thread name (thread ids are reused within a process).
            let key: Vec<&str> = line.splitn(4, ' ').collect();
            map.entry(format!("{} {}", key[0], key[2]))
                .or_default()
                .push(line.to_owned());
        }
        map
    };
    let (want, got) = (by_thread(&expected), by_thread(&got));
    assert_eq!(want.len(), PROCESSES * 4);
    assert_eq!(got, want);
}
