//! What the shared SQL (`src/sql/`) needs to know of PostgreSQL: the types it is compiled with,
//! and the SQL fragments written differently on SQLite (its `dialect` has the same names).

use provlog_core::Hash;

use crate::convert::all_to_db;
use crate::Result;

pub(crate) type Backend = super::PgBackend;
pub(crate) use super::batch::{insert_nodes, insert_records};
pub(crate) use super::MIGRATOR;
pub(crate) type Db = sqlx::Postgres;

/// Locks the rows a read inside a write transaction found until commit.
macro_rules! for_update {
    () => {
        " FOR UPDATE"
    };
}

/// "Now", of the type the timestamp columns have.
macro_rules! now {
    () => {
        "now()"
    };
}

/// Now plus a parameter's milliseconds.
macro_rules! now_plus_ms {
    ($param:literal) => {
        concat!("now() + ", $param, " * interval '1 millisecond'")
    };
}

/// A timestamp column read as Unix milliseconds (BIGINT).
macro_rules! ms {
    ($col:literal) => {
        concat!("(extract(epoch from ", $col, ") * 1000)::bigint")
    };
}

/// A parameter of Unix milliseconds, written to a timestamp column.
macro_rules! from_ms {
    ($param:literal) => {
        concat!("to_timestamp(", $param, "::double precision / 1000)")
    };
}

/// A parameter of JSON text, written to a JSON column (malformed text is refused).
macro_rules! json {
    ($param:literal) => {
        concat!($param, "::jsonb")
    };
}

/// A JSON column read as text.
macro_rules! json_text {
    ($col:literal) => {
        concat!($col, "::text")
    };
}

/// What orders rows created in the same instant: `timestamptz` has microseconds, so ties are
/// rare, and the named column settles them.
macro_rules! tiebreak {
    ($col:literal) => {
        $col
    };
}

/// Locks the rows a read inside a write transaction found against change (not against other
/// readers) until commit.
macro_rules! for_share {
    () => {
        " FOR SHARE"
    };
}

/// Tests a column against a list parameter: `in_list!("$1")` a [`list`] of indexes,
/// `in_list!(hashes "$1")` a [`hash_list`]. Either is one array.
macro_rules! in_list {
    ($(hashes)? $param:literal) => {
        concat!("= ANY(", $param, ")")
    };
}

/// Indexes as one list parameter: a BIGINT array.
pub(crate) fn list(values: &[u64]) -> Result<Vec<i64>> {
    all_to_db(values)
}

/// Hashes as one list parameter: a BYTEA array.
pub(crate) fn hash_list(hashes: &[Hash]) -> Vec<Vec<u8>> {
    hashes.iter().map(|h| h.as_bytes().to_vec()).collect()
}

pub(crate) use {
    for_share, for_update, from_ms, in_list, json, json_text, ms, now, now_plus_ms, tiebreak,
};
