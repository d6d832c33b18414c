//! From the value a consumer received to verified receipts of every record of it, and for a
//! signed record the evidence that its key was the source's: the online half of `provlog verify
//! payload` (the offline checks are `provlog_core::payload` and `provlog_core::evidence`).

use provlog_core::checkpoint::TrustedKeys;
use provlog_core::evidence::{verify_source_evidence, EvidenceError, SourceEvidence, VerifiedKey};
use provlog_core::payload::{
    payload_hash, verify_payload_receipt, verify_row_receipt, PayloadError,
};
use provlog_core::receipt::{Receipt, VerifiedReceipt};
use provlog_core::Hash;
use serde::Deserialize;
use serde_json::Value;

use crate::{Client, ClientError, FindQuery, RecordSummary};

/// One record whose content is the payload (or, for a row, holds it as `item`), and what its
/// evidence proved.
#[derive(Debug)]
pub struct PayloadRecord {
    pub index: u64,
    /// The row's index in the record's content tree; `None` for a payload.
    pub item: Option<u64>,
    /// The source the log lists the record under (the verdict proves it).
    pub source: String,
    pub verdict: Result<Evidence, PayloadFailure>,
}

/// `GET /v1/items`: where an item is.
#[derive(Debug, Clone, Deserialize)]
pub struct ItemLocation {
    pub record: String,
    pub item: u64,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
struct ItemPage {
    next: Option<u64>,
    items: Vec<ItemLocation>,
}

/// A record's verified receipt, and the receipt itself (to keep, or to check on chain); for a
/// signed record, the verified evidence that its key was the source's.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub receipt: Receipt,
    pub verified: VerifiedReceipt,
    pub source_evidence: Option<SourceEvidence>,
    /// `None` for an unsigned record.
    pub key: Option<VerifiedKey>,
}

/// `GET /v1/records/{id}/evidence`: a receipt and its source-key evidence.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordEvidence {
    pub receipt: Receipt,
    pub source_evidence: Option<SourceEvidence>,
}

/// Why a record of the payload is not proven.
#[derive(Debug, thiserror::Error)]
pub enum PayloadFailure {
    /// No signed checkpoint covers the record yet (the server's 409 `not-yet-included`).
    #[error("record {0} is not in a signed checkpoint yet; retry shortly")]
    NotYetIncluded(u64),
    /// The receipt does not prove the payload (names the failed check).
    #[error(transparent)]
    Invalid(#[from] PayloadError),
    /// The record is signed, and the evidence does not show the key was its source's.
    #[error("source key: {0}")]
    Key(#[from] EvidenceError),
}

impl Client {
    /// `GET /v1/records/{id}/evidence`: the record's receipt with its source-key evidence.
    pub async fn evidence(
        &self,
        index: u64,
        item: Option<u64>,
        size: Option<u64>,
    ) -> Result<RecordEvidence, ClientError> {
        let query = [
            ("item", item.map(|i| i.to_string())),
            ("size", size.map(|s| s.to_string())),
        ];
        self.get_json(&format!("v1/records/{index}/evidence"), &query)
            .await
    }

    /// Every record whose content root is `root`, oldest first (all pages).
    pub async fn find_by_content_root(
        &self,
        root: &Hash,
    ) -> Result<Vec<RecordSummary>, ClientError> {
        let mut query = FindQuery {
            content_root: Some(*root),
            limit: Some(1000),
            ..FindQuery::default()
        };
        let mut found = vec![];
        loop {
            let page = self.find(&query).await?;
            found.extend(page.records);
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// Every item whose leaf hash is `leaf_hash`, oldest record first (all pages), as
    /// `(record, item, source)`.
    pub async fn find_items(
        &self,
        leaf_hash: &Hash,
    ) -> Result<Vec<(u64, u64, String)>, ClientError> {
        let mut found = vec![];
        let mut after: Option<u64> = None;
        loop {
            let query = [
                ("leaf_hash", Some(leaf_hash.to_string())),
                ("after", after.map(|a| a.to_string())),
                ("limit", Some("1000".to_string())),
            ];
            let page: ItemPage = self.get_json("v1/items", &query).await?;
            for i in page.items {
                let record = i.record.parse().map_err(|_| ClientError::Decode {
                    url: "v1/items".into(),
                    reason: format!("record id {:?} is not an index", i.record),
                })?;
                found.push((record, i.item, i.source));
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// Finds every snapshot that holds `row` (a JSON row; its leaf hash is over its RFC 8785
    /// form) and verifies each one's item receipt and source-key evidence offline against
    /// `keys`, as [`Client::verify_payload`] does for a payload.
    pub async fn verify_row(
        &self,
        row: &Value,
        keys: &TrustedKeys,
    ) -> Result<Vec<PayloadRecord>, ClientError> {
        let leaf = payload_hash(row).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let mut out = vec![];
        for (index, item, source) in self.find_items(&leaf).await? {
            let verdict = match self.evidence(index, Some(item), None).await {
                Ok(answer) => verified(answer, keys, |r| verify_row_receipt(row, r, keys)),
                Err(e) if e.status() == Some(409) => Err(PayloadFailure::NotYetIncluded(index)),
                Err(e) => return Err(e),
            };
            out.push(PayloadRecord {
                index,
                item: Some(item),
                source,
                verdict,
            });
        }
        Ok(out)
    }

    /// Finds every record of `payload` (a signal of it, or a snapshot of it alone) and verifies
    /// each one's receipt offline against `keys`, and for a signed record the evidence that the
    /// key was its source's. The server is trusted for nothing: a record it fails to list is
    /// missing from the answer, and evidence that does not prove the payload or the key is a
    /// failed verdict, not an error.
    pub async fn verify_payload(
        &self,
        payload: &Value,
        keys: &TrustedKeys,
    ) -> Result<Vec<PayloadRecord>, ClientError> {
        let root = payload_hash(payload).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let mut out = vec![];
        for summary in self.find_by_content_root(&root).await? {
            let verdict = match self.evidence(summary.index, None, None).await {
                Ok(answer) => verified(answer, keys, |r| verify_payload_receipt(payload, r, keys)),
                Err(e) if e.status() == Some(409) => {
                    Err(PayloadFailure::NotYetIncluded(summary.index))
                }
                Err(e) => return Err(e),
            };
            out.push(PayloadRecord {
                index: summary.index,
                item: None,
                source: summary.source,
                verdict,
            });
        }
        Ok(out)
    }
}

/// The offline checks of one record: `check` proves the value from the receipt, then the
/// signing key's evidence is checked.
fn verified(
    answer: RecordEvidence,
    keys: &TrustedKeys,
    check: impl FnOnce(&Receipt) -> Result<VerifiedReceipt, PayloadError>,
) -> Result<Evidence, PayloadFailure> {
    let verified = check(&answer.receipt)?;
    let key = match verified.source_signature {
        None => None,
        Some(_) => Some(verify_source_evidence(
            &verified,
            answer.source_evidence.as_ref(),
            keys,
        )?),
    };
    Ok(Evidence {
        receipt: answer.receipt,
        verified,
        source_evidence: answer.source_evidence,
        key,
    })
}
