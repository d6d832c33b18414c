//! `provlog monitor`: follows a log's signed checkpoints and raises the alarm on a split view.
//!
//! Every round it fetches the latest checkpoint from each `--url` (replicas, mirrors, or what
//! other parties were shown), verifies its signature with the pinned key, and checks it against
//! the latest checkpoint this monitor has verified before (kept in `--state`): the same size
//! must have the same root, and a larger one must come with a consistency proof. With
//! `--rpc-url` it also checks the chain: the contract's latest anchor must be consistent with
//! the verified history, and no checkpoint may stay unanchored longer than allowed. Verified
//! checkpoints can be cosigned (C2SP tlog-cosignature) for others to read.
//!
//! Exit status: 0 all checks passed (with --once), 1 an alarm (split view, rollback, anchor
//! disagreement, stale anchoring), 2 usage, unreadable state, or (with --once) an unreachable log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use provlog_chain::primitives::Address;
use provlog_chain::Reader;
use provlog_client::Client;
use provlog_core::checkpoint::{
    parse_signed_checkpoint, verify_checkpoint, Checkpoint, TrustedKeys,
};
use provlog_core::cosignature::Cosigner;
use provlog_core::log::verify_consistency;
use provlog_core::Hash;
use serde::{Deserialize, Serialize};

use crate::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the log; repeat to compare what several replicas or mirrors serve.
    #[arg(long = "url", value_name = "URL", required = true)]
    urls: Vec<String>,
    /// The log's verifier key (name+hexid+base64) or a file of keys; repeatable.
    #[arg(long = "key", value_name = "VKEY", required = true)]
    keys: Vec<String>,
    /// Where what this monitor has verified is kept between runs (JSON).
    #[arg(long, value_name = "FILE", default_value = "provlog-monitor.json")]
    state: PathBuf,
    /// JSON-RPC endpoint of the chain the log anchors on: also check the anchors.
    #[arg(
        long,
        value_name = "URL",
        env = "PROVLOG_MONITOR_RPC_URL",
        hide_env_values = true
    )]
    rpc_url: Option<String>,
    /// The anchor contract (required with --rpc-url).
    #[arg(long, value_name = "ADDRESS", requires = "rpc_url")]
    contract: Option<String>,
    /// Alarm when a verified checkpoint has waited longer than this for an anchor.
    #[arg(long, value_name = "SECONDS", requires = "rpc_url")]
    max_unanchored_secs: Option<u64>,
    /// Cosign each newly verified checkpoint with this cosigner key (provlog keygen --cosigner).
    #[arg(long, value_name = "FILE", requires = "cosign_out")]
    cosign_key: Option<PathBuf>,
    /// Write the latest cosigned checkpoint here (for others to fetch and check).
    #[arg(long, value_name = "FILE", requires = "cosign_key")]
    cosign_out: Option<PathBuf>,
    /// One round, then exit; otherwise poll every --interval-secs until stopped.
    #[arg(long)]
    once: bool,
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    interval_secs: u64,
    /// One JSON object per round on stdout.
    #[arg(long)]
    json: bool,
}

pub const AFTER_HELP: &str = "Examples:\n  \
provlog monitor --url https://log.example --key log.vkey --once\n  \
provlog monitor --url https://a.log.example --url https://b.log.example --key log.vkey \\\n    \
--rpc-url https://rpc.example --contract 0xContract --max-unanchored-secs 900\n  \
provlog keygen --cosigner --name monitor.example/m1 --out m1.key   # prints the cosigner key\n  \
provlog monitor --url https://log.example --key log.vkey --cosign-key m1.key --cosign-out cosigned.txt\n\n\
What this monitor verified is kept in --state: a later checkpoint must be consistent with it,\n\
so run it from the same place each time. Exit status: 0 fine, 1 alarm (split view, rollback,\n\
anchor disagreeing with the signed history, stale anchoring), 2 usage or unreachable log.";

/// What the monitor keeps between rounds and runs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    origin: Option<String>,
    /// The largest verified checkpoint (signed note text).
    latest: Option<String>,
    /// Roots of the verified sizes, newest last (bounded), to recognise a second root.
    roots: BTreeMap<u64, String>,
    /// When each size was first verified (Unix seconds), for the unanchored-age alarm.
    first_seen: BTreeMap<u64, u64>,
}

const KEEP: usize = 10_000;

impl State {
    fn load(path: &Path) -> Result<State, Failure> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Failure::Usage(format!("{}: not a monitor state file: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(Failure::Usage(format!("reading {}: {e}", path.display()))),
        }
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a state.
    fn save(&self, path: &Path) -> Result<(), Failure> {
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| Failure::Usage(e.to_string()))?;
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| Failure::Usage(format!("writing {}: {e}", path.display())))
    }

    fn remember(&mut self, cp: &Checkpoint, now: u64) {
        self.roots.insert(cp.size, cp.root.to_base64());
        self.first_seen.entry(cp.size).or_insert(now);
        while self.roots.len() > KEEP {
            self.roots.pop_first();
        }
        while self.first_seen.len() > KEEP {
            self.first_seen.pop_first();
        }
    }
}

/// An alarm: something a log must never do.
#[derive(Debug)]
struct Alarm(String);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn run(args: Args) -> Result<(), Failure> {
    let trusted = crate::verify::trusted_keys(&args.keys)?;
    let cosigner = args
        .cosign_key
        .as_deref()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("reading {}: {e}", path.display())))?;
            Cosigner::from_secret_text(&text)
                .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))
        })
        .transpose()?;
    let chain = match (&args.rpc_url, &args.contract) {
        (Some(url), Some(contract)) => Some((
            Reader::new(url).map_err(|e| Failure::Usage(e.to_string()))?,
            contract.parse::<Address>().map_err(|_| {
                Failure::Usage(format!("--contract {contract:?} is not a 0x address"))
            })?,
        )),
        (Some(_), None) => {
            return Err(Failure::Usage(
                "--rpc-url needs --contract: the anchor contract to read".into(),
            ))
        }
        _ => None,
    };
    let clients = args
        .urls
        .iter()
        .map(|u| Client::new(u).map_err(|e| Failure::Usage(format!("--url {u}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("starting the runtime: {e}")))?;
    runtime.block_on(async {
        let mut state = State::load(&args.state)?;
        loop {
            let round = Round {
                args: &args,
                trusted: &trusted,
                clients: &clients,
                chain: chain.as_ref(),
                cosigner: cosigner.as_ref(),
            };
            let outcome = round.run(&mut state).await;
            // What was verified before an alarm stays verified.
            state.save(&args.state)?;
            match outcome {
                Ok(report) => report.print(args.json),
                Err(RoundError::Alarm(Alarm(reason))) => {
                    if args.json {
                        println!("{}", serde_json::json!({"ok": false, "alarm": reason}));
                    }
                    return Err(Failure::Invalid(format!("ALARM: {reason}")));
                }
                Err(RoundError::Unreachable(reason)) if args.once => {
                    return Err(Failure::Usage(reason));
                }
                Err(RoundError::Unreachable(reason)) => eprintln!("warning: {reason}"),
            }
            if args.once {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(args.interval_secs.max(1))).await;
        }
    })
}

#[derive(Debug)]
enum RoundError {
    Alarm(Alarm),
    /// The log or the chain did not answer: worth a warning, not an alarm.
    Unreachable(String),
}

impl From<Alarm> for RoundError {
    fn from(a: Alarm) -> Self {
        RoundError::Alarm(a)
    }
}

/// What one round established.
#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    origin: String,
    size: u64,
    root: String,
    /// Sizes newly verified this round, with the URL that served them.
    new: Vec<(String, u64)>,
    anchored_size: Option<u64>,
    cosigned: bool,
}

impl Report {
    fn print(&self, json: bool) {
        if json {
            println!("{}", serde_json::to_string(self).unwrap_or_default());
            return;
        }
        let mut line = format!(
            "ok: {} at size {} (root {})",
            self.origin, self.size, self.root
        );
        for (url, size) in &self.new {
            line += &format!("; {url} grew to {size}, consistent");
        }
        if let Some(a) = self.anchored_size {
            line += &format!("; anchored up to {a}, consistent");
        }
        if self.cosigned {
            line += "; cosigned";
        }
        println!("{line}");
    }
}

struct Round<'a> {
    args: &'a Args,
    trusted: &'a TrustedKeys,
    clients: &'a [Client],
    chain: Option<&'a (Reader, Address)>,
    cosigner: Option<&'a Cosigner>,
}

impl Round<'_> {
    async fn run(&self, state: &mut State) -> Result<Report, RoundError> {
        let mut new = vec![];
        for client in self.clients {
            let url = client.base().to_string();
            let note = client
                .checkpoint()
                .await
                .map_err(|e| RoundError::Unreachable(format!("{url}: {e}")))?;
            let verified =
                verify_checkpoint(note.as_bytes(), self.trusted, state.origin.as_deref()).map_err(
                    |e| {
                        Alarm(format!(
                            "{url} serves a checkpoint that does not verify: {e}"
                        ))
                    },
                )?;
            let cp = verified.checkpoint;
            if self.check(state, client, &url, &cp, &note).await? {
                new.push((url, cp.size));
            }
        }
        let latest = latest(state)?;
        let anchored_size = match self.chain {
            Some((reader, contract)) => {
                Some(self.check_chain(state, reader, *contract, &latest).await?)
            }
            None => None,
        };
        // Re-cosigned every round: a cosignature says "as of this time, this is the largest
        // consistent checkpoint I have seen", so a fresh timestamp is the point.
        let cosigned = match (self.cosigner, &self.args.cosign_out) {
            (Some(cosigner), Some(out)) => {
                let note = state.latest.as_deref().unwrap_or_default();
                let signed = cosigner
                    .cosign(note.as_bytes(), now())
                    .map_err(|e| Alarm(format!("cosigning: {e}")))?;
                let tmp = out.with_extension("tmp");
                std::fs::write(&tmp, signed)
                    .and_then(|()| std::fs::rename(&tmp, out))
                    .map_err(|e| {
                        RoundError::Unreachable(format!("writing {}: {e}", out.display()))
                    })?;
                true
            }
            _ => false,
        };
        Ok(Report {
            ok: true,
            origin: latest.origin.clone(),
            size: latest.size,
            root: latest.root.to_base64(),
            new,
            anchored_size,
            cosigned,
        })
    }

    /// Checks `cp`, served by `client`, against what was verified before; true when it is a new
    /// largest checkpoint (then it becomes the latest).
    async fn check(
        &self,
        state: &mut State,
        client: &Client,
        url: &str,
        cp: &Checkpoint,
        note: &str,
    ) -> Result<bool, RoundError> {
        if let Some(root) = state.roots.get(&cp.size) {
            if *root != cp.root.to_base64() {
                return Err(Alarm(format!(
                    "split view: {url} serves a checkpoint of size {} with root {}, but root {root} \
                     was verified for that size before. Both are signed by the log: keep both notes \
                     as evidence.\n{note}",
                    cp.size,
                    cp.root.to_base64()
                ))
                .into());
            }
        }
        let Some(prev) = state.latest.clone() else {
            state.origin = Some(cp.origin.clone());
            state.latest = Some(note.to_string());
            state.remember(cp, now());
            return Ok(true);
        };
        let prev = verify_checkpoint(prev.as_bytes(), self.trusted, None)
            .map_err(|e| Alarm(format!("the state file's checkpoint does not verify: {e}")))?
            .checkpoint;
        if cp.size <= prev.size {
            if cp.size < prev.size && !state.roots.contains_key(&cp.size) {
                // An older checkpoint we never saw: it must be a prefix of the latest.
                self.consistent(client, url, cp, &prev).await?;
                state.remember(cp, now());
            }
            return Ok(false);
        }
        self.consistent(client, url, &prev, cp).await?;
        state.latest = Some(note.to_string());
        state.remember(cp, now());
        Ok(true)
    }

    /// Requires a consistency proof from `old` to `new`, fetched from `client`.
    async fn consistent(
        &self,
        client: &Client,
        url: &str,
        old: &Checkpoint,
        new: &Checkpoint,
    ) -> Result<(), RoundError> {
        let proof = client
            .consistency(old.size, new.size)
            .await
            .map_err(|e| RoundError::Unreachable(format!("{url}: consistency proof: {e}")))?;
        verify_consistency(old.size, new.size, &old.root, &new.root, &proof.proof).map_err(
            |e| {
                Alarm(format!(
                "split view: {url}'s checkpoint of size {} (root {}) is not consistent with the \
                 checkpoint of size {} (root {}): {e}",
                new.size,
                new.root.to_base64(),
                old.size,
                old.root.to_base64()
            ))
            },
        )?;
        Ok(())
    }

    /// The contract's latest anchor must be consistent with the verified history, and the
    /// verified checkpoints must not wait longer than allowed for one. Returns the anchored size.
    async fn check_chain(
        &self,
        state: &State,
        reader: &Reader,
        contract: Address,
        latest: &Checkpoint,
    ) -> Result<u64, RoundError> {
        let log_id = provlog_chain::log_id(&latest.origin);
        let (size, root) = reader
            .latest(contract, log_id)
            .await
            .map_err(|e| RoundError::Unreachable(format!("reading the anchor contract: {e}")))?;
        let anchored_root = Hash::from(root.0);
        if size > 0 {
            let disagrees = |why: String| {
                Alarm(format!(
                    "the anchor of size {size} in contract {contract} (root {}) disagrees with the \
                     log's signed history: {why}",
                    anchored_root.to_base64()
                ))
            };
            if let Some(known) = state.roots.get(&size) {
                if *known != anchored_root.to_base64() {
                    return Err(
                        disagrees(format!("the log signed root {known} for that size")).into(),
                    );
                }
            } else {
                let client = &self.clients[0];
                let (old, new) = if size < latest.size {
                    (
                        Checkpoint::new(&latest.origin, size, anchored_root),
                        latest.clone(),
                    )
                } else {
                    (
                        latest.clone(),
                        Checkpoint::new(&latest.origin, size, anchored_root),
                    )
                };
                let proof = client
                    .consistency(old.size, new.size)
                    .await
                    .map_err(|e| RoundError::Unreachable(format!("consistency proof: {e}")))?;
                verify_consistency(old.size, new.size, &old.root, &new.root, &proof.proof)
                    .map_err(|e| disagrees(e.to_string()))?;
            }
        }
        if let Some(limit) = self.args.max_unanchored_secs {
            let waiting = state.first_seen.range(size + 1..).next();
            if let Some((&oldest, &seen)) = waiting {
                let age = now().saturating_sub(seen);
                if age > limit {
                    return Err(Alarm(format!(
                        "the checkpoint of size {oldest}, verified {age} s ago, is not anchored \
                         (contract {contract} holds size {size}); the limit is {limit} s"
                    ))
                    .into());
                }
            }
        }
        Ok(size)
    }
}

fn latest(state: &State) -> Result<Checkpoint, RoundError> {
    let note = state
        .latest
        .as_deref()
        .ok_or_else(|| RoundError::Unreachable("no checkpoint verified yet".into()))?;
    parse_signed_checkpoint(note.as_bytes())
        .map(|(checkpoint, _)| checkpoint)
        .map_err(|e| RoundError::Unreachable(format!("the state's checkpoint: {e}")))
}
