//! [`RecordError`]: every way a record, a payload or one of their fields can be refused.

/// Why bytes, a JSON value or a record field were refused.
///
/// JSON paths (`path`) use the `$.key[3]["odd key"]` notation, rooted at the value being parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 { offset: usize },
    #[error("invalid JSON at byte {offset}: {reason}")]
    Syntax { offset: usize, reason: &'static str },
    #[error("duplicate key {key:?} in the object at {path}")]
    DuplicateKey { path: String, key: String },
    #[error("nesting at {path} is deeper than the limit of {limit}")]
    TooDeep { path: String, limit: usize },
    #[error(
        "the number at {path} is an integer beyond ±(2^53-1), or canonicalises to one; \
         send such values as strings"
    )]
    UnsafeInteger { path: String },
    #[error("the number at {path} does not fit in a double")]
    NumberOutOfRange { path: String },
    #[error("unsupported record version {found}; this code reads versions 1 and 2")]
    UnsupportedVersion { found: String },
    #[error("not a record of its format: {message}")]
    Schema { message: String },
    #[error("invalid {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("metadata is {size} bytes in canonical form, the limit is {limit}")]
    MetadataTooLarge { size: usize, limit: usize },
    #[error("metadata nests {depth} deep, the limit is {limit}")]
    MetadataTooDeep { depth: usize, limit: usize },
    #[error("the bytes are valid but not the canonical (RFC 8785) form of the record")]
    NotCanonical,
    #[error("item {index} is not canonical (RFC 8785) JSON")]
    ItemNotCanonical { index: usize },
    #[error("the source signature by key {key_id:?} does not verify")]
    BadSignature { key_id: String },
    #[error("canonicalisation failed: {reason}")]
    Canonicalization { reason: String },
}

impl RecordError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        RecordError::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}
