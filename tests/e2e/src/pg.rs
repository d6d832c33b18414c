//! A private PostgreSQL cluster for tests that stop, crash or restart the database server (the
//! shared server of `DATABASE_URL` must never be touched: other tests run on it).
//!
//! `initdb` into a temporary directory, trust authentication, listening on a free port of
//! 127.0.0.1 with its unix socket in the same directory; `pg_ctl -w` starts and stops it. When
//! the test runs as root (PostgreSQL refuses to), every command runs as the `postgres` user
//! through `runuser`, and the directory is handed to that user.
//!
//! The server binaries come from `PROVLOG_PG_BINDIR` when set, else from the newest
//! `/usr/lib/postgresql/<version>/bin` (Debian and Ubuntu), else from `pg_config --bindir`,
//! else from `PATH`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How `pg_ctl stop` shuts the server down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// `-m fast`: open transactions are rolled back, clients are disconnected
    /// (`57P01 terminating connection due to administrator command`), a clean checkpoint.
    Fast,
    /// `-m immediate`: every server process quits at once, no checkpoint; the next start
    /// recovers from the WAL, as after a crash or a power cut.
    Immediate,
}

impl StopMode {
    fn arg(self) -> &'static str {
        match self {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        }
    }
}

/// A PostgreSQL cluster of one test; stopped (immediately) and deleted on drop.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bindir: Option<PathBuf>,
    /// Run the server commands as this user (`runuser -u`), when the test runs as root.
    run_as: Option<String>,
    pub port: u16,
    running: bool,
}

/// The directory of `initdb` and `pg_ctl`, if one is known (else they are looked up on `PATH`).
pub fn pg_bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PROVLOG_PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin);
    if newest.is_some() {
        return newest;
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && dir.join("initdb").exists()).then_some(dir)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0")
}

impl PrivatePostgres {
    /// Creates the cluster (`initdb`) and starts it.
    pub fn start() -> PrivatePostgres {
        let dir = tempfile::Builder::new()
            .prefix("provlog-pg-")
            .tempdir()
            .expect("a temporary directory");
        let run_as = is_root().then(|| "postgres".to_string());
        if let Some(user) = &run_as {
            let status = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path())
                .status()
                .expect("running chown");
            assert!(status.success(), "chown {user} {}", dir.path().display());
        }
        let mut pg = PrivatePostgres {
            dir,
            bindir: pg_bindir(),
            run_as,
            port: free_port(),
            running: false,
        };
        let data = pg.data_dir();
        let out = pg.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
        );
        assert!(out.status.success(), "initdb: {}", describe(&out));
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             max_connections = 100\nfsync = on\nlogging_collector = off\n",
            pg.port,
            path_str(pg.dir.path())
        );
        let status = pg
            .shell(&format!(
                "cat >> '{}/postgresql.conf'",
                path_str(&pg.data_dir())
            ))
            .stdin_text(&conf);
        assert!(status, "writing postgresql.conf");
        pg.start_server();
        pg
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's log (`pg_ctl -l`).
    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The `postgres` database of this cluster, as the `postgres` superuser over TCP.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Whether the server was started (and not stopped since) by this handle.
    pub fn is_running(&self) -> bool {
        self.running
    }

    fn program(&self, name: &str) -> PathBuf {
        match &self.bindir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        }
    }

    fn command(&self, name: &str) -> Command {
        let program = self.program(name);
        match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }

    fn run(&self, name: &str, args: &[&str]) -> Output {
        self.command(name)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.program(name).display()))
    }

    fn shell(&self, script: &str) -> ShellCommand {
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--", "sh", "-c", script]);
                cmd
            }
            None => {
                let mut cmd = Command::new("sh");
                cmd.args(["-c", script]);
                cmd
            }
        };
        cmd.current_dir(self.dir.path());
        ShellCommand(cmd)
    }

    fn start_server(&mut self) {
        let data = self.data_dir();
        let log = self.log_file();
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}\n{}",
            describe(&out),
            self.log_tail()
        );
        self.running = true;
    }

    /// `pg_ctl -w start`: back after a stop; returns once it accepts connections.
    pub fn start_again(&mut self) {
        assert!(!self.running, "the private PostgreSQL is already running");
        self.start_server();
    }

    /// `pg_ctl -w stop -m MODE`.
    pub fn stop(&mut self, mode: StopMode) {
        let data = self.data_dir();
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-w",
                "-t",
                "60",
                "-m",
                mode.arg(),
                "stop",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop -m {}: {}\n{}",
            mode.arg(),
            describe(&out),
            self.log_tail()
        );
        self.running = false;
    }

    /// Stops (`mode`), waits `down`, starts again.
    pub fn restart(&mut self, mode: StopMode, down: std::time::Duration) {
        self.stop(mode);
        std::thread::sleep(down);
        self.start_again();
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("--- postgres.log (tail)\n{}", tail.join("\n"))
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data_dir();
            let _ = self.run(
                "pg_ctl",
                &["-D", path_str(&data), "-w", "-m", "immediate", "stop"],
            );
            self.running = false;
        }
    }
}

struct ShellCommand(Command);

impl ShellCommand {
    /// Runs the command with `text` on its standard input; true on success.
    fn stdin_text(mut self, text: &str) -> bool {
        use std::io::Write;
        let mut child = self
            .0
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("running sh");
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .expect("writing to sh's stdin");
        }
        child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

fn describe(out: &Output) -> String {
    format!(
        "{:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
