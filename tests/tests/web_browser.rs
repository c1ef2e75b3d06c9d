//! `brine-server --web ... --record ...` seen by a real browser: Debian's chromium, headless,
//! driven through chromedriver (WebDriver, with fantoccini), against the real `brine-server`
//! and `brine` binaries over 127.0.0.1. chromium and chromedriver must be installed
//! (`bash scripts/test install` does it); a missing one fails the test.
//!
//! Set `BRINE_SCREENSHOT=FILE.png` to save the page with a few clients (docs/projector.png
//! is made so).

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use brine_e2e::{brine_server_bin, scratch_dir, spawn_brine, Proc, DEADLINE, IDENTITY_ARGS};
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

/// The issue's bound: a client's name is on the page this soon after it connects.
const ON_PAGE: Duration = Duration::from_secs(2);
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const HOSTILE: &str = "<script>alert(1)</script>";

/// chromedriver in a process group of its own; dropping it kills the group (the driver and
/// the browser it started), so a failed test leaves no browser behind.
struct Driver {
    proc: Option<Proc>,
    pgid: u32,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        assert!(
            std::path::Path::new(CHROMEDRIVER).is_file()
                && std::path::Path::new(CHROMIUM).is_file(),
            "{CHROMEDRIVER} and {CHROMIUM} are needed: run `bash scripts/test install` \
             (Debian packages chromium and chromium-driver)"
        );
        let mut command = Command::new(CHROMEDRIVER);
        command.arg("--port=0").process_group(0);
        let mut proc = Proc::spawn("chromedriver", command);
        let pgid = proc.id();
        let line = proc.wait_line(DEADLINE, |l| l.contains("started successfully on port"));
        let port = line
            .trim_end_matches('.')
            .rsplit(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("chromedriver's port not in {line:?}"));
        Driver {
            proc: Some(proc),
            pgid,
            port,
        }
    }

    /// A headless chromium session with a fresh profile. The flags keep it from reaching for
    /// the network (this machine has none) and from stalling on first-run work.
    async fn browser(&self, profile: &std::path::Path) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1600,900", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        tokio::time::timeout(
            DEADLINE,
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{}", self.port)),
        )
        .await
        .expect("chromium did not start within the deadline")
        .expect("a WebDriver session with headless chromium")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.pgid)])
            .status();
        drop(self.proc.take());
    }
}

/// `brine-server 127.0.0.1:0 --web WEB --record RECORD`, and the web page's address.
fn server(web: &str, record: &std::path::Path) -> (Proc, String) {
    let mut command = Command::new(brine_server_bin());
    command
        .args(["127.0.0.1:0", "--web", web, "--record"])
        .arg(record);
    let mut proc = Proc::spawn("brine-server", command);
    let line = proc.wait_line(DEADLINE, |l| l.starts_with("Web page on "));
    let url = line["Web page on ".len()..].to_owned();
    (proc, url)
}

/// The lab's address, as the snapshot gives it.
fn lab_addr(snapshot: &Value) -> String {
    snapshot["lab"][0]
        .as_str()
        .expect("the lab's address")
        .to_owned()
}

/// The page's table, as the browser shows it: one object per row.
async fn rows(browser: &Client) -> Vec<Value> {
    let script = r#"
        return [...document.querySelectorAll('#clients tr')].map((tr) => ({
            id: Number(tr.dataset.id),
            name: tr.querySelector('.name').textContent,
            sid: tr.querySelector('.sid').textContent,
            github: tr.querySelector('.github').textContent,
            state: tr.querySelector('.state').textContent,
            elements: tr.querySelectorAll('td *').length,
        }));"#;
    match browser.execute(script, vec![]).await.expect("run a script") {
        Value::Array(rows) => rows,
        other => panic!("rows: {other:?}"),
    }
}

/// Polls the page until `check` holds for its rows; returns how long that took. Fails with
/// the rows after `within`.
async fn wait_rows(
    browser: &Client,
    within: Duration,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let rows = rows(browser).await;
        if check(&rows) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{what}: not on the page within {within:?}; the rows: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn text(browser: &Client, id: &str) -> String {
    browser
        .execute(
            &format!("return document.getElementById('{id}').textContent"),
            vec![],
        )
        .await
        .expect("read an element")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn wait_text(browser: &Client, id: &str, want: &str) {
    let start = Instant::now();
    while text(browser, id).await != want {
        assert!(
            start.elapsed() < DEADLINE,
            "#{id} is {:?}, not {want:?}",
            text(browser, id).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn named<'a>(rows: &'a [Value], name: &str) -> Option<&'a Value> {
    rows.iter().find(|row| row["name"] == name)
}

fn brine(lab: &str, identity: &[&str]) -> Proc {
    let mut args = vec![lab];
    args.extend(identity);
    spawn_brine(&args)
}

#[tokio::test(flavor = "current_thread")]
async fn the_projector_page_in_headless_chromium() {
    let dir = scratch_dir("web");
    let record = dir.join("attendance.csv");
    let driver = Driver::start();
    let browser = driver.browser(&dir.join("profile")).await;

    let (server_proc, url) = server("127.0.0.1:0", &record);
    let snapshot = get_json(&url, "api/snapshot").await;
    assert_eq!(snapshot["clients"], json!([]), "{snapshot}");
    let lab = lab_addr(&snapshot);

    browser.goto(&url).await.expect("load the page");
    wait_text(&browser, "status", "live").await;
    assert_eq!(text(&browser, "lab").await, lab);
    // A loopback lab: the page says students cannot reach it, and how to start it so.
    let warning = text(&browser, "warning").await;
    assert!(
        warning.starts_with(&format!(
            "students cannot reach the lab server at {lab}: it listens on loopback, which only \
             this machine can reach. Start it as brine-server 0.0.0.0:"
        )),
        "{warning}"
    );

    // The README's identity flags (whatever keys brine sends for them by default).
    let started = Instant::now();
    let jose = brine(&lab, &IDENTITY_ARGS);
    wait_rows(&browser, DEADLINE, "Jose Ortiz", |rows| {
        named(rows, "Jose Ortiz").is_some()
    })
    .await;
    let shown_after = started.elapsed();
    assert!(
        shown_after <= ON_PAGE,
        "Jose Ortiz appeared {shown_after:?} after brine started, over {ON_PAGE:?}"
    );
    let row = named(&rows(&browser).await, "Jose Ortiz").cloned().unwrap();
    assert_eq!(
        (&row["sid"], &row["github"], &row["state"]),
        (&json!("917654321"), &json!("jortiz"), &json!("identified")),
        "{row}"
    );

    // The instructor's key set (sid an int) and the handout's, through --field only.
    let ana = brine(
        &lab,
        &[
            "--field",
            "student_name=Ana Lopez",
            "--field",
            "sid:=917000001",
            "--field",
            "github_username=analo",
        ],
    );
    let bo = brine(
        &lab,
        &[
            "--field",
            "name=Bo Chen",
            "--field",
            "student_id=917000002",
            "--field",
            "github=bochen",
        ],
    );
    let hostile = brine(
        &lab,
        &[
            "--field",
            &format!("student_name={HOSTILE}"),
            "--field",
            "sid=<b>1</b>",
        ],
    );
    wait_rows(&browser, ON_PAGE, "three more clients", |rows| {
        ["Ana Lopez", "Bo Chen", HOSTILE]
            .iter()
            .all(|n| named(rows, n).is_some())
    })
    .await;
    let rows_now = rows(&browser).await;
    let ana_row = named(&rows_now, "Ana Lopez").unwrap();
    assert_eq!(
        (&ana_row["sid"], &ana_row["github"]),
        (&json!("917000001"), &json!("analo"))
    );
    let bo_row = named(&rows_now, "Bo Chen").unwrap();
    assert_eq!(
        (&bo_row["sid"], &bo_row["github"]),
        (&json!("917000002"), &json!("bochen"))
    );
    // The hostile identity is text: no element inside any cell, only the page's own script,
    // and no alert open (WebDriver would refuse the script above with one open).
    let evil = named(&rows_now, HOSTILE).unwrap();
    assert_eq!(
        (&evil["sid"], &evil["elements"]),
        (&json!("<b>1</b>"), &json!(0)),
        "{evil}"
    );
    let scripts = browser
        .execute("return document.scripts.length", vec![])
        .await
        .unwrap();
    assert_eq!(scripts, json!(1));

    // Disconnect: marked gone.
    let jose_id = row["id"].clone();
    jose.kill();
    wait_rows(&browser, ON_PAGE, "Jose Ortiz gone", |rows| {
        rows.iter()
            .any(|r| r["id"] == jose_id && r["state"] == "gone")
    })
    .await;
    // A connection that has not identified (yet): connected, no name.
    let lurker = std::net::TcpStream::connect(&lab).expect("connect to the lab");
    wait_rows(&browser, ON_PAGE, "a client not identified", |rows| {
        rows.iter()
            .any(|r| r["state"] == "connected" && r["name"] == "")
    })
    .await;

    if let Some(path) = std::env::var_os("BRINE_SCREENSHOT") {
        let png = browser.screenshot().await.expect("a screenshot");
        std::fs::write(&path, png).expect("write the screenshot");
    }

    // The record holds the rows, the first process is killed (SIGKILL) and nothing is lost.
    let web_port = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    drop((ana, bo, hostile, lurker));
    let killed = server_proc.kill();
    let record_text = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<&str> = record_text.lines().collect();
    assert_eq!(lines[0], brine_server::CSV_HEADER, "{record_text}");
    assert_eq!(
        lines.len(),
        5,
        "a header and four rows\n{record_text}\n{killed}"
    );
    let jose_line = lines.iter().find(|l| l.contains("Jose Ortiz")).unwrap();
    assert!(
        jose_line.contains(&format!(",{jose_id},")) && jose_line.contains(",917654321,jortiz,"),
        "{jose_line}"
    );
    assert!(
        record_text.contains(",Ana Lopez,917000001,analo,"),
        "{record_text}"
    );
    assert!(
        record_text.contains(&format!(",{HOSTILE},<b>1</b>,,")),
        "{record_text}"
    );

    // The page notices, and after a restart on the same web address shows the new server's
    // state (its snapshot), not the old rows.
    wait_text(&browser, "status", "reconnecting…").await;
    let (server_proc, _) = server(&format!("127.0.0.1:{web_port}"), &record);
    wait_text(&browser, "status", "live").await;
    let snapshot = get_json(&url, "api/snapshot").await;
    let lab = lab_addr(&snapshot);
    let _carla = brine(
        &lab,
        &[
            "--field",
            "student_name=Carla Diaz",
            "--field",
            "sid=917000003",
        ],
    );
    wait_rows(&browser, ON_PAGE, "Carla Diaz after the restart", |rows| {
        rows.len() == 1 && named(rows, "Carla Diaz").is_some()
    })
    .await;
    wait_text(&browser, "lab", &lab).await;
    drop(server_proc);
    let record_text = std::fs::read_to_string(&record).unwrap();
    assert_eq!(
        record_text.matches("time,client_id").count(),
        1,
        "{record_text}"
    );
    assert!(
        record_text.contains(",Carla Diaz,917000003,,"),
        "{record_text}"
    );

    browser.close().await.expect("close the browser");
    drop(driver);
    let _ = std::fs::remove_dir_all(&dir);
}

/// GET `url` + `path` as JSON (the JSON endpoint, as a script would read it).
async fn get_json(url: &str, path: &str) -> Value {
    use http_body_util::BodyExt;
    use hyper_util::client::legacy::Client;
    let client = Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<hyper::body::Bytes>>();
    let uri: hyper::Uri = format!("{url}{path}").parse().unwrap();
    let response = tokio::time::timeout(DEADLINE, client.get(uri))
        .await
        .expect("the snapshot within the deadline")
        .expect("GET the snapshot");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes();
    serde_json::from_slice(&body).expect("the snapshot is JSON")
}
