//! Validated text fields of records: [`LogOrigin`], [`SourceId`], [`MediaType`], [`KeyId`],
//! [`Nonce`]. Each is checked on construction (and on deserialisation), so an invalid one cannot
//! exist.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::RecordError;

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps `s`.
            pub fn new(s: impl Into<String>) -> Result<Self, RecordError> {
                let s = s.into();
                $check(&s).map_err(|reason| RecordError::invalid($field, reason))?;
                Ok($name(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = RecordError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = RecordError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_newtype!(
    /// The origin of a log, the first line of its C2SP checkpoints: 1..=255 bytes of printable
    /// ASCII without spaces or `+` (e.g. `log.example.com/signals`).
    LogOrigin,
    "origin",
    check_origin
);

text_newtype!(
    /// A data source: 1..=64 characters of `[a-z0-9._-]`, starting with a letter or a digit.
    SourceId,
    "source",
    check_source
);

text_newtype!(
    /// A media type `type/subtype` (RFC 6838 restricted names, lower case, no parameters),
    /// e.g. `application/json`.
    MediaType,
    "content.media_type",
    check_media_type
);

text_newtype!(
    /// The name of a source's signing key: 1..=64 characters of `[A-Za-z0-9._:-]`.
    KeyId,
    "signature.key_id",
    check_key_id
);

text_newtype!(
    /// A signature nonce, unique per key: 16..=128 characters of `[A-Za-z0-9_-]` (so base64url
    /// of 12 or more random bytes fits).
    Nonce,
    "signature.nonce",
    check_nonce
);

impl MediaType {
    /// `application/json`: items are JSON values, hashed as their canonical bytes.
    pub fn json() -> Self {
        MediaType("application/json".to_owned())
    }

    /// `application/octet-stream`: items are raw bytes.
    pub fn octet_stream() -> Self {
        MediaType("application/octet-stream".to_owned())
    }

    pub fn is_json(&self) -> bool {
        self.0 == "application/json"
    }
}

fn check_origin(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 255 {
        return Err("must be 1..=255 bytes");
    }
    if !s.bytes().all(|b| b.is_ascii_graphic() && b != b'+') {
        return Err("must be printable ASCII without spaces or '+'");
    }
    Ok(())
}

fn check_source(s: &str) -> Result<(), &'static str> {
    const RULE: &str = "must be 1..=64 characters of [a-z0-9._-], starting with a letter or digit";
    let ok_byte = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b);
    match s.as_bytes().first() {
        Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit() => {}
        _ => return Err(RULE),
    }
    if s.len() > 64 || !s.bytes().all(ok_byte) {
        return Err(RULE);
    }
    Ok(())
}

fn check_media_type(s: &str) -> Result<(), &'static str> {
    const RULE: &str = "must be type/subtype in lower case: letters, digits and !#$&^_.+- \
                        (starting with a letter or digit, at most 127 each), no parameters";
    let restricted_name = |part: &str| {
        let bytes = part.as_bytes();
        matches!(bytes.first(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
            && bytes.len() <= 127
            && bytes
                .iter()
                .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$&^_.+-".contains(&b))
    };
    match s.split_once('/') {
        Some((ty, sub)) if restricted_name(ty) && restricted_name(sub) => Ok(()),
        _ => Err(RULE),
    }
}

fn check_key_id(s: &str) -> Result<(), &'static str> {
    let ok_byte = |b: u8| b.is_ascii_alphanumeric() || b"._:-".contains(&b);
    if s.is_empty() || s.len() > 64 || !s.bytes().all(ok_byte) {
        return Err("must be 1..=64 characters of [A-Za-z0-9._:-]");
    }
    Ok(())
}

fn check_nonce(s: &str) -> Result<(), &'static str> {
    let ok_byte = |b: u8| b.is_ascii_alphanumeric() || b"_-".contains(&b);
    if s.len() < 16 || s.len() > 128 || !s.bytes().all(ok_byte) {
        return Err("must be 16..=128 characters of [A-Za-z0-9_-]");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        for ok in [
            "a",
            "log.example.com/signals",
            &"x".repeat(255),
            "~!\"#$%&'()*,-./:;<=>?@[\\]^_`{|}",
        ] {
            assert_eq!(LogOrigin::new(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "a b", "a+b", "é", "a\n", &"x".repeat(256), "\x7f"] {
            let err = LogOrigin::new(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    RecordError::InvalidField {
                        field: "origin",
                        ..
                    }
                ),
                "{bad:?}"
            );
        }
        assert_eq!("x/y".parse::<LogOrigin>().unwrap().to_string(), "x/y");
        assert!(serde_json::from_str::<LogOrigin>("\"a b\"").is_err());
        assert_eq!(
            serde_json::to_string(&LogOrigin::new("o").unwrap()).unwrap(),
            "\"o\""
        );
    }

    #[test]
    fn source_ids() {
        for ok in ["a", "0", "acme.btc-usd_signal", &"a".repeat(64)] {
            SourceId::new(ok).unwrap();
        }
        for bad in [
            "",
            "-a",
            ".a",
            "_a",
            "A",
            "a b",
            "a/b",
            "é",
            &"a".repeat(65),
        ] {
            assert!(SourceId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn media_types() {
        for ok in [
            "application/json",
            "text/csv",
            "application/vnd.apache.parquet",
            "a/b+zip",
        ] {
            MediaType::new(ok).unwrap();
        }
        let long = format!("a/{}", "b".repeat(128));
        for bad in [
            "",
            "json",
            "/json",
            "text/",
            "Text/csv",
            "text/csv; charset=utf-8",
            "a/b/c",
            "a/-b",
            &long,
        ] {
            assert!(MediaType::new(bad).is_err(), "{bad:?}");
        }
        assert!(MediaType::json().is_json());
        assert!(!MediaType::octet_stream().is_json());
    }

    #[test]
    fn key_ids_and_nonces() {
        for ok in ["k", "acme:2025-01.a_B", &"k".repeat(64)] {
            KeyId::new(ok).unwrap();
        }
        for bad in ["", "a b", "a/b", &"k".repeat(65)] {
            assert!(KeyId::new(bad).is_err(), "{bad:?}");
        }
        for ok in ["0123456789abcdef", "AZaz09_-AZaz09_-", &"n".repeat(128)] {
            Nonce::new(ok).unwrap();
        }
        for bad in [
            "0123456789abcde",
            "0123456789abcdef=",
            "0123456789abcde.",
            &"n".repeat(129),
        ] {
            assert!(Nonce::new(bad).is_err(), "{bad:?}");
        }
    }
}
