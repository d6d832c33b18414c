//! What the shared SQL (`src/sql/`) needs to know of SQLite: the types it is compiled with, and
//! the SQL fragments written differently on PostgreSQL (its `dialect` has the same names).
//! Timestamps are INTEGER Unix milliseconds, JSON is TEXT stored through `json()`.

use provlog_core::Hash;

use crate::convert::all_to_db;
use crate::Result;

pub(crate) type Backend = super::SqliteBackend;
pub(crate) use super::batch::{insert_nodes, insert_records};
pub(crate) use super::MIGRATOR;
pub(crate) type Db = sqlx::Sqlite;

/// Nothing: a write transaction holds the database's write lock (`BEGIN IMMEDIATE`) already.
macro_rules! for_update {
    () => {
        ""
    };
}

/// "Now" in Unix milliseconds, computed on the database's side as PostgreSQL's `now()` is.
macro_rules! now {
    () => {
        "CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER)"
    };
}

/// Now plus a parameter's milliseconds.
macro_rules! now_plus_ms {
    ($param:literal) => {
        concat!("(", now!(), " + ", $param, ")")
    };
}

/// A timestamp column read as Unix milliseconds: what it holds.
macro_rules! ms {
    ($col:literal) => {
        $col
    };
}

/// A parameter of Unix milliseconds, written to a timestamp column: as it is.
macro_rules! from_ms {
    ($param:literal) => {
        $param
    };
}

/// A parameter of JSON text, stored minified; `json()` refuses malformed text as PostgreSQL's
/// `::jsonb` does.
macro_rules! json {
    ($param:literal) => {
        concat!("json(", $param, ")")
    };
}

/// A JSON column read as text: what it holds.
macro_rules! json_text {
    ($col:literal) => {
        $col
    };
}

/// What orders rows created in the same millisecond: `rowid`, which grows with each insert, so
/// lists stay in creation order as they are on PostgreSQL.
macro_rules! tiebreak {
    ($col:literal) => {
        "rowid"
    };
}

/// Nothing: a write transaction holds the database's write lock already.
macro_rules! for_share {
    () => {
        ""
    };
}

/// Tests a column against a list parameter: `in_list!("$1")` a [`list`] of indexes,
/// `in_list!(hashes "$1")` a [`hash_list`] against a BLOB column. Either is a JSON array read
/// with `json_each`.
macro_rules! in_list {
    ($param:literal) => {
        concat!("IN (SELECT value FROM json_each(", $param, "))")
    };
    (hashes $param:literal) => {
        concat!("IN (SELECT unhex(value) FROM json_each(", $param, "))")
    };
}

/// Indexes as one list parameter: a JSON array.
pub(crate) fn list(values: &[u64]) -> Result<String> {
    Ok(serde_json::json!(all_to_db(values)?).to_string())
}

/// Hashes as one list parameter: a JSON array of hex strings.
pub(crate) fn hash_list(hashes: &[Hash]) -> String {
    serde_json::json!(hashes.iter().map(Hash::to_hex).collect::<Vec<_>>()).to_string()
}

pub(crate) use {
    for_share, for_update, from_ms, in_list, json, json_text, ms, now, now_plus_ms, tiebreak,
};
