//! Configuration: defaults, then an optional TOML file, then `PROVLOG_*` environment variables.
//! Secrets (signing key, admin token) come from files or the environment and are never logged.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use provlog_core::checkpoint::NoteSigner;
use serde::{Deserialize, Serialize};

/// A secret string whose `Debug` and `Display` never show it.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(empty)"
        } else {
            "Secret(redacted)"
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// `postgres://…` (production, replicas) or `sqlite:///path/to/provlog.db` (one process;
    /// the file is created when missing).
    pub database_url: Secret,
    /// File holding the database URL (it carries the password), mode 0600; when set it
    /// replaces `database_url`. For mounted secrets (`docker compose`).
    pub database_url_file: Option<PathBuf>,
    /// Largest number of database connections of this replica.
    pub database_max_connections: u32,
    /// How long a request waits for a database connection before it gets 503.
    pub database_acquire_timeout_ms: u64,
    /// The log's origin: its checkpoints' first line and its signing key's name.
    pub origin: String,
    /// File holding the checkpoint signing key (signed-note `PRIVATE+KEY+…`), mode 0600.
    pub signing_key_file: Option<PathBuf>,
    /// The signing key itself (prefer the file); `PROVLOG_SIGNING_KEY`.
    pub signing_key: Secret,
    /// Bootstrap token; `PROVLOG_ADMIN_TOKEN`. It creates the first admin API key
    /// (`POST /v1/admin/bootstrap`); until then it also authorises writes for any source (a
    /// fresh deployment), and once an admin key exists it is refused everywhere.
    pub admin_token: Secret,
    pub admin_token_file: Option<PathBuf>,
    /// Records per request.
    pub max_batch: usize,
    /// Request body bytes.
    pub max_body_bytes: usize,
    /// Items in one snapshot (JSON or NDJSON upload).
    pub max_snapshot_items: usize,
    /// Bytes of one snapshot item.
    pub max_item_bytes: usize,
    /// Canonical bytes of a record's metadata.
    pub max_metadata_bytes: usize,
    /// Sequenced but not yet integrated records beyond which writes get 503.
    pub max_pending: u64,
    /// Records integrated per transaction.
    pub integrate_batch: u64,
    /// How often the leader signs a checkpoint when the tree grew.
    pub checkpoint_interval_ms: u64,
    /// Sign sooner when this many records are waiting for a checkpoint.
    pub checkpoint_max_records: u64,
    /// Leader lease length; a dead leader is replaced after at most this long.
    pub lease_ttl_ms: u64,
    /// Longest `?wait=receipt` wait.
    pub wait_timeout_ms: u64,
    /// JSON-RPC endpoint of the EVM chain to anchor checkpoints on; anchoring is off when
    /// unset. A secret: hosted endpoints carry API keys in their URLs.
    pub anchor_rpc_url: Secret,
    /// The chain id the endpoint must serve (checked on start and on every reconnection).
    pub anchor_chain_id: u64,
    /// Address of the deployed `ProvenanceAnchor` contract (`provlog contracts deploy`).
    pub anchor_contract: String,
    /// The deployment record `provlog contracts deploy --out FILE` wrote, instead of
    /// `anchor_contract`: its `contract` is used and its `chain_id` must be `anchor_chain_id`.
    /// Lets a one-shot deploy hand the address over through a shared volume.
    pub anchor_contract_file: Option<PathBuf>,
    /// File holding the anchorer's secp256k1 private key (hex), mode 0600.
    pub anchor_key_file: Option<PathBuf>,
    /// The anchorer key itself (prefer the file); `PROVLOG_ANCHOR_KEY`.
    pub anchor_key: Secret,
    /// Blocks on top of (and including) the anchoring block before an anchor counts as
    /// confirmed and goes into receipts.
    pub anchor_confirmations: u64,
    /// Least time between two anchors: bounds the cost on a public chain.
    pub anchor_every_ms: u64,
    /// How often the anchoring worker looks at the chain.
    pub anchor_poll_ms: u64,
    /// A transaction not mined after this long is replaced with higher fees.
    pub anchor_stuck_after_ms: u64,
    /// How much each replacement raises both fee caps (nodes require at least 10%).
    pub anchor_fee_bump_percent: u32,
    /// Ceiling on `maxFeePerGas`, in wei: no anchor or replacement pays more per gas.
    pub anchor_max_fee_per_gas: u64,
    // ---- trust and policy (docs/architecture.md, "Trust and policy") ----
    /// Whether read routes (records, proofs, checkpoints, tiles) answer without an API key.
    pub public_reads: bool,
    /// Server-side secret of the API keys' keyed hashes (HMAC-SHA256), at least 32 characters;
    /// `PROVLOG_API_KEY_PEPPER`. Unset: derived from the checkpoint signing key.
    pub api_key_pepper: Secret,
    pub api_key_pepper_file: Option<PathBuf>,
    /// How long a rotated-away API key stays valid next to its successor.
    pub key_rotation_overlap_ms: u64,
    /// How long a replica trusts its cached copy of an API key or a source (revocations made
    /// on another replica take effect after at most this long).
    pub trust_cache_ttl_ms: u64,
    /// Token bucket per API key: sustained requests per second (0: no limit)…
    pub rate_limit_per_second: u32,
    /// …and the burst it allows.
    pub rate_limit_burst: u32,
    /// Signed submissions: the oldest `created` accepted, in seconds before now…
    pub signature_max_age_secs: u64,
    /// …and how far in the future `created` may be (clock skew).
    pub signature_max_skew_secs: u64,
    /// Scheme and authority clients use to reach this server (`https://log.example`), for the
    /// `@target-uri` of signed submissions; unset: `http://` and the `Host` header.
    pub public_url: Option<String>,
    /// The explorer's link to a transaction on a block explorer: an `http(s)` URL with `{tx}`
    /// where the transaction hash goes (`https://etherscan.io/tx/{tx}`); unset: no link.
    pub explorer_tx_url: Option<String>,
    /// Nesting depth of `metadata` (the object itself is level 1).
    pub max_metadata_depth: usize,
    /// Nesting depth of signal payloads and snapshot items.
    pub max_payload_depth: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: Secret::new("postgres://postgres@127.0.0.1:5432/postgres"),
            database_url_file: None,
            database_max_connections: 32,
            database_acquire_timeout_ms: 2_000,
            origin: String::new(),
            signing_key_file: None,
            signing_key: Secret::default(),
            admin_token: Secret::default(),
            admin_token_file: None,
            max_batch: 1_000,
            max_body_bytes: 16 << 20,
            max_snapshot_items: 1_000_000,
            max_item_bytes: 64 << 10,
            max_metadata_bytes: provlog_core::record::MAX_METADATA_BYTES,
            max_pending: 1_000_000,
            integrate_batch: 20_000,
            checkpoint_interval_ms: 1_000,
            checkpoint_max_records: 100_000,
            lease_ttl_ms: 5_000,
            wait_timeout_ms: 10_000,
            anchor_rpc_url: Secret::default(),
            anchor_chain_id: 0,
            anchor_contract: String::new(),
            anchor_contract_file: None,
            anchor_key_file: None,
            anchor_key: Secret::default(),
            anchor_confirmations: 3,
            anchor_every_ms: 60_000,
            anchor_poll_ms: 1_000,
            anchor_stuck_after_ms: 60_000,
            anchor_fee_bump_percent: 25,
            // 500 gwei
            anchor_max_fee_per_gas: 500_000_000_000,
            // trust and policy
            public_reads: true,
            api_key_pepper: Secret::default(),
            api_key_pepper_file: None,
            key_rotation_overlap_ms: 24 * 3_600_000,
            trust_cache_ttl_ms: 2_000,
            rate_limit_per_second: 10_000,
            rate_limit_burst: 20_000,
            signature_max_age_secs: 300,
            signature_max_skew_secs: 30,
            public_url: None,
            explorer_tx_url: None,
            max_metadata_depth: provlog_core::record::MAX_METADATA_DEPTH,
            max_payload_depth: provlog_core::record::MAX_PAYLOAD_DEPTH,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then `file` when given, then `PROVLOG_*` variables (e.g. `PROVLOG_ORIGIN`).
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            fig = fig.merge(Toml::file_exact(path));
        }
        // PROVLOG_LOG (the log filter) and PROVLOG_CONFIG (this file's path) are the binary's.
        let env = Env::prefixed("PROVLOG_").ignore(&["LOG", "CONFIG"]);
        let mut config: Config = fig.merge(env).extract().map_err(Box::new)?;
        config.read_files()?;
        config.validate()?;
        Ok(config)
    }

    /// Reads `database_url_file` and `anchor_contract_file` into the values they stand for, so
    /// the rest of the program sees one setting each.
    pub fn read_files(&mut self) -> Result<(), ConfigError> {
        if let Some(path) = &self.database_url_file {
            self.database_url = read_secret_file(path)?;
        }
        if let Some(path) = &self.anchor_contract_file {
            if !self.anchor_contract.is_empty() {
                return Err(ConfigError::Invalid(
                    "set anchor_contract or anchor_contract_file, not both".into(),
                ));
            }
            self.anchor_contract = read_deployment(path, self.anchor_chain_id)?;
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        provlog_core::record::LogOrigin::new(self.origin.clone())
            .map_err(|e| ConfigError::Invalid(format!("origin {:?}: {e}", self.origin)))?;
        if self.max_batch == 0 || self.integrate_batch == 0 || self.max_body_bytes == 0 {
            return Err(ConfigError::Invalid("limits must be positive".into()));
        }
        if !self.anchor_rpc_url.is_empty() {
            if self.anchor_chain_id == 0 {
                return Err(ConfigError::Invalid(
                    "anchoring needs anchor_chain_id (the chain the RPC endpoint must serve)"
                        .into(),
                ));
            }
            self.anchor_contract_address()?;
            if self.anchor_confirmations == 0 {
                return Err(ConfigError::Invalid(
                    "anchor_confirmations must be at least 1".into(),
                ));
            }
            if self.anchor_fee_bump_percent < 10 {
                return Err(ConfigError::Invalid(
                    "anchor_fee_bump_percent must be at least 10 (nodes refuse smaller replacements)"
                        .into(),
                ));
            }
            if self.anchor_poll_ms == 0 {
                return Err(ConfigError::Invalid(
                    "anchor_poll_ms must be positive".into(),
                ));
            }
        }
        if self.rate_limit_per_second > 0 && self.rate_limit_burst == 0 {
            return Err(ConfigError::Invalid(
                "rate_limit_burst must be positive when rate_limit_per_second is".into(),
            ));
        }
        if self.max_metadata_depth == 0
            || self.max_payload_depth == 0
            || self.signature_max_age_secs == 0
        {
            return Err(ConfigError::Invalid("limits must be positive".into()));
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/') {
                return Err(ConfigError::Invalid(format!(
                    "public_url {url:?}: scheme and authority, like https://log.example"
                )));
            }
        }
        if let Some(url) = &self.explorer_tx_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) || !url.contains("{tx}")
            {
                return Err(ConfigError::Invalid(format!(
                    "explorer_tx_url {url:?}: an http(s) URL with {{tx}} for the transaction hash, like https://etherscan.io/tx/{{tx}}"
                )));
            }
        }
        Ok(())
    }

    /// Whether checkpoints are anchored on a chain.
    pub fn anchoring(&self) -> bool {
        !self.anchor_rpc_url.is_empty()
    }

    /// `anchor_contract` parsed.
    pub fn anchor_contract_address(
        &self,
    ) -> Result<provlog_chain::primitives::Address, ConfigError> {
        self.anchor_contract.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "anchor_contract {:?} is not a 0x-prefixed 20-byte address (provlog contracts deploy prints it)",
                self.anchor_contract
            ))
        })
    }

    /// The anchorer key, from `anchor_key_file` (refused when others can read it) or
    /// `anchor_key`.
    pub fn anchor_key(&self) -> Result<provlog_chain::AnchorKey, ConfigError> {
        let text =
            match (&self.anchor_key_file, self.anchor_key.is_empty()) {
                (Some(path), _) => read_secret_file(path)?,
                (None, false) => self.anchor_key.clone(),
                (None, true) => return Err(ConfigError::Invalid(
                    "anchoring needs the anchorer key: set anchor_key_file or PROVLOG_ANCHOR_KEY"
                        .into(),
                )),
            };
        provlog_chain::AnchorKey::from_hex(text.expose())
            .map_err(|e| ConfigError::Invalid(format!("anchor key: {e}")))
    }

    pub fn duration(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// The checkpoint signer, from `signing_key_file` (refused when others can read it) or
    /// `signing_key`. Its name must be the origin.
    pub fn signer(&self) -> Result<NoteSigner, ConfigError> {
        let text = match (&self.signing_key_file, self.signing_key.is_empty()) {
            (Some(path), _) => read_secret_file(path)?,
            (None, false) => self.signing_key.clone(),
            (None, true) => {
                return Err(ConfigError::Invalid(
                    "no signing key: set signing_key_file or PROVLOG_SIGNING_KEY (provlog keygen makes one)"
                        .into(),
                ))
            }
        };
        let signer = NoteSigner::from_secret_text(text.expose())
            .map_err(|e| ConfigError::Invalid(format!("signing key: {e}")))?;
        if signer.name() != self.origin {
            return Err(ConfigError::Invalid(format!(
                "the signing key is named {:?} but the origin is {:?}",
                signer.name(),
                self.origin
            )));
        }
        Ok(signer)
    }

    /// The API keys' pepper: `api_key_pepper_file`, `api_key_pepper`, or else derived from the
    /// checkpoint signing key (HMAC-SHA256 keyed by the key's secret text).
    pub fn api_key_pepper(&self, signer: &NoteSigner) -> Result<Secret, ConfigError> {
        let t = self;
        let pepper = match &t.api_key_pepper_file {
            Some(path) => read_secret_file(path)?,
            None => t.api_key_pepper.clone(),
        };
        if pepper.is_empty() {
            return Ok(crate::auth::derived_pepper(signer));
        }
        if pepper.expose().len() < 32 {
            return Err(ConfigError::Invalid(
                "the API key pepper must be at least 32 characters".into(),
            ));
        }
        Ok(pepper)
    }

    /// The bootstrap admin token, from `admin_token_file` or `admin_token`; `None` when unset.
    pub fn admin_token(&self) -> Result<Option<Secret>, ConfigError> {
        let token = match &self.admin_token_file {
            Some(path) => read_secret_file(path)?,
            None => self.admin_token.clone(),
        };
        if token.is_empty() {
            return Ok(None);
        }
        if token.expose().len() < 16 {
            return Err(ConfigError::Invalid(
                "the admin token must be at least 16 characters".into(),
            ));
        }
        Ok(Some(token))
    }
}

/// The contract address of a deployment record (`provlog contracts deploy --out`), which must
/// be for `chain_id`.
fn read_deployment(path: &Path, chain_id: u64) -> Result<String, ConfigError> {
    let invalid = |why: String| ConfigError::Invalid(format!("{}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
    let record: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let recorded = record["chain_id"].as_u64();
    if recorded != Some(chain_id) {
        return Err(invalid(format!(
            "records a deployment on chain {}, but anchor_chain_id is {chain_id}",
            recorded.map_or("(none)".to_string(), |c| c.to_string())
        )));
    }
    record["contract"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| {
            invalid("no \"contract\" address (provlog contracts deploy --out writes it)".into())
        })
}

fn read_secret_file(path: &Path) -> Result<Secret, ConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(ConfigError::Invalid(format!(
                "{} is readable by others; chmod 600 it",
                path.display()
            )));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::Invalid(format!(
            "{}: {e}{}",
            path.display(),
            unreadable_hint(path, &e)
        ))
    })?;
    Ok(Secret::new(text.trim()))
}

/// Why a secret file may be unreadable though it exists: mounted secrets (`docker compose`
/// bind-mounts them unchanged) keep their owner, and mode 0600 lets only that user read them.
fn unreadable_hint(path: &Path, e: &std::io::Error) -> String {
    #[cfg(unix)]
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(path) {
            return format!(
                " (the file belongs to uid {}: run provlog as that user; with docker compose, \
                 PROVLOG_UID in .env is that user, see README)",
                meta.uid()
            );
        }
    }
    let _ = (path, e);
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_secrets() -> Config {
        let signer = NoteSigner::new(
            "example.com/log",
            ed25519_dalek::SigningKey::from_bytes(&[4; 32]),
        )
        .unwrap();
        Config {
            origin: "example.com/log".into(),
            signing_key: Secret::new(signer.to_secret_text().to_string()),
            admin_token: Secret::new("a-very-secret-admin-token"),
            database_url: Secret::new("postgres://user:db-password@host/db"),
            api_key_pepper: Secret::new("a-pepper-that-is-long-enough-0123456789"),
            ..Config::default()
        }
    }

    #[test]
    fn explorer_tx_url_needs_a_scheme_and_the_tx_placeholder() {
        for ok in [
            None,
            Some("https://etherscan.io/tx/{tx}"),
            Some("http://127.0.0.1:4000/tx/{tx}"),
        ] {
            let c = Config {
                explorer_tx_url: ok.map(str::to_string),
                ..with_secrets()
            };
            assert!(c.validate().is_ok(), "{ok:?}");
        }
        for bad in [
            "https://etherscan.io/tx/",
            "javascript:alert('{tx}')",
            "etherscan.io/tx/{tx}",
        ] {
            let c = Config {
                explorer_tx_url: Some(bad.into()),
                ..with_secrets()
            };
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains("explorer_tx_url"), "{bad}: {err}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let c = with_secrets();
        let shown = format!("{c:?} {:?}", c.signer().unwrap());
        for secret in [
            "a-very-secret-admin-token",
            "db-password",
            "PRIVATE+KEY",
            "a-pepper-that",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }

    #[test]
    fn signer_must_match_origin_and_tokens_must_be_long() {
        let mut c = with_secrets();
        c.origin = "other.example/log".into();
        assert!(c.signer().unwrap_err().to_string().contains("named"));
        let mut c = with_secrets();
        c.admin_token = Secret::new("short");
        assert!(c.admin_token().is_err());
        c.admin_token = Secret::default();
        assert_eq!(c.admin_token().unwrap(), None);
        let mut c = with_secrets();
        c.origin = "has space".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn the_api_key_pepper_is_long_or_derived_from_the_signing_key() {
        let c = with_secrets();
        let signer = c.signer().unwrap();
        assert_eq!(
            c.api_key_pepper(&signer).unwrap().expose(),
            "a-pepper-that-is-long-enough-0123456789"
        );
        let mut short = with_secrets();
        short.api_key_pepper = Secret::new("too-short");
        assert!(short.api_key_pepper(&signer).is_err());
        let mut derived = with_secrets();
        derived.api_key_pepper = Secret::default();
        let pepper = derived.api_key_pepper(&signer).unwrap();
        // Stable for one signing key, different for another, and not the key itself.
        assert_eq!(pepper, derived.api_key_pepper(&signer).unwrap());
        assert_eq!(pepper.expose().len(), 64);
        assert!(!signer.to_secret_text().contains(pepper.expose()));
        let other = NoteSigner::new(
            "example.com/log",
            ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
        )
        .unwrap();
        assert_ne!(pepper, derived.api_key_pepper(&other).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_readable_by_others_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("provlog-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "a-very-secret-admin-token\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut c = with_secrets();
        c.admin_token_file = Some(path.clone());
        assert!(c
            .admin_token()
            .unwrap_err()
            .to_string()
            .contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            c.admin_token().unwrap().unwrap().expose(),
            "a-very-secret-admin-token"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn file_settings_replace_the_values_they_stand_for() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let url_file = dir.path().join("database_url");
        std::fs::write(&url_file, "postgres://provlog:pw@db:5432/provlog\n").unwrap();
        std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut c = with_secrets();
        c.database_url_file = Some(url_file.clone());
        assert!(c
            .read_files()
            .unwrap_err()
            .to_string()
            .contains("chmod 600"));
        std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        c.read_files().unwrap();
        assert_eq!(
            c.database_url.expose(),
            "postgres://provlog:pw@db:5432/provlog"
        );

        let record = dir.path().join("deployment.json");
        let address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        std::fs::write(
            &record,
            format!(r#"{{"chain_id": 31337, "contract": "{address}", "block_number": 1}}"#),
        )
        .unwrap();
        let mut c = with_secrets();
        c.anchor_rpc_url = Secret::new("http://127.0.0.1:8545");
        c.anchor_chain_id = 31337;
        c.anchor_contract_file = Some(record.clone());
        c.read_files().unwrap();
        assert_eq!(c.anchor_contract, address);
        c.validate().unwrap();
        let mut both = with_secrets();
        both.anchor_chain_id = 31337;
        both.anchor_contract = address.into();
        both.anchor_contract_file = Some(record.clone());
        let e = both.read_files().unwrap_err().to_string();
        assert!(e.contains("not both"), "{e}");

        let mut other_chain = with_secrets();
        other_chain.anchor_chain_id = 1;
        other_chain.anchor_contract_file = Some(record.clone());
        let e = other_chain.read_files().unwrap_err().to_string();
        assert!(
            e.contains("chain 31337") && e.contains("anchor_chain_id is 1"),
            "{e}"
        );

        std::fs::write(&record, r#"{"chain_id": 31337}"#).unwrap();
        let mut no_address = with_secrets();
        no_address.anchor_chain_id = 31337;
        no_address.anchor_contract_file = Some(record);
        let e = no_address.read_files().unwrap_err().to_string();
        assert!(e.contains("no \"contract\""), "{e}");
    }
}
