//! How batches of rows are written on PostgreSQL: each column travels as one array parameter
//! through `UNNEST`, so a batch costs one round trip per table.

use provlog_core::{leaf_hash, Hash};
use sqlx::PgConnection;

use crate::convert::to_db;
use crate::sequence::Sealed;
use crate::{NewRecord, Result};

/// Stores a batch's sealed records (with their parent links and snapshot items) at `first..`.
pub(crate) async fn insert_records(
    conn: &mut PgConnection,
    first: u64,
    batch: &[NewRecord],
    sealed: &[Sealed],
) -> Result<()> {
    let mut idx = Vec::with_capacity(batch.len());
    let (mut leaf_hashes, mut leaves, mut sources, mut kinds, mut roots, mut times, mut seqs) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut children, mut parents) = (vec![], vec![]);
    let (mut item_records, mut item_indexes, mut item_data, mut item_hashes) =
        (vec![], vec![], vec![], vec![]);
    for (i, (r, s)) in batch.iter().zip(sealed).enumerate() {
        let index = to_db(first + i as u64)?;
        idx.push(index);
        leaf_hashes.push(s.leaf_hash.as_bytes().to_vec());
        leaves.push(s.leaf.as_slice());
        sources.push(r.source.as_str());
        kinds.push(r.kind);
        roots.push(r.content_root.as_bytes().to_vec());
        times.push(s.received_ms);
        seqs.push(to_db(s.seq)?);
        for &p in &r.parents {
            children.push(index);
            parents.push(to_db(p)?);
        }
        for (j, data) in r.items.iter().enumerate() {
            item_records.push(index);
            item_indexes.push(to_db(j as u64)?);
            item_data.push(data.as_slice());
            item_hashes.push(leaf_hash(data).as_bytes().to_vec());
        }
    }
    sqlx::query(
        "INSERT INTO records
             (idx, leaf_hash, leaf, source, kind, content_root, received_ms, source_seq, format)
         SELECT *, 2 FROM UNNEST($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::text[],
                                 $6::bytea[], $7::bigint[], $8::bigint[])",
    )
    .bind(&idx)
    .bind(&leaf_hashes)
    .bind(&leaves)
    .bind(&sources)
    .bind(&kinds)
    .bind(&roots)
    .bind(&times)
    .bind(&seqs)
    .execute(&mut *conn)
    .await?;
    if !children.is_empty() {
        sqlx::query(
            "INSERT INTO record_parents (child, parent)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
        )
        .bind(&children)
        .bind(&parents)
        .execute(&mut *conn)
        .await?;
    }
    if !item_records.is_empty() {
        sqlx::query(
            "INSERT INTO snapshot_items (record, item, data, leaf_hash)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[])",
        )
        .bind(&item_records)
        .bind(&item_indexes)
        .bind(&item_data)
        .bind(&item_hashes)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Stores new node hashes in one statement. A plain INSERT: the primary key refuses to rewrite
/// a stored hash.
pub(crate) async fn insert_nodes(conn: &mut PgConnection, nodes: &[(u64, Hash)]) -> Result<()> {
    let (mut idx, mut hashes) = (vec![], vec![]);
    for (at, h) in nodes {
        idx.push(to_db(*at)?);
        hashes.push(h.as_bytes().to_vec());
    }
    sqlx::query("INSERT INTO nodes (idx, hash) SELECT * FROM UNNEST($1::bigint[], $2::bytea[])")
        .bind(&idx)
        .bind(&hashes)
        .execute(conn)
        .await?;
    Ok(())
}
