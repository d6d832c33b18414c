//! Three `provlog serve` replicas on one database, behind a round-robin client: any replica
//! accepts writes, exactly one leads (sequencer lease), and when the leader is killed (-9, no
//! lease release) under concurrent load, another takes over within 10 s with the default lease
//! settings, and the log goes on without a fork or a lost record. The killed replica is then
//! restarted, so every round starts with three.
//!
//! Afterwards the log is audited as in the crash test ([`provlog_e2e::load::audit`]): dense
//! indexes, every acknowledged record where it was acknowledged, nothing twice, every signed
//! checkpoint consistent with every other; all replicas serve the same checkpoint, and
//! receipts from every replica verify.
//!
//! Per-source chains ([`provlog_e2e::source_chains`]): the clients all write the same 3 sources
//! (each batch mixes them) round-robin over the replicas, so every source is written through
//! every replica at once, and 3 track-record readers (one per source) have the log write close
//! records into the same chains through the replicas meanwhile (verifying the bundles they get).
//! Afterwards each source's records are one chain — format v2, `seq` dense from 0 in log order,
//! each `prev` the leaf hash of the source's previous record, `received_at` never going back —
//! in the database and as every replica serves the entries.
//!
//! `PROVLOG_REPLICA_KILLS` (default 2) sets the number of leader kills;
//! `PROVLOG_REPLICA_RECEIPTS` (default 1000, or `all`) the receipts verified per replica.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use provlog_core::log::verify_consistency;
use provlog_e2e::load::{audit, verify_receipts, wait_all_signed, Load, SOURCES};
use provlog_e2e::source_chains::{assert_serves_chains, assert_source_chains_in_db};
use provlog_e2e::{env_count, wait_for, Fixture, Server, TestDb};

const ORIGIN: &str = "example.com/provlog/replicas";
const REPLICAS: usize = 3;
const CLIENTS: usize = 6;
/// Track-record readers, one per source, each asking for a bundle every 20–120 ms.
const TRACK_READERS: usize = 3;
/// The bound on a takeover after the leader dies.
const TAKEOVER: Duration = Duration::from_secs(10);

/// Default lease and checkpoint settings: the takeover bound must hold as shipped.
async fn start(fx: &Arc<Fixture>, db: &str) -> Server {
    let (fx, db) = (fx.clone(), db.to_string());
    tokio::task::spawn_blocking(move || Server::start(&fx, &db, &[]))
        .await
        .unwrap()
}

/// The slot of the replica holding the lease, as every running replica reports it.
async fn leader(servers: &[Option<Server>], fx: &Fixture) -> Option<usize> {
    let mut ids = vec![];
    for s in servers.iter().flatten() {
        let info = s.client(fx).log_info().await.ok()?;
        ids.push((info.replica, info.leader?));
    }
    // Agreement: all name the same leader, and it is one of them.
    let named = &ids.first()?.1;
    if ids.iter().any(|(_, l)| l != named) {
        return None;
    }
    let slot = ids.iter().position(|(me, _)| me == named)?;
    // `ids` skips empty slots: map back to the slot number.
    servers
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_some())
        .nth(slot)
        .map(|(i, _)| i)
}

/// The errors the replicas logged (their JSON logs share the fixture's `server.log`).
fn server_errors(fx: &Fixture) -> String {
    let log = std::fs::read_to_string(fx.path("server.log")).unwrap_or_default();
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("\"error\""))
        .take(40)
        .collect();
    format!("--- server.log errors\n{}", errors.join("\n"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_leader_dies_under_load_and_another_takes_over() {
    let kills = env_count("PROVLOG_REPLICA_KILLS", 2);
    let receipt_sample = env_count("PROVLOG_REPLICA_RECEIPTS", 1_000);
    let started = Instant::now();
    let fx = Arc::new(Fixture::new(ORIGIN));
    let db = TestDb::create("replicas").await;
    let mut servers: Vec<Option<Server>> = vec![];
    for _ in 0..REPLICAS {
        servers.push(Some(start(&fx, &db.url).await));
    }
    let load = Load::start(
        CLIENTS,
        servers
            .iter()
            .map(|s| s.as_ref().map(|s| s.client(&fx)))
            .collect(),
    )
    .with_track_readers(TRACK_READERS, fx.trusted());

    let mut takeovers: Vec<Duration> = vec![];
    let mut first_checkpoints: Vec<Duration> = vec![];
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let old = wait_for("one leader all agree on", TAKEOVER, || {
            leader(&servers, &fx)
        })
        .await;
        let old_id = servers[old]
            .as_ref()
            .unwrap()
            .client(&fx)
            .log_info()
            .await
            .unwrap()
            .replica;
        let before = servers[(old + 1) % REPLICAS]
            .as_ref()
            .unwrap()
            .client(&fx)
            .log_info()
            .await
            .unwrap();

        load.set(old, None);
        let victim = servers[old].take().unwrap();
        let killed_at = Instant::now();
        tokio::task::spawn_blocking(move || victim.kill9())
            .await
            .unwrap();
        let new = wait_for("a new leader", TAKEOVER, || leader(&servers, &fx)).await;
        takeovers.push(killed_at.elapsed());
        let survivor = servers[new].as_ref().unwrap().client(&fx);
        assert_ne!(survivor.log_info().await.unwrap().replica, old_id);
        // The new leader signs checkpoints beyond what the old one had signed.
        wait_for("a checkpoint from the new leader", TAKEOVER, || async {
            (survivor.log_info().await.ok()?.checkpoint_size > before.checkpoint_size).then_some(())
        })
        .await;
        first_checkpoints.push(killed_at.elapsed());

        // Back to three replicas.
        let replacement = start(&fx, &db.url).await;
        load.set(old, Some(replacement.client(&fx)));
        servers[old] = Some(replacement);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ingest_time = started.elapsed();
    let (acked, stats) = match load.finish().await {
        Ok(done) => done,
        Err(e) => panic!("client failed: {e}\n{}", server_errors(&fx)),
    };
    assert!(stats.records > 0, "nothing was acknowledged");

    let live: Vec<&Server> = servers.iter().flatten().collect();
    let client = live[0].client(&fx);
    let size = wait_all_signed(&client, Duration::from_secs(60)).await;
    let mut conn = db.connect().await;
    let audited = audit(&mut conn, &acked, &fx.trusted(), ORIGIN, size).await;

    // Every source was written through every replica, and its records are one chain.
    for source in SOURCES {
        let via = stats.by_source.get(source).cloned().unwrap_or_default();
        assert_eq!(
            via.len(),
            REPLICAS,
            "{source}: acknowledged records by replica slot: {via:?}"
        );
    }
    let internal = fx.server_internal_errors();
    assert!(internal.is_empty(), "internal errors: {internal:#?}");
    let chains_started = Instant::now();
    let chains = assert_source_chains_in_db(&mut conn).await;
    let mut chain_time = chains_started.elapsed();
    assert_eq!(chains.records, size);
    assert_eq!(chains.of_kind("close"), audited.close_records);
    for source in SOURCES {
        assert!(
            chains.chains.get(source).is_some_and(|c| c.records > 1),
            "{source} has a chain: {}",
            chains.summary()
        );
    }

    // One view: every replica serves the final checkpoint and proves the history to it.
    let signed_sizes: Vec<u64> = audited.checkpoints.iter().map(|c| c.0).collect();
    let mut receipts = 0;
    for (i, s) in live.iter().enumerate() {
        let c = s.client(&fx);
        let info = c.log_info().await.unwrap();
        assert_eq!(info.checkpoint_size, size, "replica {i}");
        let served_started = Instant::now();
        assert_serves_chains(&c, &chains).await;
        chain_time += served_started.elapsed();
        let (s1, r1) = audited.checkpoints[0];
        let p = c.consistency(s1, size).await.unwrap();
        assert_eq!(p.root1, r1);
        verify_consistency(p.size1, p.size2, &p.root1, &p.root2, &p.proof).unwrap();
        receipts += verify_receipts(
            &c,
            fx.trusted(),
            &acked,
            &signed_sizes,
            receipt_sample,
            i as u64,
        )
        .await;
    }

    for s in servers.into_iter().flatten() {
        assert!(s.terminate(Duration::from_secs(15)).success());
    }
    drop(conn);
    db.drop_db().await;
    let secs = |d: &[Duration]| {
        d.iter()
            .map(|d| format!("{:.1}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        std::io::stderr(),
        "replicas: {REPLICAS} replicas, {CLIENTS} round-robin clients and {TRACK_READERS} track-record readers, {kills} leader kills (-9) with the default lease; new leader after [{}] s, its first checkpoint after [{}] s (bound {} s); {} records acknowledged in {} requests ({} lost connections, {} 503s retried), lost 0, duplicated 0, no fork; {} (each source written through all {REPLICAS} replicas: {:?}); {} track records asked, {} bundles verified ({} closed by a close record, {} reads retried); {} checkpoints ({} pairs consistent), {receipts} receipts verified across replicas; ingest {:.1} s, chains checked in {:.1} s, total {:.1} s",
        secs(&takeovers),
        secs(&first_checkpoints),
        TAKEOVER.as_secs(),
        stats.records,
        stats.requests,
        stats.transport_errors,
        stats.unavailable,
        chains.summary(),
        stats.by_source,
        stats.track_reads,
        stats.track_verified,
        stats.track_closed,
        stats.track_retried,
        audited.checkpoints.len(),
        audited.consistent_pairs,
        ingest_time.as_secs_f64(),
        chain_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
}
