//! From the value a consumer received to verified receipts of every record of it: the online
//! half of `provlog verify payload` (the offline checks are `provlog_core::payload`).

use provlog_core::checkpoint::TrustedKeys;
use provlog_core::payload::{payload_hash, verify_payload_receipt, PayloadError};
use provlog_core::receipt::{Receipt, VerifiedReceipt};
use provlog_core::Hash;
use serde_json::Value;

use crate::{Client, ClientError, FindQuery, RecordSummary};

/// One record whose content is the payload, and what its receipt proved.
#[derive(Debug)]
pub struct PayloadRecord {
    pub summary: RecordSummary,
    pub verdict: Result<Evidence, PayloadFailure>,
}

/// A record's verified receipt, and the receipt itself (to keep, or to check on chain).
#[derive(Debug, Clone)]
pub struct Evidence {
    pub receipt: Receipt,
    pub verified: VerifiedReceipt,
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
}

impl Client {
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

    /// Finds every record of `payload` (a signal of it, or a snapshot of it alone) and verifies
    /// each one's receipt offline against `keys`. The server is trusted for nothing: a record
    /// it fails to list is missing from the answer, and a receipt that does not prove the
    /// payload is a failed verdict, not an error.
    pub async fn verify_payload(
        &self,
        payload: &Value,
        keys: &TrustedKeys,
    ) -> Result<Vec<PayloadRecord>, ClientError> {
        let root = payload_hash(payload).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let mut out = vec![];
        for summary in self.find_by_content_root(&root).await? {
            let verdict = match self.receipt(summary.index, None, None).await {
                Ok(receipt) => verify_payload_receipt(payload, &receipt, keys)
                    .map(|verified| Evidence { receipt, verified })
                    .map_err(PayloadFailure::from),
                Err(e) if e.status() == Some(409) => {
                    Err(PayloadFailure::NotYetIncluded(summary.index))
                }
                Err(e) => return Err(e),
            };
            out.push(PayloadRecord { summary, verdict });
        }
        Ok(out)
    }
}
