//! The PostgreSQL `COPY` baseline that batched ingest is compared with.

use std::time::Instant;

use provlog_core::Hash;
use rand::rngs::StdRng as SmallRng;
use rand::SeedableRng;
use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::load::random_record;
use super::report::{Report, Tally};
use super::usage;
use crate::Failure;

/// Appends one `records` row in PostgreSQL's binary COPY format.
fn copy_row(out: &mut Vec<u8>, idx: i64, leaf: &[u8], source: &str, kind: &str, received_ms: i64) {
    let field = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    out.extend_from_slice(&7i16.to_be_bytes());
    field(out, &idx.to_be_bytes());
    field(out, Hash::sha256(leaf).as_bytes());
    field(out, leaf);
    field(out, source.as_bytes());
    field(out, kind.as_bytes());
    field(out, Hash::sha256(&idx.to_le_bytes()).as_bytes());
    field(out, &received_ms.to_be_bytes());
}

pub(super) async fn copy_baseline(
    admin_url: &str,
    rows: u64,
    chunk: u64,
    pk_only: bool,
) -> Result<Report, Failure> {
    let db = format!("provlog_bench_copy_{}", std::process::id());
    let mut admin = PgConnection::connect(admin_url).await.map_err(usage)?;
    sqlx::query(&format!("CREATE DATABASE \"{db}\""))
        .execute(&mut admin)
        .await
        .map_err(usage)?;
    let url = with_database(admin_url, &db);
    let result = copy_into(&url, rows, chunk, pk_only).await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await;
    result
}

async fn copy_into(url: &str, rows: u64, chunk: u64, pk_only: bool) -> Result<Report, Failure> {
    // The real schema (the PostgreSQL migrations), then an empty copy of `records` with all
    // its indexes.
    let pool = sqlx::PgPool::connect(url).await.map_err(usage)?;
    provlog_store::postgres::MIGRATOR
        .run(&pool)
        .await
        .map_err(usage)?;
    pool.close().await;
    let mut conn = PgConnection::connect(url).await.map_err(usage)?;
    let create = if pk_only {
        "CREATE TABLE records_copy (LIKE records INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
                                    PRIMARY KEY (idx))"
    } else {
        "CREATE TABLE records_copy (LIKE records INCLUDING ALL)"
    };
    sqlx::query(create)
        .execute(&mut conn)
        .await
        .map_err(usage)?;

    // Rows shaped like the ingest mix's canonical records (prepared before the clock starts).
    let mut rng = SmallRng::seed_from_u64(0xc0);
    let now_ms = 1_795_000_000_000i64;
    let mut chunks = vec![];
    let mut at = 0u64;
    while at < rows {
        let n = chunk.min(rows - at);
        let mut buf = Vec::with_capacity(n as usize * 330);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        for i in at..at + n {
            let record = random_record(&mut rng, i);
            let kind = record["kind"].as_str().unwrap_or("signal").to_string();
            let source = record["source"].as_str().unwrap_or("signals").to_string();
            let leaf =
                json!({"v": 1, "received_at": now_ms + i as i64, "record": record}).to_string();
            let idx = i64::try_from(i).map_err(usage)?;
            copy_row(&mut buf, idx, leaf.as_bytes(), &source, &kind, now_ms + idx);
        }
        buf.extend_from_slice(&(-1i16).to_be_bytes());
        chunks.push((n, buf));
        at += n;
    }
    let bytes: usize = chunks.iter().map(|(_, b)| b.len()).sum();

    let mut tally = Tally::default();
    let start = Instant::now();
    for (n, buf) in chunks {
        let t = Instant::now();
        let mut copy = conn
            .copy_in_raw("COPY records_copy FROM STDIN (FORMAT binary)")
            .await
            .map_err(usage)?;
        copy.send(buf).await.map_err(usage)?;
        copy.finish().await.map_err(usage)?;
        tally.latencies.push(t.elapsed());
        tally.ops += n;
        tally.records += n;
    }
    let mut report = tally.report("copy-baseline", start.elapsed());
    report.note = Some(format!(
        "binary COPY into {}, {bytes} bytes, latency per COPY statement",
        if pk_only {
            "(LIKE records) with its primary key only"
        } else {
            "(LIKE records INCLUDING ALL)"
        }
    ));
    Ok(report)
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = base[after_scheme..]
        .find('/')
        .map_or(base, |s| &base[..after_scheme + s]);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn copy_rows_have_seven_fields() {
        let mut out = vec![];
        copy_row(&mut out, 7, b"{}", "s", "signal", 1);
        assert_eq!(&out[..2], &7i16.to_be_bytes());
        assert_eq!(out.len(), 2 + 7 * 4 + 8 + 32 + 2 + 1 + 6 + 32 + 8);
    }

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
    }
}
