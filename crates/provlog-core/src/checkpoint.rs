//! Signed tree heads: C2SP `tlog-checkpoint` bodies, signed as C2SP `signed-note` with Ed25519.
//!
//! Parsing and the note format come from the `tlog_tiles` and `signed_note` crates; this module
//! adds our types, strict signature verification (`verify_strict`: no malleable or small-order
//! signatures, which the crate's standard verifier would accept) and typed errors.
//! Key id = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key); verifier keys are
//! written `name+hexid+base64(0x01 || public key)`, signer keys
//! `PRIVATE+KEY+name+hexid+base64(0x01 || seed)`, as Go's `golang.org/x/mod/sumdb/note`.

use std::fmt;
use std::str::FromStr;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use signed_note::{Note, NoteError, VerificationError, Verifier};
use zeroize::Zeroizing;

use crate::hash::Hash;

/// Signature algorithm byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;

/// Why a key, checkpoint or note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed verifier key: {reason}")]
    VerifierKey { reason: &'static str },
    #[error("malformed signer key: {reason}")]
    SignerKey { reason: &'static str },
    #[error("invalid key name {name:?}: it must be non-empty, without spaces or '+'")]
    KeyName { name: String },
    #[error("malformed signed note")]
    MalformedNote,
    #[error("malformed checkpoint body")]
    MalformedBody,
    #[error("no signature from a trusted key (signed by: {signers:?})")]
    NoTrustedSignature { signers: Vec<String> },
    #[error("signature by trusted key {name}+{id:08x} does not verify")]
    BadSignature { name: String, id: u32 },
    #[error("more than one trusted key is named {name}+{id:08x}")]
    AmbiguousKey { name: String, id: u32 },
    #[error("checkpoint is for log {found:?}, expected {expected:?}")]
    OriginMismatch { expected: String, found: String },
}

/// signed-note's rule for key names (non-empty UTF-8 without spaces or `+`), and no control
/// characters: a note may not contain them, so a key so named could sign nothing verifiable.
fn valid_name(name: &str) -> Result<(), CheckpointError> {
    if signed_note::is_key_name_valid(name) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(CheckpointError::KeyName {
            name: name.to_string(),
        })
    }
}

/// C2SP key id of an Ed25519 key.
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut encoded = [0u8; 33];
    encoded[0] = ALG_ED25519;
    encoded[1..].copy_from_slice(key.as_bytes());
    signed_note::key_id(name, &encoded)
}

/// A public key that may sign checkpoints, with its name.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, CheckpointError> {
        valid_name(name)?;
        Ok(VerifierKey {
            name: name.to_string(),
            id: key_id(name, &key),
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_key_text(f, &self.name, self.id, ALG_ED25519, &self.key)
    }
}

/// The signed-note text of a public key, `name+hexid+base64(alg || key)`; the cosigner keys of
/// [`crate::cosignature`] use it with their own algorithm byte.
pub(crate) fn write_key_text(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    id: u32,
    alg: u8,
    key: &VerifyingKey,
) -> fmt::Result {
    let mut encoded = vec![alg];
    encoded.extend_from_slice(key.as_bytes());
    write!(f, "{name}+{id:08x}+{}", BASE64_STANDARD.encode(encoded))
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl FromStr for VerifierKey {
    type Err = CheckpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason| CheckpointError::VerifierKey { reason };
        let s = s.trim();
        let (name, rest) = s.split_once('+').ok_or(bad("expected name+id+key"))?;
        let (id_hex, key_b64) = rest.split_once('+').ok_or(bad("expected name+id+key"))?;
        valid_name(name)?;
        if id_hex.len() != 8 {
            return Err(bad("key id must be 8 hex digits"));
        }
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad("key id is not hex"))?;
        let raw = BASE64_STANDARD
            .decode(key_b64)
            .map_err(|_| bad("key is not base64"))?;
        let (&alg, key) = raw.split_first().ok_or(bad("empty key"))?;
        if alg != ALG_ED25519 {
            return Err(bad("unsupported algorithm (only Ed25519, 0x01)"));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| bad("Ed25519 keys are 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("not an Ed25519 point"))?;
        let vkey = VerifierKey::new(name, key)?;
        if vkey.id != id {
            return Err(bad("key id does not match name and key"));
        }
        Ok(vkey)
    }
}

/// The strict verifier handed to `signed_note`.
struct StrictVerifier(VerifierKey);

impl Verifier for StrictVerifier {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn key_id(&self) -> u32 {
        self.0.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(sig)
            .and_then(|sig| self.0.key.verify_strict(msg, &sig))
            .is_ok()
    }
}

/// The keys a verifier trusts to sign checkpoints: the log's current and earlier keys (rotation),
/// or witnesses. Signatures by other keys are ignored, as signed-note requires.
///
/// Unlike `signed_note::VerifierList` (boxed trait objects), this is `Send + Sync`, so a server
/// can share it between requests.
pub struct TrustedKeys {
    verifiers: Vec<StrictVerifier>,
}

impl TrustedKeys {
    pub fn new(keys: impl IntoIterator<Item = VerifierKey>) -> Self {
        TrustedKeys {
            verifiers: keys.into_iter().map(StrictVerifier).collect(),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &VerifierKey> {
        self.verifiers.iter().map(|v| &v.0)
    }
}

impl signed_note::Verifiers for TrustedKeys {
    fn verifier(&self, name: &str, id: u32) -> Result<&dyn Verifier, VerificationError> {
        let mut matching = self
            .verifiers
            .iter()
            .filter(|v| v.0.name == name && v.0.id == id);
        match (matching.next(), matching.next()) {
            (Some(v), None) => Ok(v),
            (Some(_), Some(_)) => Err(VerificationError::AmbiguousKey {
                name: name.to_string(),
                id,
            }),
            (None, _) => Err(VerificationError::UnknownKey {
                name: name.to_string(),
                id,
            }),
        }
    }
}

impl fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys()).finish()
    }
}

/// A log's signing key. Its text form is secret; `Debug` does not show it.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    verifier: VerifierKey,
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, CheckpointError> {
        let verifier = VerifierKey::new(name, key.verifying_key())?;
        Ok(NoteSigner {
            name: name.to_string(),
            key,
            verifier,
        })
    }

    /// A fresh key from a cryptographic random source.
    pub fn generate<R: CryptoRngCore + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<Self, CheckpointError> {
        Self::new(name, SigningKey::generate(rng))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The secret key in Go's note format: `PRIVATE+KEY+name+hexid+base64(0x01 || seed)`.
    pub fn to_secret_text(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(vec![ALG_ED25519]);
        raw.extend_from_slice(self.key.as_bytes());
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.verifier.id,
            BASE64_STANDARD.encode(&*raw)
        ))
    }

    /// Parses [`NoteSigner::to_secret_text`]'s format.
    pub fn from_secret_text(text: &str) -> Result<Self, CheckpointError> {
        let bad = |reason| CheckpointError::SignerKey { reason };
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(bad("expected PRIVATE+KEY+name+id+key"))?;
        let (name, rest) = rest.split_once('+').ok_or(bad("expected name+id+key"))?;
        let (id_hex, key_b64) = rest.split_once('+').ok_or(bad("expected name+id+key"))?;
        let raw = Zeroizing::new(
            BASE64_STANDARD
                .decode(key_b64)
                .map_err(|_| bad("key is not base64"))?,
        );
        let (&alg, seed) = raw.split_first().ok_or(bad("empty key"))?;
        if alg != ALG_ED25519 {
            return Err(bad("unsupported algorithm (only Ed25519, 0x01)"));
        }
        let seed: &[u8; 32] = seed
            .try_into()
            .map_err(|_| bad("Ed25519 seeds are 32 bytes"))?;
        let signer = NoteSigner::new(name, SigningKey::from_bytes(seed))?;
        if id_hex.len() != 8 || format!("{:08x}", signer.verifier.id) != id_hex.to_lowercase() {
            return Err(bad("key id does not match name and key"));
        }
        Ok(signer)
    }

    /// Signs a note text (which must end in a newline) and returns the whole signed note.
    pub fn sign_note(&self, text: &[u8]) -> Result<Vec<u8>, CheckpointError> {
        let signature = self.key.sign(text).to_bytes().to_vec();
        let sig = signed_note::Signature::new(self.name.clone(), self.verifier.id, signature)
            .map_err(|_| CheckpointError::MalformedNote)?;
        let note = Note::new(text, &[sig]).map_err(|_| CheckpointError::MalformedNote)?;
        Ok(note.to_bytes())
    }

    /// Signs a checkpoint; the result is what `/checkpoint` serves.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<Vec<u8>, CheckpointError> {
        self.sign_note(&checkpoint.to_body())
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({}, secret hidden)", self.verifier)
    }
}

/// A tree head: the log's origin, its size and its root hash (C2SP tlog-checkpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Optional extension lines, each without its newline. Empty for provlog's own checkpoints.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: vec![],
        }
    }

    /// The note text: `origin\nsize\nbase64(root)\n` followed by any extension lines.
    pub fn to_body(&self) -> Vec<u8> {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body.into_bytes()
    }

    /// Parses a note text (not a signed note) as a checkpoint.
    pub fn from_body(body: &[u8]) -> Result<Self, CheckpointError> {
        let parsed =
            tlog_tiles::Checkpoint::from_bytes(body).map_err(|_| CheckpointError::MalformedBody)?;
        let extensions = parsed.extension().lines().map(str::to_string).collect();
        let checkpoint = Checkpoint {
            origin: parsed.origin().to_string(),
            size: parsed.size(),
            root: (*parsed.hash()).into(),
            extensions,
        };
        // The origin line must not smuggle text that renders as something else.
        if checkpoint.to_body() != body {
            return Err(CheckpointError::MalformedBody);
        }
        Ok(checkpoint)
    }
}

/// A checkpoint whose signature by a trusted key was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    /// `name+hexid` of each trusted key that signed it.
    pub signed_by: Vec<String>,
    /// `name+hexid` of signatures by keys the verifier does not know (not checked).
    pub unknown_signers: Vec<String>,
}

fn signer_label(sig: &signed_note::Signature) -> String {
    format!("{}+{:08x}", sig.name(), sig.id())
}

/// Verifies a signed checkpoint note against trusted keys and, when given, the expected origin.
pub fn verify_checkpoint(
    signed_note: &[u8],
    trusted: &TrustedKeys,
    expected_origin: Option<&str>,
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let note = Note::from_bytes(signed_note).map_err(|_| CheckpointError::MalformedNote)?;
    let (verified, unknown) = note.verify(trusted).map_err(|e| match e {
        NoteError::UnverifiedNote => CheckpointError::NoTrustedSignature {
            signers: note_signers(signed_note),
        },
        NoteError::InvalidSignature { name, id } => CheckpointError::BadSignature { name, id },
        NoteError::VerificationError(VerificationError::AmbiguousKey { name, id }) => {
            CheckpointError::AmbiguousKey { name, id }
        }
        _ => CheckpointError::MalformedNote,
    })?;
    let checkpoint = Checkpoint::from_body(note.text())?;
    if let Some(expected) = expected_origin {
        if checkpoint.origin != expected {
            return Err(CheckpointError::OriginMismatch {
                expected: expected.to_string(),
                found: checkpoint.origin,
            });
        }
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        signed_by: verified.iter().map(signer_label).collect(),
        unknown_signers: unknown.iter().map(signer_label).collect(),
    })
}

/// `name+hexid` of every signature line of a note (signed_note keeps them private).
fn note_signers(signed_note: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(signed_note);
    let Some((_, sigs)) = text.rsplit_once("\n\n") else {
        return vec![];
    };
    sigs.lines()
        .filter_map(|line| signed_note::Signature::from_bytes(line.as_bytes()).ok())
        .map(|sig| signer_label(&sig))
        .collect()
}

/// Parses a signed checkpoint without verifying anything: for display, monitors that fetch
/// keys later, and fuzzing. Returns the checkpoint and the `name+hexid` of each signature.
pub fn parse_signed_checkpoint(
    signed_note: &[u8],
) -> Result<(Checkpoint, Vec<String>), CheckpointError> {
    let note = Note::from_bytes(signed_note).map_err(|_| CheckpointError::MalformedNote)?;
    Ok((
        Checkpoint::from_body(note.text())?,
        note_signers(signed_note),
    ))
}

#[cfg(test)]
mod tests;
