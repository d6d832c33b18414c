//! Scores anyone can recompute from a verified track record.
//!
//! A source declares once, in its registry ([`crate::registry::RegistryEvent::ScoringDeclared`]),
//! how its records are scored: a [`ScoringSpec`] naming where the value sits in a record's
//! payload, where the outcome sits in an outcome's payload, which source's `outcome` records
//! count, and the horizon (holding period) before which no outcome may count. A track record
//! whose source declared a spec carries the declaration and the outcome source's records from
//! the first scored record to the checkpoint, complete ([`crate::track_record`]), so [`score`]
//! needs nothing but the verified bundle: two parties with the same bundle get the same numbers,
//! and no one can choose which outcomes count.
//!
//! Every sum runs in sequence order over IEEE 754 doubles, and the only function beyond
//! `+ - * /` and `abs` is the correctly rounded square root: the TypeScript and Python verifiers
//! compute the same bits. The formulas are documented in `docs/track-records.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::Hash;
use crate::record::{canonicalize, Kind, SourceId, Timestamp};
use crate::track_record::{CommitmentStatus, VerifiedTrackRecord, Window};

/// The `format` of version 1 scores.
pub const SCORE_FORMAT_V1: &str = "provlog-score/v1";

/// The longest horizon a spec may state: ten years.
pub const MAX_HORIZON_S: u64 = 10 * 366 * 24 * 3600;

/// What a source's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreKind {
    /// Positions: −1 (short), 0 (flat) or 1 (long); the outcome is the asset's return over the
    /// horizon, as a fraction (0.01 is 1%).
    Signals,
    /// Numbers about the future; the outcome is the number that came true.
    Predictions,
}

/// How a source's records are scored, as its registry declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringSpec {
    pub kind: ScoreKind,
    /// RFC 6901 JSON Pointer to the value in a signal's payload (or a commitment's revealed
    /// payload).
    pub value: String,
    /// JSON Pointer to the number in an outcome's payload.
    pub outcome: String,
    /// Predictions only: JSON Pointer to the reference the direction is measured from (the
    /// price when predicted); absent, values and outcomes are changes and compared with 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// The source whose `outcome` records count; absent: the scored source itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_source: Option<SourceId>,
    /// Seconds after a record before which no outcome counts for it (the holding period).
    pub horizon_s: u64,
}

impl ScoringSpec {
    /// Refuses a spec no score could be computed with.
    pub fn check(&self) -> Result<(), String> {
        for (field, pointer) in [
            ("value", Some(&self.value)),
            ("outcome", Some(&self.outcome)),
        ]
        .into_iter()
        .chain([("baseline", self.baseline.as_ref())])
        {
            if let Some(p) = pointer {
                if !p.is_empty() && !p.starts_with('/') {
                    return Err(format!("{field}: {p:?} is not a JSON Pointer (RFC 6901)"));
                }
            }
        }
        if self.kind == ScoreKind::Signals && self.baseline.is_some() {
            return Err("baseline: only predictions have one".into());
        }
        if self.horizon_s == 0 || self.horizon_s > MAX_HORIZON_S {
            return Err(format!(
                "horizon_s: from 1 to {MAX_HORIZON_S} seconds, got {}",
                self.horizon_s
            ));
        }
        Ok(())
    }

    /// SHA-256 of its RFC 8785 canonical JSON: what a score names its rules by.
    pub fn sha256(&self) -> Hash {
        let value = serde_json::to_value(self).expect("a spec serialises");
        Hash::sha256(&canonicalize(&value).expect("a spec canonicalises"))
    }

    /// The source whose outcomes count for `source`'s records.
    pub fn outcome_source<'a>(&'a self, source: &'a SourceId) -> &'a SourceId {
        self.outcome_source.as_ref().unwrap_or(source)
    }
}

/// The registry record that declared a bundle's scoring spec, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub spec: ScoringSpec,
    pub seq: u64,
    pub leaf_index: u64,
    pub at: Timestamp,
}

/// A record that counted, with its outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// Sequence number of the signal, or of the commitment a reveal opened.
    pub seq: u64,
    pub at: Timestamp,
    pub value: f64,
    pub outcome: f64,
    /// Sequence number of the outcome record, in the outcome source's chain.
    pub outcome_seq: u64,
    pub outcome_at: Timestamp,
    /// Signals: `value × outcome`. Predictions: `value − outcome`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#return: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<f64>,
}

/// Metrics of −1/0/1 signals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalMetrics {
    /// Non-zero signals whose return was positive / negative or zero; flat (0) signals.
    pub hits: u64,
    pub misses: u64,
    pub flat: u64,
    /// `hits / (hits + misses)`; null without a non-zero signal.
    pub hit_rate: Option<f64>,
    /// `Π (1 + rᵢ) − 1` over every scored signal, in sequence order.
    pub cumulative_return: f64,
    /// `Σ rᵢ / (hits + misses)`: the mean return of the positions taken; null without one.
    pub mean_return: Option<f64>,
}

/// Metrics of numeric predictions; each null without a scored prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionMetrics {
    pub mae: Option<f64>,
    pub rmse: Option<f64>,
    pub directional_accuracy: Option<f64>,
}

/// A track record's score (`provlog-score/v1`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub format: &'static str,
    pub source: SourceId,
    pub window: Window,
    /// The checkpoint the bundle was verified at.
    pub checkpoint_size: u64,
    pub checkpoint_root: Hash,
    pub spec: ScoringSpec,
    pub spec_sha256: Hash,
    /// Sequence number of the registry record that declared the spec.
    pub declared_seq: u64,
    pub outcome_source: SourceId,
    /// Signals and commitments of the window after the declaration.
    pub records: u64,
    /// …of which these have an outcome and count.
    pub scored: u64,
    /// Revealed or open, with no outcome counting yet.
    pub unresolved: u64,
    /// Commitments not revealed yet, before their `reveal_by`.
    pub pending: u64,
    /// Commitments whose `reveal_by` passed unrevealed: a consumer should count them as losses.
    pub expired_unrevealed: u64,
    /// Whose value (or outcome) is not where the spec says, or not of its kind.
    pub unscorable: u64,
    /// Signals and commitments of the window from before the declaration: not scored.
    pub before_declaration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signals: Option<SignalMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predictions: Option<PredictionMetrics>,
    /// Every record that counted, in sequence order.
    pub scores: Vec<Scored>,
}

/// Why a verified bundle cannot be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("the source declared no scoring spec (as of the bundle's checkpoint)")]
    NoSpec,
    #[error("record seq {seq} carries no payload: the bundle cannot be scored")]
    PayloadMissing { seq: u64 },
}

impl ScoreError {
    pub fn check(&self) -> &'static str {
        match self {
            ScoreError::NoSpec => "no_scoring_spec",
            ScoreError::PayloadMissing { .. } => "payload_missing",
        }
    }
}

/// A record waiting for its outcome.
struct Unit {
    seq: u64,
    at: Timestamp,
    payload: Value,
    /// The leaf an outcome names as its parent: the signal, or the reveal of a commitment.
    parent: Hash,
}

/// Scores a verified bundle by its source's declared spec: see the module docs.
pub fn score(bundle: &VerifiedTrackRecord) -> Result<Score, ScoreError> {
    let declared = bundle.scoring.as_ref().ok_or(ScoreError::NoSpec)?;
    let spec = &declared.spec;
    let mut score = Score {
        format: SCORE_FORMAT_V1,
        source: bundle.source.clone(),
        window: bundle.window.clone(),
        checkpoint_size: bundle.checkpoint.checkpoint.size,
        checkpoint_root: bundle.checkpoint.checkpoint.root,
        spec: spec.clone(),
        spec_sha256: spec.sha256(),
        declared_seq: declared.seq,
        outcome_source: spec.outcome_source(&bundle.source).clone(),
        records: 0,
        scored: 0,
        unresolved: 0,
        pending: 0,
        expired_unrevealed: 0,
        unscorable: 0,
        before_declaration: 0,
        signals: None,
        predictions: None,
        scores: vec![],
    };

    let by_seq: BTreeMap<u64, Hash> = bundle
        .records
        .iter()
        .map(|r| (r.seq, r.leaf_hash))
        .collect();
    let commitments: BTreeMap<u64, &CommitmentStatus> = bundle
        .commitments
        .iter()
        .map(|c| (c.seq, &c.status))
        .collect();
    let mut units = vec![];
    for entry in &bundle.records {
        if !matches!(entry.record.kind, Kind::Signal | Kind::Commitment) {
            continue;
        }
        if entry.seq < declared.seq {
            score.before_declaration += 1;
            continue;
        }
        score.records += 1;
        let at = entry.record.received_at;
        match entry.record.kind {
            Kind::Signal => {
                let item = entry
                    .item
                    .as_deref()
                    .ok_or(ScoreError::PayloadMissing { seq: entry.seq })?;
                match serde_json::from_slice(item) {
                    Ok(payload) => units.push(Unit {
                        seq: entry.seq,
                        at,
                        payload,
                        parent: entry.leaf_hash,
                    }),
                    Err(_) => score.unscorable += 1,
                }
            }
            _ => match commitments.get(&entry.seq) {
                Some(CommitmentStatus::Revealed { seq, payload, .. }) => units.push(Unit {
                    seq: entry.seq,
                    at,
                    payload: payload.clone(),
                    parent: by_seq[seq],
                }),
                Some(CommitmentStatus::ExpiredUnrevealed) => score.expired_unrevealed += 1,
                _ => score.pending += 1,
            },
        }
    }

    // Each parent's outcomes, in the outcome source's sequence order.
    let mut outcomes: BTreeMap<Hash, Vec<(u64, Timestamp, Option<Value>)>> = BTreeMap::new();
    for entry in bundle.outcomes.iter().flat_map(|o| &o.records) {
        if entry.record.kind != Kind::Outcome {
            continue;
        }
        let Some(&parent) = entry.record.parents.first() else {
            continue;
        };
        let payload = entry
            .item
            .as_deref()
            .and_then(|i| serde_json::from_slice(i).ok());
        outcomes
            .entry(parent)
            .or_default()
            .push((entry.seq, entry.record.received_at, payload));
    }

    let horizon_ms = (spec.horizon_s * 1000) as i64;
    // Each scored prediction's reference for its direction (0 without a baseline).
    let mut baselines = vec![];
    for unit in units {
        let value = number_at(&unit.payload, &spec.value)
            .filter(|v| spec.kind == ScoreKind::Predictions || [-1.0, 0.0, 1.0].contains(v));
        let base = match &spec.baseline {
            None => Some(0.0),
            Some(p) => number_at(&unit.payload, p),
        };
        let (Some(value), Some(base)) = (value, base) else {
            score.unscorable += 1;
            continue;
        };
        // The first outcome from the horizon on counts; earlier ones could not have known it.
        let due = unit.at.unix_millis().saturating_add(horizon_ms);
        let Some((outcome_seq, outcome_at, outcome)) = outcomes
            .get(&unit.parent)
            .and_then(|list| list.iter().find(|(_, at, _)| at.unix_millis() >= due))
        else {
            score.unresolved += 1;
            continue;
        };
        let Some(outcome) = outcome.as_ref().and_then(|o| number_at(o, &spec.outcome)) else {
            score.unscorable += 1;
            continue;
        };
        let (r#return, error) = match spec.kind {
            ScoreKind::Signals => (Some(value * outcome), None),
            ScoreKind::Predictions => (None, Some(value - outcome)),
        };
        score.scores.push(Scored {
            seq: unit.seq,
            at: unit.at,
            value,
            outcome,
            outcome_seq: *outcome_seq,
            outcome_at: *outcome_at,
            r#return,
            error,
        });
        baselines.push(base);
    }
    score.scored = score.scores.len() as u64;
    match spec.kind {
        ScoreKind::Signals => score.signals = Some(signal_metrics(&score.scores)),
        ScoreKind::Predictions => {
            score.predictions = Some(prediction_metrics(&score.scores, &baselines))
        }
    }
    Ok(score)
}

/// The number at `pointer` in `value`: a JSON number (as a double), nothing else.
fn number_at(value: &Value, pointer: &str) -> Option<f64> {
    value.pointer(pointer)?.as_f64().filter(|f| f.is_finite())
}

fn signal_metrics(scores: &[Scored]) -> SignalMetrics {
    let mut m = SignalMetrics {
        hits: 0,
        misses: 0,
        flat: 0,
        hit_rate: None,
        cumulative_return: 0.0,
        mean_return: None,
    };
    let mut growth = 1.0;
    let mut sum = 0.0;
    for s in scores {
        let r = s.r#return.unwrap_or_default();
        growth *= 1.0 + r;
        if s.value == 0.0 {
            m.flat += 1;
            continue;
        }
        sum += r;
        if r > 0.0 {
            m.hits += 1;
        } else {
            m.misses += 1;
        }
    }
    let positions = m.hits + m.misses;
    m.cumulative_return = growth - 1.0;
    if positions > 0 {
        m.hit_rate = Some(m.hits as f64 / positions as f64);
        m.mean_return = Some(sum / positions as f64);
    }
    m
}

fn prediction_metrics(scores: &[Scored], baselines: &[f64]) -> PredictionMetrics {
    if scores.is_empty() {
        return PredictionMetrics {
            mae: None,
            rmse: None,
            directional_accuracy: None,
        };
    }
    let n = scores.len() as f64;
    let (mut abs, mut squares, mut same) = (0.0, 0.0, 0u64);
    for (s, base) in scores.iter().zip(baselines) {
        let e = s.error.unwrap_or_default();
        abs += e.abs();
        squares += e * e;
        if sign(s.value - base) == sign(s.outcome - base) {
            same += 1;
        }
    }
    PredictionMetrics {
        mae: Some(abs / n),
        rmse: Some((squares / n).sqrt()),
        directional_accuracy: Some(same as f64 / n),
    }
}

fn sign(x: f64) -> i8 {
    if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    }
}

#[cfg(test)]
mod tests;
