//! Content trees against the naive RFC 9162 reference and the log's verifier, multi-proofs
//! against rs_merkle's own proof builder, tampered proofs, and rs_merkle's known holes.

use proptest::prelude::*;
use rs_merkle::{Hasher as _, MerkleTree};

use super::*;
use crate::testing::{self, naive};

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(testing::leaf).collect()
}

fn tree(leaves: &[Hash]) -> ContentTree {
    ContentTree::from_leaf_hashes(leaves.iter().copied()).unwrap()
}

fn bytes(hashes: &[Hash]) -> Vec<[u8; 32]> {
    hashes.iter().map(|h| *h.as_bytes()).collect()
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut b = *h.as_bytes();
    b[bit / 8 % 32] ^= 1 << (bit % 8);
    Hash::from_bytes(b)
}

#[test]
fn hasher_is_rfc9162() {
    let (l, r) = (leaf_hash(b"l"), leaf_hash(b"r"));
    assert_eq!(Rfc9162Hasher::hash(b"l"), *l.as_bytes());
    assert_eq!(
        Rfc9162Hasher::concat_and_hash(l.as_bytes(), Some(r.as_bytes())),
        *node_hash(&l, &r).as_bytes()
    );
    assert_eq!(
        Rfc9162Hasher::concat_and_hash(l.as_bytes(), None),
        *l.as_bytes()
    );
}

/// RFC 6962 §2.1 example inputs and the roots of their prefixes (as in the log's tests).
#[test]
fn rfc_known_roots() {
    let (data, roots) = (crate::testing::RFC_LEAVES, crate::testing::RFC_ROOTS);
    let items: Vec<Vec<u8>> = data.iter().map(|d| hex::decode(d).unwrap()).collect();
    for (n, root) in roots.iter().enumerate() {
        let t = ContentTree::from_items(&items[..=n]).unwrap();
        assert_eq!(t.root().to_hex(), *root, "{} items", n + 1);
    }
}

#[test]
fn root_equals_naive_mth_for_every_size_to_1000() {
    let all = leaves(1000);
    for n in 1..=all.len() {
        let t = tree(&all[..n]);
        assert_eq!(t.root(), naive::mth(&all[..n]), "{n} items");
        assert_eq!(t.len(), n as u64);
    }
}

#[test]
fn root_equals_rs_merkle_tree_and_items_equal_leaf_hashes() {
    for n in [1usize, 2, 3, 5, 8, 13, 64, 100, 257] {
        let items: Vec<Vec<u8>> = (0..n).map(|i| format!("row {i}").into_bytes()).collect();
        let from_items = ContentTree::from_items(&items).unwrap();
        let hashed: Vec<Hash> = items.iter().map(|i| leaf_hash(i)).collect();
        assert_eq!(from_items.root(), tree(&hashed).root());
        let reference = MerkleTree::<Rfc9162Hasher>::from_leaves(&bytes(&hashed));
        assert_eq!(reference.root(), Some(*from_items.root().as_bytes()));
        for (i, h) in hashed.iter().enumerate() {
            assert_eq!(from_items.leaf_hash(i as u64).unwrap(), *h);
        }
    }
}

#[test]
fn every_item_proof_equals_naive_path_to_64() {
    let all = leaves(64);
    for n in 1..=all.len() {
        let t = tree(&all[..n]);
        for m in 0..n {
            let proof = t.item_proof(m as u64).unwrap();
            assert_eq!(proof, naive::path(m, &all[..n]), "item {m} of {n}");
        }
    }
}

/// Chunks of 1, 2, 4 and 16 leaves: every size to 300 crosses chunk boundaries, and each must
/// give the RFC 9162 root and the RFC 9162 audit paths.
#[test]
fn chunked_tree_equals_naive_across_chunk_boundaries() {
    let all = leaves(300);
    for chunk_bits in [0, 1, 2, 4] {
        for n in 1..=all.len() {
            let t = ContentTree::from_leaf_hashes_in_chunks(all[..n].iter().copied(), chunk_bits)
                .unwrap();
            assert_eq!(t.root(), naive::mth(&all[..n]), "{n} items, 2^{chunk_bits}");
            assert_eq!(t.len(), n as u64);
            if n <= 70 || n % 37 == 0 {
                for m in 0..n {
                    let proof = t.item_proof(m as u64).unwrap();
                    assert_eq!(proof, naive::path(m, &all[..n]), "item {m} of {n}");
                }
            }
        }
    }
}

#[test]
fn chunked_multi_proofs_equal_rs_merkle_proofs() {
    let all = leaves(300);
    for n in [2usize, 5, 16, 17, 33, 100, 255, 256, 257, 300] {
        let reference = MerkleTree::<Rfc9162Hasher>::from_leaves(&bytes(&all[..n]));
        let t = ContentTree::from_leaf_hashes_in_chunks(all[..n].iter().copied(), 2).unwrap();
        let sets: [Vec<u64>; 4] = [
            vec![0],
            vec![n as u64 - 1],
            (0..n as u64).step_by(3).collect(),
            (0..n as u64)
                .filter(|i| i % 7 == 3 || i % 11 == 10)
                .collect(),
        ];
        for indices in sets.iter().filter(|s| !s.is_empty()) {
            let proof = t.multi_proof(indices).unwrap();
            let usize_indices: Vec<usize> = indices.iter().map(|&i| i as usize).collect();
            let expected = reference.proof(&usize_indices);
            assert_eq!(
                bytes(&proof.hashes),
                expected.proof_hashes(),
                "{n}: {indices:?}"
            );
        }
    }
}

/// `from_items` lays out and hashes leaf inputs itself: items of any length, across batches
/// and chunks, and items too long to batch, must still give `leaf_hash` of each.
#[test]
fn items_of_any_length_across_batches_and_chunks() {
    let lengths = [
        0,
        1,
        55,
        63,
        64,
        65,
        119,
        1000,
        LEAF_BATCH_BYTES - 1,
        LEAF_BATCH_BYTES,
    ];
    let items: Vec<Vec<u8>> = (0..1200)
        .map(|i| vec![i as u8; lengths[i % lengths.len()]])
        .collect();
    let hashed: Vec<Hash> = items.iter().map(|i| leaf_hash(i)).collect();
    for chunk_bits in [0, 3, CHUNK_BITS] {
        for n in [1, 2, 9, 10, 11, 257, items.len()] {
            let t = ContentTree::from_items_in_chunks(&items[..n], chunk_bits).unwrap();
            assert_eq!(
                t.root(),
                naive::mth(&hashed[..n]),
                "{n} items, 2^{chunk_bits}"
            );
            for (i, h) in hashed[..n].iter().enumerate() {
                assert_eq!(t.leaf_hash(i as u64).unwrap(), *h);
            }
        }
    }
}

/// An iterator that does not know its length (size hint 0) builds the same tree.
#[test]
fn unknown_length_builds_the_same_tree() {
    let all = leaves(3000);
    let known = tree(&all);
    let unknown = ContentTree::from_leaf_hashes(all.iter().copied().filter(|_| true)).unwrap();
    assert_eq!(unknown.root(), known.root());
    assert_eq!(unknown.layers, known.layers);
    let rows: Vec<String> = (0..3000).map(|i| format!("row {i}")).collect();
    let from_items = ContentTree::from_items(rows.iter().filter(|_| true)).unwrap();
    assert_eq!(
        from_items.root(),
        ContentTree::from_items(&rows).unwrap().root()
    );
}

#[test]
fn one_item() {
    let t = ContentTree::from_items([b"only row"]).unwrap();
    let leaf = leaf_hash(b"only row");
    assert_eq!((t.len(), t.root(), t.leaf_hash(0)), (1, leaf, Ok(leaf)));
    assert_eq!(t.item_proof(0), Ok(vec![]));
    verify_item(&t.root(), 1, 0, &leaf, &[]).unwrap();
    let multi = t.multi_proof(&[0]).unwrap();
    assert!(multi.hashes.is_empty());
    verify_multi(&t.root(), &multi, &[leaf]).unwrap();
    assert_eq!(
        verify_item(&t.root(), 1, 0, &leaf, &[leaf]),
        Err(ContentError::WrongProofLength {
            expected: 0,
            got: 1
        })
    );
}

#[test]
fn no_items_is_an_error() {
    let none: [&[u8]; 0] = [];
    assert_eq!(
        ContentTree::from_items(none).unwrap_err(),
        ContentError::Empty
    );
    assert_eq!(
        ContentTree::from_leaf_hashes([]).unwrap_err(),
        ContentError::Empty
    );
    let leaf = testing::leaf(0);
    assert_eq!(
        verify_item(&leaf, 0, 0, &leaf, &[]),
        Err(ContentError::Empty)
    );
    let proof = MultiProof {
        count: 0,
        indices: vec![0],
        hashes: vec![],
    };
    assert_eq!(
        verify_multi(&leaf, &proof, &[leaf]),
        Err(ContentError::Empty)
    );
}

#[test]
fn index_equal_to_count_is_out_of_range() {
    let all = leaves(5);
    let t = tree(&all);
    let out = ContentError::IndexOutOfRange { index: 5, count: 5 };
    assert_eq!(t.leaf_hash(5), Err(out.clone()));
    assert_eq!(t.item_proof(5), Err(out.clone()));
    assert_eq!(t.multi_proof(&[1, 5]), Err(out.clone()));
    assert_eq!(
        verify_item(&t.root(), 5, 5, &all[4], &t.item_proof(4).unwrap()),
        Err(out.clone())
    );
    let mut proof = t.multi_proof(&[1, 4]).unwrap();
    proof.indices[1] = 5;
    assert_eq!(verify_multi(&t.root(), &proof, &[all[1], all[4]]), Err(out));
}

#[test]
fn malformed_index_lists_are_rejected() {
    let all = leaves(10);
    let t = tree(&all);
    assert_eq!(t.multi_proof(&[]), Err(ContentError::NoIndices));
    assert_eq!(
        t.multi_proof(&[3, 3]),
        Err(ContentError::DuplicateIndex { index: 3 })
    );
    assert_eq!(
        t.multi_proof(&[4, 2]),
        Err(ContentError::UnsortedIndices {
            index: 2,
            previous: 4
        })
    );
    let many: Vec<u64> = (0..=MAX_PROOF_INDICES as u64).collect();
    assert_eq!(
        t.multi_proof(&many),
        Err(ContentError::TooManyIndices {
            got: MAX_PROOF_INDICES + 1,
            max: MAX_PROOF_INDICES
        })
    );

    let proof = t.multi_proof(&[2, 7]).unwrap();
    let empty = MultiProof {
        indices: vec![],
        ..proof.clone()
    };
    assert_eq!(
        verify_multi(&t.root(), &empty, &[]),
        Err(ContentError::NoIndices)
    );
    assert_eq!(
        verify_multi(&t.root(), &proof, &[all[2]]),
        Err(ContentError::LeafCountMismatch {
            indices: 2,
            leaves: 1
        })
    );
    let swapped = MultiProof {
        indices: vec![7, 2],
        ..proof.clone()
    };
    assert_eq!(
        verify_multi(&t.root(), &swapped, &[all[7], all[2]]),
        Err(ContentError::UnsortedIndices {
            index: 2,
            previous: 7
        })
    );
}

/// rs-merkle PR #52: a duplicated index smuggles a forged leaf past rs_merkle's verifier,
/// because it pairs nodes by position and the stable sort puts the genuine leaf first.
#[test]
fn duplicate_index_with_forged_leaf_is_rejected() {
    let all = leaves(4);
    let t = tree(&all);
    let proof = t.multi_proof(&[0, 1]).unwrap();
    let forged = leaf_hash(b"FAKE");
    let (indices, claimed) = ([0, 1, 1], [all[0], all[1], forged]);

    let raw = MerkleProof::<Rfc9162Hasher>::new(bytes(&proof.hashes));
    assert!(
        raw.verify(*t.root().as_bytes(), &indices, &bytes(&claimed), 4),
        "raw rs_merkle accepts the forged leaf"
    );

    let attack = MultiProof {
        indices: indices.iter().map(|&i| i as u64).collect(),
        ..proof
    };
    assert_eq!(
        verify_multi(&t.root(), &attack, &claimed),
        Err(ContentError::DuplicateIndex { index: 1 })
    );
}

/// rs_merkle ignores proof hashes it does not need, so a proof could carry anything after them.
#[test]
fn surplus_proof_hashes_are_rejected() {
    let all = leaves(6);
    let t = tree(&all);
    let mut proof = t.multi_proof(&[1, 4]).unwrap();
    let claimed = [all[1], all[4]];
    let expected = proof.hashes.len();
    proof.hashes.push(leaf_hash(b"junk"));

    let raw = MerkleProof::<Rfc9162Hasher>::new(bytes(&proof.hashes));
    assert!(raw.verify(*t.root().as_bytes(), &[1, 4], &bytes(&claimed), 6));
    assert_eq!(
        verify_multi(&t.root(), &proof, &claimed),
        Err(ContentError::WrongProofLength {
            expected,
            got: expected + 1
        })
    );
}

#[test]
fn multi_proof_serialises_hashes_as_base64() {
    let all = leaves(3);
    let proof = tree(&all).multi_proof(&[0]).unwrap();
    let json = serde_json::to_string(&proof).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"count":3,"indices":[0],"hashes":["{}","{}"]}}"#,
            all[1].to_base64(),
            all[2].to_base64()
        )
    );
    assert_eq!(serde_json::from_str::<MultiProof>(&json).unwrap(), proof);
    assert!(serde_json::from_str::<MultiProof>(&json.replace('}', r#","x":1}"#)).is_err());
}

/// Sorted unique indices below `n`, at most `max` of them and at least one.
fn index_set(n: u64, max: usize) -> impl Strategy<Value = Vec<u64>> {
    prop::collection::btree_set(0..n, 1..=max).prop_map(|s| s.into_iter().collect())
}

proptest! {
    #[test]
    fn item_proofs_verify_and_tampered_ones_fail((n, index) in (1u64..=2000).prop_flat_map(|n| (Just(n), 0..n))) {
        let all = leaves(n);
        let t = tree(&all);
        let leaf = all[index as usize];
        let proof = t.item_proof(index).unwrap();
        prop_assert_eq!(log::verify_inclusion(index, n, &leaf, &proof, &t.root()), Ok(()));
        prop_assert_eq!(verify_item(&t.root(), n, index, &leaf, &proof), Ok(()));
        for c in testing::inclusion_tampers(index, n, leaf, &proof, t.root()) {
            prop_assert!(
                log::verify_inclusion(c.index, c.size, &c.leaf, &c.proof, &c.root).is_err(),
                "log verifier accepted: {}", c.desc
            );
            prop_assert!(
                verify_item(&c.root, c.size, c.index, &c.leaf, &c.proof).is_err(),
                "content verifier accepted: {}", c.desc
            );
        }
    }

    #[test]
    fn multi_proofs_verify_and_tampered_ones_fail(
        (n, indices) in (1u64..=2000).prop_flat_map(|n| (Just(n), index_set(n, 24)))
    ) {
        let all = leaves(n);
        let t = tree(&all);
        let claimed: Vec<Hash> = indices.iter().map(|&i| all[i as usize]).collect();
        let proof = t.multi_proof(&indices).unwrap();
        prop_assert_eq!(verify_multi(&t.root(), &proof, &claimed), Ok(()));

        // Same hashes, same order as rs_merkle's own proof builder.
        let reference = MerkleTree::<Rfc9162Hasher>::from_leaves(&bytes(&all));
        let usize_indices: Vec<usize> = indices.iter().map(|&i| i as usize).collect();
        let expected = reference.proof(&usize_indices);
        prop_assert_eq!(bytes(&proof.hashes), expected.proof_hashes().to_vec());

        for k in 0..claimed.len() {
            let mut wrong = claimed.clone();
            wrong[k] = flip(&wrong[k], k * 7);
            prop_assert_eq!(verify_multi(&t.root(), &proof, &wrong), Err(ContentError::RootMismatch));
        }
        for k in 0..proof.hashes.len() {
            let mut bad = proof.clone();
            bad.hashes[k] = flip(&bad.hashes[k], k * 13 + 1);
            prop_assert_eq!(verify_multi(&t.root(), &bad, &claimed), Err(ContentError::RootMismatch));
            let mut short = proof.clone();
            short.hashes.remove(k);
            let short_result = verify_multi(&t.root(), &short, &claimed);
            prop_assert!(
                matches!(short_result, Err(ContentError::WrongProofLength { .. })),
                "short proof: {:?}", short_result
            );
        }
        prop_assert!(verify_multi(&flip(&t.root(), 3), &proof, &claimed).is_err());
        // No `count` tamper: as with log tree sizes, some proofs are valid for several counts
        // (e.g. item 0 of 5 and of 6), so the count must come from the record with the root.
    }

    #[test]
    fn chunked_trees_equal_unchunked_ones(
        (n, index) in (1u64..=600).prop_flat_map(|n| (Just(n), 0..n)),
        chunk_bits in 0u32..8,
    ) {
        let all = leaves(n);
        let whole = tree(&all);
        let t = ContentTree::from_leaf_hashes_in_chunks(all.iter().copied(), chunk_bits).unwrap();
        prop_assert_eq!(t.root(), whole.root());
        prop_assert_eq!(&t.layers, &whole.layers);
        prop_assert_eq!(t.item_proof(index).unwrap(), naive::path(index as usize, &all));
    }

    /// Arbitrary proofs, including huge counts and proofs with the exact expected length (so
    /// they reach rs_merkle), must come back as errors, never as panics.
    #[test]
    fn hostile_multi_proofs_never_panic(
        count in prop_oneof![0u64..100, any::<u64>(), Just(u64::MAX)],
        raw_indices in prop::collection::vec(any::<u64>(), 0..40),
        extra_hashes in 0usize..3,
        leaf_delta in 0usize..2,
        seed in any::<u64>(),
    ) {
        let fake = |i: u64| testing::leaf(seed ^ i);
        let mut indices: Vec<u64> = raw_indices.iter().map(|i| i % count.max(1)).collect();
        // Half the time well-formed indices, half the time whatever came.
        if seed % 2 == 0 {
            indices.sort_unstable();
            indices.dedup();
        }
        let needed = if check_indices(&indices, count).is_ok() {
            proof_nodes(&indices, count).len()
        } else {
            raw_indices.len()
        };
        let proof = MultiProof {
            count,
            indices: indices.clone(),
            hashes: (0..(needed + extra_hashes) as u64).map(fake).collect(),
        };
        let claimed: Vec<Hash> = (0..(indices.len() + leaf_delta) as u64).map(fake).collect();
        prop_assert!(verify_multi(&fake(u64::MAX), &proof, &claimed).is_err());
    }
}
