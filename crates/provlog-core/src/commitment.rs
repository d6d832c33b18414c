//! Hiding commitments with reveal deadlines: a provider proves when it issued a signal without
//! giving the signal away, and later discloses it.
//!
//! A `commitment` record's one item states a digest of the payload and the window in which it
//! will be revealed; a later `reveal` record of the same source, naming the commitment record as
//! its only parent, discloses the payload and the salt. The digest is
//!
//! ```text
//! SHA-256("provlog-commitment/v1" || 0x00 || salt || JCS(payload))
//! ```
//!
//! with a fresh random 32-byte salt per commitment: without the salt, even a payload of a few
//! bits (`{"token":"BTC","signal":1}`) cannot be found by trying candidates, and with it, the
//! payload cannot be changed after the fact (SHA-256 collision resistance). The salt and the
//! payload stay with the provider until it reveals them; the log sees only the digest.
//! Specification: `docs/formats.md` ("Commitments and reveals").

use base64::prelude::{Engine as _, BASE64_STANDARD};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::hash::{leaf_hash, Hash};
use crate::record::json::parse_json_with_depth;
use crate::record::{
    canonicalize, Content, ContentAlg, MediaType, RecordError, Timestamp, MAX_PAYLOAD_DEPTH,
};

/// Prefixes every committed payload, so a digest cannot be passed off as another hash.
pub const COMMITMENT_DOMAIN: &[u8] = b"provlog-commitment/v1\0";

/// Bytes of a salt.
pub const SALT_LEN: usize = 32;

/// The digest committing to `payload` under `salt`.
pub fn commitment_digest(salt: &[u8; SALT_LEN], payload: &Value) -> Result<Hash, RecordError> {
    let mut h = Sha256::new();
    h.update(COMMITMENT_DOMAIN);
    h.update(salt);
    h.update(canonicalize(payload)?);
    Ok(Hash::from_bytes(h.finalize().into()))
}

/// The one item of a `commitment` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// [`commitment_digest`] of the payload.
    pub digest: Hash,
    /// The reveal may not come before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reveal_after: Option<Timestamp>,
    /// The reveal must come before this time; after it, an unrevealed commitment counts against
    /// its source.
    pub reveal_by: Timestamp,
}

/// The one item of a `reveal` record: what opens its parent commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reveal {
    pub payload: Value,
    /// Base64 of [`SALT_LEN`] bytes.
    pub salt: String,
}

/// Why a reveal does not open its commitment in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevealError {
    #[error("the payload and salt do not open the commitment (its digest is {expected}, they hash to {found})")]
    DoesNotOpen { expected: Hash, found: Hash },
    #[error("the salt is not base64 of {SALT_LEN} bytes")]
    BadSalt,
    #[error("revealed at {at}, before the commitment's reveal_after {after}")]
    TooEarly { at: Timestamp, after: Timestamp },
    #[error("revealed at {at}, not before the commitment's reveal_by {by}")]
    TooLate { at: Timestamp, by: Timestamp },
    #[error("the payload: {0}")]
    Payload(RecordError),
}

impl RevealError {
    /// The failed check, as a stable name other verifiers report too.
    pub fn check(&self) -> &'static str {
        match self {
            RevealError::DoesNotOpen { .. } | RevealError::BadSalt | RevealError::Payload(_) => {
                "reveal_does_not_open"
            }
            RevealError::TooEarly { .. } | RevealError::TooLate { .. } => "reveal_outside_window",
        }
    }
}

/// Canonical JSON of `value`, parsed back from `bytes` strictly (`bytes` must be exactly it).
fn from_item<T: for<'de> Deserialize<'de> + Serialize>(bytes: &[u8]) -> Result<T, RecordError> {
    let value = parse_json_with_depth(bytes, MAX_PAYLOAD_DEPTH + 2)?;
    let item: T = serde_json::from_value(value).map_err(|e| RecordError::Schema {
        message: e.to_string(),
    })?;
    if to_item(&item)? != bytes {
        return Err(RecordError::NotCanonical);
    }
    Ok(item)
}

fn to_item<T: Serialize>(item: &T) -> Result<Vec<u8>, RecordError> {
    let value = serde_json::to_value(item).map_err(|e| RecordError::Canonicalization {
        reason: e.to_string(),
    })?;
    canonicalize(&value)
}

/// The content of a record whose one item is `item` (canonical JSON).
pub fn item_content(item: &[u8]) -> Content {
    Content {
        alg: ContentAlg::Rfc9162Sha256,
        root: leaf_hash(item),
        items: 1,
        media_type: MediaType::json(),
    }
}

impl Commitment {
    /// A commitment to `payload` under a fresh `salt` (the caller draws it from a CSPRNG and
    /// keeps it until the reveal).
    pub fn new(
        salt: &[u8; SALT_LEN],
        payload: &Value,
        reveal_after: Option<Timestamp>,
        reveal_by: Timestamp,
    ) -> Result<Commitment, RecordError> {
        Ok(Commitment {
            digest: commitment_digest(salt, payload)?,
            reveal_after,
            reveal_by,
        })
    }

    /// Checks the window is one: `reveal_after` (if any) before `reveal_by`.
    pub fn check_window(&self) -> Result<(), RecordError> {
        if self.reveal_after.is_some_and(|a| a >= self.reveal_by) {
            return Err(RecordError::invalid(
                "commitment.reveal_after",
                "must be before reveal_by",
            ));
        }
        Ok(())
    }

    pub fn to_item(&self) -> Result<Vec<u8>, RecordError> {
        to_item(self)
    }

    pub fn from_item(bytes: &[u8]) -> Result<Commitment, RecordError> {
        let c: Commitment = from_item(bytes)?;
        c.check_window()?;
        Ok(c)
    }

    /// Whether `reveal`, received at `at`, opens this commitment within its window.
    pub fn check_reveal(&self, reveal: &Reveal, at: Timestamp) -> Result<(), RevealError> {
        let salt: [u8; SALT_LEN] = BASE64_STANDARD
            .decode(&reveal.salt)
            .ok()
            .filter(|s| BASE64_STANDARD.encode(s) == reveal.salt)
            .and_then(|s| s.try_into().ok())
            .ok_or(RevealError::BadSalt)?;
        let found = commitment_digest(&salt, &reveal.payload).map_err(RevealError::Payload)?;
        if found != self.digest {
            return Err(RevealError::DoesNotOpen {
                expected: self.digest,
                found,
            });
        }
        if let Some(after) = self.reveal_after {
            if at < after {
                return Err(RevealError::TooEarly { at, after });
            }
        }
        if at >= self.reveal_by {
            return Err(RevealError::TooLate {
                at,
                by: self.reveal_by,
            });
        }
        Ok(())
    }
}

impl Reveal {
    pub fn new(salt: &[u8; SALT_LEN], payload: Value) -> Reveal {
        Reveal {
            payload,
            salt: BASE64_STANDARD.encode(salt),
        }
    }

    pub fn to_item(&self) -> Result<Vec<u8>, RecordError> {
        to_item(self)
    }

    pub fn from_item(bytes: &[u8]) -> Result<Reveal, RecordError> {
        from_item(bytes)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms).unwrap()
    }

    #[test]
    fn a_reveal_opens_its_commitment_only_with_its_salt_payload_and_window() {
        let salt = [7u8; SALT_LEN];
        let payload = json!({"token": "BTC", "signal": 1});
        let c = Commitment::new(&salt, &payload, Some(at(100)), at(200)).unwrap();
        let r = Reveal::new(&salt, json!({"signal": 1, "token": "BTC"}));
        assert_eq!(
            c.check_reveal(&r, at(150)),
            Ok(()),
            "key order does not matter (JCS)"
        );
        let check = |r: &Reveal, t| c.check_reveal(r, at(t)).unwrap_err().check();
        assert_eq!(
            check(&Reveal::new(&[8; SALT_LEN], payload.clone()), 150),
            "reveal_does_not_open"
        );
        assert_eq!(
            check(
                &Reveal::new(&salt, json!({"token": "BTC", "signal": -1})),
                150
            ),
            "reveal_does_not_open"
        );
        assert_eq!(check(&r, 99), "reveal_outside_window");
        assert_eq!(check(&r, 200), "reveal_outside_window");
        let short = Reveal {
            salt: BASE64_STANDARD.encode([7u8; 31]),
            ..r.clone()
        };
        assert_eq!(c.check_reveal(&short, at(150)), Err(RevealError::BadSalt));
    }

    #[test]
    fn the_digest_is_the_documented_construction() {
        let salt = [1u8; SALT_LEN];
        let payload = json!({"signal": 1, "token": "BTC"});
        let mut bytes = b"provlog-commitment/v1\0".to_vec();
        bytes.extend([1u8; 32]);
        bytes.extend(br#"{"signal":1,"token":"BTC"}"#);
        assert_eq!(
            commitment_digest(&salt, &payload).unwrap(),
            Hash::sha256(&bytes)
        );
    }

    #[test]
    fn items_round_trip_canonically_and_refuse_other_forms() {
        let c = Commitment::new(&[2; SALT_LEN], &json!(1), None, at(5)).unwrap();
        let item = c.to_item().unwrap();
        assert_eq!(Commitment::from_item(&item).unwrap(), c);
        let spaced = String::from_utf8(item).unwrap().replace(':', ": ");
        assert!(Commitment::from_item(spaced.as_bytes()).is_err());
        let backwards = Commitment {
            reveal_after: Some(at(9)),
            ..c
        };
        assert!(Commitment::from_item(&to_item(&backwards).unwrap()).is_err());
        let r = Reveal::new(&[3; SALT_LEN], json!({"a": [1, 2]}));
        assert_eq!(Reveal::from_item(&r.to_item().unwrap()).unwrap(), r);
    }
}
