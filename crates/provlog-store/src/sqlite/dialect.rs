//! What the shared SQL (`src/sql/`) needs to know of SQLite: the types it is compiled with, and
//! the SQL fragments written differently on PostgreSQL (its `dialect` has the same names).
//! Timestamps are INTEGER Unix milliseconds, JSON is TEXT stored through `json()`.

pub(crate) type Backend = super::SqliteBackend;
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

pub(crate) use {for_update, from_ms, json, json_text, ms, now, now_plus_ms, tiebreak};
