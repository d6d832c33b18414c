//! Track records: a source's records over a window, shown complete from the log alone.
//!
//! Every record of format v2 carries its source's sequence number and the leaf hash of the
//! source's previous record ([`crate::record`]). A bundle (`provlog-track-record/v1`) holds the
//! window's records in sequence order, the record just before the window (absent when the
//! window starts at the source's first record) and the record just after it (a `close` record
//! the log writes when the window reaches the present), each with its inclusion proof at one
//! signed checkpoint. [`verify_track_record`] checks that the chain runs unbroken from the
//! record before to the record after: sequence numbers consecutive, each `prev` the leaf hash of
//! the record before it, leaf indexes and times increasing with them. A record left out, moved,
//! or replaced breaks a link; a window cut short ends at a record whose successor is missing or
//! inside the window's time. Source keys are established by the registry evidence
//! ([`crate::evidence`]) the bundle carries for every key that signed in the window.
//!
//! The format is documented in `docs/formats.md` ("Track records").

use std::collections::BTreeMap;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{TrustedKeys, VerifiedCheckpoint};
use crate::commitment::{Commitment, Reveal};
use crate::evidence::{verify_source_evidence, EvidenceError, SourceEvidence, VerifiedKey};
use crate::hash::Hash;
use crate::receipt::{
    AnchorRef, Receipt, ReceiptError, ReceiptVerifier, VerifiedReceipt, RECEIPT_FORMAT_V1,
};
use crate::record::{
    Content, ContentAlg, FormatVersion, Kind, LogOrigin, MediaType, Record, RecordError, SourceId,
    Timestamp,
};
use crate::registry::RegistryEvent;
use crate::score::{Declared, ScoringSpec};

/// The `format` of version 1 track-record bundles.
pub const TRACK_RECORD_FORMAT_V1: &str = "provlog-track-record/v1";

/// The window a bundle was asked for: records received in `[since, until)` and numbered
/// `from_seq..=to_seq`, each bound optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_seq: Option<u64>,
}

impl Window {
    /// Whether a record received at `at` with sequence number `seq` belongs to the window.
    pub fn contains(&self, seq: u64, at: Timestamp) -> bool {
        self.since.is_none_or(|s| at >= s)
            && self.until.is_none_or(|u| at < u)
            && self.from_seq.is_none_or(|f| seq >= f)
            && self.to_seq.is_none_or(|t| seq <= t)
    }
}

/// One record of a bundle, with its inclusion proof at the bundle's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub leaf_index: u64,
    /// The record's canonical bytes (RFC 8785 JSON text), exactly as hashed into the log.
    pub record: String,
    pub inclusion_proof: Vec<Hash>,
    /// The record's one item (base64), whose leaf hash is its `content.root`, for the kinds
    /// whose content is one JSON item: required for commitments, reveals, registry records and
    /// outcomes, and carried for signals whenever the log holds their payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

/// A track-record bundle as it travels (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackRecord {
    /// Always [`TRACK_RECORD_FORMAT_V1`].
    pub format: String,
    pub source: SourceId,
    pub window: Window,
    /// The signed checkpoint (C2SP signed note) every proof of the bundle leads to.
    pub checkpoint: String,
    /// The window's records, in sequence order.
    pub records: Vec<Entry>,
    /// The source's record just before the window; absent when the window starts at its first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Entry>,
    /// The source's record just after the window.
    pub after: Entry,
    /// The commitments, from before the window, that reveals in the window open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commitments: Vec<Entry>,
    /// Registry evidence for every key that signed a record of the window, at the checkpoint,
    /// by key id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, SourceEvidence>,
    /// Where the checkpoint was anchored on chain. Not checked offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<AnchorRef>,
    /// The registry record declaring the source's scoring spec ([`crate::score`]), when it
    /// declared one by the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring: Option<Entry>,
    /// With a scoring spec: the outcome source's records, at the same checkpoint, from before
    /// the first scored record to the checkpoint (an open window, ending at a `close` record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<Box<TrackRecord>>,
}

impl TrackRecord {
    pub fn from_json(bytes: &[u8]) -> Result<Self, TrackRecordError> {
        serde_json::from_slice(bytes).map_err(|e| TrackRecordError::Parse(e.to_string()))
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a bundle serialises")
    }

    /// `entry` as a receipt at the bundle's checkpoint (with its anchor): what each record of a
    /// bundle is verified as.
    pub fn receipt(&self, entry: &Entry) -> Receipt {
        Receipt {
            format: RECEIPT_FORMAT_V1.into(),
            leaf_hash: crate::leaf_hash(entry.record.as_bytes()),
            record: entry.record.clone(),
            leaf_index: entry.leaf_index,
            inclusion_proof: entry.inclusion_proof.clone(),
            checkpoint: self.checkpoint.clone(),
            item: None,
            anchor: self.anchor.clone(),
        }
    }
}

/// Where in a bundle a record sits, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Before,
    /// The n-th record of the window (0-based).
    Window(usize),
    After,
    /// The n-th of the bundle's `commitments`.
    Commitment(usize),
    /// The scoring declaration.
    Scoring,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Before => f.write_str("the record before the window"),
            Position::Window(i) => write!(f, "record {i} of the window"),
            Position::After => f.write_str("the record after the window"),
            Position::Commitment(i) => write!(f, "commitment {i} of the bundle"),
            Position::Scoring => f.write_str("the scoring declaration"),
        }
    }
}

/// Which check of a bundle failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackRecordError {
    #[error("bundle is not valid JSON of the track-record format: {0}")]
    Parse(String),
    #[error(
        "unsupported bundle format {found:?} (this verifier reads {TRACK_RECORD_FORMAT_V1:?})"
    )]
    UnsupportedFormat { found: String },
    #[error("{at}: {error}")]
    Receipt {
        at: Position,
        error: Box<ReceiptError>,
    },
    #[error("{at} is of source {found:?}, not {expected:?}")]
    WrongSource {
        at: Position,
        found: String,
        expected: String,
    },
    #[error("{at} is a format v1 record, without the source's chain")]
    Unchained { at: Position },
    #[error("{at} has sequence number {found}; the chain needs {expected}: a record is missing or out of order")]
    SeqGap {
        at: Position,
        expected: u64,
        found: u64,
    },
    #[error("{at} does not link to the record before it (prev {found:?}, expected {expected:?}): a record was removed, replaced or reordered")]
    PrevMismatch {
        at: Position,
        expected: Option<Hash>,
        found: Option<Hash>,
    },
    #[error("{at} is at leaf {found}, not after leaf {previous}")]
    LeafOrder {
        at: Position,
        previous: u64,
        found: u64,
    },
    #[error(
        "{at} was received at {found}, before the record ahead of it in the chain ({previous})"
    )]
    TimeOrder {
        at: Position,
        previous: Timestamp,
        found: Timestamp,
    },
    #[error("{at} (seq {seq}, received {received_at}) is outside the window")]
    OutsideWindow {
        at: Position,
        seq: u64,
        received_at: Timestamp,
    },
    #[error(
        "{at} (seq {seq}, received {received_at}) belongs to the window: the window was cut short"
    )]
    BoundaryInWindow {
        at: Position,
        seq: u64,
        received_at: Timestamp,
    },
    #[error("the window does not start at the source's first record and the bundle has no record before it")]
    MissingBefore,
    #[error("{at}: its item is missing or is not the record's content ({reason})")]
    Item { at: Position, reason: String },
    #[error("{at} is not a commitment record of the source from before the window")]
    NotACommitment { at: Position },
    #[error("{at} reveals a commitment that is neither in the window nor among the bundle's commitments")]
    CommitmentMissing { at: Position },
    #[error("{at} reveals a commitment revealed before")]
    SecondReveal { at: Position },
    #[error("{at}: {error}")]
    Reveal {
        at: Position,
        error: crate::commitment::RevealError,
    },
    #[error(
        "{at}: not a scoring declaration of the source before the window's end, or a second one"
    )]
    Scoring { at: Position },
    #[error("the window holds a scoring declaration the bundle does not name")]
    ScoringMissing,
    #[error("the bundle has a scoring declaration but not its outcome source's records")]
    OutcomesMissing,
    #[error("the outcomes' bundle: {0}")]
    Outcomes(Box<TrackRecordError>),
    #[error("the outcomes are of source {found:?}, not {expected:?} as the spec declares")]
    OutcomesSource { found: String, expected: String },
    #[error("the outcomes are not at the bundle's checkpoint")]
    OutcomesCheckpoint,
    #[error("the outcomes do not reach back to the first scored record or forward to the checkpoint: some could be missing")]
    OutcomesCutShort,
    #[error("key {key_id:?} signed {at}: {error}")]
    Evidence {
        at: Position,
        key_id: String,
        error: Box<EvidenceError>,
    },
}

impl TrackRecordError {
    /// The failed check, as a stable name other verifiers report too.
    pub fn check(&self) -> &'static str {
        match self {
            TrackRecordError::Parse(_) => "parse",
            TrackRecordError::UnsupportedFormat { .. } => "format",
            TrackRecordError::Receipt { error, .. } => error_check(error),
            TrackRecordError::WrongSource { .. } => "wrong_source",
            TrackRecordError::Unchained { .. } => "unchained",
            TrackRecordError::SeqGap { .. } => "seq_gap",
            TrackRecordError::PrevMismatch { .. } => "prev_mismatch",
            TrackRecordError::LeafOrder { .. } => "leaf_order",
            TrackRecordError::TimeOrder { .. } => "time_order",
            TrackRecordError::OutsideWindow { .. } => "outside_window",
            TrackRecordError::BoundaryInWindow { .. } => "window_cut_short",
            TrackRecordError::MissingBefore => "missing_before",
            TrackRecordError::Evidence { .. } => "source_key_evidence",
            TrackRecordError::Item { .. } => "item",
            TrackRecordError::NotACommitment { .. } => "not_a_commitment",
            TrackRecordError::CommitmentMissing { .. } => "commitment_missing",
            TrackRecordError::SecondReveal { .. } => "second_reveal",
            TrackRecordError::Reveal { error, .. } => error.check(),
            TrackRecordError::Scoring { .. } => "scoring",
            TrackRecordError::ScoringMissing => "scoring_missing",
            TrackRecordError::OutcomesMissing => "outcomes_missing",
            TrackRecordError::Outcomes(inner) => inner.check(),
            TrackRecordError::OutcomesSource { .. } => "outcomes_source",
            TrackRecordError::OutcomesCheckpoint => "outcomes_checkpoint",
            TrackRecordError::OutcomesCutShort => "outcomes_cut_short",
        }
    }
}

fn error_check(error: &ReceiptError) -> &'static str {
    match error {
        ReceiptError::Checkpoint(_) => "checkpoint_signature",
        ReceiptError::OriginMismatch { .. } => "origin_mismatch",
        ReceiptError::Inclusion(_) => "inclusion",
        ReceiptError::Record(_) => "record",
        ReceiptError::Anchor(_) | ReceiptError::AnchorSize { .. } => "anchor",
        _ => "receipt",
    }
}

/// One record of a verified bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEntry {
    pub leaf_index: u64,
    pub leaf_hash: Hash,
    pub seq: u64,
    pub record: Record,
    /// Its one item, proven against `content.root`, when the bundle carries it.
    pub item: Option<Vec<u8>>,
    /// The registry evidence of the key that signed it, if signed.
    pub key: Option<VerifiedKey>,
}

/// A commitment of the window and what became of it, as of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentState {
    pub seq: u64,
    pub leaf_index: u64,
    pub commitment: Commitment,
    pub status: CommitmentStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitmentStatus {
    /// Opened by the window's record of this sequence number, at that time.
    Revealed {
        seq: u64,
        at: Timestamp,
        payload: serde_json::Value,
    },
    /// Not revealed yet, and `reveal_by` is after the bundle's
    /// [`complete_until`](VerifiedTrackRecord::complete_until).
    Pending,
    /// Not revealed, and `reveal_by` has passed within the bundle: counted against the source.
    ExpiredUnrevealed,
}

impl CommitmentStatus {
    pub fn name(&self) -> &'static str {
        match self {
            CommitmentStatus::Revealed { .. } => "revealed",
            CommitmentStatus::Pending => "pending",
            CommitmentStatus::ExpiredUnrevealed => "expired_unrevealed",
        }
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTrackRecord {
    pub source: SourceId,
    pub window: Window,
    pub checkpoint: VerifiedCheckpoint,
    /// The window's records in sequence order: every record of the source in the window.
    pub records: Vec<VerifiedEntry>,
    /// Sequence number of the window's first record (or of the record after, when empty).
    pub first_seq: u64,
    /// When the record after the window was received: the window is complete up to then.
    pub complete_until: Timestamp,
    /// The record after the window is a `close` record (the window reaches the present).
    pub closed: bool,
    /// The window's commitments, in sequence order, each revealed, pending or expired.
    pub commitments: Vec<CommitmentState>,
    pub anchor: Option<AnchorRef>,
    /// The source's scoring spec, when declared by the checkpoint.
    pub scoring: Option<Declared>,
    /// The outcome source's records from before the first scored record to the checkpoint.
    pub outcomes: Option<Box<VerifiedTrackRecord>>,
}

impl VerifiedTrackRecord {
    /// Missing sequence numbers in the window: 0 for every verified bundle, by construction;
    /// reported so that tools can print it.
    pub fn gaps(&self) -> u64 {
        0
    }

    /// Times of the window's first and last records.
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        Some((
            self.records.first()?.record.received_at,
            self.records.last()?.record.received_at,
        ))
    }
}

struct Link {
    at: Position,
    receipt: VerifiedReceipt,
    item: Option<Vec<u8>>,
}

/// The item of a record, checked against its content: required for commitments, reveals,
/// registry records and outcomes (which a bundle is read by), optional for signals and close
/// records, absent for snapshots and digests.
fn item_of(
    at: Position,
    record: &Record,
    item: Option<&str>,
) -> Result<Option<Vec<u8>>, TrackRecordError> {
    let wrong = |reason: &str| TrackRecordError::Item {
        at,
        reason: reason.to_string(),
    };
    // Outcomes too: one left without its item would turn a loss into "unscorable".
    let required = matches!(
        record.kind,
        Kind::Commitment | Kind::Reveal | Kind::Source | Kind::Outcome
    );
    let item = match item {
        None if required => return Err(wrong("absent")),
        None => return Ok(None),
        Some(_) if !record.kind.is_one_json_item() => {
            return Err(wrong("a bundle carries no items of snapshots and digests"))
        }
        Some(item) => item,
    };
    let data = BASE64_STANDARD
        .decode(item)
        .map_err(|_| wrong("not base64"))?;
    if crate::leaf_hash(&data) != record.content.root {
        return Err(wrong("its leaf hash is not content.root"));
    }
    Ok(Some(data))
}

/// Verifies a bundle offline against the log keys a consumer trusts: see the module docs. The
/// first failure is returned, naming its check and the record.
pub fn verify_track_record(
    bundle: &TrackRecord,
    trusted: &TrustedKeys,
) -> Result<VerifiedTrackRecord, TrackRecordError> {
    verify_bundle(bundle, trusted, true)
}

/// [`verify_track_record`]; `scored` false for a bundle's outcomes, which are a chain and
/// nothing more (their source's own declaration, if any, does not apply to them).
fn verify_bundle(
    bundle: &TrackRecord,
    trusted: &TrustedKeys,
    scored: bool,
) -> Result<VerifiedTrackRecord, TrackRecordError> {
    if bundle.format != TRACK_RECORD_FORMAT_V1 {
        return Err(TrackRecordError::UnsupportedFormat {
            found: bundle.format.clone(),
        });
    }
    let verifier = ReceiptVerifier::new(TrustedKeys::new(trusted.keys().cloned()));
    let verify = |at: Position, entry: &Entry| -> Result<Link, TrackRecordError> {
        let receipt = bundle.receipt(entry);
        let item = entry.item.as_deref();
        let receipt = verifier
            .verify(&receipt)
            .map_err(|error| TrackRecordError::Receipt {
                at,
                error: Box::new(error),
            })?;
        if receipt.record.source != bundle.source {
            return Err(TrackRecordError::WrongSource {
                at,
                found: receipt.record.source.to_string(),
                expected: bundle.source.to_string(),
            });
        }
        let item = item_of(at, &receipt.record, item)?;
        Ok(Link { at, receipt, item })
    };

    let before = bundle
        .before
        .as_ref()
        .map(|e| verify(Position::Before, e))
        .transpose()?;
    let records = bundle
        .records
        .iter()
        .enumerate()
        .map(|(i, e)| verify(Position::Window(i), e))
        .collect::<Result<Vec<_>, _>>()?;
    let after = verify(Position::After, &bundle.after)?;

    // The chain, from the record before (which may predate chains) to the record after.
    let mut previous: Option<&Link> = before.as_ref();
    let mut first_seq = None;
    for link in records.iter().chain(std::iter::once(&after)) {
        let record = &link.receipt.record;
        let (Some(seq), FormatVersion::V2) = (record.seq, record.v) else {
            return Err(TrackRecordError::Unchained { at: link.at });
        };
        if previous.is_none() && (seq != 0 || record.prev.is_some()) {
            return Err(TrackRecordError::MissingBefore);
        }
        let expected_seq = match previous {
            None => 0,
            Some(p) => match p.receipt.record.seq {
                Some(s) => s + 1,
                // A v1 record before the window: the link is its leaf hash alone.
                None => seq,
            },
        };
        if seq != expected_seq {
            return Err(TrackRecordError::SeqGap {
                at: link.at,
                expected: expected_seq,
                found: seq,
            });
        }
        let expected_prev = previous.map(|p| p.receipt.leaf_hash);
        if record.prev != expected_prev {
            return Err(TrackRecordError::PrevMismatch {
                at: link.at,
                expected: expected_prev,
                found: record.prev,
            });
        }
        if let Some(p) = previous {
            if link.receipt.leaf_index <= p.receipt.leaf_index {
                return Err(TrackRecordError::LeafOrder {
                    at: link.at,
                    previous: p.receipt.leaf_index,
                    found: link.receipt.leaf_index,
                });
            }
            if record.received_at < p.receipt.record.received_at {
                return Err(TrackRecordError::TimeOrder {
                    at: link.at,
                    previous: p.receipt.record.received_at,
                    found: record.received_at,
                });
            }
        }
        first_seq.get_or_insert(seq);
        previous = Some(link);
    }

    // The window holds exactly the records between the two boundaries.
    let window = &bundle.window;
    for link in &records {
        let r = &link.receipt.record;
        let seq = r.seq.unwrap_or_default();
        if !window.contains(seq, r.received_at) {
            return Err(TrackRecordError::OutsideWindow {
                at: link.at,
                seq,
                received_at: r.received_at,
            });
        }
    }
    let open_ended = window.until.is_none() && window.to_seq.is_none();
    for boundary in before.iter().chain(std::iter::once(&after)) {
        let r = &boundary.receipt.record;
        // A v1 record before the window has no seq: it is outside by being before the chain.
        let Some(seq) = r.seq else { continue };
        // A window without an upper bound ends at a close record: complete up to it.
        let closes = open_ended && boundary.at == Position::After && r.kind == Kind::Close;
        if window.contains(seq, r.received_at) && !closes {
            return Err(TrackRecordError::BoundaryInWindow {
                at: boundary.at,
                seq,
                received_at: r.received_at,
            });
        }
    }

    let commitments =
        commitment_states(bundle, &verify, &records, after.receipt.record.received_at)?;
    let scoring = match scored {
        true => declaration(bundle, &verify, &records, &after)?,
        false if bundle.scoring.is_some() || bundle.outcomes.is_some() => {
            return Err(TrackRecordError::Scoring {
                at: Position::Scoring,
            })
        }
        false => None,
    };

    // Source keys, one evidence per key; the evidence for a key is verified against each record
    // it signed (its addition before the record, no retirement before it).
    let mut entries = Vec::with_capacity(records.len());
    // A key's evidence does not depend on the record beyond the checkpoint (the bundle's, for
    // every record): verified in full with the key's first record, then held against each
    // later one for what does depend on it.
    let mut keys: BTreeMap<&str, VerifiedKey> = BTreeMap::new();
    for link in records {
        let key = match &link.receipt.source_signature {
            None => None,
            Some(sig) => {
                let id = sig.key_id.as_str();
                let checked = match keys.get(id) {
                    Some(known) => same_key(known, &link.receipt).map(|()| known.clone()),
                    None => verify_source_evidence(&link.receipt, bundle.evidence.get(id), trusted),
                };
                let key = checked.map_err(|error| TrackRecordError::Evidence {
                    at: link.at,
                    key_id: id.to_string(),
                    error: Box::new(error),
                })?;
                if let Some((id, _)) = bundle.evidence.get_key_value(id) {
                    keys.entry(id.as_str()).or_insert_with(|| key.clone());
                }
                Some(key)
            }
        };
        entries.push(VerifiedEntry {
            leaf_index: link.receipt.leaf_index,
            leaf_hash: link.receipt.leaf_hash,
            seq: link.receipt.record.seq.unwrap_or_default(),
            record: link.receipt.record,
            item: link.item,
            key,
        });
    }
    let outcomes = outcomes(bundle, trusted, scoring.as_ref(), &entries)?;
    Ok(VerifiedTrackRecord {
        source: bundle.source.clone(),
        window: window.clone(),
        checkpoint: after.receipt.checkpoint,
        records: entries,
        first_seq: first_seq.unwrap_or_default(),
        complete_until: after.receipt.record.received_at,
        closed: after.receipt.record.kind == Kind::Close,
        commitments,
        anchor: bundle.anchor.clone(),
        scoring,
        outcomes,
    })
}

/// The bundle's scoring declaration, verified: a registry record of the source stating a
/// [`ScoringSpec`](crate::score::ScoringSpec), in the chain before the record after the window,
/// and the one the window holds if it holds one.
fn declaration(
    bundle: &TrackRecord,
    verify: &dyn Fn(Position, &Entry) -> Result<Link, TrackRecordError>,
    records: &[Link],
    after: &Link,
) -> Result<Option<Declared>, TrackRecordError> {
    let scoring_event = |link: &Link| -> Result<Option<ScoringSpec>, TrackRecordError> {
        if link.receipt.record.kind != Kind::Source {
            return Ok(None);
        }
        let item = link.item.as_deref().unwrap_or_default();
        match RegistryEvent::from_item(item) {
            Ok(RegistryEvent::ScoringDeclared { spec }) => Ok(Some(spec)),
            Ok(_) => Ok(None),
            Err(e) => Err(TrackRecordError::Item {
                at: link.at,
                reason: e.to_string(),
            }),
        }
    };
    let mut in_window = None;
    for link in records {
        if scoring_event(link)?.is_some() {
            if in_window.is_some() {
                return Err(TrackRecordError::Scoring { at: link.at });
            }
            in_window = Some(link.receipt.leaf_index);
        }
    }
    let Some(entry) = &bundle.scoring else {
        return match in_window.is_some() || bundle.outcomes.is_some() {
            true => Err(TrackRecordError::ScoringMissing),
            false => Ok(None),
        };
    };
    let at = Position::Scoring;
    let link = verify(at, entry)?;
    let spec = scoring_event(&link)?.ok_or(TrackRecordError::Scoring { at })?;
    let seq = link
        .receipt
        .record
        .seq
        .ok_or(TrackRecordError::Unchained { at })?;
    // A declaration the window holds is the one: any other would be a second.
    let other_in_window = in_window.is_some_and(|leaf| leaf != link.receipt.leaf_index);
    let window_seqs = records
        .first()
        .zip(records.last())
        .and_then(|(first, last)| Some(first.receipt.record.seq?..=last.receipt.record.seq?));
    let inside = window_seqs.is_some_and(|seqs| seqs.contains(&seq));
    if link.receipt.leaf_index >= after.receipt.leaf_index
        || other_in_window
        || (inside && in_window.is_none())
    {
        return Err(TrackRecordError::Scoring { at });
    }
    Ok(Some(Declared {
        spec,
        seq,
        leaf_index: link.receipt.leaf_index,
        at: link.receipt.record.received_at,
    }))
}

/// The outcome source's records, verified as a bundle of their own at the same checkpoint,
/// reaching from before the first scored record (signal or commitment after the declaration)
/// to the checkpoint: every outcome that could count is in it.
fn outcomes(
    bundle: &TrackRecord,
    trusted: &TrustedKeys,
    declared: Option<&Declared>,
    entries: &[VerifiedEntry],
) -> Result<Option<Box<VerifiedTrackRecord>>, TrackRecordError> {
    let Some(declared) = declared else {
        return Ok(None);
    };
    let first_scored = entries
        .iter()
        .find(|e| matches!(e.record.kind, Kind::Signal | Kind::Commitment) && e.seq > declared.seq);
    let Some(outcomes) = &bundle.outcomes else {
        return match first_scored {
            Some(_) => Err(TrackRecordError::OutcomesMissing),
            None => Ok(None),
        };
    };
    let expected = declared.spec.outcome_source(&bundle.source);
    if &outcomes.source != expected {
        return Err(TrackRecordError::OutcomesSource {
            found: outcomes.source.to_string(),
            expected: expected.to_string(),
        });
    }
    if outcomes.checkpoint != bundle.checkpoint {
        return Err(TrackRecordError::OutcomesCheckpoint);
    }
    let reaches_back = match (&outcomes.before, first_scored) {
        (Some(before), Some(first)) => before.leaf_index < first.leaf_index,
        _ => true,
    };
    if outcomes.window.until.is_some() || outcomes.window.to_seq.is_some() || !reaches_back {
        return Err(TrackRecordError::OutcomesCutShort);
    }
    let verified = verify_bundle(outcomes, trusted, false)
        .map_err(|e| TrackRecordError::Outcomes(Box::new(e)))?;
    Ok(Some(Box::new(verified)))
}

/// The checks of [`verify_source_evidence`] that depend on the record, for a record signed by a
/// key whose evidence was verified with an earlier record of the same bundle.
fn same_key(key: &VerifiedKey, record: &VerifiedReceipt) -> Result<(), EvidenceError> {
    let key_id = key.key_id.to_string();
    let signature = record
        .source_signature
        .as_ref()
        .ok_or(EvidenceError::Unsigned)?;
    if signature.public_key.to_bytes() != key.public_key {
        return Err(EvidenceError::KeyMismatch { key_id });
    }
    if key.added.leaf_index >= record.leaf_index {
        return Err(EvidenceError::KeyRegisteredLater {
            key_id,
            added: key.added.leaf_index,
            record: record.leaf_index,
        });
    }
    if let Some(retired) = key.retired {
        if retired.leaf_index <= record.leaf_index {
            return Err(EvidenceError::KeyRetiredBefore {
                key_id,
                retired: retired.leaf_index,
                record: record.leaf_index,
            });
        }
    }
    Ok(())
}

/// Checks every reveal of the window against its commitment (in the window, or among the
/// bundle's `commitments`), and says what became of each commitment of the window as of
/// `complete_until`: no record of the source up to then is missing, so a commitment past its
/// `reveal_by` without a reveal in the window was not revealed in time.
fn commitment_states(
    bundle: &TrackRecord,
    verify: &dyn Fn(Position, &Entry) -> Result<Link, TrackRecordError>,
    records: &[Link],
    complete_until: Timestamp,
) -> Result<Vec<CommitmentState>, TrackRecordError> {
    let first_seq = records
        .first()
        .and_then(|l| l.receipt.record.seq)
        .unwrap_or(u64::MAX);
    let mut known: BTreeMap<Hash, (Commitment, bool)> = BTreeMap::new();
    for (i, entry) in bundle.commitments.iter().enumerate() {
        let at = Position::Commitment(i);
        let link = verify(at, entry)?;
        let r = &link.receipt.record;
        let earlier = r.seq.is_some_and(|s| s < first_seq);
        let commitment = match (&link.item, r.kind, earlier) {
            (Some(item), Kind::Commitment, true) => {
                Commitment::from_item(item).map_err(|e| TrackRecordError::Item {
                    at,
                    reason: e.to_string(),
                })?
            }
            _ => return Err(TrackRecordError::NotACommitment { at }),
        };
        known.insert(link.receipt.leaf_hash, (commitment, false));
    }
    let mut states: Vec<CommitmentState> = vec![];
    let mut in_window: BTreeMap<Hash, usize> = BTreeMap::new();
    for link in records {
        let r = &link.receipt.record;
        let Some(item) = &link.item else { continue };
        let at = link.at;
        let bad_item = |e: RecordError| TrackRecordError::Item {
            at,
            reason: e.to_string(),
        };
        match r.kind {
            Kind::Commitment => {
                let commitment = Commitment::from_item(item).map_err(bad_item)?;
                in_window.insert(link.receipt.leaf_hash, states.len());
                known.insert(link.receipt.leaf_hash, (commitment.clone(), false));
                states.push(CommitmentState {
                    seq: r.seq.unwrap_or_default(),
                    leaf_index: link.receipt.leaf_index,
                    commitment,
                    status: CommitmentStatus::Pending,
                });
            }
            Kind::Reveal => {
                let reveal = Reveal::from_item(item).map_err(bad_item)?;
                let parent = r.parents.first().copied().unwrap_or_default();
                let (commitment, revealed) = known
                    .get_mut(&parent)
                    .ok_or(TrackRecordError::CommitmentMissing { at })?;
                if *revealed {
                    return Err(TrackRecordError::SecondReveal { at });
                }
                commitment
                    .check_reveal(&reveal, r.received_at)
                    .map_err(|error| TrackRecordError::Reveal { at, error })?;
                *revealed = true;
                if let Some(&i) = in_window.get(&parent) {
                    states[i].status = CommitmentStatus::Revealed {
                        seq: r.seq.unwrap_or_default(),
                        at: r.received_at,
                        payload: reveal.payload,
                    };
                }
            }
            _ => {}
        }
    }
    for state in &mut states {
        if state.status == CommitmentStatus::Pending && state.commitment.reveal_by <= complete_until
        {
            state.status = CommitmentStatus::ExpiredUnrevealed;
        }
    }
    Ok(states)
}

/// The one item of every `close` record.
pub const CLOSE_ITEM: &[u8] = br#"{"close":true}"#;

/// A `close` record for `source` in the log `origin`, to be sealed into the source's chain, and
/// its content item ([`CLOSE_ITEM`]).
pub fn close_record(
    origin: LogOrigin,
    source: SourceId,
    received_at: Timestamp,
) -> (Record, Vec<u8>) {
    let record = Record {
        content: Content {
            alg: ContentAlg::Rfc9162Sha256,
            root: crate::leaf_hash(CLOSE_ITEM),
            items: 1,
            media_type: MediaType::json(),
        },
        kind: Kind::Close,
        metadata: Default::default(),
        origin,
        parents: Vec::new(),
        prev: None,
        quality: Vec::new(),
        received_at,
        seq: None,
        signature: None,
        source,
        v: FormatVersion::V2,
    };
    (record, CLOSE_ITEM.to_vec())
}

#[cfg(test)]
mod tests;
