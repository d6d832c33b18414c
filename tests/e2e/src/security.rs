//! Helpers of the security tests (`tests/security/`): raw HTTP calls that keep every header and
//! the body (the typed client hides what a refusal looks like), RFC 9457 problem checks, a
//! fingerprint of everything a write or admin action could change, and the encodings a secret
//! could leak in.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::prelude::{
    Engine as _, BASE64_STANDARD, BASE64_STANDARD_NO_PAD, BASE64_URL_SAFE, BASE64_URL_SAFE_NO_PAD,
};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::TestDb;

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    Json(Value),
    Ndjson(String),
}

/// What came back, all of it.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON, or as a JSON string holding its text.
    pub body: Value,
}

impl Resp {
    /// The problem type's slug (`urn:provlog:problem:<slug>`), or "".
    pub fn slug(&self) -> &str {
        self.body["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("urn:provlog:problem:"))
            .unwrap_or_default()
    }

    /// Panics unless this is `status` with an RFC 9457 problem body of type `slug`.
    pub fn assert_problem(&self, status: StatusCode, slug: &str, what: &str) {
        assert_eq!(
            (self.status, self.slug()),
            (status, slug),
            "{what}: {}",
            self.body
        );
        let ct = self
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            ct.starts_with("application/problem+json"),
            "{what}: content type {ct:?}"
        );
        assert_eq!(
            self.body["status"],
            status.as_u16(),
            "{what}: {}",
            self.body
        );
        assert!(
            self.body["title"].as_str().is_some_and(|t| !t.is_empty())
                && self.body["detail"].as_str().is_some(),
            "{what}: {}",
            self.body
        );
        if status == StatusCode::UNAUTHORIZED {
            assert!(
                self.headers.contains_key(reqwest::header::WWW_AUTHENTICATE),
                "{what}: a 401 without WWW-Authenticate"
            );
        }
    }
}

/// Raw HTTP against one server.
#[derive(Debug, Clone)]
pub struct Http {
    pub client: reqwest::Client,
    pub base: String,
}

impl Http {
    pub fn new(base: &str) -> Http {
        Http {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// `method path_and_query` with an `Authorization` header value (verbatim), extra headers
    /// and a body.
    pub async fn call(
        &self,
        method: &Method,
        path: &str,
        authorization: Option<&str>,
        headers: &[(&str, &str)],
        body: &Body,
    ) -> Resp {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req = match body {
            Body::None => req,
            Body::Json(v) => req
                .header("content-type", "application/json")
                .body(v.to_string()),
            Body::Ndjson(text) => req
                .header("content-type", "application/x-ndjson")
                .body(text.clone()),
        };
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        Resp::read(resp).await
    }

    /// `method path` with `Authorization: Bearer token` (or none).
    pub async fn bearer(
        &self,
        method: &Method,
        path: &str,
        token: Option<&str>,
        body: &Body,
    ) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        self.call(method, path, auth.as_deref(), &[], body).await
    }
}

impl Resp {
    pub async fn read(resp: reqwest::Response) -> Resp {
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.bytes().await.expect("reading a response body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Resp {
            status,
            headers,
            body,
        }
    }
}

/// Tables a write or an admin action changes: records and what hangs off them, idempotency
/// keys, sources and their keys, API keys, nonces, the audit trail. (Not the leader's lease,
/// the tree's nodes or checkpoints, which the leader moves on its own.)
pub const STATE_TABLES: &[&str] = &[
    "records",
    "record_parents",
    "snapshot_items",
    "idempotency_keys",
    "sources",
    "source_keys",
    "api_keys",
    "signature_nonces",
    "audit_events",
];

/// Row count and digest of every row of each of [`STATE_TABLES`].
pub async fn fingerprint(db: &TestDb) -> BTreeMap<String, String> {
    use sqlx::Connection as _;
    let mut conn = db.connect().await;
    let mut out = BTreeMap::new();
    for table in STATE_TABLES {
        let (v,): (String,) = sqlx::query_as(&format!(
            "SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("fingerprinting {table}: {e}"));
        out.insert((*table).to_string(), v);
    }
    let _ = conn.close().await;
    out
}

/// Records in the database (sequenced, integrated or not).
pub async fn record_count(db: &TestDb) -> i64 {
    use sqlx::Connection as _;
    let mut conn = db.connect().await;
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM records")
        .fetch_one(&mut conn)
        .await
        .expect("counting records");
    let _ = conn.close().await;
    n
}

/// The ways `bytes` could be written down: hex (both cases), base64 and base64url (with and
/// without padding).
pub fn byte_encodings(bytes: &[u8]) -> Vec<String> {
    vec![
        hex::encode(bytes),
        hex::encode_upper(bytes),
        BASE64_STANDARD.encode(bytes),
        BASE64_STANDARD_NO_PAD.encode(bytes),
        BASE64_URL_SAFE.encode(bytes),
        BASE64_URL_SAFE_NO_PAD.encode(bytes),
    ]
}

/// A named secret and every form it is looked for in.
#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    pub forms: Vec<String>,
}

impl Secret {
    /// A text secret: the text itself and the encodings of its bytes.
    pub fn text(name: &str, text: &str) -> Secret {
        let mut forms = vec![text.to_string()];
        forms.extend(byte_encodings(text.as_bytes()));
        Secret::named(name, forms)
    }

    /// A binary secret (a key's bytes): its encodings.
    pub fn bytes(name: &str, bytes: &[u8]) -> Secret {
        Secret::named(name, byte_encodings(bytes))
    }

    /// An API key `plk_<id>_<secret>`: the id is public; the secret part in every form, and
    /// the whole token's encodings.
    pub fn api_key(name: &str, token: &str) -> Secret {
        assert!(token.starts_with("plk_") && token.len() > 17, "{token}");
        let secret = &token[17..];
        let mut forms = vec![secret.to_string()];
        forms.extend(byte_encodings(token.as_bytes()));
        if let Ok(raw) = BASE64_URL_SAFE_NO_PAD.decode(secret) {
            forms.extend(byte_encodings(&raw));
        }
        Secret::named(name, forms)
    }

    fn named(name: &str, forms: Vec<String>) -> Secret {
        for f in &forms {
            assert!(
                f.len() >= 16,
                "{name}: a form too short to search for: {f:?}"
            );
        }
        Secret {
            name: name.to_string(),
            forms,
        }
    }

    /// The first form of this secret found in `haystack`, if any.
    pub fn found_in<'a>(&'a self, haystack: &str) -> Option<&'a str> {
        self.forms
            .iter()
            .find(|f| haystack.contains(f.as_str()))
            .map(String::as_str)
    }
}

/// An integer from the environment, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v:?}")))
        .unwrap_or(default)
}

/// Whether `PROVLOG_SECURITY_FULL` asks for the full-size run.
pub fn full_run() -> bool {
    std::env::var_os("PROVLOG_SECURITY_FULL").is_some_and(|v| v != "0" && !v.is_empty())
}
