//! Helpers for brine's end-to-end tests: the real `brine` binary against real servers (the
//! CPython lab servers in `servers/lab_server.py` and the `brine-server` binary), over
//! 127.0.0.1 only.
//!
//! # Finding the binaries
//!
//! `brine` and `brine-server` belong to other packages, so Cargo gives this package no
//! `CARGO_BIN_EXE_*` for them. The first test that needs one runs, once per test process
//! (a [`OnceLock`]), through escargot, the Cargo that runs the tests (`$CARGO`):
//!
//! ```text
//! $CARGO build --message-format=json --manifest-path <workspace>/Cargo.toml -p brine-cli \
//!     -p brine-server --quiet --bins
//! ```
//!
//! and takes each binary's path from the `executable` field of Cargo's `compiler-artifact`
//! messages (escargot decodes them). Cargo itself says where it put them, so nothing is guessed: `CARGO_TARGET_DIR`,
//! `--target-dir` or `build.target` in a config file are all honoured, and the binaries
//! are never stale (after `cargo test --workspace` they are up to date and the build takes a
//! fraction of a second).
//!
//! # Processes
//!
//! Every child is a [`Proc`]: stdin is closed (or a pipe the test writes to), stdout and
//! stderr are read line by line by two threads, every wait has a deadline after which the
//! child is killed and the test fails with everything the child printed, and a `Proc` that is
//! dropped (a test that failed half-way) kills its child, so no test leaves a process behind.
//!
//! `python3` must be on `PATH`: a missing `python3` fails the tests, it never skips them.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

/// The identity flags every test gives brine.
pub const IDENTITY_ARGS: [&str; 8] = [
    "--name",
    "Jose Ortiz",
    "--email",
    "jose@sfsu.edu",
    "--student-id",
    "917654321",
    "--github",
    "jortiz",
];

/// What a Python server prints for [`IDENTITY_ARGS`]: `repr` of the dict brine sends (the
/// lab server's keys, brine's default `--keys lab`).
pub const IDENTITY_REPR: &str = "{'student_name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', \
                                 'sid': 917654321, 'github_username': 'jortiz'}";

/// The same identity under `--keys handout`.
pub const IDENTITY_REPR_HANDOUT: &str = "{'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', \
                                         'student_id': '917654321', 'github_username': 'jortiz'}";

/// How long any one process may take before it is killed and the test fails. Every run in
/// these tests takes well under a second; the margin is for a loaded CI machine.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The paths of the two binaries.
struct Bins {
    brine: PathBuf,
    server: PathBuf,
}

fn bins() -> &'static Bins {
    static BINS: OnceLock<Bins> = OnceLock::new();
    BINS.get_or_init(build_bins)
}

/// The `brine` binary (built on first use).
pub fn brine_bin() -> &'static Path {
    &bins().brine
}

/// The `brine-server` binary (built on first use).
pub fn brine_server_bin() -> &'static Path {
    &bins().server
}

fn build_bins() -> Bins {
    let manifest = workspace_dir().join("Cargo.toml");
    // escargot runs `$CARGO build --message-format=json` (the Cargo running the tests).
    let messages = escargot::CargoBuild::new()
        .manifest_path(&manifest)
        .package("brine-cli")
        .args(["-p", "brine-server", "--quiet"])
        .bins()
        .exec()
        .unwrap_or_else(|e| panic!("cannot build brine and brine-server: {e}"));
    let (mut brine, mut server) = (None, None);
    for message in messages {
        let message = message.unwrap_or_else(|e| panic!("cargo build failed: {e}"));
        let Ok(escargot::format::Message::CompilerArtifact(artifact)) = message.decode() else {
            continue;
        };
        let Some(executable) = artifact.executable else {
            continue;
        };
        match artifact.target.name.as_ref() {
            "brine" => brine = Some(PathBuf::from(executable.as_ref())),
            "brine-server" => server = Some(PathBuf::from(executable.as_ref())),
            _ => {}
        }
    }
    let found = |path: Option<PathBuf>, name: &str| {
        let path = path.unwrap_or_else(|| panic!("cargo build reported no `{name}` executable"));
        assert!(path.is_file(), "{} does not exist", path.display());
        path
    };
    Bins {
        brine: found(brine, "brine"),
        server: found(server, "brine-server"),
    }
}

/// The workspace root (this package is `<workspace>/tests`).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `tests/servers/lab_server.py`.
pub fn lab_server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/lab_server.py")
}

/// A fresh, empty directory for one test's files (under the system's temporary directory).
pub fn scratch_dir(test: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("brine-e2e-{test}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// A child process with its output read on threads, killed when dropped.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    started: Instant,
    /// Stdout lines as they arrive, for [`Proc::wait_line`].
    lines: Receiver<String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

/// How a process ended, and everything it printed.
#[derive(Debug)]
pub struct Finished {
    pub name: String,
    pub status: ExitStatus,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    /// From spawning to the end of the process.
    pub elapsed: Duration,
}

impl Finished {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Fails the test, showing everything, unless the exit code is `code`.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), Some(code), "{} exit code\n{self}", self.name);
        self
    }

    /// Whether a stderr line contains `text`.
    pub fn stderr_has(&self, text: &str) -> bool {
        self.stderr.iter().any(|line| line.contains(text))
    }

    /// Fails the test, showing everything, unless a stderr line contains `text`.
    pub fn assert_stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr_has(text),
            "{}: no stderr line contains {text:?}\n{self}",
            self.name
        );
        self
    }
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "--- {} ({}, after {:?})",
            self.name, self.status, self.elapsed
        )?;
        for line in &self.stdout {
            writeln!(f, "stdout| {line}")?;
        }
        for line in &self.stderr {
            writeln!(f, "stderr| {line}")?;
        }
        Ok(())
    }
}

fn read_lines(
    pipe: impl Read + Send + 'static,
    sink: Arc<Mutex<Vec<String>>>,
    tx: Option<mpsc::Sender<String>>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(pipe).split(b'\n') {
            let Ok(line) = line else { break };
            let line = String::from_utf8_lossy(&line)
                .trim_end_matches('\r')
                .to_owned();
            sink.lock().unwrap().push(line.clone());
            if let Some(tx) = &tx {
                let _ = tx.send(line);
            }
        }
    })
}

impl Proc {
    /// Starts `command` with stdin closed and stdout/stderr captured. `name` labels it in
    /// failure messages.
    pub fn spawn(name: &str, command: Command) -> Proc {
        Proc::spawn_with_stdin(name, command, false)
    }

    /// As [`Proc::spawn`]; with `piped_stdin`, stdin is a pipe ([`Proc::stdin`]).
    pub fn spawn_with_stdin(name: &str, mut command: Command, piped_stdin: bool) -> Proc {
        command
            .stdin(if piped_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = mpsc::channel();
        let readers = vec![
            read_lines(child.stdout.take().unwrap(), stdout.clone(), Some(tx)),
            read_lines(child.stderr.take().unwrap(), stderr.clone(), None),
        ];
        Proc {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            started,
            lines,
            stdout,
            stderr,
            readers,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The process's stdin, when spawned with a piped one.
    pub fn stdin(&mut self) -> &mut ChildStdin {
        self.stdin.as_mut().expect("spawned without a piped stdin")
    }

    fn snapshot(&self) -> String {
        let mut text = format!("--- {} (still running)\n", self.name);
        for line in self.stdout.lock().unwrap().iter() {
            text += &format!("stdout| {line}\n");
        }
        for line in self.stderr.lock().unwrap().iter() {
            text += &format!("stderr| {line}\n");
        }
        text
    }

    /// The next stdout line for which `matches` holds (lines before it are passed over, but
    /// stay in the full output); fails the test after `timeout`.
    pub fn wait_line(&mut self, timeout: Duration, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if matches(&line) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: no expected stdout line within {timeout:?}\n{}",
                    self.name,
                    self.snapshot()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    // Stdout closed: the process is ending; show how.
                    let status = self.child.wait().ok();
                    panic!(
                        "{}: stdout ended ({status:?}) without the expected line\n{}",
                        self.name,
                        self.snapshot()
                    )
                }
            }
        }
    }

    /// Waits for the process to end by itself; after `timeout` it is killed and the test
    /// fails with everything it printed.
    pub fn wait(mut self, timeout: Duration) -> Finished {
        let status = match self.child.wait_timeout(timeout) {
            Ok(Some(status)) => status,
            Ok(None) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{} did not end within {timeout:?}: killed\n{}",
                    self.name,
                    self.snapshot()
                );
            }
            Err(e) => panic!("{}: wait failed: {e}", self.name),
        };
        self.finish(status)
    }

    /// Kills the process (a server that runs until interrupted) and returns its output.
    pub fn kill(mut self) -> Finished {
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait after kill");
        self.finish(status)
    }

    fn finish(&mut self, status: ExitStatus) -> Finished {
        let elapsed = self.started.elapsed();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        Finished {
            name: self.name.clone(),
            status,
            stdout: std::mem::take(&mut *self.stdout.lock().unwrap()),
            stderr: std::mem::take(&mut *self.stderr.lock().unwrap()),
            elapsed,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A running server and the loopback port it listens on.
pub struct Server {
    pub proc: Proc,
    pub port: u16,
}

impl Server {
    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits for the server to end by itself (bounded by [`DEADLINE`]).
    pub fn wait(self) -> Finished {
        self.proc.wait(DEADLINE)
    }
}

/// Starts `python3 tests/servers/lab_server.py --mode MODE --port 0 EXTRA...` and reads its
/// `PORT <n>` line. Fails (never skips) when `python3` cannot be run.
pub fn lab_server(mode: &str, extra: &[&str]) -> Server {
    let mut command = Command::new("python3");
    command
        .arg("-u")
        .arg(lab_server_script())
        .args(["--mode", mode, "--port", "0"])
        // Bounded even if a test never connects, and well inside DEADLINE.
        .args(["--accept-timeout", "10", "--timeout", "10"])
        .args(extra);
    serve(
        &format!("python3 lab_server.py --mode {mode}"),
        command,
        false,
    )
}

/// Starts `python3 tests/servers/course_servers.py --style STYLE --port 0` (servers written
/// as the course's instructor and students write them) and reads its `PORT <n>` line. It
/// ends by itself after 120 s; tests kill it ([`Proc::kill`]) to read what it printed.
pub fn course_server(style: &str) -> Server {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/course_servers.py");
    let mut command = Command::new("python3");
    command
        .arg("-u")
        .arg(script)
        .args(["--style", style, "--port", "0", "--lifetime", "120"]);
    serve(
        &format!("python3 course_servers.py --style {style}"),
        command,
        false,
    )
}

/// `tests/servers/hostile_server.py`.
pub fn hostile_server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/hostile_server.py")
}

/// Starts `python3 tests/servers/hostile_server.py --mode MODE --port 0 EXTRA...` and reads
/// its `PORT <n>` line. Fails (never skips) when `python3` cannot be run.
pub fn hostile_server(mode: &str, extra: &[&str]) -> Server {
    let mut command = Command::new("python3");
    command
        .arg("-u")
        .arg(hostile_server_script())
        .args(["--mode", mode, "--port", "0"])
        .args(["--accept-timeout", "10", "--timeout", "10"])
        .args(extra);
    serve(
        &format!("python3 hostile_server.py --mode {mode}"),
        command,
        false,
    )
}

/// Starts `brine ARGS...` as [`spawn_brine`] does, with its address space limited to
/// `limit_kib` KiB (`ulimit -v` in `sh`), so an allocation the size a hostile peer claims
/// fails (and the test with it) instead of going unnoticed.
pub fn spawn_brine_limited(args: &[&str], limit_kib: u64) -> Proc {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -v {limit_kib} && exec \"$0\" \"$@\""))
        .arg(brine_bin())
        .args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BRINE_") {
            command.env_remove(key);
        }
    }
    Proc::spawn(
        &format!("brine {} (ulimit -v {limit_kib})", args.join(" ")),
        command,
    )
}

/// Starts `brine-server 127.0.0.1:0 EXTRA...` (stdin piped, for broadcasts) and reads the
/// port from its first line, `Listening on 127.0.0.1:PORT (pickle protocol P)`. It runs until
/// killed ([`Proc::kill`], or dropped).
pub fn brine_server(extra: &[&str]) -> Server {
    let mut command = Command::new(brine_server_bin());
    command.arg("127.0.0.1:0").args(extra);
    let mut proc = Proc::spawn_with_stdin("brine-server", command, true);
    let first = proc.wait_line(Duration::from_secs(10), |_| true);
    let port = first
        .strip_prefix("Listening on 127.0.0.1:")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("brine-server's first line is unexpected: {first:?}"));
    Server { proc, port }
}

/// Starts `brine ARGS...` (no environment settings of its own leak in: every `BRINE_*`
/// variable is removed).
pub fn spawn_brine(args: &[&str]) -> Proc {
    let mut command = Command::new(brine_bin());
    command.args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BRINE_") {
            command.env_remove(key);
        }
    }
    Proc::spawn(&format!("brine {}", args.join(" ")), command)
}

/// Runs `brine ARGS...` to its end (killed, and the test failed, after [`DEADLINE`]).
pub fn run_brine(args: &[&str]) -> Finished {
    spawn_brine(args).wait(DEADLINE)
}

/// `brine ADDR <identity flags> EXTRA...` to its end.
pub fn run_brine_at(addr: &str, extra: &[&str]) -> Finished {
    let mut args = vec![addr];
    args.extend(IDENTITY_ARGS);
    args.extend(extra);
    run_brine(&args)
}

/// The lab server's `SENT <repr>` lines, as reprs.
pub fn sent(server: &Finished) -> Vec<&str> {
    prefixed(server, "SENT ")
}

/// The lab server's `IDENTITY <repr>` lines, as reprs.
pub fn identities(server: &Finished) -> Vec<&str> {
    prefixed(server, "IDENTITY ")
}

fn prefixed<'a>(server: &'a Finished, prefix: &str) -> Vec<&'a str> {
    server
        .stdout
        .iter()
        .filter_map(|line| line.strip_prefix(prefix))
        .collect()
}

/// Fails unless the lab server ended in order: exit 0, no `ERROR` line, a `CLOSED` line.
pub fn assert_lab_server_ok(server: &Finished) {
    assert_eq!(server.code(), Some(0), "lab server exit code\n{server}");
    assert!(
        !server.stdout.iter().any(|l| l.starts_with("ERROR")),
        "lab server printed an ERROR\n{server}"
    );
    assert!(
        server.stdout.iter().any(|l| l == "CLOSED"),
        "lab server printed no CLOSED\n{server}"
    );
}

/// The `"event"` of each JSON event, in order (e.g. `["connected", "client_id", ...]`).
pub fn event_kinds(events: &[serde_json::Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or("(no event)"))
        .collect()
}

/// Every stdout line of `brine --format json`, parsed; fails unless each is a JSON object
/// with a str `"event"`.
pub fn json_events(brine: &Finished) -> Vec<serde_json::Value> {
    brine
        .stdout
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line: {line:?}: {e}\n{brine}"));
            assert!(
                value["event"].is_string(),
                "a JSON line without a str \"event\": {line:?}\n{brine}"
            );
            value
        })
        .collect()
}

/// brine's first stdout line in text format, for a client id whose repr is `id`.
pub fn client_id_line(id: &str) -> String {
    format!("Assigned client id by server: {id}")
}

/// Fails (never skips) unless `qemu-system-arm` runs and the Rust `target` is installed: the
/// firmware tests need both (`bash scripts/test` installs them).
pub fn require_firmware_tools(target: &str) {
    let qemu = Command::new("qemu-system-arm").arg("--version").output();
    assert!(
        qemu.as_ref().is_ok_and(|out| out.status.success()),
        "qemu-system-arm is needed to boot the firmware ({qemu:?}); install it (Debian: \
         apt-get install qemu-system-arm) or run bash scripts/test, which does"
    );
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc runs");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    let lib = Path::new(&sysroot).join("lib/rustlib").join(target);
    assert!(
        lib.is_dir(),
        "the {target} target is needed to build the firmware ({} is missing): rustup target \
         add {target} (bash scripts/test does)",
        lib.display()
    );
}

/// Builds `bins` of examples/firmware (release, `thumbv7m-none-eabi`, its own workspace) with
/// `args` (e.g. `["--features", "embassy"]`) and the build-time settings `env` into
/// `examples/firmware/target/<target_dir>` (the default build there is left alone); returns
/// the directory of the ELFs. Fails the test, with cargo's output, when the build fails.
pub fn build_firmware(
    args: &[&str],
    bins: &[&str],
    target_dir: &str,
    env: &[(&str, &str)],
) -> PathBuf {
    const TARGET: &str = "thumbv7m-none-eabi";
    require_firmware_tools(TARGET);
    let dir = workspace_dir().join("examples/firmware");
    let target_dir = dir.join("target").join(target_dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&dir)
        .args(["build", "--release"])
        .args(args)
        .args(bins.iter().flat_map(|bin| ["--bin", bin]))
        .arg("--target-dir")
        .arg(&target_dir)
        // The outer cargo's settings are for the host workspace, not this build.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .envs(env.iter().copied())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building the firmware {bins:?} ({args:?}) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir.join(TARGET).join("release")
}

/// Boots an Ethernet firmware `elf` under QEMU's lm3s6965evb on QEMU's user-mode network
/// (`-nic user,model=stellaris`: the firmware reaches the host's 127.0.0.1 at 10.0.2.2) with
/// semihosting, and waits for QEMU to exit (killed, and the test failed, after `limit`).
pub fn boot_net_firmware(elf: &Path, limit: Duration) -> Finished {
    let mut qemu = Command::new("qemu-system-arm");
    qemu.args(["-machine", "lm3s6965evb", "-cpu", "cortex-m3"])
        .args(["-nographic", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .args(["-serial", "null", "-nic", "user,model=stellaris"])
        .arg("-kernel")
        .arg(elf);
    let name = elf.file_name().unwrap().to_string_lossy().into_owned();
    let run = Proc::spawn(&name, qemu).wait(limit);
    eprintln!("{run}");
    run
}

/// Starts `PYTHON -u tests/servers/SCRIPT ARGS...` and reads its `PORT <n>` first line
/// (`python` is `python3` or a path from [`pyenv_python`]). Fails, never skips, when it
/// cannot be run. `env` is added to its environment (e.g. an authkey variable).
pub fn python_server(python: &Path, script: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("servers")
        .join(script);
    let mut command = Command::new(python);
    command
        .arg("-u")
        .arg(path)
        .args(args)
        .envs(env.iter().copied());
    let name = format!("{} {script} {}", python.display(), args.join(" "));
    serve(&name, command, true)
}

/// Spawns a Python test server (`command`) and reads the port from its first line, `PORT
/// <n>`. brine and brine-server are built first: the servers stop waiting for a client after
/// their accept timeout (10 s), and a first build that takes longer (a loaded machine, or
/// cargo's lock held by another build) would leave nothing listening when brine connects.
fn serve(name: &str, command: Command, piped_stdin: bool) -> Server {
    bins();
    let mut proc = Proc::spawn_with_stdin(name, command, piped_stdin);
    let first = proc.wait_line(Duration::from_secs(10), |_| true);
    let port = first
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{name}: first line is not `PORT <n>`: {first:?}"));
    Server { proc, port }
}

/// The newest pyenv CPython `3.MINOR.*` (`$(pyenv root)/versions/3.MINOR.*/bin/python`), e.g.
/// `pyenv_python(12)` for the `{sha256}` handshake. Fails the test when none is installed.
pub fn pyenv_python(minor: u32) -> PathBuf {
    let root = Command::new("pyenv")
        .arg("root")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))
        .expect("pyenv root: neither `pyenv` nor $HOME");
    let prefix = format!("3.{minor}.");
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join("versions"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path().join("bin/python"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "no CPython 3.{minor} under {}/versions (pyenv install 3.{minor})",
            root.display()
        )
    })
}
