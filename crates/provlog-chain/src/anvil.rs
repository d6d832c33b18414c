//! A local anvil node as a child process: the test harness and `provlog dev` use it.
//!
//! The binary is found at `$PROVLOG_ANVIL`, then in this repository's
//! `contracts/node_modules/.bin` (installed by `npm ci` in `contracts/`), then on `PATH`.
//! With a state file the chain survives [`Anvil::stop`] + [`Anvil::restart`]: anvil loads it on
//! start and writes it when it exits on SIGTERM.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::AnchorKey;

/// anvil's default chain id.
pub const CHAIN_ID: u64 = 31337;

/// The well-known private keys of anvil's first development accounts (test mnemonic). Test
/// chains only: anyone can spend from them.
pub const DEV_KEYS: [&str; 3] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1d1706367c2e68ca870fc3fb9ad8b3ea4ab6a",
];

/// Development account `i`'s key.
pub fn dev_key(i: usize) -> AnchorKey {
    AnchorKey::from_hex(DEV_KEYS[i]).expect("well-known keys parse")
}

#[derive(Debug, thiserror::Error)]
pub enum AnvilError {
    #[error(
        "anvil not found: run `npm ci` in contracts/ (it installs @foundry-rs/anvil-linux-amd64), \
         put anvil on PATH, or set PROVLOG_ANVIL to its path"
    )]
    NotFound,
    #[error("starting anvil ({path}): {source}")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    #[error("anvil did not answer on port {port} within {waited:?}: {log}")]
    NotReady {
        port: u16,
        waited: Duration,
        log: String,
    },
}

/// The anvil binary to run, if one is installed.
pub fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PROVLOG_ANVIL") {
        return Some(PathBuf::from(p));
    }
    let bundled =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/node_modules/.bin/anvil");
    if bundled.exists() {
        return Some(bundled);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("anvil"))
        .find(|p| p.is_file())
}

/// A free loopback port (released again before anvil binds it; a collision shows up as a
/// start failure, retried by [`Anvil::start`]).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Options of a node.
#[derive(Debug, Clone, Default)]
pub struct AnvilOptions {
    /// Where the chain's state is loaded from and saved to (`--state`).
    pub state: Option<PathBuf>,
    /// Also write the state file every this many seconds (`--state-interval`), so a node that
    /// is killed outright loses at most that much.
    pub state_interval: Option<u64>,
    /// Mine a block every this many seconds instead of one per transaction.
    pub block_time: Option<u64>,
    /// Port to use; a free one when `None`.
    pub port: Option<u16>,
    /// Chain id; anvil's default 31337 when `None`.
    pub chain_id: Option<u64>,
}

/// A running (or stopped) anvil child process. Killed when dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Option<Child>,
    port: u16,
    options: AnvilOptions,
    log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Anvil {
    /// Starts a node and waits until it answers JSON-RPC.
    pub async fn start(options: AnvilOptions) -> Result<Anvil, AnvilError> {
        let logdir = tempfile::Builder::new()
            .prefix("provlog-anvil-")
            .tempdir()
            .map_err(|source| AnvilError::Spawn {
                path: "temporary directory".into(),
                source,
            })?;
        let log = logdir.path().join("anvil.log");
        let port = match options.port {
            Some(p) => p,
            None => free_port().map_err(|source| AnvilError::Spawn {
                path: "a free port".into(),
                source,
            })?,
        };
        let mut anvil = Anvil {
            child: None,
            port,
            options,
            log,
            _logdir: logdir,
        };
        anvil.restart().await?;
        Ok(anvil)
    }

    /// Starts the node again on the same port (after [`Anvil::stop`]), loading its state file.
    pub async fn restart(&mut self) -> Result<(), AnvilError> {
        let bin = binary().ok_or(AnvilError::NotFound)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|source| AnvilError::Spawn {
                path: self.log.display().to_string(),
                source,
            })?;
        let mut cmd = Command::new(&bin);
        cmd.args(["--host", "127.0.0.1", "--port", &self.port.to_string()]);
        if let Some(state) = &self.options.state {
            cmd.arg("--state").arg(state);
        }
        if let Some(secs) = self.options.state_interval {
            cmd.args(["--state-interval", &secs.to_string()]);
        }
        if let Some(t) = self.options.block_time {
            cmd.args(["--block-time", &t.to_string()]);
        }
        if let Some(id) = self.options.chain_id {
            cmd.args(["--chain-id", &id.to_string()]);
        }
        let err = log.try_clone().map_err(|source| AnvilError::Spawn {
            path: self.log.display().to_string(),
            source,
        })?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|source| AnvilError::Spawn {
                path: bin.display().to_string(),
                source,
            })?;
        self.child = Some(child);
        let waited = Duration::from_secs(20);
        let started = Instant::now();
        let reader = crate::Reader::new(&self.url()).expect("a loopback URL parses");
        while started.elapsed() < waited {
            if reader.chain_id().await.is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill();
        Err(AnvilError::NotReady {
            port: self.port,
            waited,
            log: self.logs(),
        })
    }

    /// Stops the node with SIGTERM (anvil then writes its state file) and waits for it to exit.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills the node at once (no state saved).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// What the node printed so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Calls an anvil/JSON-RPC method by name (`evm_mine`, `anvil_reorg`, …).
    pub async fn rpc(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, crate::ChainError> {
        use alloy::providers::Provider;
        let reader = crate::Reader::new(&self.url())?;
        reader
            .provider
            .raw_request::<_, serde_json::Value>(method.into(), params)
            .await
            .map_err(|e| crate::ChainError::Rpc(e.to_string()))
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.kill();
    }
}
