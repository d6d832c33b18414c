//! `provlog keys …`, `provlog sources …` and `provlog audit`: the admin API from the command
//! line (through `provlog-client`). Answers are printed as JSON; a new key's token is printed
//! once, or written to `--token-out` (mode 0600) and left out of the output.

use std::path::{Path, PathBuf};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_client::{Client, IssuedKey};
use serde_json::{json, Value};

use crate::keygen::write_private;
use crate::Failure;

/// `--url`, of every command that talks to a running server.
#[derive(Debug, clap::Args)]
pub struct ServerUrl {
    /// Base URL of the server.
    #[arg(
        long,
        env = "PROVLOG_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
}

#[derive(Debug, clap::Args)]
pub struct Conn {
    #[command(flatten)]
    server: ServerUrl,
    /// File holding the API key: an admin key for keys, sources and audit (the bootstrap
    /// token for `keys bootstrap`), an ingest key for submit, a read key where reads are private.
    #[arg(long, value_name = "FILE", env = "PROVLOG_API_KEY_FILE", global = true)]
    token_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// Create the first admin key with the bootstrap token (works once).
    Bootstrap {
        /// Write the token here (mode 0600) instead of printing it.
        #[arg(long, value_name = "FILE")]
        token_out: Option<PathBuf>,
    },
    /// Create an API key: scope ingest (with --source), read or admin.
    Create {
        #[arg(long, value_parser = ["ingest", "read", "admin"])]
        scope: String,
        /// The registered source an ingest key writes for.
        #[arg(long)]
        source: Option<String>,
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long, value_name = "FILE")]
        token_out: Option<PathBuf>,
    },
    /// List API keys (never their secrets).
    List,
    /// Replace a key by a new one; the old one works for the overlap, then is refused.
    Rotate {
        id: String,
        /// Milliseconds the old key stays valid (default: the server's setting).
        #[arg(long)]
        overlap_ms: Option<u64>,
        #[arg(long, value_name = "FILE")]
        token_out: Option<PathBuf>,
    },
    /// Revoke a key at once.
    Revoke { id: String },
}

#[derive(Debug, clap::Args)]
pub struct SourcesArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: SourcesCommand,
}

#[derive(Debug, clap::Subcommand)]
enum SourcesCommand {
    /// Register a source.
    Create {
        id: String,
        #[arg(long)]
        name: String,
        /// A JSON Schema file for its signal payloads and snapshot items.
        #[arg(long, value_name = "FILE")]
        schema: Option<PathBuf>,
        /// What a payload failing the schema gets.
        #[arg(long, value_parser = ["reject", "flag"], default_value = "reject")]
        policy: String,
        /// Every submission must be signed by one of the source's keys.
        #[arg(long)]
        require_signature: bool,
    },
    /// Change a source: name, schema (`--schema none` removes it), policy, signing requirement.
    Change {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_name = "FILE|none")]
        schema: Option<String>,
        #[arg(long, value_parser = ["reject", "flag"])]
        policy: Option<String>,
        #[arg(long)]
        require_signature: Option<bool>,
    },
    /// List sources, or show one.
    List { id: Option<String> },
    /// Register an Ed25519 key of a source under a key id, with its proof of possession: made
    /// here from the private key file (`--key-file`, as `sources keygen` writes it), or made
    /// where the key lives and given with `--public-key` and `--proof` (base64).
    AddKey {
        id: String,
        #[arg(long)]
        key_id: String,
        #[arg(long, value_name = "FILE", conflicts_with_all = ["public_key", "proof"],
            required_unless_present = "public_key")]
        key_file: Option<PathBuf>,
        #[arg(long, requires = "proof")]
        public_key: Option<String>,
        #[arg(long, requires = "public_key")]
        proof: Option<String>,
    },
    /// Retire a source key: it verifies no new submission.
    RetireKey {
        id: String,
        #[arg(long)]
        key_id: String,
    },
    /// Declare, once and for good, how the source's records are scored: a scoring spec (JSON;
    /// docs/track-records.md), e.g. {"kind":"signals","value":"/signal","outcome":"/return",
    /// "outcome_source":"prices","horizon_s":3600}.
    Scoring {
        id: String,
        #[arg(long, value_name = "FILE")]
        spec: PathBuf,
    },
    /// Make a source signing key: the secret (base64 of 32 bytes) goes to FILE (mode 0600), for
    /// `sources add-key --key-file` and `submit --signing-key`; the public key (base64) is
    /// printed.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    conn: Conn,
    /// Events after this id.
    #[arg(long)]
    after: Option<u64>,
    #[arg(long)]
    limit: Option<u32>,
}

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(e.to_string())
}

impl Conn {
    /// A client for `--url` with the key of `--token-file`; without one, an error when the
    /// command needs a key, else an anonymous client (public reads).
    pub fn client(&self, need_token: bool) -> Result<Client, Failure> {
        connect(
            &self.server.url,
            self.token_file.as_deref(),
            need_token.then_some("give --token-file (or PROVLOG_API_KEY_FILE)"),
        )
    }
}

/// A client for `url` with the key in `token_file`; without a file, the error `missing` when
/// the command needs a key, else an anonymous client.
pub(crate) fn connect(
    url: &str,
    token_file: Option<&Path>,
    missing: Option<&str>,
) -> Result<Client, Failure> {
    let client = Client::new(url).map_err(usage)?;
    match (token_file, missing) {
        (Some(path), _) => Ok(client.with_token(read_text(path)?.trim())),
        (None, Some(missing)) => Err(usage(missing)),
        (None, None) => Ok(client),
    }
}

/// A file's text, or an error naming it.
fn read_text(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| usage(format!("reading {}: {e}", path.display())))
}

fn client(conn: &Conn) -> Result<Client, Failure> {
    conn.client(true)
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(usage)
}

fn print(value: &Value) -> Result<(), Failure> {
    println!("{}", serde_json::to_string_pretty(value).map_err(usage)?);
    Ok(())
}

fn issued(key: IssuedKey, token_out: Option<&Path>) -> Result<(), Failure> {
    match token_out {
        Some(path) => {
            write_private(path, &key.token, "")?;
            print(&json!({"key": key.key, "token_file": path.display().to_string()}))
        }
        None => print(&json!({"key": key.key, "token": key.token})),
    }
}

fn remote(e: provlog_client::ClientError) -> Failure {
    Failure::Invalid(e.to_string())
}

pub fn keys(args: KeysArgs) -> Result<(), Failure> {
    let rt = runtime()?;
    let c = client(&args.conn)?;
    rt.block_on(async {
        match args.command {
            KeysCommand::Bootstrap { token_out } => {
                issued(c.bootstrap().await.map_err(remote)?, token_out.as_deref())
            }
            KeysCommand::Create {
                scope,
                source,
                label,
                token_out,
            } => issued(
                c.create_key(&scope, source.as_deref(), &label)
                    .await
                    .map_err(remote)?,
                token_out.as_deref(),
            ),
            KeysCommand::List => print(&c.keys().await.map_err(remote)?),
            KeysCommand::Rotate {
                id,
                overlap_ms,
                token_out,
            } => issued(
                c.rotate_key(&id, overlap_ms).await.map_err(remote)?,
                token_out.as_deref(),
            ),
            KeysCommand::Revoke { id } => print(&c.revoke_key(&id).await.map_err(remote)?),
        }
    })
}

fn read_json_file(path: &Path) -> Result<Value, Failure> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| usage(format!("{}: {e}", path.display())))
}

/// A source signing key as `provlog sources keygen` writes it (base64 of the 32-byte seed),
/// under its registered key id.
pub fn read_source_signer(
    path: &std::path::Path,
    key_id: &str,
) -> Result<provlog_client::SourceSigner, Failure> {
    let text = read_text(path)?;
    let seed: [u8; 32] = BASE64_STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            usage(format!(
                "{} is not a source signing key (base64 of 32 bytes, from provlog sources keygen)",
                path.display()
            ))
        })?;
    provlog_client::SourceSigner::new(ed25519_dalek::SigningKey::from_bytes(&seed), key_id)
        .map_err(|e| usage(e.to_string()))
}

pub fn sources(args: SourcesArgs) -> Result<(), Failure> {
    if let SourcesCommand::Keygen { out } = &args.command {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        write_private(out, &BASE64_STANDARD.encode(key.to_bytes()), "")?;
        println!("{}", BASE64_STANDARD.encode(key.verifying_key().to_bytes()));
        return Ok(());
    }
    let rt = runtime()?;
    let c = client(&args.conn)?;
    rt.block_on(async {
        let answer = match args.command {
            SourcesCommand::Create {
                id,
                name,
                schema,
                policy,
                require_signature,
            } => {
                let mut body = json!({"id": id, "display_name": name, "schema_policy": policy,
                    "require_signature": require_signature});
                if let Some(path) = schema {
                    body["schema"] = read_json_file(&path)?;
                }
                c.create_source(&body).await
            }
            SourcesCommand::Change {
                id,
                name,
                schema,
                policy,
                require_signature,
            } => {
                let mut body = json!({});
                if let Some(name) = name {
                    body["display_name"] = json!(name);
                }
                match schema.as_deref() {
                    Some("none") => body["schema"] = Value::Null,
                    Some(path) => body["schema"] = read_json_file(Path::new(path))?,
                    None => {}
                }
                if let Some(policy) = policy {
                    body["schema_policy"] = json!(policy);
                }
                if let Some(r) = require_signature {
                    body["require_signature"] = json!(r);
                }
                c.change_source(&id, &body).await
            }
            SourcesCommand::List { id } => c.sources(id.as_deref()).await,
            SourcesCommand::AddKey {
                id,
                key_id,
                key_file,
                public_key,
                proof,
            } => match (key_file, public_key, proof) {
                (Some(path), ..) => {
                    c.add_signer(&id, &read_source_signer(&path, &key_id)?)
                        .await
                }
                (None, Some(public_key), Some(proof)) => {
                    c.add_source_key(&id, &key_id, &public_key, &proof).await
                }
                _ => return Err(usage("give --key-file, or --public-key with --proof")),
            },
            SourcesCommand::RetireKey { id, key_id } => c.retire_source_key(&id, &key_id).await,
            SourcesCommand::Scoring { id, spec } => {
                c.declare_scoring(&id, &read_json_file(&spec)?).await
            }
            SourcesCommand::Keygen { .. } => unreachable!("handled above"),
        };
        print(&answer.map_err(remote)?)
    })
}

pub fn audit(args: AuditArgs) -> Result<(), Failure> {
    let rt = runtime()?;
    let c = client(&args.conn)?;
    rt.block_on(async { print(&c.audit(args.after, args.limit).await.map_err(remote)?) })
}
