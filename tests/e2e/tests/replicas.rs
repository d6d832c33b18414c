//! Three `provlog serve` replicas on one database, written to round-robin: any replica accepts
//! writes, exactly one leads, and when the leader is killed (-9, no lease release) another takes
//! over within the lease period, and the log goes on without a fork or a lost record.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use provlog_client::{signal, Submission};
use provlog_core::log::verify_consistency;
use provlog_core::receipt::verify_receipt;
use provlog_e2e::{wait_for, Fixture, Server, TestDb};
use serde_json::json;

const LEASE_MS: &str = "2000";

async fn leader_of(servers: &[Server], fx: &Fixture) -> Option<usize> {
    let info = servers[0].client(fx).log_info().await.ok()?;
    let leader = info.leader?;
    for (i, s) in servers.iter().enumerate() {
        if s.client(fx).log_info().await.ok()?.replica == leader {
            return Some(i);
        }
    }
    None
}

#[tokio::test]
async fn the_leader_dies_and_another_takes_over() {
    let fx = Fixture::new("example.com/provlog/replicas");
    let db = TestDb::create("replicas").await;
    let env = [
        ("PROVLOG_LEASE_TTL_MS", LEASE_MS),
        ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200"),
    ];
    let mut servers: Vec<Server> = (0..3).map(|_| Server::start(&fx, &db.url, &env)).collect();

    let mut acked = vec![];
    let write_round = |servers: &[Server], round: usize| {
        let clients: Vec<_> = servers.iter().map(|s| s.client(&fx)).collect();
        async move {
            let mut got = vec![];
            for (i, c) in clients.iter().enumerate() {
                let sub = Submission::one(&signal("replicas", json!({"round": round, "via": i})));
                got.extend(c.submit(&sub).await.unwrap().records);
            }
            got
        }
    };
    for round in 0..5 {
        acked.extend(write_round(&servers, round).await);
    }
    let leader = wait_for("a leader", Duration::from_secs(10), || {
        leader_of(&servers, &fx)
    })
    .await;
    let before = servers[0].client(&fx).log_info().await.unwrap();

    let killed_at = Instant::now();
    servers.remove(leader).kill9();
    let new_leader = wait_for("a new leader", Duration::from_secs(10), || async {
        let i = leader_of(&servers, &fx).await?;
        Some(servers[i].client(&fx).log_info().await.ok()?.replica)
    })
    .await;
    let takeover = killed_at.elapsed();
    assert_ne!(new_leader, before.leader.clone().unwrap());

    // Writes go on through the survivors and get checkpointed by the new leader.
    for round in 5..10 {
        acked.extend(write_round(&servers, round).await);
    }
    let client = servers[0].client(&fx);
    let total = acked.len() as u64;
    wait_for(
        "a checkpoint covering every record",
        Duration::from_secs(15),
        || async { (client.log_info().await.ok()?.checkpoint_size >= total).then_some(()) },
    )
    .await;

    // Dense indexes, every acknowledged record provable, every checkpoint consistent.
    let mut indexes: Vec<u64> = acked.iter().map(|a| a.index).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..total).collect::<Vec<_>>());
    let trusted = fx.trusted();
    for a in &acked {
        let receipt = client.receipt(a.index, None, None).await.unwrap();
        let v = verify_receipt(&receipt, &trusted).unwrap();
        assert_eq!(v.leaf_hash, a.leaf_hash);
    }
    let checkpoints = client.all_checkpoints().await.unwrap();
    assert!(checkpoints.len() >= 2);
    let newest = checkpoints.iter().map(|c| c.size).max().unwrap();
    for c in &checkpoints {
        let p = client.consistency(c.size, newest).await.unwrap();
        let root2 = checkpoints.iter().find(|x| x.size == newest).unwrap().root;
        verify_consistency(c.size, newest, &c.root, &root2, &p.proof).unwrap();
    }
    eprintln!(
        "replicas: leader killed, {new_leader} took over in {:.1} s (lease {LEASE_MS} ms); {total} records, {} checkpoints consistent",
        takeover.as_secs_f64(),
        checkpoints.len()
    );
    for s in servers {
        assert!(s.terminate(Duration::from_secs(15)).success());
    }
    db.drop_db().await;
}
