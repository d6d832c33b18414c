//! # provlog-e2e
//!
//! Harness of the end-to-end and crash tests (`tests/`): the real `provlog` binary started as a
//! child process on `127.0.0.1:0`, a fresh PostgreSQL database per test, and the key, verifier
//! key and admin token files `provlog serve` reads, in a temporary directory.
//!
//! The binary is `target/<profile>/provlog` next to the test executable (cargo builds it for
//! `cargo test --workspace`, since provlog-cli has integration tests); when it is missing or
//! older than the sources, [`provlog_bin`] runs `cargo build -p provlog-cli --bin provlog` first.
//! `PROVLOG_BIN` overrides the path.

pub mod chain;
pub mod load;
pub mod pg;
pub mod proxy;
pub mod security;
pub mod source_chains;
pub mod stack;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use provlog_client::Client;
use provlog_core::checkpoint::{TrustedKeys, VerifierKey};
use sqlx::{Connection, PgConnection};

/// The workspace root (this crate is `tests/e2e`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Path of the `provlog` binary, built first when missing or stale (once per process).
pub fn provlog_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("PROVLOG_BIN") {
            return PathBuf::from(path);
        }
        // target/<profile>/deps/<test>-<hash> → target/<profile>/provlog
        let exe = std::env::current_exe().expect("the test executable's path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test executable lives in target/<profile>/deps");
        let bin = profile_dir.join(format!("provlog{}", std::env::consts::EXE_SUFFIX));
        if is_stale(&bin) {
            build_provlog(profile_dir);
        }
        assert!(bin.exists(), "{} was not built", bin.display());
        bin
    })
    .clone()
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Newest modification time of the files under `dir`.
fn newest(dir: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(dir).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "target")
        .filter_map(|e| newest(&e.path()))
        .max()
}

/// Whether the binary is missing or older than a source it may be built from.
fn is_stale(bin: &Path) -> bool {
    let Some(built) = mtime(bin) else {
        return true;
    };
    let root = workspace_root();
    let sources = [
        root.join("Cargo.lock"),
        root.join("Cargo.toml"),
        root.join("crates"),
        root.join("migrations"),
    ];
    sources.iter().filter_map(|p| newest(p)).any(|t| t > built)
}

fn build_provlog(profile_dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["build", "-p", "provlog-cli", "--bin", "provlog"]);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
    }
    if let Some(target_dir) = profile_dir.parent() {
        cmd.arg("--target-dir").arg(target_dir);
    }
    eprintln!("building the provlog binary: {cmd:?}");
    let status = cmd.status().expect("running cargo build");
    assert!(status.success(), "cargo build -p provlog-cli failed");
}

/// Runs `provlog ARGS` to completion.
pub fn provlog(args: &[&str]) -> Output {
    Command::new(provlog_bin())
        .args(args)
        .env_clear_provlog()
        .output()
        .expect("running provlog")
}

/// Runs `provlog ARGS`, which must succeed; its standard output.
pub fn provlog_ok(args: &[&str]) -> String {
    let out = provlog(args);
    assert!(
        out.status.success(),
        "provlog {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("provlog prints UTF-8")
}

/// An exit code (-1 for a signal), standard output and standard error.
pub fn outcome(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Runs `provlog verify receipt FILE --key <the fixture's verifier key> EXTRA`.
pub fn verify_receipt(fx: &Fixture, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        "receipt",
        file.to_str().expect("a UTF-8 temp path"),
        "--key",
        fx.vkey_file.to_str().expect("a UTF-8 temp path"),
    ];
    args.extend_from_slice(extra);
    provlog(&args)
}

/// Settings held as `(name, String)` pairs, borrowed as [`Server::start`] takes them.
pub fn env_refs<'a>(env: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

trait ClearProvlogEnv {
    fn env_clear_provlog(&mut self) -> &mut Self;
}

impl ClearProvlogEnv for Command {
    /// Drops inherited `PROVLOG_*` variables so the developer's settings do not leak in.
    fn env_clear_provlog(&mut self) -> &mut Self {
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PROVLOG_") {
                self.env_remove(name);
            }
        }
        self
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A database of its own for one test, created on `DATABASE_URL`'s server.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    /// URL of the new database.
    pub url: String,
    admin_url: String,
}

impl TestDb {
    pub async fn create(tag: &str) -> TestDb {
        let admin_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!("provlog_e2e_{tag}_{}_{nanos}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {admin_url}: {e}"));
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("creating the test database");
        let _ = admin.close().await;
        TestDb {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        }
    }

    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .expect("connecting to the test database")
    }

    /// Drops the database now (also done on drop, e.g. when a test panics; set
    /// `PROVLOG_E2E_KEEP_DB=1` to keep it for a look).
    pub async fn drop_db(mut self) {
        let name = std::mem::take(&mut self.name);
        drop_database(&self.admin_url, &name).await;
    }
}

async fn drop_database(admin_url: &str, name: &str) {
    if name.is_empty() || std::env::var_os("PROVLOG_E2E_KEEP_DB").is_some() {
        return;
    }
    if let Ok(mut admin) = PgConnection::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await;
        let _ = admin.close().await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), std::mem::take(&mut self.name));
        // Its own thread and runtime: this may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_database(&admin_url, &name));
            }
        })
        .join();
    }
}

/// Files `provlog serve` reads: signing key (from `provlog keygen`), verifier key, admin token.
#[derive(Debug)]
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub origin: String,
    pub key_file: PathBuf,
    /// `name+hexid+base64`, as `provlog keygen` printed it.
    pub vkey: String,
    pub vkey_file: PathBuf,
    pub token: String,
    pub token_file: PathBuf,
}

impl Fixture {
    pub fn new(origin: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let key_file = dir.path().join("log.key");
        let out = provlog(&[
            "keygen",
            "--name",
            origin,
            "--out",
            key_file.to_str().expect("a UTF-8 temp path"),
        ]);
        assert!(
            out.status.success(),
            "provlog keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vkey = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let vkey_file = dir.path().join("log.vkey");
        std::fs::write(&vkey_file, format!("{vkey}\n")).expect("writing the verifier key");
        let token = format!("e2e-admin-token-{}", std::process::id());
        let token_file = dir.path().join("admin.token");
        write_private(&token_file, &token);
        Fixture {
            dir,
            origin: origin.to_string(),
            key_file,
            vkey,
            vkey_file,
            token,
            token_file,
        }
    }

    /// The `error` of every `internal error` the servers of this fixture logged (their JSON logs
    /// share `server.log`), in order.
    pub fn server_internal_errors(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.path("server.log")).unwrap_or_default();
        log.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["fields"]["message"] == "internal error")
            .map(|v| {
                v["fields"]["error"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    pub fn trusted(&self) -> TrustedKeys {
        TrustedKeys::new([self
            .vkey
            .parse::<VerifierKey>()
            .expect("keygen's verifier key")])
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Writes a new file readable by its owner only (as `provlog serve` demands of secrets).
pub fn write_private(path: &Path, text: &str) {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).expect("creating a secret file");
    file.write_all(text.as_bytes())
        .expect("writing a secret file");
}

/// A running `provlog serve`.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    stdout_log: PathBuf,
}

impl Server {
    /// Starts `provlog serve` on `127.0.0.1:0` over `db_url` and waits for its listening line.
    /// `env` adds or overrides `PROVLOG_*` settings. Standard output (JSON logs) is appended to
    /// `server.log` in the fixture's directory.
    pub fn start(fx: &Fixture, db_url: &str, env: &[(&str, &str)]) -> Server {
        Server::try_start(fx, db_url, env).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Server::start`], failing with the server's standard error when it exits (or hangs)
    /// before listening.
    pub fn try_start(fx: &Fixture, db_url: &str, env: &[(&str, &str)]) -> Result<Server, String> {
        let stdout_log = fx.path("server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stdout_log)
            .expect("opening server.log");
        let mut cmd = Command::new(provlog_bin());
        cmd.arg("serve")
            .env_clear_provlog()
            .env("PROVLOG_LISTEN", "127.0.0.1:0")
            .env("PROVLOG_DATABASE_URL", db_url)
            .env("PROVLOG_ORIGIN", &fx.origin)
            .env("PROVLOG_SIGNING_KEY_FILE", &fx.key_file)
            .env("PROVLOG_ADMIN_TOKEN_FILE", &fx.token_file)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("starting provlog serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().expect("piped stderr");
        let seen = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("provlog listening on http://") {
                    let _ = tx.send(addr.trim().to_string());
                }
                if let Ok(mut s) = seen.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(addr) => break addr,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().ok();
                    // The reader thread may still hold the last lines.
                    std::thread::sleep(Duration::from_millis(50));
                    return Err(format!(
                        "provlog serve exited before listening ({status:?}):\n{}",
                        stderr.lock().map(|s| s.clone()).unwrap_or_default()
                    ));
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("provlog serve did not start listening within 60 s".into());
            }
        };
        Ok(Server {
            child,
            addr: addr
                .parse()
                .map_err(|e| format!("listening address {addr:?}: {e}"))?,
            stderr,
            stdout_log,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client of this server with the admin token.
    pub fn client(&self, fx: &Fixture) -> Client {
        Client::new(&self.url())
            .expect("the server's URL")
            .with_token(fx.token.clone())
    }

    /// `kill -9`: no shutdown, no lease release, connections cut.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaping the server");
    }

    /// SIGTERM, then waits for the exit (SIGKILL and a panic after `timeout`).
    pub fn terminate(mut self, timeout: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill -TERM");
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the server") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "provlog serve ignored SIGTERM for {timeout:?}:\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the server printed: its standard error and the tail of its JSON log.
    pub fn logs(&self) -> String {
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let log = std::fs::read_to_string(&self.stdout_log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "--- stderr\n{stderr}--- server.log (tail)\n{}",
            tail.join("\n")
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A count from the environment variable `name` (`all` is no limit), or `default` when unset.
pub fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name).as_deref() {
        Ok("all") => usize::MAX,
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a count")),
        Err(_) => default,
    }
}

/// Polls `check` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_urls_get_the_new_name() {
        for (url, want) in [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgres://postgres@127.0.0.1:5432",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgres://u:p@h/db?sslmode=disable",
                "postgres://u:p@h/x?sslmode=disable",
            ),
        ] {
            assert_eq!(with_database(url, "x"), want);
        }
    }
}
