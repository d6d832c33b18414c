//! Per-source chains (record format v2, `docs/formats.md`, "Records (v1, v2)"): however the
//! records got there — many writers of one source through several replicas, kills mid-ingest —
//! each source's records form one unbroken chain in log order.
//!
//! [`ChainCheck`] reads a log's leaves in index order and checks, for every source, that each
//! record parses strictly ([`Record::from_canonical_bytes`]), is format v2, has the `seq` one
//! more than the source's previous record (0 for its first, so numbers are dense and follow log
//! order), has as `prev` the leaf hash of that record (absent at `seq` 0), and was not received
//! earlier than it. Registry records (kind `source`) and `close` records are links of the chain
//! like any other. Every violation is collected, with the leaves involved, and reported at once.
//!
//! [`assert_source_chains_in_db`] checks the stored log, and that the `source`, `kind`, `format`,
//! `source_seq` and `received_ms` columns say what the leaf bytes say;
//! [`assert_source_chains_served`] checks what a server serves in its entries tiles, and
//! [`assert_serves_chains`] that a server serves exactly the leaves of chains already checked
//! (by their leaf hashes: quicker than parsing every record again).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use provlog_client::paths::tiles_for;
use provlog_client::Client;
use provlog_core::record::{FormatVersion, Record, Timestamp};
use provlog_core::Hash;
use sqlx::{PgConnection, SqliteConnection};

/// Violations shown in full when the check fails (all are counted).
const SHOWN: usize = 30;

/// The last record of a source's chain so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub index: u64,
    pub seq: u64,
    pub leaf_hash: Hash,
    pub received_at: Timestamp,
}

/// One source's chain, as checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    /// Its records (its length: its head's `seq` + 1 when unbroken).
    pub records: u64,
    /// Its records by kind (`signal`, `source`, `close`, …).
    pub kinds: BTreeMap<String, u64>,
    /// Log index of its first record.
    pub first_index: u64,
    /// Its last record.
    pub head: Option<Link>,
}

/// Every source's chain in a log that passed [`ChainCheck`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceChains {
    /// Records checked (the log's size).
    pub records: u64,
    pub chains: BTreeMap<String, Chain>,
    /// Every record's leaf hash, by index.
    pub leaf_hashes: Vec<Hash>,
}

impl SourceChains {
    /// Records of `kind` over all sources.
    pub fn of_kind(&self, kind: &str) -> u64 {
        self.chains.values().filter_map(|c| c.kinds.get(kind)).sum()
    }

    /// For a summary line: `3 source chains (load-files 7530, …)`, and the close records.
    pub fn summary(&self) -> String {
        let lengths = self
            .chains
            .iter()
            .map(|(s, c)| format!("{s} {}", c.records))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "{} source chains ({lengths}) of {} records dense, linked and in time order, {} of them close records",
            self.chains.len(),
            self.records,
            self.of_kind("close"),
        )
    }
}

/// Checks leaves one by one, in index order; [`ChainCheck::finish`] panics on any violation.
#[derive(Debug, Default)]
pub struct ChainCheck {
    next_index: u64,
    chains: BTreeMap<String, Chain>,
    leaf_hashes: Vec<Hash>,
    violations: Vec<String>,
    violation_count: usize,
}

impl ChainCheck {
    pub fn new() -> ChainCheck {
        ChainCheck::default()
    }

    /// Records a violation found outside the chain rules (e.g. a column that disagrees).
    pub fn violation(&mut self, message: String) {
        self.violation_count += 1;
        if self.violations.len() < SHOWN {
            self.violations.push(message);
        }
    }

    /// Checks the leaf at `index`, which must be the one after the last; returns the record
    /// when the leaf parses.
    pub fn push(&mut self, index: u64, leaf: &[u8]) -> Option<Record> {
        if index != self.next_index {
            self.violation(format!(
                "leaf {index} follows leaf {} (indexes are not dense)",
                self.next_index as i128 - 1
            ));
        }
        self.next_index = index + 1;
        let leaf_hash = provlog_core::leaf_hash(leaf);
        self.leaf_hashes.push(leaf_hash);
        let record = match Record::from_canonical_bytes(leaf) {
            Ok(r) => r,
            Err(e) => {
                self.violation(format!(
                    "leaf {index}: not a canonical record ({e}): {}",
                    String::from_utf8_lossy(leaf)
                ));
                return None;
            }
        };
        let source = record.source.as_str().to_string();
        let chain = self.chains.entry(source.clone()).or_insert_with(|| Chain {
            first_index: index,
            ..Chain::default()
        });
        let expected_seq = chain.head.map_or(0, |h| h.seq + 1);
        let mut problems = vec![];
        if record.v != FormatVersion::V2 {
            problems.push(format!("format v{} (expected v2)", record.v.number()));
        }
        if record.seq != Some(expected_seq) {
            problems.push(format!("seq {:?}, expected {expected_seq}", record.seq));
        }
        let expected_prev = chain.head.map(|h| h.leaf_hash);
        if record.prev != expected_prev {
            let show = |h: Option<Hash>| h.map_or("none".to_string(), |h| h.to_base64());
            problems.push(format!(
                "prev {}, expected {} (the leaf hash of {})",
                show(record.prev),
                show(expected_prev),
                chain
                    .head
                    .map_or("nothing: its first record".into(), |h| format!(
                        "leaf {}, seq {}",
                        h.index, h.seq
                    )),
            ));
        }
        if let Some(head) = chain.head {
            if record.received_at < head.received_at {
                problems.push(format!(
                    "received_at {} is before {} of leaf {} (seq {})",
                    record.received_at, head.received_at, head.index, head.seq
                ));
            }
        }
        chain.records += 1;
        *chain
            .kinds
            .entry(record.kind.as_str().to_string())
            .or_default() += 1;
        chain.head = Some(Link {
            index,
            // After a wrong or missing seq, go on from the record's own (one report per break).
            seq: record.seq.unwrap_or(expected_seq),
            leaf_hash,
            received_at: record.received_at,
        });
        if !problems.is_empty() {
            let mut message = format!("leaf {index} ({source}, {}):", record.kind);
            for p in problems {
                let _ = write!(message, " {p};");
            }
            let _ = write!(message, " {}", String::from_utf8_lossy(leaf));
            self.violation(message);
        }
        Some(record)
    }

    /// The chains, or a panic listing the violations.
    pub fn finish(self) -> SourceChains {
        if self.violation_count > 0 {
            panic!(
                "{} violations of the per-source chains (the first {}):\n{}",
                self.violation_count,
                self.violations.len(),
                self.violations.join("\n")
            );
        }
        SourceChains {
            records: self.next_index,
            chains: self.chains,
            leaf_hashes: self.leaf_hashes,
        }
    }
}

/// The stored records with the columns kept beside each leaf: `idx, leaf, source, kind, format,
/// source_seq, received_ms`.
const STORED: &str =
    "SELECT idx, leaf, source, kind, CAST(format AS BIGINT), source_seq, received_ms
     FROM records ORDER BY idx";
type StoredRow = (i64, Vec<u8>, String, String, i64, i64, i64);

/// [`ChainCheck`] over every record stored in the (PostgreSQL) database, in index order, and
/// the columns the store keeps beside each leaf: `source`, `kind`, `format`, `source_seq` and
/// `received_ms` must be those of the leaf.
pub async fn assert_source_chains_in_db(conn: &mut PgConnection) -> SourceChains {
    let rows: Vec<StoredRow> = sqlx::query_as(STORED)
        .fetch_all(&mut *conn)
        .await
        .expect("records");
    check_stored(rows)
}

/// [`assert_source_chains_in_db`] for a SQLite database.
pub async fn assert_source_chains_in_sqlite(conn: &mut SqliteConnection) -> SourceChains {
    let rows: Vec<StoredRow> = sqlx::query_as(STORED)
        .fetch_all(&mut *conn)
        .await
        .expect("records");
    check_stored(rows)
}

fn check_stored(rows: Vec<StoredRow>) -> SourceChains {
    let mut check = ChainCheck::new();
    for (idx, leaf, source, kind, format, source_seq, received_ms) in rows {
        let Some(record) = check.push(idx as u64, &leaf) else {
            continue;
        };
        let stored = (source, kind, format, source_seq, received_ms);
        let bytes = (
            record.source.as_str().to_string(),
            record.kind.as_str().to_string(),
            record.v.number() as i64,
            record.seq.map_or(-1, |s| s as i64),
            record.received_at.unix_millis(),
        );
        if stored != bytes {
            check.violation(format!(
                "record {idx}: columns (source, kind, format, source_seq, received_ms) = {stored:?}, its bytes say {bytes:?}"
            ));
        }
    }
    check.finish()
}

/// The first `size` entries as `client`'s server serves them in its entries tiles (8 tiles
/// fetched at a time).
pub async fn served_leaves(client: &Client, size: u64) -> Vec<Vec<u8>> {
    let mut leaves = Vec::with_capacity(size as usize);
    for group in tiles_for(size).chunks(8) {
        let mut fetches = tokio::task::JoinSet::new();
        for (k, &(n, width)) in group.iter().enumerate() {
            let client = client.clone();
            fetches.spawn(async move {
                let entries = client
                    .entries_tile(n, width)
                    .await
                    .unwrap_or_else(|e| panic!("entries tile {n} ({width} entries): {e}"));
                assert_eq!(
                    entries.len() as u64,
                    width,
                    "entries tile {n}: {width} entries"
                );
                (k, entries)
            });
        }
        let mut fetched = vec![];
        while let Some(done) = fetches.join_next().await {
            fetched.push(done.expect("an entries tile fetch"));
        }
        fetched.sort_unstable_by_key(|f| f.0);
        leaves.extend(fetched.into_iter().flat_map(|(_, entries)| entries));
    }
    leaves
}

/// [`ChainCheck`] over the first `size` entries as `client`'s server serves them.
pub async fn assert_source_chains_served(client: &Client, size: u64) -> SourceChains {
    let mut check = ChainCheck::new();
    for (i, leaf) in served_leaves(client, size).await.iter().enumerate() {
        check.push(i as u64, leaf);
    }
    check.finish()
}

/// `client`'s server serves exactly the leaves of `chains` (checked from another view, e.g.
/// [`assert_source_chains_in_db`]): the same leaf hashes at the same indexes.
pub async fn assert_serves_chains(client: &Client, chains: &SourceChains) {
    let served = served_leaves(client, chains.records).await;
    let differ: Vec<String> = served
        .iter()
        .zip(&chains.leaf_hashes)
        .enumerate()
        .filter(|(_, (leaf, hash))| provlog_core::leaf_hash(leaf) != **hash)
        .map(|(i, (leaf, _))| format!("leaf {i}: {}", String::from_utf8_lossy(leaf)))
        .collect();
    assert!(
        differ.is_empty(),
        "{} of {} served leaves differ from the checked chains':\n{}",
        differ.len(),
        chains.records,
        differ[..differ.len().min(SHOWN)].join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORIGIN: &str = "example.com/provlog/chains";

    /// A v2 signal of `source` at `seq` after `prev`, received at `ms`.
    fn leaf(source: &str, seq: u64, prev: Option<&[u8]>, ms: i64) -> Vec<u8> {
        let (content, _) = provlog_core::record::signal_content(&json!({"seq": seq})).unwrap();
        let mut record = json!({
            "content": content,
            "kind": "signal",
            "metadata": {},
            "origin": ORIGIN,
            "parents": [],
            "received_at": Timestamp::from_unix_millis(ms).unwrap(),
            "seq": seq,
            "source": source,
            "v": 2,
        });
        if let Some(prev) = prev {
            record["prev"] = json!(provlog_core::leaf_hash(prev));
        }
        let record: Record = serde_json::from_value(record).unwrap();
        record.to_canonical_bytes().unwrap()
    }

    fn check(leaves: &[Vec<u8>]) -> Result<SourceChains, String> {
        let leaves = leaves.to_vec();
        std::panic::catch_unwind(move || {
            let mut c = ChainCheck::new();
            for (i, l) in leaves.iter().enumerate() {
                c.push(i as u64, l);
            }
            c.finish()
        })
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "a panic".into())
        })
    }

    #[test]
    fn interleaved_chains_pass() {
        let a0 = leaf("a", 0, None, 10);
        let b0 = leaf("b", 0, None, 11);
        let a1 = leaf("a", 1, Some(&a0), 10);
        let b1 = leaf("b", 1, Some(&b0), 12);
        let a2 = leaf("a", 2, Some(&a1), 13);
        let chains = check(&[a0, b0, a1, b1, a2]).unwrap();
        assert_eq!(chains.records, 5);
        assert_eq!(chains.chains["a"].records, 3);
        assert_eq!(chains.chains["b"].head.unwrap().index, 3);
        assert_eq!(chains.of_kind("signal"), 5);
    }

    #[test]
    fn breaks_are_reported() {
        let a0 = leaf("a", 0, None, 10);
        let a1 = leaf("a", 1, Some(&a0), 10);
        // A gap in seq.
        let e = check(&[a0.clone(), leaf("a", 2, Some(&a0), 10)]).unwrap_err();
        assert!(e.contains("seq Some(2), expected 1"), "{e}");
        // A prev that is not the previous record's.
        let e = check(&[a0.clone(), a1.clone(), leaf("a", 2, Some(&a0), 10)]).unwrap_err();
        assert!(e.contains("prev"), "{e}");
        // Time going back.
        let e = check(&[a0.clone(), leaf("a", 1, Some(&a0), 9)]).unwrap_err();
        assert!(e.contains("received_at"), "{e}");
        // A source starting past 0, or a duplicate seq.
        let e = check(&[leaf("b", 1, Some(&a0), 10)]).unwrap_err();
        assert!(e.contains("expected 0"), "{e}");
        let e = check(&[a0.clone(), a1.clone(), a1]).unwrap_err();
        assert!(e.contains("expected 2"), "{e}");
        // Not a record.
        let e = check(&[b"{}".to_vec()]).unwrap_err();
        assert!(e.contains("not a canonical record"), "{e}");
    }
}
