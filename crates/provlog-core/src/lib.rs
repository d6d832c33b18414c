//! # provlog-core
//!
//! The pure core of provlog, a verifiable provenance log for AI data: everything needed to build
//! and check proofs, and nothing that does I/O. Storage enters through small synchronous traits
//! ([`log::NodeReader`]); callers own the network, the database and the clock.
//!
//! - [`hash`]: RFC 9162 §2.1 hashing (`0x00` leaves, `0x01` nodes) and the [`struct@Hash`] type.
//! - [`log`]: the append-only log: tree hashes, inclusion and consistency proofs.
//! - [`content`]: content trees of snapshots (one leaf per item) and single- and multi-item proofs.
//! - [`checkpoint`]: C2SP checkpoints signed as C2SP signed notes (Ed25519, strict).
//! - [`cosignature`]: C2SP tlog-cosignature v1, a witness's (here, a monitor's) signed statement
//!   that a checkpoint is the largest consistent tree head it has seen.
//! - [`record`]: the record formats v1 and v2 (RFC 8785 canonical JSON) whose bytes are the log leaves.
//! - [`commitment`]: hiding commitments to payloads, revealed later within a window.
//! - [`registry`]: the source registry as records of the log (kind `source`), proofs of
//!   possession of source keys, and the history they fold into.
//! - [`payload`]: from the value a consumer received to the check that a receipt proves it.
//! - [`evidence`]: source-key evidence, the registry records proving a signing key was the
//!   source's when it signed.
//! - [`track_record`]: a source's records over a window with the proof that none is missing.
//! - [`score`]: a track record's score by the rules its source declared, recomputable by anyone.
//! - [`receipt`]: receipts, the self-contained evidence that a record is in the log, verified
//!   offline; the inclusion part also as a C2SP tlog-proof.
//! - [`httpsig`]: the RFC 9421 / RFC 9530 profile of signed submissions.
//!
//! Specifications: [RFC 9162](https://www.rfc-editor.org/rfc/rfc9162),
//! [C2SP tlog-checkpoint](https://c2sp.org/tlog-checkpoint),
//! [C2SP signed-note](https://c2sp.org/signed-note),
//! [C2SP tlog-proof](https://c2sp.org/tlog-proof),
//! [C2SP tlog-cosignature](https://c2sp.org/tlog-cosignature),
//! [RFC 8785](https://www.rfc-editor.org/rfc/rfc8785).

pub mod checkpoint;
pub mod commitment;
pub mod content;
pub mod cosignature;
pub mod evidence;
pub mod hash;
pub mod httpsig;
pub mod log;
pub mod payload;
pub mod receipt;
pub mod record;
pub mod registry;
pub mod score;
pub mod track_record;

#[doc(hidden)]
pub mod testing;

pub use hash::{leaf_hash, node_hash, Hash, EMPTY_ROOT};
