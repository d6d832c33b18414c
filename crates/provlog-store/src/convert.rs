//! Checked conversions between the log's u64 and PostgreSQL's signed BIGINT.

use provlog_core::Hash;

use crate::{Result, StoreError};

pub(crate) fn to_db(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::OutOfRange(v))
}

pub(crate) fn from_db(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative value {v} in the database")))
}

pub(crate) fn hash(bytes: &[u8]) -> Result<Hash> {
    Hash::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("stored hash: {e}")))
}

pub(crate) fn all_to_db(values: &[u64]) -> Result<Vec<i64>> {
    values.iter().map(|&v| to_db(v)).collect()
}
