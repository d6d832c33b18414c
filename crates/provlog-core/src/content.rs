//! Content trees of snapshots: the Merkle tree over a snapshot's items whose root a snapshot
//! record carries, single-item proofs, multi-item proofs, and their verification.
//!
//! A content tree is an RFC 9162 §2.1 Merkle tree, hashed exactly like the log ([`crate::hash`]):
//! item `i` becomes the leaf hash SHA-256(0x00 || item), interior nodes SHA-256(0x01 || l || r).
//! The tree is built by the `rs_merkle` crate with [`Rfc9162Hasher`]. rs_merkle pairs nodes left
//! to right and promotes a lone last node to the next level unchanged, which yields the same
//! shape as RFC 9162's split at the largest power of two smaller than the size. It builds the
//! tree in aligned chunks of 1,024 leaves and then over the chunk roots, which gives the same
//! nodes as building it all at once, in a working set that stays in cache.
//!
//! **One verifier for both levels.** A single-item proof is the RFC 9162 audit path, so
//! [`crate::log::verify_inclusion`] checks an item in a snapshot exactly as it checks a record in
//! the log; [`verify_item`] only renames its errors. As with log tree sizes, the root does not
//! commit to the item count on its own (a proof for item 0 of 5 also fits a tree of 6 whose last
//! node is the proof's last hash): take the count from the same signed record as the root. Multi-item proofs ([`MultiProof`]) use
//! rs_merkle's layout and verifier, behind checks that close its known holes (see
//! [`verify_multi`]).

use std::fmt;

use rs_merkle::{MerkleProof, PartialTree};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hash::{leaf_hash, node_hash, Hash, LEAF_PREFIX};
use crate::log::{self, ProofError};

/// Most leaves one [`MultiProof`] may prove. rs_merkle's multi-proof verifier spends time
/// quadratic in the number of leaves (it matches siblings by linear search): about 0.2 s for
/// 16,384 leaves, 2 s for 65,536, minutes for a million. The cap keeps a hostile proof from
/// occupying a verifier; prove more items with several proofs.
pub const MAX_PROOF_INDICES: usize = 1 << 14;

/// Why a content tree or proof could not be built, or a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("a snapshot has at least one item")]
    Empty,
    #[error("{count} items exceed this platform's address space")]
    TooManyItems { count: u64 },
    #[error("item index {index} is not in a snapshot of {count} items")]
    IndexOutOfRange { index: u64, count: u64 },
    #[error("a multi-item proof needs at least one index")]
    NoIndices,
    #[error("a multi-item proof covers at most {max} items, got {got}")]
    TooManyIndices { got: usize, max: usize },
    #[error("item index {index} appears more than once")]
    DuplicateIndex { index: u64 },
    #[error("item indices must be sorted: {index} follows {previous}")]
    UnsortedIndices { index: u64, previous: u64 },
    #[error("{indices} indices but {leaves} leaves")]
    LeafCountMismatch { indices: usize, leaves: usize },
    #[error("proof has {got} hashes, a proof for these items has {expected}")]
    WrongProofLength { expected: usize, got: usize },
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    #[error("the content tree has no node {index} at level {level}")]
    MissingNode { level: usize, index: u64 },
    #[error("rs_merkle failed: {kind:?}")]
    Merkle { kind: rs_merkle::ErrorKind },
    #[error(transparent)]
    Log(ProofError),
}

/// RFC 9162 §2.1 hashing for rs_merkle: `hash` is the leaf hash, `concat_and_hash` the node hash.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rfc9162Hasher;

impl rs_merkle::Hasher for Rfc9162Hasher {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        *leaf_hash(data).as_bytes()
    }

    /// Overridden because the default concatenates into a fresh `Vec` per node and hashes it
    /// with `hash`, which would add the leaf prefix instead of the node prefix.
    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(right) => {
                *node_hash(&Hash::from_bytes(*left), &Hash::from_bytes(*right)).as_bytes()
            }
            // A lone last node moves up unchanged: RFC 9162's unbalanced right edge.
            None => *left,
        }
    }
}

/// Proof of several items of one snapshot at once, in rs_merkle's layout: `hashes` are the
/// sibling nodes the items do not determine themselves, level by level from the leaves, left to
/// right within a level. Shared nodes are sent once, so it is shorter than separate proofs.
///
/// Deserialised proofs are untrusted: [`verify_multi`] checks every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiProof {
    /// Number of items in the snapshot.
    pub count: u64,
    /// Indices of the proven items, sorted and unique.
    pub indices: Vec<u64>,
    /// Sibling hashes (base64 in JSON).
    pub hashes: Vec<Hash>,
}

/// Leaves per chunk, as a power of two. rs_merkle copies every level it builds several times;
/// over a million leaves at once those copies are fresh pages (about 30,000 page faults per
/// build), over a chunk they stay in cache and the allocator recycles them. Build time is flat
/// from 2^6 to 2^12 leaves per chunk and slower from 2^14 (`benches/content_tree.rs`).
const CHUNK_BITS: u32 = 10;

/// Bytes of leaf inputs 0x00 || item laid out end to end before any of them is hashed.
/// Hashing each input right after assembling it makes leaf hashing of 64-byte items about a
/// fifth slower: SHA-256's loads then wait for the stores that assembled the input. Items this
/// long or longer are hashed in place, where that wait is lost in the length.
const LEAF_BATCH_BYTES: usize = 16 * 1024;

/// The Merkle tree over one snapshot's items. It holds every node (about 64 bytes per item).
#[derive(Clone)]
pub struct ContentTree {
    /// `layers[j]` holds the `ceil(count / 2^j)` nodes of level `j`, leaves first; the last
    /// layer is the root alone. A lone last node is promoted unchanged, as rs_merkle does.
    layers: Vec<Vec<Hash>>,
    count: u64,
    root: Hash,
}

impl fmt::Debug for ContentTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentTree")
            .field("count", &self.count)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl ContentTree {
    /// Builds the tree over the items' bytes, in order.
    pub fn from_items<I: AsRef<[u8]>>(
        items: impl IntoIterator<Item = I>,
    ) -> Result<Self, ContentError> {
        Self::from_items_in_chunks(items, CHUNK_BITS)
    }

    /// Builds the tree over already computed leaf hashes ([`crate::leaf_hash`] of each item).
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Result<Self, ContentError> {
        Self::from_leaf_hashes_in_chunks(leaves, CHUNK_BITS)
    }

    fn from_items_in_chunks<I: AsRef<[u8]>>(
        items: impl IntoIterator<Item = I>,
        chunk_bits: u32,
    ) -> Result<Self, ContentError> {
        let mut items = items.into_iter();
        let hint = items.size_hint().0;
        // Leaf inputs end to end, and where each ends.
        let (mut inputs, mut ends) = (Vec::with_capacity(LEAF_BATCH_BYTES), Vec::new());
        Self::build(chunk_bits, hint, |layer, want| {
            for item in items.by_ref().take(want) {
                let item = item.as_ref();
                if item.len() >= LEAF_BATCH_BYTES {
                    hash_leaf_inputs(&mut inputs, &mut ends, layer);
                    layer.push((layer.len(), *leaf_hash(item).as_bytes()));
                    continue;
                }
                if inputs.len() + 1 + item.len() > LEAF_BATCH_BYTES {
                    hash_leaf_inputs(&mut inputs, &mut ends, layer);
                }
                inputs.push(LEAF_PREFIX);
                inputs.extend_from_slice(item);
                ends.push(inputs.len());
            }
            hash_leaf_inputs(&mut inputs, &mut ends, layer);
        })
    }

    fn from_leaf_hashes_in_chunks(
        leaves: impl IntoIterator<Item = Hash>,
        chunk_bits: u32,
    ) -> Result<Self, ContentError> {
        let mut leaves = leaves.into_iter();
        let hint = leaves.size_hint().0;
        Self::build(chunk_bits, hint, |layer, want| {
            let hashes = leaves.by_ref().take(want).map(|h| *h.as_bytes());
            layer.extend(hashes.enumerate());
        })
    }

    /// Builds the tree with rs_merkle in aligned chunks of `2^chunk_bits` leaves, then over the
    /// chunk roots. `leaves(layer, want)` appends the next `want` leaf hashes, or as many as
    /// are left, to the empty `layer` in rs_merkle's (index, hash) form; `hint` is how many
    /// leaves are expected in all.
    ///
    /// `PartialTree` rather than `MerkleTree`: the latter builds the same tree and then keeps a
    /// second copy as "history", and exposes no leaf without copying all.
    ///
    /// The nodes are those of one rs_merkle tree over all leaves: every chunk but the last is a
    /// perfect subtree and every level of a chunk starts at an even index, so rs_merkle pairs
    /// the same nodes, and promotes the same lone last node, chunk by chunk as all at once. In
    /// RFC 9162 terms the split at the largest power of two below the size always falls on a
    /// chunk boundary. Hence the root and the proofs do not depend on `chunk_bits`.
    fn build(
        chunk_bits: u32,
        hint: usize,
        mut leaves: impl FnMut(&mut Vec<(usize, [u8; 32])>, usize),
    ) -> Result<Self, ContentError> {
        let merkle = |e: rs_merkle::Error| ContentError::Merkle { kind: e.kind() };
        let chunk = 1usize << chunk_bits;
        // Levels 0 to chunk_bits; the chunk roots end up in the last.
        let mut layers: Vec<Vec<Hash>> = (0..=chunk_bits)
            .map(|j| Vec::with_capacity(hint.div_ceil(1 << j)))
            .collect();
        loop {
            // rs_merkle takes the leaf layer by value, so a new one per chunk (it is recycled
            // by the allocator like rs_merkle's own copies).
            let mut layer = Vec::with_capacity(chunk);
            leaves(&mut layer, chunk);
            let m = layer.len();
            if m == 0 {
                break;
            }
            let tree =
                PartialTree::<Rfc9162Hasher>::build(vec![layer], levels(m)).map_err(merkle)?;
            // rs_merkle returns levels(m) + 1 layers, the chunk root at ceil(log2 m) or above.
            // A short last chunk's root moves up unchanged to level chunk_bits.
            let (built, top) = (tree.layers(), ceil_log2(m));
            for (j, layer) in layers.iter_mut().enumerate() {
                let nodes = &built[j.min(top)];
                layer.extend(nodes.iter().map(|(_, h)| Hash::from_bytes(*h)));
            }
            if m < chunk {
                break;
            }
        }
        let n = layers[0].len();
        if n == 0 {
            return Err(ContentError::Empty);
        }
        let chunk_roots = layers.pop().unwrap_or_default();
        if chunk_roots.len() == 1 {
            // One chunk is the whole tree; its root is at level ceil(log2 n), not chunk_bits.
            layers.truncate(ceil_log2(n));
            layers.push(chunk_roots);
        } else {
            let roots = chunk_roots.iter().map(|h| *h.as_bytes()).enumerate();
            let above = levels(chunk_roots.len());
            let tree = PartialTree::<Rfc9162Hasher>::build(vec![roots.collect()], above)
                .map_err(merkle)?;
            let depth = ceil_log2(chunk_roots.len());
            layers.push(chunk_roots);
            for nodes in tree.layers().iter().take(depth + 1).skip(1) {
                layers.push(nodes.iter().map(|(_, h)| Hash::from_bytes(*h)).collect());
            }
        }
        for layer in &mut layers {
            // Only when the hint was short.
            layer.shrink_to_fit();
        }
        let root = *layers
            .last()
            .and_then(|l| l.first())
            .ok_or(ContentError::Empty)?;
        // usize is at most 64 bits on every target Rust supports.
        let count = n as u64;
        Ok(ContentTree {
            layers,
            count,
            root,
        })
    }

    /// The root a snapshot record carries.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Number of items (at least one).
    #[expect(clippy::len_without_is_empty, reason = "a content tree is never empty")]
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Leaf hash of item `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash, ContentError> {
        check_index(index, self.count)?;
        self.node(0, index)
    }

    /// Proof that item `index` is in this tree: the RFC 9162 audit path, checked by
    /// [`verify_item`] or [`crate::log::verify_inclusion`]. Verified before it is returned.
    pub fn item_proof(&self, index: u64) -> Result<Vec<Hash>, ContentError> {
        check_index(index, self.count)?;
        let proof = self.nodes(&proof_nodes(&[index], self.count))?;
        verify_item(&self.root, self.count, index, &self.node(0, index)?, &proof)?;
        Ok(proof)
    }

    /// Proof that the items at `indices` (sorted, unique) are in this tree, checked by
    /// [`verify_multi`]. Verified before it is returned.
    pub fn multi_proof(&self, indices: &[u64]) -> Result<MultiProof, ContentError> {
        check_indices(indices, self.count)?;
        let proof = MultiProof {
            count: self.count,
            indices: indices.to_vec(),
            hashes: self.nodes(&proof_nodes(indices, self.count))?,
        };
        let leaves = indices
            .iter()
            .map(|&i| self.node(0, i))
            .collect::<Result<Vec<_>, _>>()?;
        verify_multi(&self.root, &proof, &leaves)?;
        Ok(proof)
    }

    fn node(&self, level: usize, index: u64) -> Result<Hash, ContentError> {
        self.layers
            .get(level)
            .zip(usize::try_from(index).ok())
            // A full layer holds node `i` at position `i`.
            .and_then(|(layer, i)| layer.get(i))
            .copied()
            .ok_or(ContentError::MissingNode { level, index })
    }

    fn nodes(&self, at: &[(usize, u64)]) -> Result<Vec<Hash>, ContentError> {
        at.iter().map(|&(level, i)| self.node(level, i)).collect()
    }
}

/// Verifies that `leaf` is the leaf hash of item `index` of the snapshot of `count` items with
/// content root `root`. The same check as [`crate::log::verify_inclusion`], with content errors.
pub fn verify_item(
    root: &Hash,
    count: u64,
    index: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<(), ContentError> {
    if count == 0 {
        return Err(ContentError::Empty);
    }
    log::verify_inclusion(index, count, leaf, proof, root).map_err(|e| match e {
        ProofError::IndexOutOfRange { index, size } => {
            ContentError::IndexOutOfRange { index, count: size }
        }
        ProofError::WrongLength { expected, got } => {
            ContentError::WrongProofLength { expected, got }
        }
        ProofError::RootMismatch => ContentError::RootMismatch,
        other => ContentError::Log(other),
    })
}

/// Verifies that `leaves[k]` is the leaf hash of item `proof.indices[k]` for every `k`, in the
/// snapshot of `proof.count` items with content root `root`.
///
/// rs_merkle's own verifier pairs nodes by position, so it accepts a duplicated index carrying
/// a forged leaf (rs-merkle PR #52), and it ignores surplus proof hashes. Everything it assumes
/// is therefore checked first: at least one and at most [`MAX_PROOF_INDICES`] indices, sorted,
/// unique and below `count`, one leaf per index, and exactly the number of hashes the indices need.
pub fn verify_multi(root: &Hash, proof: &MultiProof, leaves: &[Hash]) -> Result<(), ContentError> {
    let MultiProof {
        count,
        indices,
        hashes,
    } = proof;
    let count = *count;
    check_indices(indices, count)?;
    if leaves.len() != indices.len() {
        return Err(ContentError::LeafCountMismatch {
            indices: indices.len(),
            leaves: leaves.len(),
        });
    }
    let expected = proof_nodes(indices, count).len();
    if hashes.len() != expected {
        return Err(ContentError::WrongProofLength {
            expected,
            got: hashes.len(),
        });
    }
    let count_usize = usize::try_from(count).map_err(|_| ContentError::TooManyItems { count })?;
    // Indices are below `count`, which fits in usize.
    let indices: Vec<usize> = indices.iter().map(|&i| i as usize).collect();
    let leaves: Vec<[u8; 32]> = leaves.iter().map(|h| *h.as_bytes()).collect();
    let hashes: Vec<[u8; 32]> = hashes.iter().map(|h| *h.as_bytes()).collect();
    let computed = MerkleProof::<Rfc9162Hasher>::new(hashes)
        .root(&indices, &leaves, count_usize)
        .map_err(|e| ContentError::Merkle { kind: e.kind() })?;
    if computed == *root.as_bytes() {
        Ok(())
    } else {
        Err(ContentError::RootMismatch)
    }
}

/// Levels rs_merkle builds for `n` leaves: one per bit of `n`. For a power of two that is one
/// more than needed; the extra level just carries the root up.
fn levels(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

/// Hashes the leaf inputs laid out in `inputs` (ending at `ends`) onto `layer`, and empties both.
/// The same as [`crate::leaf_hash`] of each item.
fn hash_leaf_inputs(
    inputs: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    layer: &mut Vec<(usize, [u8; 32])>,
) {
    let mut start = 0;
    for &end in ends.iter() {
        layer.push((layer.len(), Sha256::digest(&inputs[start..end]).into()));
        start = end;
    }
    inputs.clear();
    ends.clear();
}

/// Levels above the leaves in a tree of `n >= 1` leaves: `ceil(log2 n)`.
fn ceil_log2(n: usize) -> usize {
    (usize::BITS - (n - 1).leading_zeros()) as usize
}

fn check_index(index: u64, count: u64) -> Result<(), ContentError> {
    if count == 0 {
        return Err(ContentError::Empty);
    }
    if index >= count {
        return Err(ContentError::IndexOutOfRange { index, count });
    }
    Ok(())
}

/// The preconditions of a multi-item proof (see [`verify_multi`]).
fn check_indices(indices: &[u64], count: u64) -> Result<(), ContentError> {
    if count == 0 {
        return Err(ContentError::Empty);
    }
    let Some(&last) = indices.last() else {
        return Err(ContentError::NoIndices);
    };
    if indices.len() > MAX_PROOF_INDICES {
        return Err(ContentError::TooManyIndices {
            got: indices.len(),
            max: MAX_PROOF_INDICES,
        });
    }
    for w in indices.windows(2) {
        let (previous, index) = (w[0], w[1]);
        if index == previous {
            return Err(ContentError::DuplicateIndex { index });
        }
        if index < previous {
            return Err(ContentError::UnsortedIndices { index, previous });
        }
    }
    // Sorted, so the last index is the largest.
    check_index(last, count)
}

/// The nodes, as (level, index), that a proof for the sorted unique `indices` of a tree of
/// `count` leaves must carry, in rs_merkle's order: level by level from the leaves, left to right.
/// Same rule as rs_merkle's `MerkleTree::proof`, in time linear in `indices` per level.
fn proof_nodes(indices: &[u64], count: u64) -> Vec<(usize, u64)> {
    let mut out = Vec::new();
    let mut nodes = indices.to_vec();
    let (mut level, mut width) = (0, count);
    while width > 1 {
        let mut k = 0;
        while k < nodes.len() {
            let node = nodes[k];
            let sibling = node ^ 1;
            if node & 1 == 0 && nodes.get(k + 1) == Some(&sibling) {
                // Both children known: the parent needs no help.
                k += 2;
                continue;
            }
            // A lone last node (even, at the end of an odd-width level) has no sibling.
            if sibling < width {
                out.push((level, sibling));
            }
            k += 1;
        }
        for n in &mut nodes {
            *n >>= 1;
        }
        nodes.dedup();
        level += 1;
        width = width.div_ceil(2);
    }
    out
}

#[cfg(test)]
mod tests;
