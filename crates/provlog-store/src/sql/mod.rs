//! The SQL both backends share, written once. Each backend module declares this one
//! (`#[path = "../sql/mod.rs"] mod sql;`) beside its `dialect`, so every file here is compiled
//! twice: as `postgres::sql` with PostgreSQL's dialect and as `sqlite::sql` with SQLite's. A
//! dialect names the backend (`Backend`, `Db`) and the few SQL fragments the two databases
//! write differently (`for_update!`, `now!`, casts of timestamps and JSON). The backend's
//! `write()` begins a write transaction: `BEGIN IMMEDIATE` on SQLite, which takes the write
//! lock that stands in for PostgreSQL's row locks. What the databases really do differently
//! stays in the backend module: how lists travel (`dialect::list`) and how a batch of rows is
//! written (`batch.rs`: `UNNEST` arrays on PostgreSQL, a prepared statement per row on SQLite).

mod anchors;
mod coordination;
mod integrate;
mod read;
mod sequence;
mod trust;

use super::dialect;
