//! Test support shared by unit tests, integration tests, benchmarks and the golden-vector
//! generator: deterministic leaves, a naive RFC 9162 reference, and proof tampering.
//! Not part of the stable API.

use crate::hash::{leaf_hash, Hash};

/// The leaf hash of deterministic test leaf `i`: SHA-256(0x00 || "leaf-" || i).
pub fn leaf(i: u64) -> Hash {
    leaf_hash(format!("leaf-{i}").as_bytes())
}

/// RFC 9162 §2.1 written down as literally as possible, for comparison with the real code.
pub mod naive {
    use crate::hash::{node_hash, Hash, EMPTY_ROOT};

    /// Largest power of two strictly smaller than `n` (n >= 2).
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// MTH(D[n]) over leaf hashes.
    pub fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => EMPTY_ROOT,
            1 => d[0],
            n => {
                let k = split(n);
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    /// PATH(m, D[n]) (§2.1.3.1).
    pub fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return vec![];
        }
        let k = split(n);
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (§2.1.4.1).
    pub fn proof(m: usize, d: &[Hash]) -> Vec<Hash> {
        subproof(m, d, true)
    }

    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }
}

/// An inclusion check with one thing changed.
#[derive(Debug, Clone)]
pub struct InclusionCase {
    pub desc: String,
    pub index: u64,
    pub size: u64,
    pub leaf: Hash,
    pub proof: Vec<Hash>,
    pub root: Hash,
}

/// A consistency check with one thing changed.
#[derive(Debug, Clone)]
pub struct ConsistencyCase {
    pub desc: String,
    pub size1: u64,
    pub size2: u64,
    pub root1: Hash,
    pub root2: Hash,
    pub proof: Vec<Hash>,
}

fn flip_bit(h: &Hash, bit: usize) -> Hash {
    let mut b = *h.as_bytes();
    b[bit / 8] ^= 1 << (bit % 8);
    Hash::from_bytes(b)
}

/// Every way to break a valid inclusion proof that transparency-dev/merkle's test data uses,
/// plus single-bit flips; none of them may verify.
pub fn inclusion_tampers(
    index: u64,
    size: u64,
    leaf: Hash,
    proof: &[Hash],
    root: Hash,
) -> Vec<InclusionCase> {
    let base = InclusionCase {
        desc: String::new(),
        index,
        size,
        leaf,
        proof: proof.to_vec(),
        root,
    };
    let with = |desc: &str, f: &dyn Fn(&mut InclusionCase)| {
        let mut c = base.clone();
        c.desc = desc.to_string();
        f(&mut c);
        c
    };
    let garbage = leaf_hash(b"garbage");
    let mut out = vec![
        with("wrong leaf", &|c| c.leaf = leaf_hash(b"WrongLeaf")),
        with("empty root", &|c| c.root = Hash::default()),
        with("random root", &|c| c.root = leaf_hash(b"random root")),
        with("leaf flipped bit", &|c| c.leaf = flip_bit(&c.leaf, 7)),
        with("root flipped bit", &|c| c.root = flip_bit(&c.root, 200)),
        with("index plus 1", &|c| c.index = c.index.wrapping_add(1)),
        with("size times 2", &|c| c.size = c.size.wrapping_mul(2)),
        with("size div 2", &|c| c.size /= 2),
        with("index xor 2", &|c| c.index ^= 2),
        with("trailing garbage", &|c| c.proof.push(garbage)),
        with("preceding garbage", &|c| c.proof.insert(0, garbage)),
        with("trailing root", &|c| c.proof.push(c.root)),
        with("preceding root", &|c| c.proof.insert(0, c.root)),
    ];
    if index > 0 {
        out.push(with("index minus 1", &|c| c.index -= 1));
    }
    for i in 0..proof.len() {
        out.push(with(&format!("removed proof[{i}]"), &|c| {
            c.proof.remove(i);
        }));
        out.push(with(&format!("proof[{i}] flipped bit"), &|c| {
            c.proof[i] = flip_bit(&c.proof[i], (i * 37) % 256)
        }));
    }
    if proof.len() >= 2 {
        out.push(with("swapped proof[0] and proof[1]", &|c| {
            c.proof.swap(0, 1)
        }));
    }
    // A changed index or size can land on an equally valid coordinate only when the proof is
    // the same; drop the mutations that left everything as it was.
    out.retain(|c| {
        !(c.index == index
            && c.size == size
            && c.leaf == leaf
            && c.root == root
            && c.proof == proof)
    });
    out
}

/// Every way to break a valid consistency proof that transparency-dev/merkle's test data uses,
/// plus single-bit flips; none of them may verify.
pub fn consistency_tampers(
    size1: u64,
    size2: u64,
    root1: Hash,
    root2: Hash,
    proof: &[Hash],
) -> Vec<ConsistencyCase> {
    let base = ConsistencyCase {
        desc: String::new(),
        size1,
        size2,
        root1,
        root2,
        proof: proof.to_vec(),
    };
    let with = |desc: &str, f: &dyn Fn(&mut ConsistencyCase)| {
        let mut c = base.clone();
        c.desc = desc.to_string();
        f(&mut c);
        c
    };
    let garbage = leaf_hash(b"garbage");
    let mut out = vec![];
    if size1 == 0 {
        // Any tree is consistent with the empty tree: only a non-empty proof can be wrong.
        out.push(with("trailing garbage", &|c| c.proof.push(garbage)));
        return out;
    }
    out.extend([
        with("wrong root1", &|c| c.root1 = leaf_hash(b"WrongRoot")),
        with("wrong root2", &|c| c.root2 = leaf_hash(b"WrongRoot")),
        with("root2 flipped bit", &|c| c.root2 = flip_bit(&c.root2, 100)),
        with("trailing garbage", &|c| c.proof.push(garbage)),
        with("preceding garbage", &|c| c.proof.insert(0, garbage)),
        with("trailing root2", &|c| c.proof.push(c.root2)),
        with("preceding root1", &|c| c.proof.insert(0, c.root1)),
        with("size2 times 2", &|c| c.size2 = c.size2.wrapping_mul(2)),
        with("size1 xor 2", &|c| c.size1 ^= 2),
    ]);
    if root1 != root2 {
        out.push(with("swapped roots", &|c| {
            std::mem::swap(&mut c.root1, &mut c.root2)
        }));
    }
    if size1 < size2 {
        out.push(with("size2 div 2", &|c| c.size2 /= 2));
    }
    if size1 > 1 {
        out.push(with("size1 minus 1", &|c| c.size1 -= 1));
    }
    for i in 0..proof.len() {
        out.push(with(&format!("removed proof[{i}]"), &|c| {
            c.proof.remove(i);
        }));
        out.push(with(&format!("proof[{i}] flipped bit"), &|c| {
            c.proof[i] = flip_bit(&c.proof[i], (i * 53) % 256)
        }));
    }
    out.retain(|c| {
        !(c.size1 == size1
            && c.size2 == size2
            && c.root1 == root1
            && c.root2 == root2
            && c.proof == proof)
    });
    out
}
