//! RFC 9162 §2.1 hashing, the one hash discipline of provlog: log leaves, log nodes and the
//! content trees of snapshots all use SHA-256 with a 0x00 leaf prefix and a 0x01 node prefix.

use std::fmt;
use std::str::FromStr;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Length of a SHA-256 hash in bytes.
pub const HASH_LEN: usize = 32;

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// A SHA-256 hash.
///
/// Text forms: [`Hash::to_hex`] (what `sha256sum` prints; also `Display`) and [`Hash::to_base64`]
/// (standard alphabet with padding, as in C2SP checkpoints). JSON (serde) uses base64.
/// [`FromStr`] accepts either form: 64 hex digits or 44 base64 characters cannot be confused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash([u8; HASH_LEN]);

/// Why text or bytes are not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("a hash is {HASH_LEN} bytes, got {0}")]
    Length(usize),
    #[error("invalid hex: {0}")]
    Hex(String),
    #[error("invalid base64: {0}")]
    Base64(String),
}

impl Hash {
    /// Wraps raw hash bytes.
    pub const fn from_bytes(bytes: [u8; HASH_LEN]) -> Self {
        Hash(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Reads a hash from a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashError> {
        <[u8; HASH_LEN]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashError::Length(bytes.len()))
    }

    /// Lower-case hex, as printed by `sha256sum`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, HashError> {
        let bytes = hex::decode(s).map_err(|e| HashError::Hex(e.to_string()))?;
        Self::from_slice(&bytes)
    }

    /// Standard base64 with padding.
    pub fn to_base64(&self) -> String {
        BASE64_STANDARD.encode(self.0)
    }

    /// Parses standard base64 with padding, the form C2SP checkpoints and our JSON use.
    pub fn from_base64(s: &str) -> Result<Self, HashError> {
        let bytes = BASE64_STANDARD
            .decode(s)
            .map_err(|e| HashError::Base64(e.to_string()))?;
        Self::from_slice(&bytes)
    }

    /// SHA-256 of `data`, without any prefix (plain file digests, key ids).
    pub fn sha256(data: &[u8]) -> Self {
        Hash(Sha256::digest(data).into())
    }
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// Leaf hash: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Hash(h.finalize().into())
}

/// Interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 1 + 2 * HASH_LEN];
    buf[0] = NODE_PREFIX;
    buf[1..=HASH_LEN].copy_from_slice(&left.0);
    buf[1 + HASH_LEN..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = HashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 2 * HASH_LEN {
            Self::from_hex(s)
        } else {
            Self::from_base64(s)
        }
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<[u8; HASH_LEN]> for Hash {
    fn from(bytes: [u8; HASH_LEN]) -> Self {
        Hash(bytes)
    }
}

impl From<tlog_tiles::Hash> for Hash {
    fn from(h: tlog_tiles::Hash) -> Self {
        Hash(h.0)
    }
}

impl From<Hash> for tlog_tiles::Hash {
    fn from(h: Hash) -> Self {
        tlog_tiles::Hash(h.0)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Hash::from_base64(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6962 / RFC 9162 reference values, as used by transparency-dev/merkle and Go's sumdb.
    #[test]
    fn empty_tree_is_sha256_of_nothing() {
        assert_eq!(
            EMPTY_ROOT.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(EMPTY_ROOT, Hash::sha256(b""));
    }

    #[test]
    fn empty_leaf_hash() {
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn node_hash_prefixes_and_orders_children() {
        let (l, r) = (leaf_hash(b"l"), leaf_hash(b"r"));
        let mut input = vec![NODE_PREFIX];
        input.extend_from_slice(l.as_bytes());
        input.extend_from_slice(r.as_bytes());
        assert_eq!(node_hash(&l, &r), Hash::sha256(&input));
        assert_ne!(node_hash(&l, &r), node_hash(&r, &l));
    }

    #[test]
    fn text_forms_round_trip_and_reject_junk() {
        let h = leaf_hash(b"provlog");
        assert_eq!(h.to_hex().parse::<Hash>().unwrap(), h);
        assert_eq!(h.to_base64().parse::<Hash>().unwrap(), h);
        assert_eq!(h.to_hex().to_uppercase().parse::<Hash>().unwrap(), h);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{}\"", h.to_base64()));
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);

        assert_eq!(Hash::from_base64("AAAA"), Err(HashError::Length(3)));
        assert!(matches!(Hash::from_base64("!!"), Err(HashError::Base64(_))));
        assert!(matches!(
            Hash::from_hex(&"zz".repeat(32)),
            Err(HashError::Hex(_))
        ));
        assert_eq!(Hash::from_slice(&[0; 33]), Err(HashError::Length(33)));
        assert!(serde_json::from_str::<Hash>("\"\"").is_err());
    }
}
