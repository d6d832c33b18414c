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

use provlog_chain::anvil::{self, Anvil};
use provlog_chain::primitives::Address;
use provlog_client::Client;
use provlog_core::checkpoint::TrustedKeys;
use provlog_server::config::Secret;
use provlog_server::Config;
use provlog_store::Store;
use rand::RngCore;
use tokio::net::TcpListener;

use crate::demo::ingest::{ingest, read_manifest, write_manifest, Manifest};
use crate::keygen::write_secret;
use crate::{serve, Failure};
use chain::{anchorer_key, contract, start_chain};
use proof::{check_consistency, next_steps, prove, receipt_name, track_record};

mod chain;
mod proof;

/// The demo log's origin (first line of its checkpoints).
pub const ORIGIN: &str = "localhost/provlog-dev";

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
pub(crate) struct Paths {
    pub(crate) dir: PathBuf,
}

impl Paths {
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

pub(crate) fn usage<E: std::fmt::Display>(context: &str) -> impl Fn(E) -> Failure + '_ {
    move |e| Failure::Usage(format!("{context}: {e}"))
}

pub(crate) fn say(line: impl AsRef<str>) {
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
    // Before the server starts: a recorded contract is checked against the checkpoints.
    serve::migrate_and_bind(&store, ORIGIN).await?;
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
    let signal = client
        .record(manifest.signal.index)
        .await
        .map_err(usage("reading the demo signal"))?;
    let source = signal.summary.source;
    track_record(&client, &trusted, &source, &paths.file("track-record.json")).await?;
    let predictions = paths.file("track-record-predictions.json");
    track_record(&client, &trusted, crate::demo::PREDICTIONS, &predictions).await?;
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
pub(crate) fn ensure_secret(
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
