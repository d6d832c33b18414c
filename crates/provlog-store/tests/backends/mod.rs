//! Runs each store test on both backends: `postgres::<test>` on a fresh PostgreSQL database,
//! `sqlite::<test>` on a fresh SQLite file; see `provlog_store::testing`, which the server's
//! tests share.
// Each test crate uses a part of this module.
#![allow(unused_imports)]

pub(crate) use provlog_store::testing::on_both_backends;
pub use provlog_store::testing::{sqlite, TempSqlite};
