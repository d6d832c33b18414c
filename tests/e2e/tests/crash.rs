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
//! - receipts of acknowledged records (a sample, or all) verify with the core library, at the
//!   latest and at older checkpoints;
//! - the server anchors its checkpoints on a real anvil chain throughout: no anchor transaction
//!   was sent twice (the anchorer's mined nonce equals the number of confirmed anchors, their
//!   sizes are distinct, none failed) although kills land between signing, sending and
//!   confirming, and each confirmed anchor on chain holds the signed root of its size.
//!
//! Every fifth round also stops the server gracefully (SIGTERM) under load: it must exit 0.
//!
//! `PROVLOG_CRASH_ROUNDS` (default 20; the full run is 100) sets the number of kills;
//! `PROVLOG_CRASH_RECEIPTS` (default 2000, or `all`) the receipts fetched and verified.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use provlog_chain::anvil::{dev_key, Anvil, AnvilOptions, CHAIN_ID};
use provlog_chain::primitives::Address;
use provlog_chain::{log_id, Reader};
use provlog_core::Hash;
use provlog_e2e::chain::{anchor_env, anchorer_key, contracts_deploy};
use provlog_e2e::load::{audit_signed_log, verify_receipts, Audited, Load};
use provlog_e2e::{env_count, wait_for, Fixture, Server, TestDb};
use rand::{Rng, SeedableRng};
use sqlx::PgConnection;

const ORIGIN: &str = "example.com/provlog/crash";
const CLIENTS: usize = 4;

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

fn start(fx: &Fixture, db: &str, chain: &[(&'static str, String)]) -> Server {
    let mut env: Vec<(&str, &str)> = vec![
        ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200"),
        // A killed leader's lease blocks the next one until it expires.
        ("PROVLOG_LEASE_TTL_MS", "500"),
    ];
    env.extend(chain.iter().map(|(k, v)| (*k, v.as_str())));
    Server::start(fx, db, &env)
}

async fn start_async(fx: &Arc<Fixture>, db: &str, chain: &Chain) -> Server {
    let (fx, db, env) = (fx.clone(), db.to_string(), chain.env.clone());
    tokio::task::spawn_blocking(move || start(&fx, &db, &env))
        .await
        .unwrap()
}

/// `rounds` kills under `load`, each followed by a restart on the same database; every fifth
/// round a graceful stop first. Returns the last server and the number of graceful stops.
async fn kill_and_restart(
    rounds: usize,
    mut server: Server,
    load: &Load,
    fx: &Arc<Fixture>,
    db: &TestDb,
    chain: &Chain,
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
            server = start_async(fx, &db.url, chain).await;
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
        server = start_async(fx, &db.url, chain).await;
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

    let server = start_async(&fx, &db.url, &chain).await;
    let load = Load::start(CLIENTS, vec![Some(server.client(&fx))]);
    let (server, graceful) = kill_and_restart(rounds, server, &load, &fx, &db, &chain).await;
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
        "crash: {rounds} kill -9 rounds and {graceful} SIGTERM restarts under 4 clients; {} records acknowledged in {} requests ({} answered as replays, {} lost connections, {} 503s retried), lost 0, duplicated 0; {} checkpoints ({} pairs consistent); {receipts} receipts verified; {} anchors confirmed on chain, no duplicate transaction ({statuses:?}); ingest {:.1} s, total {:.1} s",
        stats.records,
        stats.requests,
        stats.replayed,
        stats.transport_errors,
        stats.unavailable,
        audited.checkpoints.len(),
        audited.consistent_pairs,
        confirmed.len(),
        ingest_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    // Past the test harness's capture, so CI logs show the figures.
    let _ = writeln!(std::io::stderr(), "{summary}");
}
