//! `provlog serve` and `provlog migrate`: run the log service, or only its migrations.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use provlog_server::{workers, AppState, Config};
use provlog_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (TOML); `PROVLOG_*` environment variables override it.
    #[arg(long, value_name = "FILE", env = "PROVLOG_CONFIG")]
    config: Option<PathBuf>,
}

fn load(args: &Args) -> Result<Config, Failure> {
    Config::load(args.config.as_deref()).map_err(|e| Failure::Usage(e.to_string()))
}

pub async fn connect(config: &Config) -> Result<Store, Failure> {
    Store::connect(
        config.database_url.expose(),
        config.database_max_connections,
        Duration::from_millis(config.database_acquire_timeout_ms),
    )
    .await
    .map_err(|e| Failure::Usage(format!("connecting to the database: {e}")))
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("starting the runtime: {e}")))
}

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PROVLOG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // alloy's HTTP transport records the whole RPC URL in a debug span, and hosted endpoints
    // carry their API key (or a password) in it: that target never logs below info.
    let filter = match "alloy_transport_http=info".parse() {
        Ok(cap) => filter.add_directive(cap),
        Err(_) => filter,
    };
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .try_init();
}

pub fn migrate(args: Args) -> Result<(), Failure> {
    init_logging();
    let config = load(&args)?;
    runtime()?.block_on(async {
        let store = connect(&config).await?;
        migrate_and_bind(&store, &config.origin).await?;
        eprintln!(
            "migrations applied; the database holds log {}",
            config.origin
        );
        Ok(())
    })
}

pub fn serve(args: Args) -> Result<(), Failure> {
    init_logging();
    let config = load(&args)?;
    runtime()?.block_on(async move {
        let store = connect(&config).await?;
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|e| Failure::Usage(format!("listening on {}: {e}", config.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        let state = start(store, config).await?;
        // Scripts wait for this line on stderr to know the port (listen = 127.0.0.1:0 works).
        eprintln!("provlog listening on http://{addr}");
        run(state, listener, shutdown_signal()?).await
    })
}

/// Applies the migrations and binds the database to the log `origin`.
pub(crate) async fn migrate_and_bind(store: &Store, origin: &str) -> Result<(), Failure> {
    store
        .migrate()
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    store
        .init_log(origin)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))
}

/// Migrates and binds the database to the log, then builds the service's state (checking the
/// anchoring chain when configured).
pub async fn start(store: Store, config: Config) -> Result<Arc<AppState>, Failure> {
    migrate_and_bind(&store, &config.origin).await?;
    let replica = format!("{}-{}", hostname(), std::process::id());
    let state = AppState::new(store, config, replica).map_err(|e| Failure::Usage(e.to_string()))?;
    check_chain(&state).await?;
    Ok(state)
}

/// Serves the API and runs the background workers until `shutdown` resolves; then lets
/// in-flight requests finish and stops the workers (releasing the lease).
pub async fn run(
    state: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Failure> {
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let (stop, stopped) = watch::channel(false);
    let background = workers::spawn(state.clone(), stopped);
    tracing::info!(%addr, replica = %state.replica, origin = %state.config.origin, verifier_key = %state.signer.verifier_key(), "serving");
    axum::serve(listener, provlog_server::app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Failure::Usage(format!("serving: {e}")))?;
    let _ = stop.send(true);
    for task in background {
        let _ = task.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// With anchoring on, refuses to start against an endpoint that serves another chain than the
/// configured one, or has no contract at the configured address. An unreachable endpoint is
/// only a warning: the worker keeps trying (and checks the chain id when it connects).
async fn check_chain(state: &AppState) -> Result<(), Failure> {
    let Some(anchoring) = &state.anchoring else {
        return Ok(());
    };
    match anchoring.connect().await {
        Ok(chain) => {
            tracing::info!(chain_id = chain.chain_id(), contract = %anchoring.contract, "anchoring chain checked");
            Ok(())
        }
        Err(e) if e.is_transient() => {
            tracing::warn!(rpc = %anchoring.rpc_host(), error = %anchoring.redact_error(&e), "the anchoring chain is unreachable; anchoring will start when it answers");
            Ok(())
        }
        Err(e) => Err(Failure::Usage(format!(
            "anchoring via {}: {e}",
            anchoring.rpc_host()
        ))),
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, not when
/// the future is first polled: a signal right after the "listening" line must not take the
/// default action (terminate without finishing in-flight writes).
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Failure> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let handler = |kind| {
            signal(kind).map_err(|e| Failure::Usage(format!("installing signal handlers: {e}")))
        };
        let (mut term, mut int) = (
            handler(SignalKind::terminate())?,
            handler(SignalKind::interrupt())?,
        );
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "provlog".into())
}
