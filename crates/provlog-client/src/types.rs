//! Request and response shapes of the API. Responses ignore members this client does not know,
//! so a newer server does not break an older client.

use provlog_core::receipt::Receipt;
use provlog_core::Hash;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One request to `POST /v1/records`, serialised once: a retry sends the same bytes, which is
/// what an idempotency key needs (the server compares the request's hash).
#[derive(Debug, Clone)]
pub struct Submission {
    body: Vec<u8>,
    records: usize,
    idempotency_key: Option<String>,
    wait_for_receipts: bool,
}

impl Submission {
    /// A single record (a JSON object such as [`signal`] returns).
    pub fn one(record: &Value) -> Self {
        Submission {
            body: record.to_string().into_bytes(),
            records: 1,
            idempotency_key: None,
            wait_for_receipts: false,
        }
    }

    /// A batch, sequenced atomically: `{"records": [...]}`.
    pub fn batch(records: &[Value]) -> Self {
        Submission {
            body: json!({ "records": records }).to_string().into_bytes(),
            records: records.len(),
            idempotency_key: None,
            wait_for_receipts: false,
        }
    }

    /// Sends `Idempotency-Key: key`: a retry returns the first request's records.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Asks the server to answer once a checkpoint covers the records (`?wait=receipt`).
    pub fn wait_for_receipts(mut self) -> Self {
        self.wait_for_receipts = true;
        self
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Number of records in the request.
    pub fn len(&self) -> usize {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    pub fn key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    pub fn waits_for_receipts(&self) -> bool {
        self.wait_for_receipts
    }
}

/// A signal record: one JSON value.
pub fn signal(source: &str, payload: Value) -> Value {
    json!({"kind": "signal", "source": source, "payload": payload})
}

/// An outcome record: what happened (`payload`) for the record whose leaf hash is `of`.
pub fn outcome(source: &str, of: Hash, payload: Value) -> Value {
    json!({"kind": "outcome", "source": source, "parents": [of], "payload": payload})
}

/// A snapshot record: JSON items, each provable on its own.
pub fn snapshot(source: &str, items: Vec<Value>) -> Value {
    json!({"kind": "snapshot", "source": source, "items": items})
}

/// A digest record: the client computed the content root; the data stays with the client.
pub fn digest(source: &str, root: Hash, items: u64) -> Value {
    json!({"kind": "digest", "source": source, "content": {"alg": "sha256", "root": root, "items": items}})
}

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub id: String,
    pub index: u64,
    pub leaf_hash: Hash,
    pub content_root: Hash,
}

/// The answer to a submission: 201 for new records, 200 (`replayed`) for a retried key.
#[derive(Debug, Clone, Deserialize)]
pub struct SubmitResponse {
    pub records: Vec<Ack>,
    pub replayed: bool,
    /// With `?wait=receipt`: `ready` or `timeout`.
    #[serde(default)]
    pub receipt_status: Option<String>,
    #[serde(default)]
    pub receipts: Option<Vec<Receipt>>,
    #[serde(default)]
    pub detail: Option<String>,
}

/// A record as lookups list it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordSummary {
    pub id: String,
    pub index: u64,
    pub leaf_hash: Hash,
    pub content_root: Hash,
    pub source: String,
    pub kind: String,
    pub received_at: String,
}

/// `GET /v1/records/{id}`: the summary, the record itself and its lineage.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordView {
    #[serde(flatten)]
    pub summary: RecordSummary,
    pub record: Value,
    pub parents: Vec<String>,
    pub in_checkpoint: bool,
}

/// Lookup criteria of `GET /v1/records`; all given ones must match.
#[derive(Debug, Clone, Default)]
pub struct FindQuery {
    pub content_root: Option<Hash>,
    pub leaf_hash: Option<Hash>,
    pub source: Option<String>,
    /// `signal`, `snapshot`, `digest` or `source`.
    pub kind: Option<String>,
    /// RFC 3339, inclusive.
    pub since: Option<String>,
    /// RFC 3339, exclusive.
    pub until: Option<String>,
    /// Cursor: the previous page's `next`.
    pub after: Option<u64>,
    pub limit: Option<u32>,
}

impl FindQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("content_root", self.content_root.map(|h| h.to_hex())),
            ("leaf_hash", self.leaf_hash.map(|h| h.to_hex())),
            ("source", self.source.clone()),
            ("kind", self.kind.clone()),
            ("since", self.since.clone()),
            ("until", self.until.clone()),
            ("after", self.after.map(|a| a.to_string())),
            ("limit", self.limit.map(|l| l.to_string())),
        ]
    }
}

/// One page of a lookup; `next` is the cursor of the following page.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordPage {
    pub records: Vec<RecordSummary>,
    pub next: Option<u64>,
}

/// A stored signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckpointEntry {
    pub size: u64,
    pub root: Hash,
    /// The C2SP signed note.
    pub note: String,
    pub created_at: String,
}

/// Checkpoints, newest first; `next` is the `before` of the following page.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckpointPage {
    pub checkpoints: Vec<CheckpointEntry>,
    pub next: Option<u64>,
}

/// One transaction anchoring a checkpoint on chain (`GET /v1/anchors`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AnchorEntry {
    pub id: i64,
    /// `pending`, `confirmed`, `replaced`, `reorged` or `failed`.
    pub status: String,
    pub tree_size: u64,
    pub root: Hash,
    pub chain_id: u64,
    pub contract: String,
    pub log_id: String,
    pub sender: String,
    pub nonce: u64,
    pub tx_hash: String,
    pub block_number: Option<u64>,
    pub block_hash: Option<String>,
    /// Unix seconds of the confirming block (null until confirmed, or on older servers).
    #[serde(default)]
    pub block_timestamp: Option<u64>,
    /// Wei per gas, decimal.
    pub max_fee_per_gas: String,
    pub max_priority_fee_per_gas: String,
    pub gas_limit: u64,
    pub sent_at: String,
    pub updated_at: String,
    pub confirmed_at: Option<String>,
}

/// Anchoring transactions, newest first; `next` is the `before` of the following page.
#[derive(Debug, Clone, Deserialize)]
pub struct AnchorPage {
    /// Whether the log anchors its checkpoints at all.
    pub enabled: bool,
    pub anchors: Vec<AnchorEntry>,
    pub next: Option<i64>,
}

/// A consistency proof between two signed checkpoints, in the shape `provlog verify
/// consistency` reads (serialise it to get that file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub size1: u64,
    pub size2: u64,
    pub root1: Hash,
    pub root2: Hash,
    pub proof: Vec<Hash>,
}

/// `GET /v1/log`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogInfo {
    pub origin: String,
    /// `name+hexid+base64`, for `provlog verify receipt --key`.
    pub verifier_key: String,
    /// Records sequenced.
    pub size: u64,
    pub integrated_size: u64,
    pub checkpoint_size: u64,
    pub leader: Option<String>,
    pub pending: u64,
    pub replica: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn submissions_serialise_once() {
        let one = Submission::one(&signal("acme", json!({"x": 1})))
            .idempotency_key("k1")
            .wait_for_receipts();
        let v: Value = serde_json::from_slice(one.body()).unwrap();
        assert_eq!(v["kind"], "signal");
        assert_eq!(
            (one.len(), one.key(), one.waits_for_receipts()),
            (1, Some("k1"), true)
        );
        let batch = Submission::batch(&[
            snapshot("acme", vec![json!({"a": 1}), json!({"a": 2})]),
            digest("files", Hash::sha256(b"f"), 1),
        ]);
        let v: Value = serde_json::from_slice(batch.body()).unwrap();
        assert_eq!(v["records"][0]["items"][1]["a"], 2);
        assert_eq!(
            v["records"][1]["content"]["root"],
            Hash::sha256(b"f").to_base64()
        );
        assert_eq!((batch.len(), batch.key()), (2, None));
    }

    #[test]
    fn find_queries_send_only_what_is_set() {
        let h = Hash::sha256(b"x");
        let q = FindQuery {
            leaf_hash: Some(h),
            after: Some(9),
            ..FindQuery::default()
        };
        let set: Vec<_> = q.pairs().into_iter().filter(|(_, v)| v.is_some()).collect();
        assert_eq!(
            set,
            vec![("leaf_hash", Some(h.to_hex())), ("after", Some("9".into()))]
        );
    }

    #[test]
    fn responses_parse_and_tolerate_new_members() {
        let h = Hash::sha256(b"x").to_base64();
        let body = format!(
            r#"{{"records":[{{"id":"3","index":3,"leaf_hash":"{h}","content_root":"{h}","new":1}}],"replayed":false,"later":true}}"#
        );
        let r: SubmitResponse = serde_json::from_str(&body).unwrap();
        assert_eq!(r.records[0].index, 3);
        assert!(r.receipts.is_none() && r.receipt_status.is_none());
        let proof = ConsistencyProof {
            size1: 1,
            size2: 2,
            root1: Hash::sha256(b"a"),
            root2: Hash::sha256(b"b"),
            proof: vec![Hash::sha256(b"c")],
        };
        let v = serde_json::to_value(&proof).unwrap();
        assert_eq!(v["root1"], Hash::sha256(b"a").to_base64());
        assert_eq!(
            serde_json::from_value::<ConsistencyProof>(v).unwrap(),
            proof
        );
    }
}
