//! How batches of rows are written on SQLite: one prepared statement per table, run per row.
//! SQLite runs in this process, so a statement costs microseconds, not a round trip.

use provlog_core::{leaf_hash, Hash};
use sqlx::SqliteConnection;

use crate::convert::to_db;
use crate::sequence::Sealed;
use crate::{NewRecord, Result};

/// Stores a batch's sealed records (with their parent links and snapshot items) at `first..`.
pub(crate) async fn insert_records(
    conn: &mut SqliteConnection,
    first: u64,
    batch: &[NewRecord],
    sealed: &[Sealed],
) -> Result<()> {
    for (i, (r, s)) in batch.iter().zip(sealed).enumerate() {
        let index = to_db(first + i as u64)?;
        sqlx::query(
            "INSERT INTO records
                 (idx, leaf_hash, leaf, source, kind, content_root, received_ms, source_seq, format)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 2)",
        )
        .bind(index)
        .bind(s.leaf_hash.as_bytes().as_slice())
        .bind(s.leaf.as_slice())
        .bind(r.source.as_str())
        .bind(r.kind)
        .bind(r.content_root.as_bytes().as_slice())
        .bind(s.received_ms)
        .bind(to_db(s.seq)?)
        .execute(&mut *conn)
        .await?;
        for &p in &r.parents {
            sqlx::query(
                "INSERT INTO record_parents (child, parent) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
            )
            .bind(index)
            .bind(to_db(p)?)
            .execute(&mut *conn)
            .await?;
        }
        for (j, data) in r.items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO snapshot_items (record, item, data, leaf_hash) VALUES ($1, $2, $3, $4)",
            )
            .bind(index)
            .bind(to_db(j as u64)?)
            .bind(data.as_slice())
            .bind(leaf_hash(data).as_bytes().as_slice())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Stores new node hashes. A plain INSERT: the primary key refuses to rewrite a stored hash.
pub(crate) async fn insert_nodes(conn: &mut SqliteConnection, nodes: &[(u64, Hash)]) -> Result<()> {
    for (at, h) in nodes {
        sqlx::query("INSERT INTO nodes (idx, hash) VALUES ($1, $2)")
            .bind(to_db(*at)?)
            .bind(h.as_bytes().as_slice())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
