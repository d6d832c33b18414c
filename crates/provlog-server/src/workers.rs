//! Background work of a replica. Every replica polls the log's sizes (for backpressure and
//! `?wait=receipt`); the one holding the leader lease also integrates sequenced records and
//! signs checkpoints, and anchors them when anchoring is configured ([`crate::anchoring`]).
//! Leadership moves when a lease expires, so a dead leader is replaced
//! within one lease period.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use provlog_core::checkpoint::{verify_checkpoint, Checkpoint};
use provlog_core::log::{self, FetchedNodes};
use provlog_store::{StoreError, LEADER_LEASE};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{now_ms, AppState};

const TICK: Duration = Duration::from_millis(100);

/// Starts the poller and the leader loop; they stop when `shutdown` turns true.
pub fn spawn(state: Arc<AppState>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(poll_sizes(state.clone(), shutdown.clone())),
        tokio::spawn(crate::anchoring::run(state.clone(), shutdown.clone())),
        tokio::spawn(lead(state, shutdown)),
    ]
}

async fn poll_sizes(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        match refresh(&state).await {
            Ok(()) => metrics::gauge!("provlog_database_up").set(1.0),
            Err(e) if e.is_unavailable() => {
                // Visible in the logs and the metrics; the loop keeps polling, so the replica
                // notices by itself when the database is back.
                tracing::warn!(error = %e, "database unavailable (polling log sizes)");
                metrics::gauge!("provlog_database_up").set(0.0);
                metrics::counter!("provlog_database_unavailable_total", "where" => "background")
                    .increment(1);
            }
            Err(e) => tracing::warn!(error = %e, "polling log sizes"),
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Reads sizes and the latest checkpoint into the shared state.
pub async fn refresh(state: &AppState) -> Result<(), StoreError> {
    let sizes = state.store.sizes().await?;
    state
        .sequenced
        .fetch_max(sizes.sequenced, Ordering::Relaxed);
    state
        .integrated
        .fetch_max(sizes.integrated, Ordering::Relaxed);
    if let Some(cp) = state.store.latest_checkpoint().await? {
        state.saw_checkpoint(cp.size);
        let age_ms = now_ms().saturating_sub(cp.created_ms);
        metrics::gauge!("provlog_checkpoint_age_seconds").set(age_ms as f64 / 1000.0);
    }
    Ok(())
}

async fn lead(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let ttl = Duration::from_millis(state.config.lease_ttl_ms);
    let mut last_checkpoint =
        Instant::now() - Duration::from_millis(state.config.checkpoint_interval_ms);
    let mut leading = false;
    loop {
        match state
            .store
            .acquire_lease(LEADER_LEASE, &state.replica, ttl)
            .await
        {
            Ok(now_leading) => {
                if now_leading != leading {
                    tracing::info!(replica = %state.replica, leading = now_leading, "leader lease changed");
                    metrics::gauge!("provlog_is_leader").set(if now_leading { 1.0 } else { 0.0 });
                }
                leading = now_leading;
            }
            Err(e) => {
                tracing::warn!(error = %e, "renewing the leader lease");
                leading = false;
            }
        }
        state.leading.store(leading, Ordering::Relaxed);
        if leading {
            if let Err(e) = leader_step(&state, &mut last_checkpoint).await {
                tracing::warn!(error = %e, "leader work");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => break,
        }
    }
    state.leading.store(false, Ordering::Relaxed);
    if leading {
        if let Err(e) = state
            .store
            .release_lease(LEADER_LEASE, &state.replica)
            .await
        {
            tracing::warn!(error = %e, "releasing the leader lease");
        }
    }
}

/// Integrates everything sequenced so far, then signs a checkpoint when one is due.
pub async fn leader_step(
    state: &AppState,
    last_checkpoint: &mut Instant,
) -> Result<(), StoreError> {
    let started = Instant::now();
    // Bounded so a huge backlog cannot hold the lease past its expiry without renewal.
    while started.elapsed() < Duration::from_millis(state.config.lease_ttl_ms / 2) {
        match state
            .store
            .integrate(&state.replica, state.config.integrate_batch)
            .await?
        {
            Some(size) => {
                state.integrated.fetch_max(size, Ordering::Relaxed);
            }
            None => break,
        }
    }
    let integrated = state.store.sizes().await?.integrated;
    let latest = state.store.latest_checkpoint().await?;
    let signed = latest.as_ref().map(|c| c.size).unwrap_or(0);
    if integrated <= signed {
        return Ok(());
    }
    let due = last_checkpoint.elapsed()
        >= Duration::from_millis(state.config.checkpoint_interval_ms)
        || integrated - signed >= state.config.checkpoint_max_records;
    if !due {
        return Ok(());
    }
    sign_checkpoint(state, integrated, latest.as_ref().map(|c| (c.size, c.root))).await?;
    *last_checkpoint = Instant::now();
    Ok(())
}

/// Signs the tree of `size` after proving it consistent with the last signed one.
async fn sign_checkpoint(
    state: &AppState,
    size: u64,
    previous: Option<(u64, provlog_core::Hash)>,
) -> Result<(), StoreError> {
    let plan = log::root_plan(size)?;
    let nodes = FetchedNodes::new(
        plan.iter()
            .copied()
            .zip(state.store.read_nodes(&plan).await?),
    );
    let root = log::tree_root(size, &nodes)?;
    if let Some((old_size, old_root)) = previous {
        let plan = log::consistency_plan(old_size, size)?;
        let nodes = FetchedNodes::new(
            plan.iter()
                .copied()
                .zip(state.store.read_nodes(&plan).await?),
        );
        let proof = log::consistency_proof(old_size, size, &nodes)?;
        if let Err(e) = log::verify_consistency(old_size, size, &old_root, &root, &proof) {
            metrics::counter!("provlog_proof_verification_failures_total", "what" => "checkpoint consistency").increment(1);
            tracing::error!(old_size, size, error = %e, "new tree is not consistent with the last checkpoint; refusing to sign");
            return Err(StoreError::Corrupt(format!(
                "tree of size {size} is inconsistent with checkpoint {old_size}"
            )));
        }
    }
    let checkpoint = Checkpoint::new(&state.config.origin, size, root);
    let note = state
        .signer
        .sign_checkpoint(&checkpoint)
        .map_err(|e| StoreError::Corrupt(format!("signing: {e}")))?;
    verify_checkpoint(&note, &state.trusted, Some(&state.config.origin))
        .map_err(|e| StoreError::Corrupt(format!("own checkpoint does not verify: {e}")))?;
    let note = String::from_utf8(note).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    state
        .store
        .store_checkpoint(&state.replica, size, &root, &note)
        .await?;
    state.saw_checkpoint(size);
    metrics::counter!("provlog_checkpoints_signed_total").increment(1);
    tracing::info!(size, root = %root, "signed checkpoint");
    Ok(())
}
