//! The log math against a naive transcription of RFC 9162 §2.1 (MTH, PATH, SUBPROOF), the RFC's
//! known answers, and tampered proofs.

use proptest::prelude::*;

use super::*;
use crate::testing::{self, naive};

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(testing::leaf).collect()
}

fn log_of(n: u64) -> MemoryLog {
    let mut log = MemoryLog::new();
    for h in leaves(n) {
        log.append_leaf_hash(h);
    }
    log
}

#[test]
fn rfc_known_roots() {
    let mut log = MemoryLog::new();
    assert_eq!(log.root(), EMPTY_ROOT);
    for (data, root) in testing::RFC_LEAVES.iter().zip(testing::RFC_ROOTS) {
        log.append(&hex::decode(data).unwrap());
        assert_eq!(log.root().to_hex(), root, "size {}", log.size());
    }
    // Every earlier root stays reachable.
    for (i, root) in testing::RFC_ROOTS.iter().enumerate() {
        assert_eq!(log.root_at(i as u64 + 1).unwrap().to_hex(), *root);
    }
}

#[test]
fn incremental_root_equals_naive_mth_for_every_size_to_2000() {
    let all = leaves(2000);
    let mut log = MemoryLog::new();
    assert_eq!(log.root(), naive::mth(&[]));
    for (n, leaf) in all.iter().enumerate() {
        log.append_leaf_hash(*leaf);
        assert_eq!(log.root(), naive::mth(&all[..=n]), "size {}", n + 1);
    }
    assert_eq!(log.stored_hashes().len() as u64, stored_count(2000));
}

#[test]
fn appended_hashes_match_tlog_stored_hashes() {
    let log = log_of(300);
    let mut grown = MemoryLog::new();
    for (n, leaf) in leaves(300).into_iter().enumerate() {
        let n = n as u64;
        let new = hashes_to_store(n, leaf, &grown).unwrap();
        grown.append_leaf_hash(leaf);
        let start = stored_index(0, n) as usize;
        assert_eq!(&log.stored_hashes()[start..start + new.len()], &new[..]);
    }
}

#[test]
fn every_inclusion_proof_to_size_130_matches_rfc_path() {
    let all = leaves(130);
    let log = log_of(130);
    for size in 1..=130u64 {
        let root = naive::mth(&all[..size as usize]);
        for index in 0..size {
            let proof = log.inclusion_proof(index, size).unwrap();
            assert_eq!(proof, naive::path(index as usize, &all[..size as usize]));
            assert_eq!(proof.len(), inclusion_proof_len(index, size));
            verify_inclusion(index, size, &all[index as usize], &proof, &root).unwrap();
        }
    }
}

#[test]
fn every_consistency_proof_to_size_70_matches_rfc_subproof() {
    let all = leaves(70);
    let log = log_of(70);
    for size2 in 1..=70u64 {
        let root2 = naive::mth(&all[..size2 as usize]);
        for size1 in 0..=size2 {
            let root1 = naive::mth(&all[..size1 as usize]);
            let proof = log.consistency_proof(size1, size2).unwrap();
            if size1 > 0 && size1 < size2 {
                assert_eq!(proof, naive::proof(size1 as usize, &all[..size2 as usize]));
                assert_eq!(proof.len(), consistency_proof_len(size1, size2));
            } else {
                assert!(proof.is_empty());
            }
            verify_consistency(size1, size2, &root1, &root2, &proof).unwrap();
        }
    }
}

#[test]
fn consistency_edge_conventions() {
    let (a, b) = (testing::leaf(1), testing::leaf(2));
    verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]).unwrap();
    verify_consistency(0, 5, &a, &b, &[]).unwrap();
    verify_consistency(3, 3, &a, &a, &[]).unwrap();
    assert_eq!(
        verify_consistency(3, 3, &a, &b, &[]),
        Err(ProofError::EqualSizesDifferentRoots)
    );
    assert!(matches!(
        verify_consistency(3, 3, &a, &a, &[a]),
        Err(ProofError::WrongLength { .. })
    ));
    assert_eq!(
        verify_consistency(4, 3, &a, &b, &[]),
        Err(ProofError::SizesOutOfOrder { size1: 4, size2: 3 })
    );
    assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());
}

#[test]
fn full_u64_range_never_panics() {
    let h = testing::leaf(0);
    let proof: Vec<Hash> = (0..64).map(testing::leaf).collect();
    for (index, size) in [
        (u64::MAX - 1, u64::MAX),
        (0, u64::MAX),
        (u64::MAX, u64::MAX),
        (1 << 63, u64::MAX),
        (0, 1 << 63),
    ] {
        for len in [0, 1, 63, 64, 65] {
            let p: Vec<Hash> = proof.iter().cycle().take(len).copied().collect();
            assert!(verify_inclusion(index, size, &h, &p, &h).is_err());
            let trivially_consistent = len == 0 && (index == 0 || index == size);
            assert_eq!(
                verify_consistency(index, size, &h, &h, &p).is_ok(),
                trivially_consistent
            );
        }
    }
    // A proof for a huge tree can verify: the root is whatever the path implies.
    let size = u64::MAX;
    let index = u64::MAX - 1;
    let p: Vec<Hash> = proof[..inclusion_proof_len(index, size)].to_vec();
    let root = root_from_inclusion_proof(index, size, &h, &p).unwrap();
    verify_inclusion(index, size, &h, &p, &root).unwrap();
    assert!(inclusion_plan(0, u64::MAX).is_err());
    assert!(consistency_plan(1, u64::MAX).is_err());
}

#[test]
fn readers_that_answer_short_are_an_error_not_a_panic() {
    struct Short;
    impl NodeReader for Short {
        fn read_hashes(&self, _: &[u64]) -> Result<Vec<Hash>, ProofError> {
            Ok(vec![])
        }
    }
    assert!(matches!(
        inclusion_proof(3, 10, &Short),
        Err(ProofError::Read(_))
    ));
    assert!(matches!(tree_root(10, &Short), Err(ProofError::Read(_))));
    assert!(matches!(
        consistency_proof(3, 10, &Short),
        Err(ProofError::Read(_))
    ));
    assert!(matches!(
        MemoryLog::new().inclusion_proof(0, 1),
        Err(ProofError::NotInLog { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_inclusion_proofs(size in 1u64..=2000, seed in any::<u64>()) {
        let index = seed % size;
        let all = leaves(size);
        let log = log_of(size);
        let root = naive::mth(&all);
        let proof = log.inclusion_proof(index, size).unwrap();
        prop_assert_eq!(&proof, &naive::path(index as usize, &all));
        verify_inclusion(index, size, &all[index as usize], &proof, &root).unwrap();

        // Plan, fetch, compute gives the same proof from only the planned hashes.
        let plan = inclusion_plan(index, size).unwrap();
        prop_assert!(plan.len() <= 2 * 64);
        let fetched = FetchedNodes::new(plan.iter().map(|&i| (i, log.stored_hashes()[i as usize])));
        prop_assert_eq!(&inclusion_proof(index, size, &fetched).unwrap(), &proof);

        for bad in testing::inclusion_tampers(index, size, all[index as usize], &proof, root) {
            prop_assert!(
                verify_inclusion(bad.index, bad.size, &bad.leaf, &bad.proof, &bad.root).is_err(),
                "accepted tampered proof: {}", bad.desc
            );
        }
    }

    #[test]
    fn random_consistency_proofs(size2 in 1u64..=2000, seed in any::<u64>()) {
        let size1 = seed % (size2 + 1);
        let all = leaves(size2);
        let log = log_of(size2);
        let (root1, root2) = (naive::mth(&all[..size1 as usize]), naive::mth(&all));
        let proof = log.consistency_proof(size1, size2).unwrap();
        if size1 > 0 && size1 < size2 {
            prop_assert_eq!(&proof, &naive::proof(size1 as usize, &all));
        }
        verify_consistency(size1, size2, &root1, &root2, &proof).unwrap();

        let plan = consistency_plan(size1, size2).unwrap();
        let fetched = FetchedNodes::new(plan.iter().map(|&i| (i, log.stored_hashes()[i as usize])));
        prop_assert_eq!(&consistency_proof(size1, size2, &fetched).unwrap(), &proof);

        for bad in testing::consistency_tampers(size1, size2, root1, root2, &proof) {
            prop_assert!(
                verify_consistency(bad.size1, bad.size2, &bad.root1, &bad.root2, &bad.proof).is_err(),
                "accepted tampered proof: {}", bad.desc
            );
        }
    }

    /// Our RFC walk and the tlog crate's recursive checker agree on arbitrary input.
    #[test]
    fn inclusion_verifier_agrees_with_tlog(
        size in 1u64..5000, index in any::<u64>(), len in 0usize..16, seed in any::<u64>(), honest in any::<bool>()
    ) {
        let index = index % size;
        let leaf = testing::leaf(seed);
        let proof: Vec<Hash> = (0..len as u64).map(|i| testing::leaf(seed ^ i)).collect();
        let implied = root_from_inclusion_proof(index, size, &leaf, &proof);
        let root = match (&implied, honest) { (Ok(r), true) => *r, _ => testing::leaf(!seed) };
        let ours = verify_inclusion(index, size, &leaf, &proof, &root).is_ok();
        let tlog_proof: Vec<tlog_tiles::Hash> = proof.iter().copied().map(Into::into).collect();
        let theirs = tlog_tiles::check_record(&tlog_proof, size, root.into(), index, leaf.into()).is_ok();
        prop_assert_eq!(ours, theirs);
    }
}
