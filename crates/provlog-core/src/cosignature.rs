//! C2SP `tlog-cosignature` v1 with Ed25519: a witness's (here, a monitor's) signed statement
//! that, as of a time, the checkpoint is the largest consistent tree head it has seen of a log.
//!
//! A cosignature is one more signed-note signature line on the checkpoint:
//! `— <name> base64(key id (4) || timestamp (8, big-endian) || Ed25519 signature (64))`, where
//! the key id is SHA-256(name || 0x0A || 0x04 || public key)\[:4\] and the signed message is
//! `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint's note body. Keys are written
//! like signed-note keys with algorithm byte 0x04: `name+hexid+base64(0x04 || public key)` and
//! `PRIVATE+KEY+name+hexid+base64(0x04 || seed)`.

use std::fmt;
use std::str::FromStr;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::checkpoint::CheckpointError;

/// Signature type byte of Ed25519 cosignature/v1 keys.
const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Why a cosignature could not be made or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    #[error("malformed cosigner key: {0}")]
    Key(&'static str),
    #[error("malformed signed note")]
    MalformedNote,
    #[error("no cosignature by {0}")]
    Missing(String),
    #[error("the cosignature by {0} does not verify")]
    Bad(String),
}

impl From<CheckpointError> for CosignatureError {
    fn from(_: CheckpointError) -> Self {
        CosignatureError::MalformedNote
    }
}

fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_COSIGNATURE_V1]);
    h.update(key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn valid_name(name: &str) -> Result<(), CosignatureError> {
    if signed_note::is_key_name_valid(name) {
        Ok(())
    } else {
        Err(CosignatureError::Key(
            "name must be non-empty, without spaces or '+'",
        ))
    }
}

/// The message a cosignature signs.
fn message(body: &[u8], timestamp: u64) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    m.extend_from_slice(body);
    m
}

/// Splits a signed note into its body (with the final newline) and its signature lines.
fn split_note(note: &[u8]) -> Result<(&[u8], &[u8]), CosignatureError> {
    let text = std::str::from_utf8(note).map_err(|_| CosignatureError::MalformedNote)?;
    let at = text.rfind("\n\n").ok_or(CosignatureError::MalformedNote)?;
    Ok((&note[..at + 1], &note[at + 2..]))
}

/// A cosigner's public key.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignerKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignerKey {
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, CosignatureError> {
        valid_name(name)?;
        Ok(CosignerKey {
            name: name.to_string(),
            id: key_id(name, &key),
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The time of this cosigner's valid signature on `note`, a signed checkpoint.
    pub fn verify(&self, note: &[u8]) -> Result<u64, CosignatureError> {
        let (body, sigs) = split_note(note)?;
        let sigs = std::str::from_utf8(sigs).map_err(|_| CosignatureError::MalformedNote)?;
        let prefix = format!("— {} ", self.name);
        for line in sigs.lines() {
            let Some(encoded) = line.strip_prefix(&prefix) else {
                continue;
            };
            let raw = BASE64_STANDARD
                .decode(encoded)
                .map_err(|_| CosignatureError::MalformedNote)?;
            if raw.len() != 4 + 8 + 64 || raw[..4] != self.id.to_be_bytes() {
                continue;
            }
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&raw[4..12]);
            let timestamp = u64::from_be_bytes(ts);
            let sig = ed25519_dalek::Signature::from_slice(&raw[12..])
                .map_err(|_| CosignatureError::Bad(self.to_string()))?;
            return self
                .key
                .verify_strict(&message(body, timestamp), &sig)
                .map(|()| timestamp)
                .map_err(|_| CosignatureError::Bad(self.to_string()));
        }
        Err(CosignatureError::Missing(self.to_string()))
    }
}

impl fmt::Display for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::checkpoint::write_key_text(f, &self.name, self.id, ALG_COSIGNATURE_V1, &self.key)
    }
}

impl fmt::Debug for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignerKey({self})")
    }
}

/// Decodes `name+hexid+base64(alg || material)` with `alg` checked, and the id checked against
/// the key.
fn parse_key_text(text: &str, secret: bool) -> Result<(String, Vec<u8>, u32), CosignatureError> {
    let (name, rest) = text
        .split_once('+')
        .ok_or(CosignatureError::Key("expected name+id+key"))?;
    let (id_hex, b64) = rest
        .split_once('+')
        .ok_or(CosignatureError::Key("expected name+id+key"))?;
    valid_name(name)?;
    if id_hex.len() != 8 {
        return Err(CosignatureError::Key("key id must be 8 hex digits"));
    }
    let id =
        u32::from_str_radix(id_hex, 16).map_err(|_| CosignatureError::Key("key id is not hex"))?;
    let raw = BASE64_STANDARD
        .decode(b64)
        .map_err(|_| CosignatureError::Key("key is not base64"))?;
    let (&alg, material) = raw
        .split_first()
        .ok_or(CosignatureError::Key("empty key"))?;
    if alg != ALG_COSIGNATURE_V1 {
        return Err(CosignatureError::Key(if secret {
            "not a cosigner key (algorithm byte 0x04)"
        } else {
            "not a cosigner key (algorithm byte 0x04); a log's key has 0x01"
        }));
    }
    Ok((name.to_string(), material.to_vec(), id))
}

impl FromStr for CosignerKey {
    type Err = CosignatureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, material, id) = parse_key_text(s.trim(), false)?;
        let bytes: [u8; 32] = material
            .try_into()
            .map_err(|_| CosignatureError::Key("Ed25519 keys are 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| CosignatureError::Key("not an Ed25519 point"))?;
        let parsed = CosignerKey::new(&name, key)?;
        if parsed.id != id {
            return Err(CosignatureError::Key("key id does not match name and key"));
        }
        Ok(parsed)
    }
}

/// A cosigner's signing key. Its text form is secret; `Debug` does not show it.
#[derive(Clone)]
pub struct Cosigner {
    key: SigningKey,
    public: CosignerKey,
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cosigner({})", self.public)
    }
}

impl Cosigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, CosignatureError> {
        let public = CosignerKey::new(name, key.verifying_key())?;
        Ok(Cosigner { key, public })
    }

    pub fn generate<R: CryptoRngCore + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<Self, CosignatureError> {
        Self::new(name, SigningKey::generate(rng))
    }

    pub fn public_key(&self) -> &CosignerKey {
        &self.public
    }

    /// `PRIVATE+KEY+name+hexid+base64(0x04 || seed)`.
    pub fn to_secret_text(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(vec![ALG_COSIGNATURE_V1]);
        raw.extend_from_slice(self.key.as_bytes());
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.public.name,
            self.public.id,
            BASE64_STANDARD.encode(&*raw)
        ))
    }

    pub fn from_secret_text(text: &str) -> Result<Self, CosignatureError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(CosignatureError::Key("expected PRIVATE+KEY+name+id+key"))?;
        let (name, material, id) = parse_key_text(rest, true)?;
        let material = Zeroizing::new(material);
        let seed: &[u8; 32] = material
            .as_slice()
            .try_into()
            .map_err(|_| CosignatureError::Key("Ed25519 seeds are 32 bytes"))?;
        let cosigner = Cosigner::new(&name, SigningKey::from_bytes(seed))?;
        if cosigner.public.id != id {
            return Err(CosignatureError::Key("key id does not match name and key"));
        }
        Ok(cosigner)
    }

    /// `note` (a signed checkpoint, already verified by the caller) with this cosigner's
    /// signature line for `timestamp` added after the existing ones.
    pub fn cosign(&self, note: &[u8], timestamp: u64) -> Result<Vec<u8>, CosignatureError> {
        let (body, _) = split_note(note)?;
        crate::checkpoint::Checkpoint::from_body(body)?;
        let sig = self.key.sign(&message(body, timestamp));
        let mut raw = self.public.id.to_be_bytes().to_vec();
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        let mut out = note.to_vec();
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.extend_from_slice(
            format!("— {} {}\n", self.public.name, BASE64_STANDARD.encode(raw)).as_bytes(),
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{verify_checkpoint, Checkpoint, NoteSigner, TrustedKeys};
    use crate::Hash;

    fn fixed(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn checkpoint() -> (NoteSigner, Vec<u8>) {
        let log = NoteSigner::new("example.com/log", fixed(1)).unwrap();
        let note = log
            .sign_checkpoint(&Checkpoint::new("example.com/log", 5, Hash::from([7; 32])))
            .unwrap();
        (log, note)
    }

    #[test]
    fn a_cosigned_checkpoint_verifies_for_the_log_and_the_cosigner() {
        let (log, note) = checkpoint();
        let witness = Cosigner::new("witness.example/w1", fixed(2)).unwrap();
        let cosigned = witness.cosign(&note, 1_679_315_147).unwrap();
        assert_eq!(witness.public_key().verify(&cosigned), Ok(1_679_315_147));
        // The log's signature still verifies: a cosignature is just one more line.
        let trusted = TrustedKeys::new([log.verifier_key().clone()]);
        verify_checkpoint(&cosigned, &trusted, Some("example.com/log")).unwrap();
        // Without the line, there is no cosignature.
        assert_eq!(
            witness.public_key().verify(&note),
            Err(CosignatureError::Missing(witness.public_key().to_string()))
        );
    }

    #[test]
    fn the_signed_message_is_the_c2sp_one() {
        let (_, note) = checkpoint();
        let witness = Cosigner::new("witness.example/w1", fixed(2)).unwrap();
        let cosigned = witness.cosign(&note, 42).unwrap();
        let line = String::from_utf8(cosigned).unwrap();
        let encoded = line
            .lines()
            .last()
            .unwrap()
            .strip_prefix("— witness.example/w1 ")
            .unwrap();
        let raw = BASE64_STANDARD.decode(encoded).unwrap();
        // key id = SHA-256(name || "\n" || 0x04 || public key)[:4]
        let mut h = Sha256::new();
        h.update(b"witness.example/w1\n\x04");
        h.update(fixed(2).verifying_key().as_bytes());
        assert_eq!(raw[..4], h.finalize()[..4]);
        assert_eq!(raw[4..12], 42u64.to_be_bytes());
        let body = b"example.com/log\n5\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n";
        let mut msg = b"cosignature/v1\ntime 42\n".to_vec();
        msg.extend_from_slice(body);
        let sig = ed25519_dalek::Signature::from_slice(&raw[12..]).unwrap();
        fixed(2).verifying_key().verify_strict(&msg, &sig).unwrap();
    }

    #[test]
    fn a_changed_checkpoint_or_time_fails() {
        let (_, note) = checkpoint();
        let witness = Cosigner::new("witness.example/w1", fixed(2)).unwrap();
        let cosigned = String::from_utf8(witness.cosign(&note, 42).unwrap()).unwrap();
        let other_root = cosigned.replacen("BwcH", "CAcH", 1);
        assert!(matches!(
            witness.public_key().verify(other_root.as_bytes()),
            Err(CosignatureError::Bad(_))
        ));
        let other = Cosigner::new("witness.example/w1", fixed(3)).unwrap();
        assert!(matches!(
            other.public_key().verify(cosigned.as_bytes()),
            Err(CosignatureError::Missing(_))
        ));
    }

    #[test]
    fn keys_round_trip_and_refuse_a_logs_key() {
        let witness = Cosigner::generate("witness.example/w1", &mut rand::rngs::OsRng).unwrap();
        let again = Cosigner::from_secret_text(&witness.to_secret_text()).unwrap();
        assert_eq!(again.public_key(), witness.public_key());
        let parsed: CosignerKey = witness.public_key().to_string().parse().unwrap();
        assert_eq!(&parsed, witness.public_key());
        let (log, _) = checkpoint();
        assert!(log
            .verifier_key()
            .to_string()
            .parse::<CosignerKey>()
            .is_err());
        assert!(Cosigner::from_secret_text(&log.to_secret_text()).is_err());
    }
}
