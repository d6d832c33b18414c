//! What `provlog dev` proves and says: the checkpoint consistent with the last run's, receipts
//! fetched once anchored and verified offline and on chain, and what to try next.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use provlog_chain::anvil::{self, Anvil};
use provlog_chain::primitives::Address;
use provlog_client::Client;
use provlog_core::checkpoint::{verify_checkpoint, TrustedKeys, VerifierKey};
use provlog_core::evidence::verify_source_evidence;
use provlog_core::log::verify_consistency;
use provlog_core::receipt::{verify_receipt, Receipt};
use provlog_core::record::signal_content;
use provlog_core::score::score;
use provlog_core::track_record::{verify_track_record, TrackRecord, Window};

use super::{say, usage, Paths, ORIGIN};
use crate::demo::{
    self,
    ingest::{Manifest, Pick, UNIVERSE},
};
use crate::verify::{check_on_chain, summary_text};
use crate::Failure;

/// How long to wait for the log to anchor the demo's records before giving up.
const ANCHOR_WAIT: Duration = Duration::from_secs(90);

/// Verifies the latest checkpoint, and that it extends the one the previous run verified.
pub(super) async fn check_consistency(
    client: &Client,
    trusted: &TrustedKeys,
    manifest: &Manifest,
) -> Result<String, Failure> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let (note, checkpoint) = loop {
        let note = client
            .checkpoint()
            .await
            .map_err(usage("fetching the checkpoint"));
        if let Ok(note) = note {
            let verified = verify_checkpoint(note.as_bytes(), trusted, Some(ORIGIN))
                .map_err(|e| Failure::Invalid(format!("the log's checkpoint: {e}")))?;
            if verified.checkpoint.size >= manifest.records {
                break (note, verified.checkpoint);
            }
        }
        if Instant::now() > deadline {
            return Err(Failure::Usage(
                "no checkpoint covers the demo records after 30 s; see server.log".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if manifest.checkpoint.is_empty() {
        say(format!(
            "log     checkpoint of {} records verified (root {})",
            checkpoint.size, checkpoint.root
        ));
        return Ok(note);
    }
    let old = verify_checkpoint(manifest.checkpoint.as_bytes(), trusted, Some(ORIGIN))
        .map_err(|e| Failure::Invalid(format!("the checkpoint kept in demo.json: {e}")))?
        .checkpoint;
    if old.size < checkpoint.size {
        let proof = client
            .consistency(old.size, checkpoint.size)
            .await
            .map_err(usage("fetching a consistency proof"))?;
        verify_consistency(
            old.size,
            checkpoint.size,
            &old.root,
            &checkpoint.root,
            &proof.proof,
        )
        .map_err(|e| {
            Failure::Invalid(format!(
                "the log's checkpoint of size {} does not extend the one of size {} seen \
                     last run: {e}",
                checkpoint.size, old.size
            ))
        })?;
    } else if old.size == checkpoint.size && old.root != checkpoint.root {
        return Err(Failure::Invalid(format!(
            "the log shows a different root for size {} than last run: a split view",
            old.size
        )));
    } else if old.size > checkpoint.size {
        return Err(Failure::Invalid(format!(
            "the log shrank from {} to {} records since the last run",
            old.size, checkpoint.size
        )));
    }
    say(format!(
        "log     checkpoint of {} records verified, and consistent with the {} records seen last run",
        checkpoint.size, old.size
    ));
    Ok(note)
}

pub(super) fn receipt_name(pick: &Pick) -> String {
    let safe: String = pick
        .label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{safe}.json")
}

/// Fetches a record's receipt once it is anchored, writes it to `file`, and verifies it offline
/// and against the chain, saying what was proven.
pub(super) async fn prove(
    client: &Client,
    trusted: &TrustedKeys,
    chain: &Anvil,
    contract: Address,
    pick: &Pick,
    file: &Path,
) -> Result<(), Failure> {
    let deadline = Instant::now() + ANCHOR_WAIT;
    let bytes = loop {
        let bytes = client
            .receipt_json(pick.index, pick.item, None)
            .await
            .map_err(usage("fetching a receipt"))?;
        let receipt = Receipt::from_json(&bytes).map_err(usage("the server's receipt"))?;
        if receipt.anchor.is_some() {
            break bytes;
        }
        if Instant::now() > deadline {
            return Err(Failure::Usage(format!(
                "record {} was not anchored within {} s; see server.log (anchoring)",
                pick.index,
                ANCHOR_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    std::fs::write(file, &bytes).map_err(usage("writing a receipt"))?;
    // From here on only the file counts: what a consumer would receive.
    let text = std::fs::read(file).map_err(usage("reading the receipt back"))?;
    let receipt = Receipt::from_json(&text).map_err(usage("the receipt file"))?;
    let verified =
        verify_receipt(&receipt, trusted).map_err(|e| Failure::Invalid(e.to_string()))?;
    let on_chain = check_on_chain(&verified, &chain.url(), 1, Some(contract)).await?;
    say(format!("\n{} → {}", pick.label, file.display()));
    print!("{}", summary_text(&verified, Some(&on_chain)));
    if let Some(payload) = &pick.payload {
        let (content, canonical) = signal_content(payload).map_err(usage("the demo payload"))?;
        if content.root != verified.record.content.root {
            return Err(Failure::Invalid(format!(
                "the payload {payload} does not hash to the receipt's content root"
            )));
        }
        say(format!(
            "  payload     {} hashes to that content root: the value itself is proven",
            String::from_utf8_lossy(&canonical)
        ));
    }
    if verified.source_signature.is_some() {
        // That the key was the source's: the registry records at the same checkpoint.
        let size = verified.checkpoint.checkpoint.size;
        let answer = client
            .evidence(pick.index, pick.item, Some(size))
            .await
            .map_err(usage("fetching the signing key's registry evidence"))?;
        let key = verify_source_evidence(&verified, answer.source_evidence.as_ref(), trusted)
            .map_err(|e| Failure::Invalid(format!("source key: {e}")))?;
        say(format!(
            "  key         {} is {}'s: the log registered it at leaf {}{}, before this record; {}",
            key.key_id,
            verified.record.source.as_str(),
            key.added.leaf_index,
            if key.proven {
                " with a proof of possession"
            } else {
                ""
            },
            match key.retired {
                Some(r) => format!("retired it at leaf {}, after", r.leaf_index),
                None => "not retired".into(),
            }
        ));
    }
    Ok(())
}

/// The whole history of `source`, fetched, written to `file` and verified from the file: every
/// record of the source, none left out.
pub(super) async fn track_record(
    client: &Client,
    trusted: &TrustedKeys,
    source: &str,
    file: &Path,
) -> Result<(), Failure> {
    let bytes = client
        .track_record_json(source, &Window::default())
        .await
        .map_err(usage("fetching a track record"))?;
    std::fs::write(file, &bytes).map_err(usage("writing the track record"))?;
    let text = std::fs::read(file).map_err(usage("reading the track record back"))?;
    let bundle = TrackRecord::from_json(&text).map_err(usage("the track record file"))?;
    let v = verify_track_record(&bundle, trusted)
        .map_err(|e| Failure::Invalid(format!("track record ({}): {e}", e.check())))?;
    let last = v.records.last().map_or(v.first_seq, |e| e.seq);
    say(format!(
        "
track record of {source} → {}",
        file.display()
    ));
    say(format!(
        "  records     {} (seq {}..={last}), gaps {}: every record of the source up to {}, none \
         left out (provlog verify track-record {} --key {})",
        v.records.len(),
        v.first_seq,
        v.gaps(),
        v.complete_until,
        file.display(),
        file.with_file_name("log.vkey").display()
    ));
    if v.scoring.is_none() {
        return Ok(());
    }
    let score = score(&v).map_err(|e| Failure::Invalid(format!("score ({}): {e}", e.check())))?;
    // The server computes it from the bundle it serves for the same window: the same numbers.
    let served = client
        .score(source, &Window::default())
        .await
        .map_err(usage("fetching the server's score"))?;
    let ours = serde_json::to_value(&score).map_err(|e| Failure::Usage(e.to_string()))?;
    for key in [
        "records",
        "scored",
        "unresolved",
        "pending",
        "expired_unrevealed",
        "signals",
        "predictions",
        "spec_sha256",
    ] {
        if ours.get(key) != served.get(key) {
            return Err(Failure::Invalid(format!(
                "the server's score of {source} differs at {key}: {:?}, computed here {:?}",
                served.get(key),
                ours.get(key)
            )));
        }
    }
    let metrics = match (&score.signals, &score.predictions) {
        (Some(m), _) => format!(
            "hit rate {}, cumulative return {:+.2}%, mean {:+.3}% per position",
            m.hit_rate.map_or("none".into(), |r| format!("{r:.3}")),
            m.cumulative_return * 100.0,
            m.mean_return.unwrap_or_default() * 100.0
        ),
        (_, Some(m)) => format!(
            "MAE {:.4}, RMSE {:.4}, direction right {:.3}",
            m.mae.unwrap_or_default(),
            m.rmse.unwrap_or_default(),
            m.directional_accuracy.unwrap_or_default()
        ),
        _ => String::new(),
    };
    say(format!(
        "  score       {} records after the declared spec: scored {}, unresolved {}, pending {}, \
         expired unrevealed {}; {metrics} — outcomes from {}, the same from \
         `provlog track-record score` and GET /v1/sources/{source}/score",
        score.records,
        score.scored,
        score.unresolved,
        score.pending,
        score.expired_unrevealed,
        score.outcome_source.as_str(),
    ));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn next_steps(
    paths: &Paths,
    api: &str,
    chain: &Anvil,
    contract: Address,
    vkey: &VerifierKey,
    receipts: &[PathBuf],
    manifest: &Manifest,
    once: bool,
) {
    let exe = std::env::current_exe()
        .ok()
        .filter(|p| !on_path(p))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "provlog".into());
    let dir = paths.dir.display();
    let receipt = receipts[0].display();
    say(format!(
        "
What this proves, with nothing but these files, the log's public key and the chain:
  - Each record is exactly what its source submitted: changing one byte of it, of the
    signal's payload or of the snapshot row breaks the receipt's hashes.
  - The log's key ({vkey})
    signed a checkpoint whose Merkle tree contains the record: the log cannot later drop or
    rewrite it without contradicting its own signature.
  - The trading signal also carries its source's Ed25519 signature over its content.
  - Contract {contract} holds that checkpoint's root on chain {}:
    a log that showed someone a different history would be caught by anyone reading the chain.
  - One row of the {UNIVERSE}-token snapshot is proven without revealing the other rows.",
        anvil::CHAIN_ID
    ));
    if once {
        say(format!(
            "
Offline, now:
  {exe} verify receipt {receipt} --key {dir}/log.vkey
Run `{exe} dev --data-dir {dir}` (without --once) to keep the log and the chain up and try the API."
        ));
        return;
    }
    say(format!(
        "
Try next, in another terminal:
  {exe} verify receipt {receipt} --key {dir}/log.vkey \\
      --rpc-url {} --contract {contract}
  curl -s {api}/v1/checkpoint
  curl -s '{api}/v1/records?source={}&limit=3'
  curl -s {api}/v1/records/{}/lineage      # the strategy signal's inputs
  curl -s {api}/v1/anchors
  {api}/docs/ in a browser: the whole API
  {api}/explorer/ in a browser: find a record, see its proof, verify its receipt there",
        chain.url(),
        demo::SIGNALS,
        manifest.derived.index,
    ));
}

fn on_path(exe: &Path) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| d.join("provlog") == exe)
}
