//! Test support shared by unit tests, integration tests, benchmarks and the golden-vector
//! generator: deterministic leaves, a naive RFC 9162 reference, and proof tampering.
//! Not part of the stable API.

use crate::hash::{leaf_hash, Hash};

/// The leaf hash of deterministic test leaf `i`: SHA-256(0x00 || "leaf-" || i).
pub fn leaf(i: u64) -> Hash {
    leaf_hash(format!("leaf-{i}").as_bytes())
}

/// RFC 6962 §2.1 example inputs (also in transparency-dev/merkle and Go's sumdb tests).
pub const RFC_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
pub const RFC_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

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

    /// MTH(D\[n\]) over leaf hashes.
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

    /// PATH(m, D\[n\]) (§2.1.3.1).
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

    /// PROOF(m, D\[n\]) = SUBPROOF(m, D\[n\], true) (§2.1.4.1).
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
    ]);
    // Any tree is consistent with the empty one, so a change that lands on size 0 proves nothing.
    if size1 ^ 2 != 0 {
        out.push(with("size1 xor 2", &|c| c.size1 ^= 2));
    }
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

/// A small signed log of mixed records, for receipt tests, benchmarks, fuzz seeds and CLI tests.
pub mod registry_log;
pub mod track_log;

pub mod fixture {
    use ed25519_dalek::SigningKey;
    use serde_json::{json, Map, Value};

    use crate::checkpoint::{Checkpoint, NoteSigner, TrustedKeys};
    use crate::content::ContentTree;
    use crate::hash::Hash;
    use crate::log::MemoryLog;
    use crate::receipt::{ItemInclusion, Receipt, RECEIPT_FORMAT_V1};
    use crate::record::{
        digest_content, signal_content, snapshot_content_json, ContentAlg, FormatVersion, KeyId,
        Kind, LogOrigin, MediaType, Nonce, Record, SignedStatement, SourceId, Timestamp,
    };

    pub const ORIGIN: &str = "example.com/provlog/test";
    /// Items per snapshot record.
    pub const SNAPSHOT_ITEMS: usize = 5;

    /// Record `i` is a signal when i % 3 == 0, a snapshot when i % 3 == 1, a digest otherwise;
    /// every fourth record is signed by its source; each links the previous one as parent.
    #[derive(Debug)]
    pub struct Fixture {
        pub signer: NoteSigner,
        pub source_key: SigningKey,
        pub log: MemoryLog,
        pub records: Vec<Vec<u8>>,
        /// Leaf data of each snapshot record's items, by record index.
        pub items: Vec<Option<Vec<Vec<u8>>>>,
        /// Signed checkpoint at the full size.
        pub checkpoint: String,
    }

    impl Fixture {
        pub fn new(n: u64) -> Self {
            let signer =
                NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).expect("valid origin");
            let source_key = SigningKey::from_bytes(&[9; 32]);
            let mut log = MemoryLog::new();
            let (mut records, mut all_items) = (vec![], vec![]);
            let mut previous: Option<Hash> = None;
            for i in 0..n {
                let (kind, content, items) = match i % 3 {
                    0 => {
                        let payload = json!({"token": "ETH", "signal": ((i / 3) % 3) as i64 - 1,
                            "trend": "up", "trader_grade": 61.5 + i as f64 / 8.0, "hour": i});
                        let (content, _) = signal_content(&payload).expect("valid signal");
                        (Kind::Signal, content, None)
                    }
                    1 => {
                        let rows: Vec<Value> = (0..SNAPSHOT_ITEMS)
                            .map(|r| json!({"token": format!("TOK{r}"), "grade": r * 10 + i as usize % 7}))
                            .collect();
                        let (content, items) = snapshot_content_json(&rows).expect("valid rows");
                        (Kind::Snapshot, content, Some(items))
                    }
                    _ => {
                        let root = Hash::sha256(format!("file {i}").as_bytes());
                        let content =
                            digest_content(ContentAlg::Sha256, root, 1, MediaType::octet_stream())
                                .expect("valid digest");
                        (Kind::Digest, content, None)
                    }
                };
                let source = SourceId::new("acme-signals").expect("valid source");
                let parents: Vec<Hash> = previous.into_iter().collect();
                let mut metadata = Map::new();
                metadata.insert("model".into(), json!("grader-v3"));
                let signature = (i % 4 == 0).then(|| {
                    SignedStatement::new(source.clone(), kind, content.clone())
                        .with_parents(parents.clone())
                        .with_metadata(metadata.clone())
                        .sign_statement(
                            &source_key,
                            KeyId::new("k1").expect("valid key id"),
                            Nonce::new(format!("nonce-{i:012}")).expect("valid nonce"),
                            1_764_000_000 + i,
                        )
                        .expect("signable")
                });
                let record = Record {
                    content,
                    kind,
                    metadata,
                    origin: LogOrigin::new(ORIGIN).expect("valid origin"),
                    parents,
                    quality: vec![],
                    received_at: Timestamp::from_unix_millis(1_764_000_000_000 + i as i64 * 1000)
                        .expect("valid time"),
                    signature,
                    source,
                    seq: None,
                    prev: None,
                    v: FormatVersion::V1,
                };
                let bytes = record.to_canonical_bytes().expect("valid record");
                log.append(&bytes);
                previous = Some(crate::hash::leaf_hash(&bytes));
                records.push(bytes);
                all_items.push(items);
            }
            let checkpoint = Checkpoint::new(ORIGIN, log.size(), log.root());
            let checkpoint = String::from_utf8(signer.sign_checkpoint(&checkpoint).expect("signs"))
                .expect("notes are UTF-8");
            Fixture {
                signer,
                source_key,
                log,
                records,
                items: all_items,
                checkpoint,
            }
        }

        pub fn trusted(&self) -> TrustedKeys {
            TrustedKeys::new([self.signer.verifier_key().clone()])
        }

        /// Receipt for record `i` at the full size.
        pub fn receipt(&self, i: u64) -> Receipt {
            let bytes = &self.records[i as usize];
            Receipt {
                format: RECEIPT_FORMAT_V1.to_string(),
                record: String::from_utf8(bytes.clone()).expect("records are UTF-8"),
                leaf_hash: crate::hash::leaf_hash(bytes),
                leaf_index: i,
                inclusion_proof: self
                    .log
                    .inclusion_proof(i, self.log.size())
                    .expect("in the log"),
                checkpoint: self.checkpoint.clone(),
                item: None,
                anchor: None,
            }
        }

        /// Receipt for item `item` of snapshot record `i`.
        pub fn item_receipt(&self, i: u64, item: u64) -> Receipt {
            let items = self.items[i as usize].as_ref().expect("a snapshot record");
            let tree = ContentTree::from_items(items).expect("non-empty");
            let mut receipt = self.receipt(i);
            receipt.item = Some(ItemInclusion {
                index: item,
                data: base64::Engine::encode(
                    &base64::prelude::BASE64_STANDARD,
                    &items[item as usize],
                ),
                proof: tree.item_proof(item).expect("in the tree"),
            });
            receipt
        }
    }
}
