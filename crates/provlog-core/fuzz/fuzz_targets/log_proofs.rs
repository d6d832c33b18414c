//! RFC 9162 proof verification, from structured input. Checks that:
//! - arbitrary indexes, sizes, hashes and proofs: `verify_inclusion`, `root_from_inclusion_proof`
//!   and `verify_consistency` never panic; whenever `root_from_inclusion_proof` returns a root,
//!   `verify_inclusion` accepts that root (and no other one: it equals the given root iff
//!   `verify_inclusion` accepts the given root);
//! - a real log of 1..=64 fuzzer-chosen leaves: its inclusion and consistency proofs verify,
//!   and every tampered variant from `testing::{inclusion,consistency}_tampers` is refused
//!   (except the one "tamper" that is valid, see below).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use provlog_core::log::{
    root_from_inclusion_proof, verify_consistency, verify_inclusion, MemoryLog,
};
use provlog_core::testing::{consistency_tampers, inclusion_tampers};
use provlog_core::{leaf_hash, Hash};

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any values at all.
    Raw {
        index: u64,
        size: u64,
        leaf: [u8; 32],
        root: [u8; 32],
        proof: Vec<[u8; 32]>,
        size1: u64,
        size2: u64,
        root1: [u8; 32],
        root2: [u8; 32],
        consistency: Vec<[u8; 32]>,
    },
    /// A log whose leaves are `leaves` bytes (1..=64 of them), proofs for `index` and `size1`.
    Real {
        leaves: Vec<u8>,
        index: u8,
        size1: u8,
    },
}

fuzz_target!(|input: Input| match input {
    Input::Raw {
        index,
        size,
        leaf,
        root,
        proof,
        size1,
        size2,
        root1,
        root2,
        consistency,
    } => {
        let hashes = |v: Vec<[u8; 32]>| v.into_iter().map(Hash::from_bytes).collect::<Vec<_>>();
        let (leaf, root) = (Hash::from_bytes(leaf), Hash::from_bytes(root));
        let proof = hashes(proof);
        let verdict = verify_inclusion(index, size, &leaf, &proof, &root);
        match root_from_inclusion_proof(index, size, &leaf, &proof) {
            Ok(implied) => {
                assert_eq!(
                    verify_inclusion(index, size, &leaf, &proof, &implied),
                    Ok(())
                );
                assert_eq!(verdict.is_ok(), implied == root);
            }
            Err(e) => assert_eq!(verdict, Err(e)),
        }
        let (root1, root2) = (Hash::from_bytes(root1), Hash::from_bytes(root2));
        let _ = verify_consistency(size1, size2, &root1, &root2, &hashes(consistency));
    }
    Input::Real {
        leaves,
        index,
        size1,
    } => {
        let mut log = MemoryLog::new();
        for (i, byte) in leaves.iter().take(64).enumerate() {
            log.append(&[i as u8, *byte]);
        }
        if log.size() == 0 {
            return;
        }
        let (size, root) = (log.size(), log.root());
        let index = u64::from(index) % size;
        let leaf = leaf_hash(&[index as u8, leaves[index as usize]]);
        let proof = log.inclusion_proof(index, size).expect("index in the log");
        assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()));
        assert_eq!(
            root_from_inclusion_proof(index, size, &leaf, &proof),
            Ok(root)
        );
        for case in inclusion_tampers(index, size, leaf, &proof, root) {
            let verdict =
                verify_inclusion(case.index, case.size, &case.leaf, &case.proof, &case.root);
            assert!(
                verdict.is_err(),
                "tampered inclusion verified: {}",
                case.desc
            );
        }

        let size1 = u64::from(size1) % (size + 1);
        let root1 = log.root_at(size1).expect("size1 <= size");
        let proof = log
            .consistency_proof(size1, size)
            .expect("sizes in the log");
        assert_eq!(
            verify_consistency(size1, size, &root1, &root, &proof),
            Ok(())
        );
        // `consistency_tampers` turns size1 = size2 = 2 into size1 = 0 with an empty proof,
        // which is rightly consistent (every tree extends the empty one): not a tamper.
        let tampers = consistency_tampers(size1, size, root1, root, &proof)
            .into_iter()
            .filter(|c| !(c.size1 == 0 && c.proof.is_empty()));
        for case in tampers {
            let verdict = verify_consistency(
                case.size1,
                case.size2,
                &case.root1,
                &case.root2,
                &case.proof,
            );
            assert!(
                verdict.is_err(),
                "tampered consistency verified: {}",
                case.desc
            );
        }
    }
});
