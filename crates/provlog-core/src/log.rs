//! The append-only Merkle log of RFC 9162 §2.1: tree hashes at any size, incremental append,
//! inclusion and consistency proofs, and their verification.
//!
//! Node hashes are kept in the *stored hash* layout of Go's `sumdb/tlog` (Crosby–Wallach
//! post-order numbering, [`stored_index`]), which is also what C2SP tlog-tiles serve. Proof
//! generation follows *plan, fetch, compute*: [`inclusion_plan`] / [`consistency_plan`] /
//! [`root_plan`] list the stored hashes a proof needs, the caller fetches them in one round trip,
//! and [`inclusion_proof`] / [`consistency_proof`] / [`tree_root`] build the result through a
//! [`NodeReader`]. The arithmetic is the `tlog_tiles` crate (Cloudflare's port of Go's tlog);
//! this module wraps it in our types and guards its preconditions so no input can panic it.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::hash::{leaf_hash, node_hash, Hash, EMPTY_ROOT};

/// Largest tree size whose stored hash indexes fit in a `u64` (and in PostgreSQL's BIGINT).
/// Verification accepts any `u64`; only proof *generation* from storage is bounded.
pub const MAX_STORED_TREE_SIZE: u64 = 1 << 61;

/// Why a proof could not be built or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is beyond the largest stored tree ({MAX_STORED_TREE_SIZE})")]
    SizeTooLarge { size: u64 },
    #[error("the first tree size {size1} is larger than the second {size2}")]
    SizesOutOfOrder { size1: u64, size2: u64 },
    #[error("proof has {got} hashes, a proof for these sizes has {expected}")]
    WrongLength { expected: usize, got: usize },
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    #[error("consistency proof between equal sizes requires equal roots")]
    EqualSizesDifferentRoots,
    #[error("the log has {available} leaves, {size} were asked for")]
    NotInLog { size: u64, available: u64 },
    #[error("reading stored hashes: {0}")]
    Read(String),
}

/// Read access to stored node hashes, by stored hash index.
///
/// Implementations return exactly one hash per requested index, in the same order, or an error.
/// Each proof or root computation calls `read_hashes` once.
pub trait NodeReader {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, ProofError>;
}

/// Index of the node at `level` (0 = leaves), `n`-th from the left, in the stored hash layout.
pub fn stored_index(level: u8, n: u64) -> u64 {
    tlog_tiles::stored_hash_index(level, n)
}

/// Number of stored hashes of a tree with `size` leaves.
pub fn stored_count(size: u64) -> u64 {
    tlog_tiles::stored_hash_count(size)
}

/// Expected length of an inclusion proof (RFC 9162 §2.1.3.2: `inner + border`).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let last = size - 1;
    let inner = u64::BITS - (index ^ last).leading_zeros();
    let border = (index.checked_shr(inner).unwrap_or(0)).count_ones();
    (inner + border) as usize
}

/// Expected length of a consistency proof between sizes `0 < size1 < size2` (RFC 9162 §2.1.4.2).
pub fn consistency_proof_len(size1: u64, size2: u64) -> usize {
    let (first, last) = (size1 - 1, size2 - 1);
    let inner = u64::BITS - (first ^ last).leading_zeros();
    let shift = first.trailing_ones().min(inner);
    let first_shifted = first >> shift;
    let border = first_shifted
        .checked_shr(inner - shift)
        .unwrap_or(0)
        .count_ones();
    // When size1 is a power of two the old root itself is not sent.
    let seed = usize::from(!size1.is_power_of_two());
    (inner - shift + border) as usize + seed
}

fn check_index(index: u64, size: u64) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    Ok(())
}

fn check_stored(size: u64) -> Result<(), ProofError> {
    if size > MAX_STORED_TREE_SIZE {
        return Err(ProofError::SizeTooLarge { size });
    }
    Ok(())
}

/// Verifies that `leaf` is the leaf at `index` of the tree of `size` leaves with root `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if root_from_inclusion_proof(index, size, leaf, proof)? == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// The root implied by an inclusion proof. Useful when the root is looked up afterwards (e.g. on
/// chain); everyone else wants [`verify_inclusion`].
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    check_index(index, size)?;
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    // RFC 9162 §2.1.3.2, step by step.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::RootMismatch);
    }
    Ok(r)
}

/// Verifies that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2`
/// leaves with root `root2`.
///
/// Conventions (as transparency-dev/merkle): equal sizes need an empty proof and equal roots;
/// every tree is consistent with the empty tree (size1 = 0, empty proof).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == size2 || size1 == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                expected: 0,
                got: proof.len(),
            });
        }
        if size1 == size2 && root1 != root2 {
            return Err(ProofError::EqualSizesDifferentRoots);
        }
        return Ok(());
    }
    let expected = consistency_proof_len(size1, size2);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    let proof: Vec<tlog_tiles::Hash> = proof.iter().copied().map(Into::into).collect();
    tlog_tiles::check_tree(&proof, size2, (*root2).into(), size1, (*root1).into())
        .map_err(|_| ProofError::RootMismatch)
}

/// A reader that records the indexes asked of it and fails: runs a tlog computation far
/// enough to learn its plan.
#[derive(Default)]
struct PlanRecorder(RefCell<Vec<u64>>);

impl tlog_tiles::HashReader for PlanRecorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Err(tlog_tiles::Error::IndexesNotInTree)
    }
}

fn plan_of<T>(run: impl FnOnce(&PlanRecorder) -> Result<T, tlog_tiles::Error>) -> Vec<u64> {
    let recorder = PlanRecorder::default();
    // The run stops at its single read; its result is only the recorded plan.
    let _ = run(&recorder);
    recorder.0.into_inner()
}

/// Stored hash indexes needed for the root of a tree of `size` leaves.
pub fn root_plan(size: u64) -> Result<Vec<u64>, ProofError> {
    check_stored(size)?;
    if size == 0 {
        return Ok(vec![]);
    }
    Ok(tlog_tiles::sub_tree_index(0, size, vec![]))
}

/// Stored hash indexes needed for the inclusion proof of leaf `index` in a tree of `size` leaves.
pub fn inclusion_plan(index: u64, size: u64) -> Result<Vec<u64>, ProofError> {
    check_stored(size)?;
    check_index(index, size)?;
    Ok(plan_of(|r| tlog_tiles::prove_record(size, index, r)))
}

/// Stored hash indexes needed for a consistency proof from `size1` to `size2`.
pub fn consistency_plan(size1: u64, size2: u64) -> Result<Vec<u64>, ProofError> {
    check_stored(size2)?;
    if size1 > size2 {
        return Err(ProofError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == 0 || size1 == size2 {
        return Ok(vec![]);
    }
    Ok(plan_of(|r| tlog_tiles::prove_tree(size2, size1, r)))
}

/// Adapts a [`NodeReader`] to the tlog crate, checking that it answered in full.
struct Adapter<'a, R: ?Sized>(&'a R, RefCell<Option<ProofError>>);

impl<R: NodeReader + ?Sized> tlog_tiles::HashReader for Adapter<'_, R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        let fail = |e: ProofError| {
            *self.1.borrow_mut() = Some(e);
            tlog_tiles::Error::IndexesNotInTree
        };
        let hashes = self.0.read_hashes(indexes).map_err(fail)?;
        if hashes.len() != indexes.len() {
            // The tlog crate would panic on a short answer; refuse it here instead.
            return Err(fail(ProofError::Read(format!(
                "asked for {} hashes, got {}",
                indexes.len(),
                hashes.len()
            ))));
        }
        Ok(hashes.into_iter().map(Into::into).collect())
    }
}

fn run_with<R: NodeReader + ?Sized, T>(
    reader: &R,
    f: impl FnOnce(&Adapter<'_, R>) -> Result<T, tlog_tiles::Error>,
) -> Result<T, ProofError> {
    let adapter = Adapter(reader, RefCell::new(None));
    f(&adapter).map_err(|e| {
        adapter
            .1
            .take()
            .unwrap_or_else(|| ProofError::Read(e.to_string()))
    })
}

/// Root of the tree of `size` leaves.
pub fn tree_root<R: NodeReader + ?Sized>(size: u64, reader: &R) -> Result<Hash, ProofError> {
    check_stored(size)?;
    run_with(reader, |r| tlog_tiles::tree_hash(size, r)).map(Into::into)
}

/// Inclusion proof (audit path, leaf to root) of leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<R: NodeReader + ?Sized>(
    index: u64,
    size: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofError> {
    check_stored(size)?;
    check_index(index, size)?;
    let proof = run_with(reader, |r| tlog_tiles::prove_record(size, index, r))?;
    Ok(proof.into_iter().map(Into::into).collect())
}

/// Consistency proof from the tree of `size1` leaves to the tree of `size2` leaves.
pub fn consistency_proof<R: NodeReader + ?Sized>(
    size1: u64,
    size2: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofError> {
    check_stored(size2)?;
    if size1 > size2 {
        return Err(ProofError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == 0 || size1 == size2 {
        return Ok(vec![]);
    }
    let proof = run_with(reader, |r| tlog_tiles::prove_tree(size2, size1, r))?;
    Ok(proof.into_iter().map(Into::into).collect())
}

/// Stored hashes fetched for a plan, served back to the proof builders.
#[derive(Debug, Default, Clone)]
pub struct FetchedNodes(HashMap<u64, Hash>);

impl FetchedNodes {
    pub fn new(nodes: impl IntoIterator<Item = (u64, Hash)>) -> Self {
        FetchedNodes(nodes.into_iter().collect())
    }

    /// Adds a node computed since the fetch (an integrator extending the tree).
    pub fn insert(&mut self, index: u64, hash: Hash) {
        self.0.insert(index, hash);
    }
}

impl NodeReader for FetchedNodes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, ProofError> {
        indexes
            .iter()
            .map(|i| {
                self.0
                    .get(i)
                    .copied()
                    .ok_or_else(|| ProofError::Read(format!("stored hash {i} was not fetched")))
            })
            .collect()
    }
}

/// The stored hashes that appending leaf number `size` (0-based) adds, given a reader over the
/// hashes of the first `size` leaves. They go at [`stored_index`]`(0, size)` onwards.
pub fn hashes_to_store<R: NodeReader + ?Sized>(
    size: u64,
    leaf: Hash,
    reader: &R,
) -> Result<Vec<Hash>, ProofError> {
    check_stored(size + 1)?;
    let hashes = run_with(reader, |r| {
        tlog_tiles::stored_hashes_for_record_hash(size, leaf.into(), r)
    })?;
    Ok(hashes.into_iter().map(Into::into).collect())
}

/// A whole log in memory: benchmarks, tests, and batch integration before hashes are persisted.
#[derive(Debug, Default, Clone)]
pub struct MemoryLog {
    size: u64,
    stored: Vec<Hash>,
}

impl MemoryLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty log with room for `leaves` leaves (about two stored hashes each).
    pub fn with_capacity(leaves: usize) -> Self {
        MemoryLog {
            size: 0,
            stored: Vec::with_capacity(leaves.saturating_mul(2)),
        }
    }

    /// Empties the log, keeping its memory for reuse.
    pub fn clear(&mut self) {
        self.size = 0;
        self.stored.clear();
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// All stored hashes, in stored index order.
    pub fn stored_hashes(&self) -> &[Hash] {
        &self.stored
    }

    /// Appends a leaf's data; returns its index.
    pub fn append(&mut self, data: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(data))
    }

    /// Appends an already computed leaf hash; returns its index.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size;
        self.stored.push(leaf);
        // Each trailing one bit of `index` completes a subtree whose left sibling is stored.
        let mut h = leaf;
        for level in 0..(index + 1).trailing_zeros() {
            let left = self.stored[self.pos(stored_index(level as u8, (index >> level) - 1))];
            h = node_hash(&left, &h);
            self.stored.push(h);
        }
        self.size += 1;
        index
    }

    fn pos(&self, stored: u64) -> usize {
        usize::try_from(stored).expect("in-memory logs fit in memory")
    }

    /// Root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(EMPTY_ROOT);
        }
        tree_root(size, self)
    }

    /// Root of the whole log.
    pub fn root(&self) -> Hash {
        self.root_at(self.size)
            .expect("the log's own size is in the log")
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size)?;
        inclusion_proof(index, size, self)
    }

    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size2)?;
        consistency_proof(size1, size2, self)
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        if size > self.size {
            return Err(ProofError::NotInLog {
                size,
                available: self.size,
            });
        }
        Ok(())
    }
}

impl NodeReader for MemoryLog {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, ProofError> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.stored.get(i).copied())
                    .ok_or_else(|| ProofError::Read(format!("stored hash {i} does not exist")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
