//! `provlog dev`: the whole system on one laptop, with nothing installed but this binary and
//! anvil: the log on SQLite, a local chain (anvil as a child process) with the anchor contract,
//! keys under a data directory, demo data from an AI market-data provider, and two receipts
//! written to disk and verified offline and against the chain.
//!
//! A second run reuses the data directory: same keys, same log, same chain (anvil's state file),
//! and checks that the log's new checkpoint is consistent with the one the last run saw.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_chain::anvil::{self, Anvil, AnvilOptions};
use provlog_chain::primitives::Address;
use provlog_chain::{AnchorKey, Reader};
use provlog_client::{Client, SourceSigner, Submission};
use provlog_core::checkpoint::{verify_checkpoint, TrustedKeys, VerifierKey};
use provlog_core::log::verify_consistency;
use provlog_core::receipt::{verify_receipt, Receipt};
use provlog_core::record::signal_content;
use provlog_server::config::Secret;
use provlog_server::Config;
use provlog_store::Store;
use rand::RngCore;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::demo::{self, DemoData};
use crate::keygen::write_secret;
use crate::verify::{check_on_chain, summary_text};
use crate::{serve, Failure};

/// The demo log's origin (first line of its checkpoints).
pub const ORIGIN: &str = "localhost/provlog-dev";
/// The key id of the demo signals source's key.
const DEMO_KEY_ID: &str = "demo-signals-1";
/// Tokens in the daily grade snapshot.
const UNIVERSE: usize = 300;
/// How long to wait for the log to anchor the demo's records before giving up.
const ANCHOR_WAIT: Duration = Duration::from_secs(90);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where keys, the database, the chain's state and the receipts are kept; the next run
    /// reuses it. Remove it to start over.
    #[arg(long, value_name = "DIR", default_value = "provlog-dev")]
    data_dir: PathBuf,
    /// Address of the log's HTTP API.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Loopback port of the local chain's JSON-RPC (anvil); 0 for any free port.
    #[arg(long, value_name = "PORT", default_value_t = 8545)]
    chain_port: u16,
    /// The log's database; default: SQLite in the data directory. A postgres:// URL works too.
    #[arg(
        long,
        value_name = "URL",
        hide_env_values = true,
        env = "PROVLOG_DEV_DATABASE_URL"
    )]
    database_url: Option<String>,
    /// Stop after the demo instead of serving until Ctrl-C.
    #[arg(long)]
    once: bool,
    /// The explorer's link to a transaction on a block explorer, `{tx}` standing for its hash
    /// (the server's `explorer_tx_url`); a local chain has no block explorer, so none by default.
    #[arg(long, value_name = "URL", env = "PROVLOG_EXPLORER_TX_URL")]
    explorer_tx_url: Option<String>,
}

/// Files of the data directory.
#[derive(Debug)]
struct Paths {
    dir: PathBuf,
}

impl Paths {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// What the demo logged, kept in `demo.json` so a second run finds it again.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Manifest {
    origin: String,
    records: u64,
    /// The record whose receipt shows a signed trading signal.
    signal: Pick,
    /// The snapshot, and the row whose receipt shows one line of it.
    snapshot: Pick,
    /// The strategy signal derived from a grade row and a prediction.
    derived: Pick,
    /// The latest checkpoint this directory's runs have verified (signed note text).
    checkpoint: String,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Pick {
    index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    item: Option<u64>,
    label: String,
    /// A signal's payload as the consumer received it: the receipt proves its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
}

fn usage<E: std::fmt::Display>(context: &str) -> impl Fn(E) -> Failure + '_ {
    move |e| Failure::Usage(format!("{context}: {e}"))
}

fn say(line: impl AsRef<str>) {
    println!("{}", line.as_ref());
}

pub fn run(args: Args) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("starting the runtime: {e}")))?;
    runtime.block_on(dev(args))
}

async fn dev(args: Args) -> Result<(), Failure> {
    let paths = prepare_dir(&args.data_dir)?;
    init_logging(&paths)?;
    // Ctrl-C from here on stops everything in order: the server, then the chain (which saves
    // its state), instead of killing the process wherever it is.
    let mut interrupted = Box::pin(serve::shutdown_signal()?);
    let listener = TcpListener::bind(&args.listen).await.map_err(|e| {
        Failure::Usage(format!(
            "cannot listen on {}: {e} (is another provlog running? pass --listen 127.0.0.1:0 for any free port)",
            args.listen
        ))
    })?;
    let api = format!(
        "http://{}",
        listener
            .local_addr()
            .map_err(|e| Failure::Usage(e.to_string()))?
    );

    say(format!(
        "provlog dev: data directory {}",
        paths.dir.display()
    ));
    let mut chain = start_chain(&paths, args.chain_port).await?;
    let outcome = tokio::select! {
        result = session(&args, &paths, &chain, listener, &api) => result,
        _ = &mut interrupted => Err(Failure::Usage("interrupted".into())),
    };
    let result = match outcome {
        Ok(server) => {
            if args.once {
                server.stop().await
            } else {
                say(format!(
                    "\nThe log is serving at {api} and the chain at {}. Ctrl-C stops both.",
                    chain.url()
                ));
                interrupted.await;
                say("stopping…");
                server.stop().await
            }
        }
        Err(e) => Err(e),
    };
    // SIGTERM: anvil writes its state file, so the next run finds the contract and anchors.
    chain.stop();
    result
}

/// Everything after the chain is up: keys, contract, server, demo, receipts.
async fn session(
    args: &Args,
    paths: &Paths,
    chain: &Anvil,
    listener: TcpListener,
    api: &str,
) -> Result<Server, Failure> {
    let anchorer = anchorer_key(paths)?;
    let database_url = match &args.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", paths.file("provlog.db").display()),
    };
    let store = Store::connect(&database_url, 8, Duration::from_secs(5))
        .await
        .map_err(usage("opening the log's database"))?;
    store
        .migrate()
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    store
        .init_log(ORIGIN)
        .await
        .map_err(usage("the log's database"))?;
    let contract = contract(paths, chain, &anchorer, &store).await?;
    let config = config(paths, &database_url, chain, contract, args)?;
    let state = serve::start(store, config).await?;
    let vkey = state.signer.verifier_key().clone();
    std::fs::write(paths.file("log.vkey"), format!("{vkey}\n"))
        .map_err(usage("writing log.vkey"))?;
    let server = Server::spawn(state, listener);
    say(format!(
        "log     {ORIGIN} serving at {api}, database {}",
        redact(&database_url)
    ));
    say(format!("        checkpoints signed by {vkey}"));

    let client = Client::new(api).map_err(|e| Failure::Usage(e.to_string()))?;
    wait_ready(&client).await?;
    let manifest = match read_manifest(paths)? {
        Some(m) => {
            say(format!(
                "demo    {} records from an earlier run are in the log; not submitting them again",
                m.records
            ));
            m
        }
        None => ingest(paths, &client).await?,
    };

    let trusted = TrustedKeys::new([vkey.clone()]);
    let checkpoint = check_consistency(&client, &trusted, &manifest).await?;
    let receipts = std::fs::create_dir_all(paths.file("receipts"))
        .map(|()| paths.file("receipts"))
        .map_err(usage("creating receipts/"))?;
    let mut written = vec![];
    for pick in [&manifest.signal, &manifest.snapshot] {
        let file = receipts.join(receipt_name(pick));
        prove(&client, &trusted, chain, contract, pick, &file).await?;
        written.push(file);
    }
    let derived = client
        .record(manifest.derived.index)
        .await
        .map_err(usage("reading the strategy signal"))?;
    say(format!(
        "\nlineage     record {} ({}) names records {} as its parents: the grades snapshot \
         and the prediction it was computed from",
        manifest.derived.index,
        manifest.derived.label,
        derived.parents.join(" and ")
    ));
    write_manifest(
        paths,
        &Manifest {
            checkpoint,
            ..manifest.clone()
        },
    )?;
    next_steps(
        paths, api, chain, contract, &vkey, &written, &manifest, args.once,
    );
    Ok(server)
}

fn prepare_dir(dir: &Path) -> Result<Paths, Failure> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Failure::Usage(format!("creating {}: {e}", dir.display())))?;
    Ok(Paths {
        dir: dir.to_path_buf(),
    })
}

/// The server's JSON logs go to `server.log`, so the terminal shows the demo's story.
fn init_logging(paths: &Paths) -> Result<(), Failure> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.file("server.log"))
        .map_err(usage("opening server.log"))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("PROVLOG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(Arc::new(file))
        .try_init();
    Ok(())
}

/// Writes a new secret file unless it exists; returns its path.
fn ensure_secret(
    path: PathBuf,
    make: impl FnOnce() -> Result<String, Failure>,
) -> Result<PathBuf, Failure> {
    if !path.exists() {
        write_secret(&path, &make()?)?;
    }
    Ok(path)
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// anvil's first development account: funded on every anvil chain, and known to everyone, so
/// it must never be used on a real chain.
fn anchorer_key(paths: &Paths) -> Result<AnchorKey, Failure> {
    let path = ensure_secret(paths.file("anchorer.key"), || {
        Ok(anvil::dev_key(0).to_hex().to_string())
    })?;
    AnchorKey::from_file(&path).map_err(|e| Failure::Usage(e.to_string()))
}

async fn start_chain(paths: &Paths, port: u16) -> Result<Anvil, Failure> {
    const INSTALL: &str = "In a provlog clone, `npm ci --prefix contracts` installs the pinned \
        anvil (@foundry-rs/anvil-linux-amd64); or install Foundry (https://getfoundry.sh) so \
        `anvil` is on PATH; or set PROVLOG_ANVIL to its path.";
    match anvil::binary() {
        None => {
            return Err(Failure::Usage(format!(
                "anvil (Foundry's local EVM node) is not installed. {INSTALL}"
            )))
        }
        Some(path) if !path.is_file() => {
            return Err(Failure::Usage(format!(
                "anvil is not at {} (from PROVLOG_ANVIL). {INSTALL}",
                path.display()
            )))
        }
        Some(_) => {}
    }
    if port != 0 && std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        return Err(Failure::Usage(format!(
            "port {port} is in use (an anvil left over from an earlier run? `pkill anvil`), \
             or pass --chain-port 0 for any free port"
        )));
    }
    let state = paths.file("anvil-state.json");
    let resumed = state.exists();
    let node = Anvil::start(AnvilOptions {
        state: Some(state),
        state_interval: Some(1),
        port: (port != 0).then_some(port),
        chain_id: Some(anvil::CHAIN_ID),
        block_time: None,
    })
    .await
    .map_err(|e| Failure::Usage(e.to_string()))?;
    say(format!(
        "chain   anvil at {} (chain id {}), {}",
        node.url(),
        anvil::CHAIN_ID,
        if resumed {
            "state restored from anvil-state.json"
        } else {
            "a new chain"
        }
    ));
    Ok(node)
}

/// The anchor contract: the recorded deployment when the chain still has it and it anchors this
/// log; otherwise a new deployment.
async fn contract(
    paths: &Paths,
    chain: &Anvil,
    key: &AnchorKey,
    store: &Store,
) -> Result<Address, Failure> {
    let file = paths.file("deployment.json");
    let reader = Reader::new(&chain.url()).map_err(|e| Failure::Usage(e.to_string()))?;
    if let Some(recorded) = recorded_contract(&file)? {
        if let Some(reason) = stale(&reader, recorded, store).await? {
            say(format!("chain   not reusing contract {recorded}: {reason}"));
        } else {
            say(format!(
                "chain   anchor contract {recorded} (deployed by an earlier run)"
            ));
            return Ok(recorded);
        }
    }
    let deployment = provlog_chain::deploy(&chain.url(), anvil::CHAIN_ID, key, &[key.address()])
        .await
        .map_err(usage("deploying the anchor contract"))?;
    let text = serde_json::to_string_pretty(&json!({
        "chain_id": deployment.chain_id,
        "contract": deployment.contract.to_string(),
        "owner": deployment.owner.to_string(),
        "block_number": deployment.block_number,
    }))
    .map_err(|e| Failure::Usage(e.to_string()))?;
    std::fs::write(&file, text + "\n").map_err(usage("writing deployment.json"))?;
    say(format!(
        "chain   deployed the anchor contract at {} (block {})",
        deployment.contract, deployment.block_number
    ));
    Ok(deployment.contract)
}

fn recorded_contract(file: &Path) -> Result<Option<Address>, Failure> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(None);
    };
    let value: Value = serde_json::from_str(&text).map_err(usage("deployment.json"))?;
    value["contract"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .map(Some)
        .ok_or_else(|| Failure::Usage("deployment.json names no contract address".into()))
}

/// Why a recorded contract cannot serve this log, if it cannot.
async fn stale(
    reader: &Reader,
    contract: Address,
    store: &Store,
) -> Result<Option<String>, Failure> {
    if reader.require_contract(contract).await.is_err() {
        return Ok(Some(
            "the chain has no code there (its state was not saved)".into(),
        ));
    }
    let (size, root) = reader
        .latest(contract, provlog_chain::log_id(ORIGIN))
        .await
        .map_err(usage("reading the anchor contract"))?;
    if size == 0 {
        return Ok(None);
    }
    let ours = store
        .checkpoint(size)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    Ok(match ours {
        Some(cp) if cp.root.as_bytes() == &root.0 => None,
        _ => Some(format!(
            "it anchors tree size {size} of another copy of this log (the database was reset)"
        )),
    })
}

fn config(
    paths: &Paths,
    database_url: &str,
    chain: &Anvil,
    contract: Address,
    args: &Args,
) -> Result<Config, Failure> {
    let signing_key = ensure_secret(paths.file("log.key"), || {
        provlog_core::checkpoint::NoteSigner::generate(ORIGIN, &mut rand::rngs::OsRng)
            .map(|s| s.to_secret_text().to_string())
            .map_err(|e| Failure::Usage(e.to_string()))
    })?;
    let config = Config {
        listen: args.listen.clone(),
        database_url: Secret::new(database_url),
        // SQLite has one writer at a time; a few connections serve reads meanwhile.
        database_max_connections: 8,
        origin: ORIGIN.into(),
        signing_key_file: Some(signing_key),
        admin_token_file: Some(ensure_secret(paths.file("admin.token"), || {
            Ok(random_hex(32))
        })?),
        api_key_pepper_file: Some(ensure_secret(paths.file("pepper"), || Ok(random_hex(32)))?),
        checkpoint_interval_ms: 500,
        anchor_rpc_url: Secret::new(chain.url()),
        anchor_chain_id: anvil::CHAIN_ID,
        anchor_contract: contract.to_string(),
        anchor_key_file: Some(paths.file("anchorer.key")),
        // anvil mines each transaction at once and never reorgs on its own.
        anchor_confirmations: 1,
        anchor_every_ms: 1_000,
        anchor_poll_ms: 250,
        explorer_tx_url: args.explorer_tx_url.clone(),
        ..Config::default()
    };
    config
        .validate()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    Ok(config)
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((scheme_user, host)) if url.starts_with("postgres") => {
            let scheme = scheme_user.split("://").next().unwrap_or("postgres");
            format!("{scheme}://…@{host}")
        }
        _ => url.to_string(),
    }
}

/// The server running in this process, stopped by [`Server::stop`].
struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), Failure>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Server")
    }
}

impl Server {
    fn spawn(state: Arc<provlog_server::AppState>, listener: TcpListener) -> Server {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(serve::run(state, listener, shutdown));
        Server { stop, task }
    }

    async fn stop(self) -> Result<(), Failure> {
        let _ = self.stop.send(());
        self.task
            .await
            .map_err(|e| Failure::Usage(format!("the server task failed: {e}")))?
    }
}

async fn wait_ready(client: &Client) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(true) = client.ready().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Failure::Usage(
        "the log did not become ready within 30 s; see server.log in the data directory".into(),
    ))
}

fn read_manifest(paths: &Paths) -> Result<Option<Manifest>, Failure> {
    match std::fs::read(paths.file("demo.json")) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(usage("demo.json (remove it to submit the demo data again)")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::Usage(format!("reading demo.json: {e}"))),
    }
}

fn write_manifest(paths: &Paths, manifest: &Manifest) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(manifest).map_err(|e| Failure::Usage(e.to_string()))?;
    std::fs::write(paths.file("demo.json"), text + "\n").map_err(usage("writing demo.json"))
}

/// Registers the demo's sources and their keys, then submits the demo data.
async fn ingest(paths: &Paths, client: &Client) -> Result<Manifest, Failure> {
    let admin = admin_client(paths, client).await?;
    let signer = source_signer(paths)?;
    let mut writers = std::collections::HashMap::new();
    for spec in demo::sources() {
        let created = admin
            .create_source(&json!({
                "id": spec.id,
                "display_name": spec.display_name,
                "schema": spec.schema,
                "schema_policy": "reject",
                "require_signature": spec.require_signature,
            }))
            .await;
        match created {
            Ok(_) => {}
            // Registered by a run that stopped before its demo.json: keep it.
            Err(e) if e.status() == Some(409) => {}
            Err(e) => {
                return Err(Failure::Usage(format!(
                    "registering source {}: {e}",
                    spec.id
                )))
            }
        }
        if spec.require_signature {
            match admin
                .add_source_key(spec.id, signer.key_id(), &signer.public_key_base64())
                .await
            {
                Ok(_) => {}
                Err(e) if e.status() == Some(409) => {}
                Err(e) => return Err(Failure::Usage(format!("adding {}'s key: {e}", spec.id))),
            }
        }
        let key = admin
            .create_key("ingest", Some(spec.id), "provlog dev demo")
            .await
            .map_err(usage("creating an ingest key"))?;
        let mut writer = client.clone().with_token(key.token);
        if spec.require_signature {
            writer = writer.with_signer(signer.clone());
        }
        writers.insert(spec.id, writer);
    }
    say(format!(
        "sources {} registered with JSON Schemas; {} must sign with key {}",
        demo::sources()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
            .join(", "),
        demo::SIGNALS,
        signer.key_id()
    ));

    let data = demo::generate(UNIVERSE);
    let writer = |id: &str| {
        writers
            .get(id)
            .ok_or_else(|| Failure::Usage(format!("no writer for {id}")))
    };
    let snapshot = {
        let mut record = provlog_client::snapshot(demo::GRADES, data.grades.clone());
        record["metadata"] = json!({"model": "demo-grader-2", "date": demo::DAY});
        submit(writer(demo::GRADES)?, vec![record], "grades").await?
    };
    let predictions = submit(
        writer(demo::PREDICTIONS)?,
        data.predictions
            .iter()
            .map(|p| provlog_client::signal(demo::PREDICTIONS, p.clone()))
            .collect(),
        "predictions",
    )
    .await?;
    let sentiment = submit(
        writer(demo::SENTIMENT)?,
        data.sentiment
            .iter()
            .map(|p| provlog_client::signal(demo::SENTIMENT, p.clone()))
            .collect(),
        "sentiment",
    )
    .await?;
    let mut signals = vec![];
    for (n, chunk) in data.signals.chunks(96).enumerate() {
        let records = chunk
            .iter()
            .map(|p| {
                let mut record = provlog_client::signal(demo::SIGNALS, p.clone());
                signer.sign_record(&mut record).map(|()| record)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        signals.extend(submit(writer(demo::SIGNALS)?, records, &format!("signals-{n}")).await?);
    }

    let (token, grade_row, prediction) = derived_inputs(&data)?;
    let mut derived = provlog_client::signal(
        demo::STRATEGY,
        demo::derived_signal(&data.grades[grade_row], &data.predictions[prediction]),
    );
    derived["parents"] = json!([snapshot[0].leaf_hash, predictions[prediction].leaf_hash]);
    derived["metadata"] = json!({"strategy": "grade-and-forecast", "version": 1});
    let derived = submit(writer(demo::STRATEGY)?, vec![derived], "strategy").await?;

    let total =
        snapshot.len() + predictions.len() + sentiment.len() + signals.len() + derived.len();
    say(format!(
        "demo    logged {total} records: a snapshot of {} token grades, {} price predictions, \
         {} sentiment scores, {} signed hourly signals, and a strategy signal for {token} \
         derived from its grade row and its prediction",
        data.grades.len(),
        predictions.len(),
        sentiment.len(),
        signals.len()
    ));
    // The day's last signal of the first token, and the snapshot row of the second.
    let last = data.signals.len() - demo::majors().len();
    let signal_index = signals
        .get(last)
        .map(|a| a.index)
        .ok_or_else(|| Failure::Usage("no signal was logged".into()))?;
    let row_token = &data.tokens[1].symbol;
    let row = data
        .grades
        .iter()
        .position(|r| r["token"] == row_token.as_str())
        .ok_or_else(|| Failure::Usage(format!("no grade row for {row_token}")))?;
    Ok(Manifest {
        origin: ORIGIN.into(),
        records: total as u64,
        signal: Pick {
            index: signal_index,
            item: None,
            payload: Some(data.signals[last].clone()),
            label: format!(
                "signal-{}-{}",
                data.signals[last]["token"].as_str().unwrap_or("token"),
                data.signals[last]["at"]
                    .as_str()
                    .unwrap_or("")
                    .get(..13)
                    .unwrap_or("")
            ),
        },
        snapshot: Pick {
            index: snapshot[0].index,
            item: Some(row as u64),
            label: format!("grades-{}-{row_token}", demo::DAY),
            payload: None,
        },
        derived: Pick {
            index: derived[0].index,
            item: None,
            label: format!("strategy-{token}"),
            payload: None,
        },
        checkpoint: String::new(),
    })
}

/// The token the strategy signal is about: the best-graded major, with its grade row and
/// prediction.
fn derived_inputs(data: &DemoData) -> Result<(String, usize, usize), Failure> {
    let majors = demo::majors();
    let (row, grade) = data
        .grades
        .iter()
        .enumerate()
        .find(|(_, r)| majors.contains(&r["token"].as_str().unwrap_or("")))
        .ok_or_else(|| Failure::Usage("no major token in the grades".into()))?;
    let token = grade["token"].as_str().unwrap_or("").to_string();
    let prediction = data
        .predictions
        .iter()
        .position(|p| p["token"] == token.as_str())
        .ok_or_else(|| Failure::Usage(format!("no prediction for {token}")))?;
    Ok((token, row, prediction))
}

async fn submit(
    client: &Client,
    records: Vec<Value>,
    key: &str,
) -> Result<Vec<provlog_client::Ack>, Failure> {
    let submission = Submission::batch(&records).idempotency_key(format!("provlog-dev-{key}"));
    let response = client
        .submit_with_retry(&submission, &provlog_client::RetryPolicy::default())
        .await
        .map_err(usage("submitting demo data"))?;
    Ok(response.records)
}

/// The admin key: issued once with the bootstrap token and kept in `admin.key`.
async fn admin_client(paths: &Paths, client: &Client) -> Result<Client, Failure> {
    let file = paths.file("admin.key");
    if let Ok(token) = std::fs::read_to_string(&file) {
        return Ok(client.clone().with_token(token.trim()));
    }
    let bootstrap =
        std::fs::read_to_string(paths.file("admin.token")).map_err(usage("reading admin.token"))?;
    let issued = client
        .clone()
        .with_token(bootstrap.trim())
        .bootstrap()
        .await
        .map_err(|e| {
            Failure::Usage(format!(
                "bootstrapping the admin key: {e} (admin.key is missing but the log was \
                 bootstrapped: remove {} to start over)",
                paths.dir.display()
            ))
        })?;
    write_secret(&file, &issued.token)?;
    Ok(client.clone().with_token(issued.token))
}

/// The signals source's Ed25519 key in `demo.signals.key`, in `provlog sources keygen`'s format
/// (so `provlog submit --signing-key` takes it too).
fn source_signer(paths: &Paths) -> Result<SourceSigner, Failure> {
    let path = ensure_secret(paths.file("demo.signals.key"), || {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        Ok(BASE64_STANDARD.encode(key.to_bytes()))
    })?;
    crate::admin::read_source_signer(&path, DEMO_KEY_ID)
}

/// Verifies the latest checkpoint, and that it extends the one the previous run verified.
async fn check_consistency(
    client: &Client,
    trusted: &TrustedKeys,
    manifest: &Manifest,
) -> Result<String, Failure> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let (note, checkpoint) = loop {
        let note = client
            .checkpoint()
            .await
            .map_err(usage("fetching the checkpoint"));
        if let Ok(note) = note {
            let verified = verify_checkpoint(note.as_bytes(), trusted, Some(ORIGIN))
                .map_err(|e| Failure::Invalid(format!("the log's checkpoint: {e}")))?;
            if verified.checkpoint.size >= manifest.records {
                break (note, verified.checkpoint);
            }
        }
        if Instant::now() > deadline {
            return Err(Failure::Usage(
                "no checkpoint covers the demo records after 30 s; see server.log".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if manifest.checkpoint.is_empty() {
        say(format!(
            "log     checkpoint of {} records verified (root {})",
            checkpoint.size, checkpoint.root
        ));
        return Ok(note);
    }
    let old = verify_checkpoint(manifest.checkpoint.as_bytes(), trusted, Some(ORIGIN))
        .map_err(|e| Failure::Invalid(format!("the checkpoint kept in demo.json: {e}")))?
        .checkpoint;
    if old.size < checkpoint.size {
        let proof = client
            .consistency(old.size, checkpoint.size)
            .await
            .map_err(usage("fetching a consistency proof"))?;
        verify_consistency(
            old.size,
            checkpoint.size,
            &old.root,
            &checkpoint.root,
            &proof.proof,
        )
        .map_err(|e| {
            Failure::Invalid(format!(
                "the log's checkpoint of size {} does not extend the one of size {} seen \
                     last run: {e}",
                checkpoint.size, old.size
            ))
        })?;
    } else if old.size == checkpoint.size && old.root != checkpoint.root {
        return Err(Failure::Invalid(format!(
            "the log shows a different root for size {} than last run: a split view",
            old.size
        )));
    } else if old.size > checkpoint.size {
        return Err(Failure::Invalid(format!(
            "the log shrank from {} to {} records since the last run",
            old.size, checkpoint.size
        )));
    }
    say(format!(
        "log     checkpoint of {} records verified, and consistent with the {} records seen last run",
        checkpoint.size, old.size
    ));
    Ok(note)
}

fn receipt_name(pick: &Pick) -> String {
    let safe: String = pick
        .label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{safe}.json")
}

/// Fetches a record's receipt once it is anchored, writes it to `file`, and verifies it offline
/// and against the chain, saying what was proven.
async fn prove(
    client: &Client,
    trusted: &TrustedKeys,
    chain: &Anvil,
    contract: Address,
    pick: &Pick,
    file: &Path,
) -> Result<(), Failure> {
    let deadline = Instant::now() + ANCHOR_WAIT;
    let bytes = loop {
        let bytes = client
            .receipt_json(pick.index, pick.item, None)
            .await
            .map_err(usage("fetching a receipt"))?;
        let receipt = Receipt::from_json(&bytes).map_err(usage("the server's receipt"))?;
        if receipt.anchor.is_some() {
            break bytes;
        }
        if Instant::now() > deadline {
            return Err(Failure::Usage(format!(
                "record {} was not anchored within {} s; see server.log (anchoring)",
                pick.index,
                ANCHOR_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    std::fs::write(file, &bytes).map_err(usage("writing a receipt"))?;
    // From here on only the file counts: what a consumer would receive.
    let text = std::fs::read(file).map_err(usage("reading the receipt back"))?;
    let receipt = Receipt::from_json(&text).map_err(usage("the receipt file"))?;
    let verified =
        verify_receipt(&receipt, trusted).map_err(|e| Failure::Invalid(e.to_string()))?;
    let on_chain = check_on_chain(&verified, &chain.url(), 1, Some(contract)).await?;
    say(format!("\n{} → {}", pick.label, file.display()));
    print!("{}", summary_text(&verified, Some(&on_chain)));
    if let Some(payload) = &pick.payload {
        let (content, canonical) = signal_content(payload).map_err(usage("the demo payload"))?;
        if content.root != verified.record.content.root {
            return Err(Failure::Invalid(format!(
                "the payload {payload} does not hash to the receipt's content root"
            )));
        }
        say(format!(
            "  payload     {} hashes to that content root: the value itself is proven",
            String::from_utf8_lossy(&canonical)
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn next_steps(
    paths: &Paths,
    api: &str,
    chain: &Anvil,
    contract: Address,
    vkey: &VerifierKey,
    receipts: &[PathBuf],
    manifest: &Manifest,
    once: bool,
) {
    let exe = std::env::current_exe()
        .ok()
        .filter(|p| !on_path(p))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "provlog".into());
    let dir = paths.dir.display();
    let receipt = receipts[0].display();
    say(format!(
        "
What this proves, with nothing but these files, the log's public key and the chain:
  - Each record is exactly what its source submitted: changing one byte of it, of the
    signal's payload or of the snapshot row breaks the receipt's hashes.
  - The log's key ({vkey})
    signed a checkpoint whose Merkle tree contains the record: the log cannot later drop or
    rewrite it without contradicting its own signature.
  - The trading signal also carries its source's Ed25519 signature over its content.
  - Contract {contract} holds that checkpoint's root on chain {}:
    a log that showed someone a different history would be caught by anyone reading the chain.
  - One row of the {UNIVERSE}-token snapshot is proven without revealing the other rows.",
        anvil::CHAIN_ID
    ));
    if once {
        say(format!(
            "
Offline, now:
  {exe} verify receipt {receipt} --key {dir}/log.vkey
Run `{exe} dev --data-dir {dir}` (without --once) to keep the log and the chain up and try the API."
        ));
        return;
    }
    say(format!(
        "
Try next, in another terminal:
  {exe} verify receipt {receipt} --key {dir}/log.vkey \\
      --rpc-url {} --contract {contract}
  curl -s {api}/v1/checkpoint
  curl -s '{api}/v1/records?source={}&limit=3'
  curl -s {api}/v1/records/{}/lineage      # the strategy signal's inputs
  curl -s {api}/v1/anchors
  {api}/docs/ in a browser: the whole API
  {api}/explorer/ in a browser: find a record, see its proof, verify its receipt there",
        chain.url(),
        demo::SIGNALS,
        manifest.derived.index,
    ));
}

fn on_path(exe: &Path) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| d.join("provlog") == exe)
}
