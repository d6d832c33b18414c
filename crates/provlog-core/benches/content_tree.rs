//! Building the content tree of a snapshot of 1,000,000 64-byte rows, against the SHA-256 work it
//! cannot avoid.
//!
//! - `a_content_tree`: [`ContentTree::from_items`] (our RFC 9162 hasher through rs_merkle).
//! - `a2_rs_merkle_merkletree_rfc9162`: the same hasher through `rs_merkle::MerkleTree`, which
//!   `ContentTree` does not use (it keeps a second copy of the tree); shown for comparison.
//! - `b_rs_merkle_default_sha256`: `MerkleTree<rs_merkle::algorithms::Sha256>`, rs_merkle's
//!   default hashing (no domain separation, a `Vec` per node).
//! - `c_raw_sha256_tree_messages`: SHA-256 over exactly the messages `a` hashes — n leaf inputs
//!   0x00||row and n-1 node inputs 0x01||l||r, prepared in advance: the floor for `a`.
//! - `d_raw_sha256_items`: SHA-256 over the rows alone.
//!
//! Why `a` trails `c` (about 75% of its speed; 2 cores, shared): `c` hashes messages written
//! long before, `a` must assemble each one just before hashing it. For leaves `ContentTree`
//! lays out a batch of inputs first, which leaves little; but rs_merkle hashes each node in a
//! callback, so 0x01||l||r is stored and at once loaded by SHA-256 at a one-byte offset, and
//! the hash waits for those stores to complete (about 20 ms per million nodes here; the same
//! nodes with their inputs laid out by level first cost nothing extra). rs_merkle's own
//! bookkeeping and one call per node add about 30 ms, keeping every node about 10 ms. Building
//! in chunks of 1,024 leaves keeps rs_merkle's copies in cache: over a million leaves at once
//! they were fresh pages, about 30,000 page faults per build.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use provlog_core::content::{ContentTree, Rfc9162Hasher};
use provlog_core::{leaf_hash, node_hash, Hash};
use rs_merkle::algorithms::Sha256 as RsSha256;
use rs_merkle::{Hasher as _, MerkleTree};
use sha2::{Digest, Sha256};

const ITEMS: usize = 1_000_000;
const ROW: usize = 64;
const MESSAGE: usize = 1 + 2 * 32;

/// Deterministic pseudo-random rows (splitmix64).
fn rows(n: usize) -> Vec<[u8; ROW]> {
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| {
            let mut row = [0u8; ROW];
            for chunk in row.chunks_exact_mut(8) {
                chunk.copy_from_slice(&next().to_le_bytes());
            }
            row
        })
        .collect()
}

/// Every message the content tree hashes (leaf inputs, then node inputs level by level), and
/// the root they lead to.
fn tree_messages(rows: &[[u8; ROW]]) -> (Vec<[u8; MESSAGE]>, Hash) {
    let mut messages = Vec::with_capacity(2 * rows.len());
    let mut level: Vec<Hash> = rows
        .iter()
        .map(|row| {
            let mut m = [0u8; MESSAGE];
            m[1..].copy_from_slice(row);
            messages.push(m);
            leaf_hash(row)
        })
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => {
                    let mut m = [1u8; MESSAGE];
                    m[1..33].copy_from_slice(l.as_bytes());
                    m[33..].copy_from_slice(r.as_bytes());
                    messages.push(m);
                    node_hash(l, r)
                }
                [lone] => *lone,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    (messages, level[0])
}

fn content_tree(c: &mut Criterion) {
    let rows = rows(ITEMS);
    let (messages, root) = tree_messages(&rows);
    assert_eq!(messages.len(), 2 * ITEMS - 1);
    let tree = ContentTree::from_items(&rows).expect("rows are not empty");
    assert_eq!(tree.root(), root, "the prepared messages are the tree's");

    let mut g = c.benchmark_group("content_tree_1M_rows");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(ITEMS as u64));

    g.bench_function("a_content_tree", |b| {
        b.iter(|| ContentTree::from_items(black_box(&rows)).map(|t| t.root()))
    });
    g.bench_function("a2_rs_merkle_merkletree_rfc9162", |b| {
        b.iter(|| {
            let leaves: Vec<[u8; 32]> = black_box(&rows)
                .iter()
                .map(|r| Rfc9162Hasher::hash(r))
                .collect();
            MerkleTree::<Rfc9162Hasher>::from_leaves(&leaves).root()
        })
    });
    g.bench_function("b_rs_merkle_default_sha256", |b| {
        b.iter(|| {
            let leaves: Vec<[u8; 32]> =
                black_box(&rows).iter().map(|r| RsSha256::hash(r)).collect();
            MerkleTree::<RsSha256>::from_leaves(&leaves).root()
        })
    });
    g.bench_function("c_raw_sha256_tree_messages", |b| {
        b.iter(|| {
            for m in black_box(&messages) {
                black_box(Sha256::digest(m));
            }
        })
    });
    g.bench_function("d_raw_sha256_items", |b| {
        b.iter(|| {
            for row in black_box(&rows) {
                black_box(Sha256::digest(row));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, content_tree);
criterion_main!(benches);
