//! The anchorer's secp256k1 key: read from a file or the environment, never printed.

use std::path::Path;

use alloy::primitives::{hex, Address, B256};
use alloy::signers::local::PrivateKeySigner;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("reading the anchorer key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// Deliberately without the input: it is a secret.
    #[error("the anchorer key is not a 32-byte hex secp256k1 private key")]
    Invalid,
}

/// A secp256k1 private key. `Debug` shows only the account address.
#[derive(Clone)]
pub struct AnchorKey(PrivateKeySigner);

impl std::fmt::Debug for AnchorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnchorKey({})", self.address())
    }
}

impl AnchorKey {
    /// Parses 64 hex digits, with or without `0x`, surrounding whitespace ignored.
    pub fn from_hex(text: &str) -> Result<AnchorKey, KeyError> {
        let text = text.trim();
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let bytes = Zeroizing::new(hex::decode(digits).map_err(|_| KeyError::Invalid)?);
        if bytes.len() != 32 {
            return Err(KeyError::Invalid);
        }
        let signer = PrivateKeySigner::from_bytes(&B256::from_slice(&bytes))
            .map_err(|_| KeyError::Invalid)?;
        Ok(AnchorKey(signer))
    }

    /// Reads a key file written by [`AnchorKey::to_hex`] (or any 0x-hex private key).
    pub fn from_file(path: &Path) -> Result<AnchorKey, KeyError> {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                    path: path.display().to_string(),
                    source,
                })?,
            );
        AnchorKey::from_hex(&text)
    }

    /// A fresh random key.
    pub fn random() -> AnchorKey {
        AnchorKey(PrivateKeySigner::random())
    }

    /// `0x` + 64 hex digits, for writing a key file (mode 0600).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("0x{}", hex::encode(self.0.to_bytes())))
    }

    pub fn address(&self) -> Address {
        self.0.address()
    }

    pub(crate) fn signer(&self) -> &PrivateKeySigner {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // anvil's first well-known development account.
    const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn parses_hex_with_or_without_prefix_and_hides_the_secret() {
        let key = AnchorKey::from_hex(DEV_KEY).expect("valid");
        assert_eq!(
            key.address().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        let again = AnchorKey::from_hex(&format!(" {}\n", &DEV_KEY[2..])).expect("valid");
        assert_eq!(again.address(), key.address());
        assert_eq!(key.to_hex().as_str(), DEV_KEY);
        let shown = format!("{key:?}");
        assert!(!shown.contains(&DEV_KEY[2..10]), "{shown}");
    }

    #[test]
    fn refuses_bad_keys_without_echoing_them() {
        for bad in ["", "0x12", "zz", &"00".repeat(32), &"ab".repeat(33)] {
            let e = AnchorKey::from_hex(bad).expect_err(bad);
            assert!(!e.to_string().contains("abab"), "{e}");
        }
    }
}
