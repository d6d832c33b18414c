//! Track records: a source's records over a window as one bundle (`provlog-track-record/v1`),
//! with the records just outside the window so a consumer sees it is complete
//! ([`provlog_core::track_record`]). When the window reaches the present there is no record
//! after it yet: the log writes a `close` record into the source's chain and waits for a
//! checkpoint to cover it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::Path;
use axum::Json;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_core::log::{self, FetchedNodes};
use provlog_core::receipt::AnchorRef;
use provlog_core::record::{Kind, LogOrigin, Record, SourceId, Timestamp};
use provlog_core::registry::RegistryEvent;
use provlog_core::score::{self, Score, ScoreError, ScoringSpec};
use provlog_core::track_record::{
    close_record, verify_track_record, Entry, TrackRecord, TrackRecordError, VerifiedTrackRecord,
    Window, TRACK_RECORD_FORMAT_V1,
};
use provlog_core::Hash;
use provlog_store::{ChainQuery, ChainWindow, NewRecord, StoredCheckpoint, StoredRecord};
use serde::Deserialize;
use utoipa::IntoParams;

use super::proofs::{key_evidence, registry_history, self_check_failed};
use super::write::wait_for_checkpoint;
use super::{openapi, State, Q};
use crate::error::{Problem, ReadErrors, PROBLEM_JSON};
use crate::{ApiError, AppState};

/// Most records one bundle holds; a longer history is read in windows.
pub const MAX_TRACK_RECORDS: u64 = 100_000;

/// A close record younger than this ends a window without a new one: a burst of readers of a
/// quiet source shares one.
const CLOSE_REUSE: Duration = Duration::from_secs(5);

/// Leaves whose inclusion proofs are fetched in one query.
const PROOF_CHUNK: usize = 2_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TrackRecordQuery {
    /// Records received at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<Timestamp>,
    /// Records received before this time (RFC 3339). A time still to come leaves the window
    /// open: it ends at a `close` record written now.
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<Timestamp>,
    /// Records with this sequence number or above.
    from_seq: Option<u64>,
    /// Records with this sequence number or below.
    to_seq: Option<u64>,
}

/// A source's track record: every record of the source in the window, in sequence order, each
/// with its inclusion proof, the records just before and after the window, and the registry
/// evidence of every key that signed in it — all at one signed checkpoint, verified by the
/// server before it is sent (`docs/formats.md`, "Track records"; `provlog verify track-record`
/// checks it offline). Windows that reach the present end at a `close` record the log writes
/// into the source's chain; the response then waits for a checkpoint to cover it (about one
/// checkpoint interval).
#[utoipa::path(
    get,
    path = "/v1/sources/{id}/track-record",
    tag = "sources",
    security((), ("bearer" = ["read"])),
    params(("id" = String, Path, description = "The source id"), TrackRecordQuery),
    responses(
        (status = 200, description = "The bundle", body = openapi::TrackRecord),
        (status = 400, description = "A malformed or contradictory window, or one of more than 100,000 records (`bad-request`)",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No source of that id has records in the log (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "No signed checkpoint covers the window's end yet; retry shortly (`not-yet-included`)",
            body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn track_record(
    state: State,
    Path(id): Path<String>,
    Q(q): Q<TrackRecordQuery>,
) -> Result<Json<TrackRecord>, ApiError> {
    let (bundle, _) = serve(&state.0, &id, q).await?;
    Ok(Json(bundle))
}

/// A source's score over a window, by the scoring spec it declared (`docs/track-records.md`):
/// computed from the track record `GET /v1/sources/{id}/track-record` serves for the same
/// window, verified, by the same core function as `provlog track-record score`, so anyone
/// holding the bundle gets the same numbers.
#[utoipa::path(
    get,
    path = "/v1/sources/{id}/score",
    tag = "sources",
    security((), ("bearer" = ["read"])),
    params(("id" = String, Path, description = "The source id"), TrackRecordQuery),
    responses(
        (status = 200, description = "The score", body = openapi::Score),
        (status = 400, description = "A malformed or contradictory window, or one of more than 100,000 records (`bad-request`)",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No source of that id has records in the log, or it declared no scoring spec (`not-found`)",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "No signed checkpoint covers the window's end yet, or a signing key's registry evidence does not hold (`not-yet-included`, `conflict`)",
            body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn score(
    state: State,
    Path(id): Path<String>,
    Q(q): Q<TrackRecordQuery>,
) -> Result<Json<Score>, ApiError> {
    let (_, verified) = serve(&state.0, &id, q).await?;
    let verified = verified.map_err(|e| {
        ApiError::Conflict(format!(
            "the track record does not verify, so it has no score: {e}"
        ))
    })?;
    match score::score(&verified) {
        Ok(score) => Ok(Json(score)),
        Err(e @ ScoreError::NoSpec) => Err(ApiError::NotFound(format!("source {id}: {e}"))),
        Err(e) => Err(self_check_failed("score", e)),
    }
}

/// The bundle of the window `q` asks for, and what verifying it gave (it failed only at a
/// signing key's registry evidence: anything else is this server's bug, and not served).
async fn serve(
    state: &AppState,
    id: &str,
    q: TrackRecordQuery,
) -> Result<(TrackRecord, Result<VerifiedTrackRecord, TrackRecordError>), ApiError> {
    let source = SourceId::new(id).map_err(|e| ApiError::BadRequest(format!("source: {e}")))?;
    if let (Some(since), Some(until)) = (q.since, q.until) {
        if since > until {
            return Err(ApiError::BadRequest("since is after until".into()));
        }
    }
    if let (Some(from), Some(to)) = (q.from_seq, q.to_seq) {
        if from > to {
            return Err(ApiError::BadRequest("from_seq is above to_seq".into()));
        }
    }
    let now_at = now()?;
    if q.since.is_some_and(|s| s > now_at) {
        return Err(ApiError::BadRequest(format!(
            "since is in the future (the log's time is {now_at})"
        )));
    }
    let asked = Window {
        since: q.since,
        // A window cannot be shown complete up to a time that has not come: it stays open.
        until: q.until.filter(|&u| u <= now_at),
        from_seq: q.from_seq,
        to_seq: q.to_seq,
    };
    // A record written to the source meanwhile (after the close record, or between reading the
    // window's bounds and its records) moves the window's end: look again. Only a stream of
    // them makes this give up. A scored window may need two close records (its own and its
    // outcome source's).
    for _ in 0..4 {
        let at = now()?;
        let Some(chain) = read_window(state, &source, asked.clone(), at).await? else {
            continue;
        };
        let declared = declaration(state, &source, chain.after_index()).await?;
        let mut outcomes = None;
        if let Some((declared_at, spec)) = &declared {
            if let Some(first) = chain.first_scored(*declared_at) {
                let outcome_source = spec.outcome_source(&source).clone();
                let from_seq = state.store.seq_at(outcome_source.as_str(), first).await?;
                let window = Window {
                    from_seq: Some(from_seq),
                    ..Window::default()
                };
                match read_window(state, &outcome_source, window, at).await? {
                    Some(o) => outcomes = Some((outcome_source, o)),
                    None => continue,
                }
            }
        }
        let covering = outcomes
            .as_ref()
            .map_or(0, |(_, o)| o.after_index())
            .max(chain.after_index());
        let (checkpoint, anchor) = checkpoint_covering(state, covering).await?;
        let mut bundle = assemble(state, &source, chain, &checkpoint, anchor.clone()).await?;
        if let Some((index, _)) = declared {
            bundle.scoring = Some(single_entry(state, index, checkpoint.size).await?);
        }
        if let Some((outcome_source, o)) = outcomes {
            let o = assemble(state, &outcome_source, o, &checkpoint, anchor).await?;
            bundle.outcomes = Some(Box::new(o));
        }
        let verified = self_check(&source, &bundle, &state.trusted)?;
        metrics::counter!("provlog_track_records_served_total").increment(1);
        return Ok((bundle, verified));
    }
    Err(ApiError::NotYetIncluded(format!(
        "source {source} is being written to faster than a window can be closed; retry, or bound \
         the window with until or to_seq"
    )))
}

/// Served only once it verifies; whether a key's evidence holds is the consumer's verdict, as
/// for `GET /v1/records/{id}/evidence`, but a bundle that fails for any other reason is this
/// server's bug.
fn self_check(
    source: &SourceId,
    bundle: &TrackRecord,
    trusted: &provlog_core::checkpoint::TrustedKeys,
) -> Result<Result<VerifiedTrackRecord, TrackRecordError>, ApiError> {
    match verify_track_record(bundle, trusted) {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.check() == "source_key_evidence" => {
            metrics::counter!("provlog_source_evidence_failures_total", "check" => e.check())
                .increment(1);
            tracing::warn!(source = %source, error = %e, "a track record's signing key is not borne out by the source registry");
            Ok(Err(e))
        }
        Err(e) => Err(self_check_failed("track record", e)),
    }
}

/// The registry record declaring `source`'s scoring spec, if one is before leaf `before`.
async fn declaration(
    state: &AppState,
    source: &SourceId,
    before: u64,
) -> Result<Option<(u64, ScoringSpec)>, ApiError> {
    for row in state.store.registry(Some(source.as_str())).await? {
        if row.index >= before {
            break;
        }
        let event = RegistryEvent::from_item(&row.item)
            .map_err(|e| ApiError::Internal(format!("registry record {}: {e}", row.index)))?;
        if let RegistryEvent::ScoringDeclared { spec } = event {
            return Ok(Some((row.index, spec)));
        }
    }
    Ok(None)
}

/// One record's entry at the checkpoint of `size`.
async fn single_entry(state: &AppState, index: u64, size: u64) -> Result<Entry, ApiError> {
    let row = state
        .store
        .record(index)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("record {index} vanished")))?;
    let proofs = inclusion_proofs(state, &[index], size).await?;
    Ok(entries(state, vec![row], proofs).await?.remove(0))
}

fn now() -> Result<Timestamp, ApiError> {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .as_millis();
    Timestamp::from_unix_millis(i64::try_from(ms).map_err(|e| ApiError::Internal(e.to_string()))?)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// A window placed in the source's chain, by sequence numbers.
#[derive(Debug)]
struct Located {
    /// The window as the bundle states it: narrowed to start at the source's first chained
    /// record, and open when `to_seq` is at or past the head.
    window: Window,
    /// The window's first record (for an empty window: the record after it).
    first: u64,
    /// The window's last record; `None` for an empty window.
    last: Option<u64>,
    /// The record after the window, once there is one.
    after: Option<u64>,
}

async fn locate(
    state: &AppState,
    source: &SourceId,
    mut window: Window,
    now: Timestamp,
) -> Result<Located, ApiError> {
    let not_found = || ApiError::NotFound(format!("source {source} has no records in the log"));
    let query = |w: &Window| ChainQuery {
        since_ms: w.since.map(|t| t.unix_millis()),
        until_ms: w.until.map(|t| t.unix_millis()),
        from_seq: w.from_seq,
        to_seq: w.to_seq,
    };
    let mut chain = state
        .store
        .chain_window(source.as_str(), &query(&window))
        .await?
        .ok_or_else(not_found)?;
    if window.from_seq.is_some_and(|f| f > chain.head.seq + 1) {
        return Err(ApiError::BadRequest(format!(
            "from_seq is beyond the source's next record: its last is seq {}",
            chain.head.seq
        )));
    }
    let mut narrowed = false;
    if window.to_seq.is_some_and(|t| t >= chain.head.seq) {
        window.to_seq = None;
        narrowed = true;
    }
    // Records of format v1 carry no chain: a window starts after them.
    let first_chained = chain.first_chained.unwrap_or(chain.head.seq + 1);
    let starts_before = match window.from_seq {
        Some(from) => from < first_chained,
        None => chain.start.is_some_and(|s| s < first_chained),
    };
    if first_chained > 0 && starts_before {
        window.from_seq = Some(first_chained);
        narrowed = true;
    }
    if narrowed {
        chain = state
            .store
            .chain_window(source.as_str(), &query(&window))
            .await?
            .ok_or_else(not_found)?;
    }
    Ok(place(window, &chain, now))
}

/// [`Located`] from the chain's bounds (see [`provlog_store::ChainWindow`]).
fn place(window: Window, chain: &ChainWindow, now: Timestamp) -> Located {
    let head = &chain.head;
    let open = window.until.is_none() && window.to_seq.is_none();
    // An open window ends at a close record at the head, if it is recent: no record since.
    let ends_at_close = open
        && head.kind == "close"
        && now.unix_millis() - head.received_ms < CLOSE_REUSE.as_millis() as i64;
    let cap = if ends_at_close {
        head.seq.checked_sub(1)
    } else {
        Some(head.seq)
    };
    let first = chain.start.unwrap_or(head.seq + 1);
    // Unbounded, the window runs to the head, whatever the end read before it saw.
    let end = if open { Some(head.seq) } else { chain.end };
    let last = match (end, cap) {
        (Some(end), Some(cap)) if end.min(cap) >= first => Some(end.min(cap)),
        _ => None,
    };
    let after = last.map_or(first, |l| l + 1);
    Located {
        window,
        first,
        last,
        after: (after <= head.seq).then_some(after),
    }
}

/// Appends a close record to the source's chain.
async fn write_close(state: &AppState, source: &SourceId, now: Timestamp) -> Result<(), ApiError> {
    let origin = LogOrigin::new(state.config.origin.clone())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (record, item) = close_record(origin, source.clone(), now);
    let new = NewRecord::new(&record, vec![], vec![item])
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state.sequencer.sequence(vec![new]).await?;
    metrics::counter!("provlog_close_records_written_total").increment(1);
    Ok(())
}

/// A window's stretch of the source's chain, read: from the record before the window (if any)
/// to the record after it.
struct ChainRead {
    located: Located,
    rows: Vec<StoredRecord>,
}

impl ChainRead {
    fn after_index(&self) -> u64 {
        self.rows.last().map_or(0, |r| r.index)
    }

    /// The window's first signal or commitment after leaf `declared`: the first record scored.
    fn first_scored(&self, declared: u64) -> Option<u64> {
        let inside = &self.rows[usize::from(self.located.first > 0)..self.rows.len() - 1];
        inside
            .iter()
            .find(|r| r.index > declared && matches!(r.kind.as_str(), "signal" | "commitment"))
            .map(|r| r.index)
    }
}

/// Places `window` in `source`'s chain and reads it, with the records just outside; `None` when
/// it must be looked at again (a close record was written to end it, or the record after it
/// turned out to belong to it: it committed while the window's bounds were read).
async fn read_window(
    state: &AppState,
    source: &SourceId,
    window: Window,
    at: Timestamp,
) -> Result<Option<ChainRead>, ApiError> {
    let located = locate(state, source, window, at).await?;
    let Some(after) = located.after else {
        write_close(state, source, at).await?;
        return Ok(None);
    };
    let count = located.last.map_or(0, |l| l + 1 - located.first);
    if count > MAX_TRACK_RECORDS {
        return Err(ApiError::BadRequest(format!(
            "the window of {source} holds {count} records; a bundle holds at most \
             {MAX_TRACK_RECORDS}: narrow it with from_seq and to_seq (or since and until)"
        )));
    }
    let from = located.first.saturating_sub(1);
    let rows = state.store.chain(source.as_str(), from, after).await?;
    let expected = after - from + 1;
    if rows.len() as u64 != expected || rows.iter().zip(from..).any(|(r, seq)| r.seq != seq) {
        return Err(ApiError::Internal(format!(
            "the chain of {source} from {from} to {after} has {} of its {expected} records",
            rows.len()
        )));
    }
    let Some(after_row) = rows.last() else {
        return Err(ApiError::Internal(format!(
            "the chain of {source} is empty"
        )));
    };
    let w = &located.window;
    let received = Timestamp::from_unix_millis(after_row.received_ms)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let open = w.until.is_none() && w.to_seq.is_none();
    if w.contains(after_row.seq, received) && !(open && after_row.kind == "close") {
        return Ok(None);
    }
    Ok(Some(ChainRead { located, rows }))
}

/// As receipts are: the smallest confirmed anchor covering leaf `index`, else the latest
/// checkpoint (waiting for one to cover it); with the anchor when it is at that checkpoint.
async fn checkpoint_covering(
    state: &AppState,
    index: u64,
) -> Result<(StoredCheckpoint, Option<AnchorRef>), ApiError> {
    let anchor = match &state.anchoring {
        None => None,
        Some(a) => state
            .store
            .anchor_covering(&a.target, index)
            .await?
            .and_then(|row| a.anchor_ref(&row)),
    };
    let anchored = match &anchor {
        Some(a) => state.store.checkpoint(a.tree_size).await?,
        None => None,
    };
    let checkpoint = match anchored.or(state.store.latest_checkpoint().await?) {
        Some(c) if c.size > index => c,
        _ => {
            wait_for_checkpoint(state, index).await;
            state
                .store
                .latest_checkpoint()
                .await?
                .filter(|c| c.size > index)
                .ok_or_else(|| {
                    ApiError::NotYetIncluded(format!(
                        "no signed checkpoint covers record {index} (the window's end) yet; \
                         retry in a moment"
                    ))
                })?
        }
    };
    let anchor = anchor.filter(|a| a.tree_size == checkpoint.size);
    Ok((checkpoint, anchor))
}

/// The bundle of a read window at `checkpoint`, without scoring.
async fn assemble(
    state: &AppState,
    source: &SourceId,
    chain: ChainRead,
    checkpoint: &StoredCheckpoint,
    anchor: Option<AnchorRef>,
) -> Result<TrackRecord, ApiError> {
    let size = checkpoint.size;
    let ChainRead { located, rows } = chain;
    let indexes: Vec<u64> = rows.iter().map(|r| r.index).collect();
    let proofs = inclusion_proofs(state, &indexes, size).await?;
    let mut entries = entries(state, rows, proofs).await?;
    let after_entry = entries
        .pop()
        .expect("the chain read holds the record after");
    let before = (located.first > 0).then(|| entries.remove(0));

    // One pass over the window: the keys that signed in it, and the commitments its reveals open.
    let (mut keys, mut revealed) = (BTreeSet::new(), vec![]);
    for e in &entries {
        let record = Record::from_canonical_bytes(e.record.as_bytes())
            .map_err(|err| ApiError::Internal(format!("record {}: {err}", e.leaf_index)))?;
        if record.kind == Kind::Reveal {
            revealed.extend(record.parents.first().copied());
        }
        if let Some(sig) = record.signature {
            keys.insert(sig.key_id);
        }
    }
    let commitments = commitments_before(state, &entries, &revealed, size).await?;
    // Every key that signed in the window, with its registry evidence at the checkpoint.
    let mut evidence = BTreeMap::new();
    if !keys.is_empty() {
        if let Some(history) = registry_history(state, source.as_str(), size).await? {
            for key_id in keys {
                if let Some(e) = key_evidence(state, &history, &key_id, size).await? {
                    evidence.insert(key_id.to_string(), e);
                }
            }
        }
    }
    Ok(TrackRecord {
        format: TRACK_RECORD_FORMAT_V1.to_string(),
        source: source.clone(),
        window: located.window,
        checkpoint: checkpoint.note.clone(),
        records: entries,
        before,
        after: after_entry,
        commitments,
        evidence,
        anchor,
        scoring: None,
        outcomes: None,
    })
}

/// The kinds whose one item a bundle carries ([`Kind::is_one_json_item`]).
const ONE_ITEM_KINDS: [&str; 6] = [
    "signal",
    "source",
    "close",
    "commitment",
    "reveal",
    "outcome",
];

/// The bundle's entries of `rows`, with their proofs and, for the kinds whose content is one
/// JSON item, that item (all of them read in one query).
async fn entries(
    state: &AppState,
    rows: Vec<StoredRecord>,
    proofs: Vec<Vec<Hash>>,
) -> Result<Vec<Entry>, ApiError> {
    let with_item: Vec<u64> = rows
        .iter()
        .filter(|r| ONE_ITEM_KINDS.contains(&r.kind.as_str()))
        .map(|r| r.index)
        .collect();
    let mut items = state.store.first_items(&with_item).await?;
    rows.into_iter()
        .zip(proofs)
        .map(|(row, inclusion_proof)| {
            let item = items.remove(&row.index);
            // The log keeps the item of these; a signal logged before it kept payloads has none.
            if item.is_none() && matches!(row.kind.as_str(), "commitment" | "reveal" | "source") {
                return Err(ApiError::Internal(format!(
                    "{} {} has no item",
                    row.kind, row.index
                )));
            }
            Ok(Entry {
                leaf_index: row.index,
                record: String::from_utf8(row.leaf)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
                inclusion_proof,
                item: item.map(|i| BASE64_STANDARD.encode(i)),
            })
        })
        .collect()
}

/// The commitments, from before the window, that the window's reveals open (`revealed`: their
/// leaf hashes).
async fn commitments_before(
    state: &AppState,
    window: &[Entry],
    revealed: &[Hash],
    size: u64,
) -> Result<Vec<Entry>, ApiError> {
    let in_window: BTreeSet<u64> = window.iter().map(|e| e.leaf_index).collect();
    let mut out = vec![];
    for index in state
        .store
        .resolve_parents(revealed)
        .await?
        .into_iter()
        .flatten()
    {
        if in_window.contains(&index) {
            continue;
        }
        out.push(single_entry(state, index, size).await?);
    }
    Ok(out)
}

/// Inclusion proofs of `indexes` at `size`, their stored hashes fetched a chunk at a time.
async fn inclusion_proofs(
    state: &AppState,
    indexes: &[u64],
    size: u64,
) -> Result<Vec<Vec<Hash>>, ApiError> {
    let mut proofs = Vec::with_capacity(indexes.len());
    for chunk in indexes.chunks(PROOF_CHUNK) {
        let mut plan = BTreeSet::new();
        for &index in chunk {
            plan.extend(
                log::inclusion_plan(index, size).map_err(|e| ApiError::Internal(e.to_string()))?,
            );
        }
        let plan: Vec<u64> = plan.into_iter().collect();
        let hashes = state.store.read_nodes(&plan).await?;
        let nodes = FetchedNodes::new(plan.into_iter().zip(hashes));
        for &index in chunk {
            proofs.push(
                log::inclusion_proof(index, size, &nodes)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            );
        }
    }
    Ok(proofs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(
        head_seq: u64,
        head_kind: &str,
        head_ms: i64,
        start: Option<u64>,
        end: Option<u64>,
    ) -> ChainWindow {
        ChainWindow {
            head: StoredRecord {
                index: 100,
                leaf_hash: Hash::default(),
                leaf: vec![],
                source: "s".into(),
                kind: head_kind.into(),
                content_root: Hash::default(),
                received_ms: head_ms,
                seq: head_seq,
            },
            first_chained: Some(0),
            start,
            end,
        }
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms).unwrap()
    }

    fn placed(w: Window, c: &ChainWindow, now: i64) -> (u64, Option<u64>, Option<u64>) {
        let l = place(w, c, at(now));
        (l.first, l.last, l.after)
    }

    #[test]
    fn windows_are_placed_between_their_boundaries() {
        let open = Window::default();
        let until = Window {
            until: Some(at(50)),
            ..Window::default()
        };
        // Open, head is data: a close is needed.
        assert_eq!(
            placed(open.clone(), &chain(9, "signal", 0, Some(0), Some(9)), 1000),
            (0, Some(9), None)
        );
        // Open, head is a fresh close: it ends the window.
        assert_eq!(
            placed(
                open.clone(),
                &chain(9, "close", 900, Some(0), Some(9)),
                1000
            ),
            (0, Some(8), Some(9))
        );
        // Open, head is an old close: a new one.
        assert_eq!(
            placed(open, &chain(9, "close", 0, Some(3), Some(9)), 10_000),
            (3, Some(9), None)
        );
        // Bounded: the record after is the next one, whatever its kind.
        assert_eq!(
            placed(
                until.clone(),
                &chain(9, "signal", 0, Some(2), Some(5)),
                1000
            ),
            (2, Some(5), Some(6))
        );
        // Bounded, reaching the head: a close is needed.
        assert_eq!(
            placed(
                until.clone(),
                &chain(9, "signal", 0, Some(2), Some(9)),
                1000
            ),
            (2, Some(9), None)
        );
        // Empty: between two records, or after the head.
        assert_eq!(
            placed(
                until.clone(),
                &chain(9, "signal", 0, Some(6), Some(5)),
                1000
            ),
            (6, None, Some(6))
        );
        assert_eq!(
            placed(until, &chain(9, "signal", 0, None, Some(9)), 1000),
            (10, None, None)
        );
    }
}
