//! Log append throughput against raw SHA-256 measured in the same run.
//!
//! `append` = leaf hash + the node hashes each new leaf completes, stored in memory.
//! `raw_same_messages` = SHA-256 over exactly the messages append hashes (n leaf inputs
//! 0x00||data and the completed-node inputs 0x01||l||r), prepared beforehand so only hashing is
//! timed: the ceiling for any RFC 9162 log. `raw_data_only` hashes just the leaf data.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use provlog_core::hash::{LEAF_PREFIX, NODE_PREFIX};
use provlog_core::log::{stored_index, MemoryLog};
use sha2::{Digest, Sha256};

const LEAVES: u64 = 1 << 20;
const LEAF_BYTES: usize = 64;

fn leaf_data() -> Vec<[u8; LEAF_BYTES]> {
    (0..LEAVES)
        .map(|i| {
            let mut d = [0u8; LEAF_BYTES];
            d[..8].copy_from_slice(&i.to_le_bytes());
            d[8..16].copy_from_slice(&(i * 0x9e37_79b9_7f4a_7c15).to_le_bytes());
            d
        })
        .collect()
}

/// The messages a log of LEAVES appends hashes, in order.
fn same_messages(data: &[[u8; LEAF_BYTES]]) -> Vec<Vec<u8>> {
    let mut log = MemoryLog::new();
    let mut out = Vec::with_capacity(2 * data.len());
    for (n, d) in data.iter().enumerate() {
        let n = n as u64;
        let before = log.stored_hashes().len();
        let mut leaf = vec![LEAF_PREFIX];
        leaf.extend_from_slice(d);
        out.push(leaf);
        log.append(d);
        let stored = log.stored_hashes();
        // Completing level i+1 hashes the stored left sibling with the hash just made.
        for i in 0..(stored.len() - before - 1) {
            let left = stored[stored_index(i as u8, (n >> i) - 1) as usize];
            let mut node = vec![NODE_PREFIX];
            node.extend_from_slice(left.as_bytes());
            node.extend_from_slice(stored[before + i].as_bytes());
            out.push(node);
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let data = leaf_data();
    let messages = same_messages(&data);
    let mut g = c.benchmark_group("log_append_1Mi_leaves");
    g.sample_size(10);
    g.throughput(Throughput::Elements(LEAVES));
    // Steady state: appends into memory the log already owns, as a long-running integrator
    // does; a fresh 64 MiB allocation per iteration would time the kernel's page faults.
    let mut log = MemoryLog::with_capacity(LEAVES as usize);
    g.bench_function("append", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                log.clear();
                for d in &data {
                    log.append(d);
                }
            }
            start.elapsed()
        })
    });
    g.bench_function("raw_same_messages", |b| {
        b.iter(|| {
            let mut acc = 0u8;
            for m in &messages {
                acc ^= Sha256::digest(m)[0];
            }
            acc
        })
    });
    g.bench_function("raw_data_only", |b| {
        b.iter(|| {
            let mut acc = 0u8;
            for d in &data {
                acc ^= Sha256::digest(d)[0];
            }
            acc
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
