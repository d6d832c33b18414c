//! Trust and policy from the client's side: signing submissions as a source (the record-level
//! source signature and the RFC 9421 request signature), and the admin API (bootstrap, sources,
//! API keys, audit trail).

use provlog_core::commitment::{item_content, Commitment, Reveal};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::prelude::{Engine as _, BASE64_STANDARD, BASE64_URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use provlog_core::httpsig::{self, SignatureParams, SignedHeaders};
use provlog_core::record::{
    digest_content, signal_content, snapshot_content_bytes, snapshot_content_json, ContentAlg,
    KeyId, Kind, LogOrigin, MediaType, Nonce, SignedStatement, SourceId,
};
use provlog_core::registry::prove_possession;
use provlog_core::Hash;
use rand::RngCore;
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{decode, Client, ClientError};

/// How long a request signature is valid (`expires` − `created`).
pub const REQUEST_SIGNATURE_LIFETIME_SECS: u64 = 60;

/// A source's signing key and its registered key id.
#[derive(Clone)]
pub struct SourceSigner {
    key: SigningKey,
    key_id: KeyId,
}

impl std::fmt::Debug for SourceSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSigner")
            .field("key_id", &self.key_id.as_str())
            .finish_non_exhaustive()
    }
}

fn invalid(reason: impl ToString) -> ClientError {
    ClientError::Invalid(reason.to_string())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A random nonce: 128 bits, base64url (22 characters).
pub fn random_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    BASE64_URL_SAFE_NO_PAD.encode(bytes)
}

impl SourceSigner {
    pub fn new(key: SigningKey, key_id: &str) -> Result<Self, ClientError> {
        Ok(SourceSigner {
            key,
            key_id: key_id.parse().map_err(invalid)?,
        })
    }

    /// The public key, base64 (what an admin registers for the source).
    pub fn public_key_base64(&self) -> String {
        BASE64_STANDARD.encode(self.key.verifying_key().to_bytes())
    }

    pub fn key_id(&self) -> &str {
        self.key_id.as_str()
    }

    /// Adds a source `signature` to a record as [`crate::signal`], [`crate::snapshot`] or
    /// [`crate::digest`] build it (with optional `parents` and `metadata`): the statement over
    /// its content, signed now with a fresh nonce.
    pub fn sign_record(&self, record: &mut Value) -> Result<(), ClientError> {
        self.sign_record_at(record, unix_now(), &random_nonce())
    }

    /// The proof of possession (base64) that registers this key for `source` in the log
    /// `origin` (`provlog_core::registry::prove_possession`).
    pub fn prove_possession(&self, origin: &str, source: &str) -> Result<String, ClientError> {
        let origin = LogOrigin::new(origin).map_err(invalid)?;
        let source = SourceId::new(source).map_err(invalid)?;
        let proof = prove_possession(&self.key, &origin, &source, &self.key_id).map_err(invalid)?;
        Ok(BASE64_STANDARD.encode(proof))
    }

    /// [`SourceSigner::sign_record`] with a given creation time and nonce.
    pub fn sign_record_at(
        &self,
        record: &mut Value,
        created: u64,
        nonce: &str,
    ) -> Result<(), ClientError> {
        let obj = record
            .as_object_mut()
            .ok_or_else(|| invalid("a record is a JSON object"))?;
        let get = |name: &str| obj.get(name).cloned();
        let kind: Kind =
            serde_json::from_value(get("kind").unwrap_or(Value::Null)).map_err(invalid)?;
        let source: SourceId =
            serde_json::from_value(get("source").unwrap_or(Value::Null)).map_err(invalid)?;
        let content = match kind {
            Kind::Source | Kind::Close => {
                return Err(invalid(format!(
                    "records of kind {kind} are written by the log"
                )))
            }
            Kind::Commitment => {
                let c: Commitment = serde_json::from_value(
                    get("commitment").ok_or_else(|| invalid("no commitment"))?,
                )
                .map_err(invalid)?;
                item_content(&c.to_item().map_err(invalid)?)
            }
            Kind::Reveal => {
                let r: Reveal =
                    serde_json::from_value(get("reveal").ok_or_else(|| invalid("no reveal"))?)
                        .map_err(invalid)?;
                item_content(&r.to_item().map_err(invalid)?)
            }
            Kind::Signal | Kind::Outcome => {
                signal_content(&get("payload").ok_or_else(|| invalid("no payload"))?)
                    .map_err(invalid)?
                    .0
            }
            Kind::Snapshot => match (get("items"), get("items_base64")) {
                (Some(Value::Array(items)), None) => {
                    snapshot_content_json(&items).map_err(invalid)?.0
                }
                (None, Some(Value::Array(encoded))) => {
                    let items = encoded
                        .iter()
                        .map(|e| {
                            e.as_str()
                                .and_then(|s| BASE64_STANDARD.decode(s).ok())
                                .ok_or_else(|| invalid("items_base64 holds base64 strings"))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let media: MediaType = match get("media_type") {
                        Some(m) => serde_json::from_value(m).map_err(invalid)?,
                        None => MediaType::octet_stream(),
                    };
                    snapshot_content_bytes(&items, media).map_err(invalid)?
                }
                _ => return Err(invalid("a snapshot has `items` or `items_base64`")),
            },
            Kind::Digest => {
                #[derive(Deserialize)]
                struct D {
                    alg: ContentAlg,
                    root: Hash,
                    #[serde(default = "one")]
                    items: u64,
                    #[serde(default)]
                    media_type: Option<MediaType>,
                }
                fn one() -> u64 {
                    1
                }
                let d: D = serde_json::from_value(get("content").unwrap_or(Value::Null))
                    .map_err(invalid)?;
                digest_content(
                    d.alg,
                    d.root,
                    d.items,
                    d.media_type.unwrap_or_else(MediaType::octet_stream),
                )
                .map_err(invalid)?
            }
        };
        let parents: Vec<Hash> = match get("parents") {
            Some(p) => serde_json::from_value(p).map_err(invalid)?,
            None => vec![],
        };
        let metadata: Map<String, Value> = match get("metadata") {
            Some(Value::Object(m)) => m,
            Some(_) => return Err(invalid("metadata is an object")),
            None => Map::new(),
        };
        let nonce: Nonce = nonce.parse().map_err(invalid)?;
        let signature = SignedStatement::new(source, kind, content)
            .with_parents(parents)
            .with_metadata(metadata)
            .sign_statement(&self.key, self.key_id.clone(), nonce, created)
            .map_err(invalid)?;
        obj.insert(
            "signature".into(),
            serde_json::to_value(signature).map_err(invalid)?,
        );
        Ok(())
    }

    /// The RFC 9421 headers of a request (`Content-Digest`, `Signature-Input`, `Signature`).
    pub fn sign_request(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
    ) -> Result<SignedHeaders, ClientError> {
        let created = unix_now();
        self.sign_request_with(
            method,
            url,
            body,
            &SignatureParams {
                created,
                expires: created + REQUEST_SIGNATURE_LIFETIME_SECS,
                nonce: random_nonce(),
                keyid: self.key_id.to_string(),
            },
        )
    }

    /// [`SourceSigner::sign_request`] with given parameters.
    pub fn sign_request_with(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
        params: &SignatureParams,
    ) -> Result<SignedHeaders, ClientError> {
        httpsig::sign_request(method, url, body, &self.key, params).map_err(invalid)
    }
}

/// A new API key, as the server shows it once.
#[derive(Debug, Clone, Deserialize)]
pub struct IssuedKey {
    /// The key's view (id, scope, source, status…).
    pub key: Value,
    /// `plk_<id>_<secret>`: keep it secret.
    pub token: String,
}

impl IssuedKey {
    pub fn id(&self) -> &str {
        self.key["id"].as_str().unwrap_or("")
    }
}

impl Client {
    /// One admin API call: `body` as JSON, the answer decoded as `T`.
    async fn admin<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, Option<String>)],
        body: Option<Value>,
    ) -> Result<T, ClientError> {
        let url = self.url(path, query)?;
        let mut request = self.authorized(self.http.request(method.clone(), url.clone()));
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let name = match method.as_str() {
            "GET" => "GET",
            "POST" => "POST",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            _ => "REQUEST",
        };
        decode(self.send(request, name, &url).await?)
    }

    /// `POST /v1/admin/bootstrap` with the bootstrap token: the first admin key.
    pub async fn bootstrap(&self) -> Result<IssuedKey, ClientError> {
        self.admin(reqwest::Method::POST, "v1/admin/bootstrap", &[], None)
            .await
    }

    /// `POST /v1/admin/sources`: `source` as the API takes it (`id`, `display_name`, `schema`,
    /// `schema_policy`, `require_signature`).
    pub async fn create_source(&self, source: &Value) -> Result<Value, ClientError> {
        self.admin(
            reqwest::Method::POST,
            "v1/admin/sources",
            &[],
            Some(source.clone()),
        )
        .await
    }

    /// `PATCH /v1/admin/sources/{id}`.
    pub async fn change_source(&self, id: &str, change: &Value) -> Result<Value, ClientError> {
        let path = format!("v1/admin/sources/{}", crate::paths::segment(id));
        self.admin(reqwest::Method::PATCH, &path, &[], Some(change.clone()))
            .await
    }

    /// `PUT /v1/admin/sources/{id}/scoring`: declares, once, how the source's records are
    /// scored (a `provlog_core::score::ScoringSpec` as JSON).
    pub async fn declare_scoring(&self, id: &str, spec: &Value) -> Result<Value, ClientError> {
        let path = format!("v1/admin/sources/{}/scoring", crate::paths::segment(id));
        self.admin(reqwest::Method::PUT, &path, &[], Some(spec.clone()))
            .await
    }

    /// `GET /v1/admin/sources` (`id` None) or `GET /v1/admin/sources/{id}`.
    pub async fn sources(&self, id: Option<&str>) -> Result<Value, ClientError> {
        let path = match id {
            Some(id) => format!("v1/admin/sources/{}", crate::paths::segment(id)),
            None => "v1/admin/sources".into(),
        };
        self.admin(reqwest::Method::GET, &path, &[], None).await
    }

    /// `POST /v1/admin/sources/{id}/keys`: the key and its proof of possession (both base64;
    /// [`SourceSigner::prove_possession`] makes the proof).
    pub async fn add_source_key(
        &self,
        source: &str,
        key_id: &str,
        public_key_base64: &str,
        proof_base64: &str,
    ) -> Result<Value, ClientError> {
        let path = format!("v1/admin/sources/{}/keys", crate::paths::segment(source));
        let body =
            json!({"key_id": key_id, "public_key": public_key_base64, "proof": proof_base64});
        self.admin(reqwest::Method::POST, &path, &[], Some(body))
            .await
    }

    /// Adds `signer`'s key to `source`, proving possession for this log (whose origin it reads
    /// from `GET /v1/log`).
    pub async fn add_signer(
        &self,
        source: &str,
        signer: &SourceSigner,
    ) -> Result<Value, ClientError> {
        let origin = self.log_info().await?.origin;
        let proof = signer.prove_possession(&origin, source)?;
        self.add_source_key(source, signer.key_id(), &signer.public_key_base64(), &proof)
            .await
    }

    /// `DELETE /v1/admin/sources/{id}/keys/{key_id}`.
    pub async fn retire_source_key(
        &self,
        source: &str,
        key_id: &str,
    ) -> Result<Value, ClientError> {
        let path = format!(
            "v1/admin/sources/{}/keys/{}",
            crate::paths::segment(source),
            crate::paths::segment(key_id)
        );
        self.admin(reqwest::Method::DELETE, &path, &[], None).await
    }

    /// `POST /v1/admin/keys`: `scope` is `ingest` (with `source`), `read` or `admin`.
    pub async fn create_key(
        &self,
        scope: &str,
        source: Option<&str>,
        label: &str,
    ) -> Result<IssuedKey, ClientError> {
        let mut body = json!({"scope": scope, "label": label});
        if let Some(source) = source {
            body["source"] = json!(source);
        }
        self.admin(reqwest::Method::POST, "v1/admin/keys", &[], Some(body))
            .await
    }

    /// `GET /v1/admin/keys`.
    pub async fn keys(&self) -> Result<Value, ClientError> {
        self.admin(reqwest::Method::GET, "v1/admin/keys", &[], None)
            .await
    }

    /// `POST /v1/admin/keys/{id}/rotate`; `overlap_ms` None: the server's default.
    pub async fn rotate_key(
        &self,
        id: &str,
        overlap_ms: Option<u64>,
    ) -> Result<IssuedKey, ClientError> {
        let path = format!("v1/admin/keys/{}/rotate", crate::paths::segment(id));
        let body = match overlap_ms {
            Some(ms) => json!({"overlap_ms": ms}),
            None => json!({}),
        };
        self.admin(reqwest::Method::POST, &path, &[], Some(body))
            .await
    }

    /// `POST /v1/admin/keys/{id}/revoke`.
    pub async fn revoke_key(&self, id: &str) -> Result<Value, ClientError> {
        let path = format!("v1/admin/keys/{}/revoke", crate::paths::segment(id));
        self.admin(reqwest::Method::POST, &path, &[], None).await
    }

    /// `GET /v1/admin/audit`.
    pub async fn audit(
        &self,
        after: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Value, ClientError> {
        self.admin(
            reqwest::Method::GET,
            "v1/admin/audit",
            &[
                ("after", after.map(|a| a.to_string())),
                ("limit", limit.map(|l| l.to_string())),
            ],
            None,
        )
        .await
    }
}
