//! Crash test: `provlog serve` is killed with SIGKILL at random moments while several clients
//! ingest batches and single records, and restarted on the same database each time. Clients
//! retry every request under its idempotency key until it is acknowledged
//! ([`provlog_e2e::load`]). Afterwards ([`provlog_e2e::load::audit`]):
//!
//! - indexes are dense, everything is integrated, the stored node hashes are exactly those of
//!   the tree, and each stored leaf hashes to its stored leaf hash;
//! - every acknowledged record is at its acknowledged index with its acknowledged leaf hash,
//!   each idempotency key has exactly its request's records (no retry logged twice), and no
//!   record of an unacknowledged request is in the log;
//! - every signed checkpoint verifies, is a prefix of the final tree, and is consistent with
//!   every earlier one (all pairs in memory; consecutive pairs through the API's proofs);
//! - every source's records form one chain ([`provlog_e2e::source_chains`]): format v2, `seq`
//!   dense from 0 in log order, each `prev` the leaf hash of the source's previous record,
//!   `received_at` never going back — in the database (and its `source_seq` column) and as the
//!   server serves the entries. The 4 clients write the same 3 sources, each batch mixing them,
//!   and 3 track-record readers (one per source) have the log write close records into those
//!   chains meanwhile (verifying the bundles they get);
//! - receipts of acknowledged records (a sample, or all) verify with the core library, at the
//!   latest and at older checkpoints;
//! - the server anchors its checkpoints on a real anvil chain throughout: no anchor transaction
//!   was sent twice (the anchorer's mined nonce equals the number of confirmed anchors, their
//!   sizes are distinct, none failed) although kills land between signing, sending and
//!   confirming, and each confirmed anchor on chain holds the signed root of its size.
//!
//! Every fifth round also stops the server gracefully (SIGTERM) under load: it must exit 0.
//!
//! The same kills run on SQLite too (one file, one process, no chain): the log as served is
//! checked against what the clients were told ([`provlog_e2e::load::audit_acked`]), its latest
//! checkpoint and receipts verify, and the sources' chains hold in the file and as served.
//!
//! `PROVLOG_CRASH_ROUNDS` (default 20; the full run is 100) sets the number of kills,
//! `PROVLOG_CRASH_SQLITE_ROUNDS` (default 10) those on SQLite; `PROVLOG_CRASH_RECEIPTS`
//! (default 2000, or `all`) the receipts fetched and verified.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use provlog_chain::anvil::{dev_key, Anvil, AnvilOptions, CHAIN_ID};
use provlog_chain::primitives::Address;
use provlog_chain::{log_id, Reader};
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::log::MemoryLog;
use provlog_core::Hash;
use provlog_e2e::chain::{anchor_env, anchorer_key, contracts_deploy};
use provlog_e2e::load::{
    audit_acked, audit_signed_log, verify_receipts, wait_all_signed, Audited, Load, SOURCES,
};
use provlog_e2e::source_chains::{
    assert_serves_chains, assert_source_chains_in_db, assert_source_chains_in_sqlite,
    served_leaves, SourceChains,
};
use provlog_e2e::{env_count, wait_for, Fixture, Server, TestDb};
use rand::{Rng, SeedableRng};
use sqlx::{Connection, PgConnection, SqliteConnection};

const ORIGIN: &str = "example.com/provlog/crash";
const CLIENTS: usize = 4;
/// Track-record readers, one per source, each asking for a bundle every 20–120 ms.
const TRACK_READERS: usize = 3;

/// The anchoring contract on a fresh anvil chain, deployed with `provlog contracts deploy`;
/// development account 1 is the anchorer.
struct Chain {
    node: Anvil,
    contract: String,
    env: Vec<(&'static str, String)>,
}

impl Chain {
    async fn deploy(fx: &Fixture) -> Chain {
        let node = Anvil::start(AnvilOptions::default())
            .await
            .expect("anvil starts (npm ci in contracts/ installs it)");
        let anchorer = anchorer_key(fx);
        let contract = contracts_deploy(
            fx,
            &node.url(),
            &["--anchorer", &dev_key(1).address().to_string()],
        );
        let mut env = anchor_env(&node.url(), &CHAIN_ID.to_string(), &contract, &anchorer);
        env.extend([
            ("PROVLOG_ANCHOR_EVERY_MS", "0".into()),
            ("PROVLOG_ANCHOR_POLL_MS", "100".into()),
        ]);
        Chain {
            node,
            contract,
            env,
        }
    }

    fn reader(&self) -> Reader {
        Reader::new(&self.node.url()).unwrap()
    }
}

/// The servers logged no internal error (a track record they could not verify would be one).
fn check_internal_errors(fx: &Fixture) {
    let internal = fx.server_internal_errors();
    assert!(internal.is_empty(), "internal errors: {internal:#?}");
}

/// The checked chains cover the whole log of `size` records, with its `close_records`, and
/// every source the clients wrote has one.
fn check_chains(chains: &SourceChains, size: u64, close_records: u64) {
    assert_eq!(chains.records, size);
    assert_eq!(chains.of_kind("close"), close_records);
    for source in SOURCES {
        assert!(
            chains.chains.get(source).is_some_and(|c| c.records > 1),
            "{source} has a chain: {}",
            chains.summary()
        );
    }
}

fn start(fx: &Fixture, db: &str, chain: &[(&'static str, String)]) -> Server {
    let mut env: Vec<(&str, &str)> = vec![
        ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200"),
        // A killed leader's lease blocks the next one until it expires.
        ("PROVLOG_LEASE_TTL_MS", "500"),
    ];
    env.extend(chain.iter().map(|(k, v)| (*k, v.as_str())));
    Server::start(fx, db, &env)
}

async fn start_async(fx: &Arc<Fixture>, db: &str, env: &[(&'static str, String)]) -> Server {
    let (fx, db, env) = (fx.clone(), db.to_string(), env.to_vec());
    tokio::task::spawn_blocking(move || start(&fx, &db, &env))
        .await
        .unwrap()
}

/// `rounds` kills under `load`, each followed by a restart on the same database (with `env`);
/// every fifth round a graceful stop first. Returns the last server and the number of graceful
/// stops.
async fn kill_and_restart(
    rounds: usize,
    mut server: Server,
    load: &Load,
    fx: &Arc<Fixture>,
    db: &str,
    env: &[(&'static str, String)],
) -> (Server, usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xc0ffee);
    let mut graceful = 0;
    for round in 0..rounds {
        if round % 5 == 4 {
            // Now and then a graceful stop under load instead: in-flight requests finish and
            // the server exits 0.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1000))).await;
            let status =
                tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(30)))
                    .await
                    .unwrap();
            assert!(
                status.success(),
                "exit after SIGTERM under load: {status:?}"
            );
            graceful += 1;
            server = start_async(fx, db, env).await;
            load.set(0, Some(server.client(fx)));
        }
        // Mostly mid-ingest; sometimes right after start (lease, first integration).
        let up = if rng.gen_bool(0.2) {
            rng.gen_range(0..50)
        } else {
            rng.gen_range(200..2000)
        };
        tokio::time::sleep(Duration::from_millis(up)).await;
        tokio::task::spawn_blocking(move || server.kill9())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..150))).await;
        server = start_async(fx, db, env).await;
        load.set(0, Some(server.client(fx)));
    }
    (server, graceful)
}

/// Anchors: the final checkpoint (of `audited.size`) gets anchored, and across all the kills no
/// anchor transaction was sent twice. Returns the confirmed anchors and the count by status.
async fn check_anchors(
    db: &TestDb,
    conn: &mut PgConnection,
    chain: &Chain,
    audited: &Audited,
) -> (Vec<(u64, Hash)>, HashMap<String, usize>) {
    let size = audited.size;
    let reader = chain.reader();
    let contract: Address = chain.contract.parse().unwrap();
    let id = log_id(ORIGIN);
    wait_for(
        "the final checkpoint anchored and confirmed",
        Duration::from_secs(120),
        || async {
            let confirmed: Option<i64> =
                sqlx::query_scalar("SELECT max(tree_size) FROM anchors WHERE status = 'confirmed'")
                    .fetch_one(&mut db.connect().await)
                    .await
                    .ok()?;
            (confirmed == Some(size as i64)).then_some(())
        },
    )
    .await;
    let anchors: Vec<(i64, Vec<u8>, String)> =
        sqlx::query_as("SELECT tree_size, root, status FROM anchors ORDER BY id")
            .fetch_all(conn)
            .await
            .unwrap();
    let mut statuses: HashMap<String, usize> = HashMap::new();
    for (_, _, status) in &anchors {
        *statuses.entry(status.clone()).or_default() += 1;
    }
    assert_eq!(statuses.get("failed"), None, "failed anchors: {anchors:?}");
    let confirmed: Vec<(u64, Hash)> = anchors
        .iter()
        .filter(|a| a.2 == "confirmed")
        .map(|(s, r, _)| (*s as u64, Hash::from_slice(r).unwrap()))
        .collect();
    let mut sizes: Vec<u64> = confirmed.iter().map(|c| c.0).collect();
    sizes.dedup();
    assert!(
        sizes.windows(2).all(|w| w[0] < w[1]) && sizes.len() == confirmed.len(),
        "confirmed anchor sizes are distinct and increasing: {sizes:?}"
    );
    assert_eq!(
        reader.mined_nonce(dev_key(1).address()).await.unwrap(),
        confirmed.len() as u64,
        "the anchorer's mined transactions are exactly the confirmed anchors ({statuses:?})"
    );
    for (anchored_size, root) in &confirmed {
        assert_eq!(audited.log.root_at(*anchored_size).unwrap(), *root);
        let on_chain = reader
            .anchored(contract, id, *anchored_size)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("size {anchored_size} is not anchored on chain"));
        assert_eq!(
            Hash::from(on_chain.root.0),
            *root,
            "on-chain root of {anchored_size}"
        );
    }
    assert_eq!(reader.latest(contract, id).await.unwrap().0, size);
    (confirmed, statuses)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_records_survive_kill_9() {
    let rounds = env_count("PROVLOG_CRASH_ROUNDS", 20);
    let receipt_sample = env_count("PROVLOG_CRASH_RECEIPTS", 2_000);
    let started = Instant::now();
    let fx = Arc::new(Fixture::new(ORIGIN));
    let db = TestDb::create("crash").await;
    let chain = Chain::deploy(&fx).await;

    let server = start_async(&fx, &db.url, &chain.env).await;
    let load = Load::start(CLIENTS, vec![Some(server.client(&fx))])
        .with_track_readers(TRACK_READERS, fx.trusted());
    let (server, graceful) =
        kill_and_restart(rounds, server, &load, &fx, &db.url, &chain.env).await;
    let ingest_time = started.elapsed();
    // Clients finish their request in flight against the last server, then stop.
    let (acked, stats) = match load.finish().await {
        Ok(done) => done,
        Err(e) => panic!("client failed: {e}\n{}", server.logs()),
    };
    assert!(stats.records > 0, "nothing was acknowledged");

    // Let the last server integrate and sign everything; consecutive checkpoints also through
    // the server's proofs.
    let client = server.client(&fx);
    let mut conn = db.connect().await;
    let audited = audit_signed_log(
        &mut conn,
        &client,
        &acked,
        &fx.trusted(),
        ORIGIN,
        Duration::from_secs(120),
    )
    .await;
    let (confirmed, statuses) = check_anchors(&db, &mut conn, &chain, &audited).await;

    // Every source's chain, as stored and as served, across all the kills.
    check_internal_errors(&fx);
    let chains_started = Instant::now();
    let chains = assert_source_chains_in_db(&mut conn).await;
    check_chains(&chains, audited.size, audited.close_records);
    // The server serves those very leaves.
    assert_serves_chains(&client, &chains).await;
    let chain_time = chains_started.elapsed();

    // Receipts of acknowledged records (a sample, or all).
    let signed_sizes: Vec<u64> = audited.checkpoints.iter().map(|c| c.0).collect();
    let receipts = verify_receipts(
        &client,
        fx.trusted(),
        &acked,
        &signed_sizes,
        receipt_sample,
        0xc0ffee,
    )
    .await;

    let status = server.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    drop(conn);
    db.drop_db().await;
    let summary = format!(
        "crash: {rounds} kill -9 rounds and {graceful} SIGTERM restarts under {CLIENTS} clients and {TRACK_READERS} track-record readers; {} records acknowledged in {} requests ({} answered as replays, {} lost connections, {} 503s retried), lost 0, duplicated 0; {}; {} track records asked, {} bundles verified ({} closed by a close record, {} reads retried); {} checkpoints ({} pairs consistent); {receipts} receipts verified; {} anchors confirmed on chain, no duplicate transaction ({statuses:?}); ingest {:.1} s, chains checked in {:.1} s, total {:.1} s",
        stats.records,
        stats.requests,
        stats.replayed,
        stats.transport_errors,
        stats.unavailable,
        chains.summary(),
        stats.track_reads,
        stats.track_verified,
        stats.track_closed,
        stats.track_retried,
        audited.checkpoints.len(),
        audited.consistent_pairs,
        confirmed.len(),
        ingest_time.as_secs_f64(),
        chain_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    // Past the test harness's capture, so CI logs show the figures.
    let _ = writeln!(std::io::stderr(), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_records_and_source_chains_survive_kill_9_on_sqlite() {
    let rounds = env_count("PROVLOG_CRASH_SQLITE_ROUNDS", 10);
    let receipt_sample = env_count("PROVLOG_CRASH_RECEIPTS", 2_000);
    let started = Instant::now();
    let fx = Arc::new(Fixture::new(ORIGIN));
    let url = format!("sqlite://{}", fx.path("crash.db").display());

    let server = start_async(&fx, &url, &[]).await;
    let load = Load::start(CLIENTS, vec![Some(server.client(&fx))])
        .with_track_readers(TRACK_READERS, fx.trusted());
    let (server, graceful) = kill_and_restart(rounds, server, &load, &fx, &url, &[]).await;
    let ingest_time = started.elapsed();
    let (acked, stats) = match load.finish().await {
        Ok(done) => done,
        Err(e) => panic!("client failed: {e}\n{}", server.logs()),
    };
    assert!(stats.records > 0, "nothing was acknowledged");
    check_internal_errors(&fx);

    // Through the API: every acknowledged record where it was acknowledged, nothing twice, the
    // latest checkpoint over exactly these leaves, receipts.
    let client = server.client(&fx);
    let size = wait_all_signed(&client, Duration::from_secs(120)).await;
    let leaves = served_leaves(&client, size).await;
    let close_records = audit_acked(leaves.iter().map(Vec::as_slice), &acked);
    let mut log = MemoryLog::with_capacity(leaves.len());
    for leaf in &leaves {
        log.append(leaf);
    }
    let note = client.checkpoint().await.unwrap();
    let checkpoint = verify_checkpoint(note.as_bytes(), &fx.trusted(), Some(ORIGIN))
        .unwrap()
        .checkpoint;
    assert_eq!(
        (checkpoint.size, checkpoint.root),
        (size, log.root_at(size).unwrap())
    );
    let mut signed_sizes: Vec<u64> = client
        .all_checkpoints()
        .await
        .unwrap()
        .iter()
        .map(|c| c.size)
        .collect();
    signed_sizes.sort_unstable();
    let receipts = verify_receipts(
        &client,
        fx.trusted(),
        &acked,
        &signed_sizes,
        receipt_sample,
        0x5917e,
    )
    .await;
    let status = server.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit after SIGTERM: {status:?}");

    // In the file: the chains (and the columns beside each leaf), over the leaves served, and
    // each idempotency key with exactly its request's records.
    let chains_started = Instant::now();
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    let chains = assert_source_chains_in_sqlite(&mut conn).await;
    check_chains(&chains, size, close_records);
    let served: Vec<Hash> = leaves.iter().map(|l| provlog_core::leaf_hash(l)).collect();
    assert!(
        served == chains.leaf_hashes,
        "the server served the stored leaves"
    );
    let chain_time = chains_started.elapsed();
    let keys: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT key, first_index, count FROM idempotency_keys")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let keys: HashMap<String, (i64, i64)> = keys.into_iter().map(|(k, f, c)| (k, (f, c))).collect();
    assert_eq!(keys.len(), acked.len(), "idempotency keys");
    for a in &acked {
        assert_eq!(
            keys.get(&a.key),
            Some(&(a.acks[0].index as i64, a.acks.len() as i64)),
            "{}",
            a.key
        );
    }
    conn.close().await.unwrap();

    let summary = format!(
        "crash (sqlite): {rounds} kill -9 rounds and {graceful} SIGTERM restarts under {CLIENTS} clients and {TRACK_READERS} track-record readers; {} records acknowledged in {} requests ({} answered as replays, {} lost connections, {} 503s retried), lost 0, duplicated 0; {}; {} track records asked, {} bundles verified ({} closed by a close record, {} reads retried); {} checkpoints, {receipts} receipts verified; ingest {:.1} s, chains checked in {:.1} s, total {:.1} s",
        stats.records,
        stats.requests,
        stats.replayed,
        stats.transport_errors,
        stats.unavailable,
        chains.summary(),
        stats.track_reads,
        stats.track_verified,
        stats.track_closed,
        stats.track_retried,
        signed_sizes.len(),
        ingest_time.as_secs_f64(),
        chain_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    let _ = writeln!(std::io::stderr(), "{summary}");
}
