//! Issue 22 end to end: the chat project's menu server (tests/servers/chat_menu_server.py)
//! under every CPython 3.8-3.13, through the real `brine` binary: its menu object is shown as
//! an inert stub (text and JSON) with one note, the standard types it sends as data; with
//! `--refuse-objects` the menu is skipped and the next message printed.

use brine_e2e::{json_events, pyenv_python, python_server, run_brine_at};

const NOTE: &str =
    "note: objects of classes brine does not know are shown as inert stubs; nothing is imported or run";

#[test]
fn the_chat_projects_menu_prints_as_a_stub_under_every_cpython() {
    for minor in 8..=13 {
        let python = pyenv_python(minor);
        let server = python_server(&python, "chat_menu_server.py", &[], &[]);
        let brine = run_brine_at(&server.addr(), &[]);
        let server = server.wait();
        brine.assert_code(0).assert_stderr_has(NOTE);
        assert_eq!(
            brine.stdout,
            [
                "Assigned client id by server: 7",
                "{'message': 'menu', 'menu': <menu.Menu object {'client': None}>}",
                "{'when': datetime.datetime(2026, 12, 6, 14, 0, tzinfo=datetime.timezone.utc), \
                 'price': Decimal('9.99'), 'tags': OrderedDict([('a', 1)])}",
            ],
            "3.{minor}\n{brine}\n{server}"
        );
        assert_eq!(
            brine.stderr.iter().filter(|l| l.contains(NOTE)).count(),
            1,
            "{brine}"
        );
    }
}

#[test]
fn the_menu_in_json_carries_the_class_name() {
    let server = python_server(
        std::path::Path::new("python3"),
        "chat_menu_server.py",
        &[],
        &[],
    );
    let brine = run_brine_at(&server.addr(), &["--format", "json"]);
    server.wait();
    brine.assert_code(0);
    let events = json_events(&brine);
    let messages: Vec<_> = events.iter().filter(|e| e["event"] == "message").collect();
    assert_eq!(messages.len(), 2, "{brine}");
    assert_eq!(
        messages[0]["value"],
        serde_json::json!({"message": "menu", "menu": {"$object": "menu.Menu", "args": [], "state": {"client": null}}}),
        "{brine}"
    );
    assert_eq!(
        messages[1]["value"],
        serde_json::json!({"when": "2026-12-06T14:00:00+00:00", "price": "9.99", "tags": {"a": 1}}),
        "{brine}"
    );
}

#[test]
fn refuse_objects_skips_the_menu_and_goes_on() {
    let server = python_server(
        std::path::Path::new("python3"),
        "chat_menu_server.py",
        &[],
        &[],
    );
    let brine = run_brine_at(&server.addr(), &["--refuse-objects"]);
    server.wait();
    brine
        .assert_code(0)
        .assert_stderr_has("refused STACK_GLOBAL of menu.Menu");
    assert_eq!(brine.stdout.len(), 2, "{brine}");
    assert!(
        brine.stdout[1].starts_with("{'when': datetime.datetime("),
        "{brine}"
    );
}
