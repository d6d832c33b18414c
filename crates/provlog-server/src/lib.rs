//! # provlog-server
//!
//! The log service: an axum app ([`app`]) over a [`provlog_store::Store`], and the background
//! [`workers`] that integrate sequenced records and sign checkpoints while this replica holds
//! the leader lease. Any number of replicas may share one database; any of them accepts writes.

pub mod anchoring;
pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod explorer;
mod ingest;
pub mod policy;
pub mod sequencer;
pub mod workers;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use axum::Router;
use provlog_core::checkpoint::{NoteSigner, TrustedKeys};
use provlog_core::receipt::ReceiptVerifier;
use provlog_store::Store;
use tokio::sync::watch;

pub use config::Config;
pub use error::ApiError;

/// What every handler and worker shares.
#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    pub config: Config,
    pub signer: NoteSigner,
    /// This log's own verifier key: everything served is verified against it first.
    pub trusted: TrustedKeys,
    /// The same key, remembering checkpoints already verified, for self-checking receipts.
    pub receipts: ReceiptVerifier,
    pub admin_token: Option<config::Secret>,
    /// This replica's name in the leader lease.
    pub replica: String,
    /// Latest sizes this replica has seen (refreshed by a poller; writes bump `sequenced`).
    pub sequenced: AtomicU64,
    pub integrated: AtomicU64,
    /// Groups small writes into shared transactions.
    pub sequencer: sequencer::Sequencer,
    /// Size of the latest signed checkpoint seen, for `?wait=receipt`.
    pub checkpoint_size: watch::Sender<u64>,
    /// Whether this replica holds the leader lease (it integrates, checkpoints and anchors).
    pub leading: AtomicBool,
    /// Where checkpoints are anchored; `None` when anchoring is off.
    pub anchoring: Option<anchoring::Anchoring>,
    /// API keys, sources and rate limits (trust and policy).
    pub trust: auth::Trust,
}

impl AppState {
    pub fn new(
        store: Store,
        config: Config,
        replica: String,
    ) -> Result<Arc<Self>, config::ConfigError> {
        // Install the metrics recorder before anything records.
        api::metrics_handle();
        let signer = config.signer()?;
        let admin_token = config.admin_token()?;
        let trust = auth::Trust::new(config.api_key_pepper(&signer)?, config.trust_cache_ttl_ms);
        let trusted = TrustedKeys::new([signer.verifier_key().clone()]);
        let receipts = ReceiptVerifier::new(TrustedKeys::new([signer.verifier_key().clone()]));
        let anchoring = anchoring::Anchoring::from_config(&config)?;
        let sequencer = sequencer::Sequencer::spawn(store.clone(), config.max_batch);
        Ok(Arc::new(AppState {
            store,
            config,
            signer,
            trusted,
            receipts,
            admin_token,
            replica,
            sequencer,
            sequenced: AtomicU64::new(0),
            integrated: AtomicU64::new(0),
            checkpoint_size: watch::Sender::new(0),
            leading: AtomicBool::new(false),
            anchoring,
            trust,
        }))
    }

    /// Records that a signed checkpoint of `size` exists (wakes `?wait=receipt` waiters).
    pub fn saw_checkpoint(&self, size: u64) {
        self.checkpoint_size.send_if_modified(|seen| {
            let grew = size > *seen;
            *seen = (*seen).max(size);
            grew
        });
    }

    /// Records sequenced but not yet integrated, as last seen.
    pub fn pending(&self) -> u64 {
        self.sequenced
            .load(Ordering::Relaxed)
            .saturating_sub(self.integrated.load(Ordering::Relaxed))
    }
}

/// Wall-clock time in unix milliseconds (record receive times, checkpoint ages).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The HTTP application. Tests drive it with `oneshot`, `provlog serve` with a socket.
pub fn app(state: Arc<AppState>) -> Router {
    api::router(state)
}
