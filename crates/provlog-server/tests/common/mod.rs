//! What the server's tests share: a service on a fresh database of either backend (with
//! `on_both_backends!`, from `provlog_store::testing`), requests through its router (no
//! socket), the bootstrap and key set-up, and the check that an answer is a given problem.
// Each test crate uses a part of this module.
#![allow(dead_code, unused_imports)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use provlog_client::SourceSigner;
use provlog_core::checkpoint::NoteSigner;
use provlog_server::config::Secret;
use provlog_server::{app, AppState, Config};
use provlog_store::Store;
use serde_json::{json, Value};
use tower::ServiceExt;

pub use provlog_store::testing::on_both_backends;

pub const ORIGIN: &str = "example.com/provlog/server-test";
/// The admin token of the configuration: the bootstrap token until the first admin key exists.
pub const TOKEN: &str = "test-admin-token-0123456789";
/// The `Host` of [`Api::send`]'s requests, which signed requests cover.
pub const HOST: &str = "log.test";

pub struct Api {
    pub app: Router,
    pub state: Arc<AppState>,
}

/// The test configuration (checkpoints on demand, [`TOKEN`] as admin token), then `tweak`.
pub fn config(tweak: impl FnOnce(&mut Config)) -> Config {
    let signer = NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[5; 32])).unwrap();
    let mut config = Config {
        origin: ORIGIN.into(),
        signing_key: Secret::new(signer.to_secret_text().to_string()),
        admin_token: Secret::new(TOKEN),
        checkpoint_interval_ms: 0,
        ..Config::default()
    };
    tweak(&mut config);
    config
}

/// A service on `store` (a new replica each time: states share nothing but the database).
pub async fn setup(store: Store, tweak: impl FnOnce(&mut Config)) -> Api {
    store.init_log(ORIGIN).await.unwrap();
    Api::new(AppState::new(store, config(tweak), "test-replica".into()).unwrap())
}

/// The problem type's slug: `not-found` for `urn:provlog:problem:not-found`.
pub fn problem(v: &Value) -> &str {
    v["type"]
        .as_str()
        .unwrap_or_default()
        .strip_prefix("urn:provlog:problem:")
        .unwrap_or_default()
}

/// An answer as [`Api::send`] or [`Api::call`] give it.
pub trait Answer {
    fn status_and_body(self) -> (StatusCode, Value);
}

impl Answer for (StatusCode, Value) {
    fn status_and_body(self) -> (StatusCode, Value) {
        self
    }
}

impl Answer for (StatusCode, Value, HeaderMap) {
    fn status_and_body(self) -> (StatusCode, Value) {
        (self.0, self.1)
    }
}

/// Asserts the answer has `status` and the problem type `problem_type` (its slug); returns the
/// problem for further checks.
#[track_caller]
pub fn expect_problem(answer: impl Answer, status: StatusCode, problem_type: &str) -> Value {
    let (s, v) = answer.status_and_body();
    assert_eq!((s, problem(&v)), (status, problem_type), "{v}");
    v
}

/// The `Content-Type` of an answer.
pub fn content_type(headers: &HeaderMap) -> &str {
    headers[axum::http::header::CONTENT_TYPE].to_str().unwrap()
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

impl Api {
    pub fn new(state: Arc<AppState>) -> Api {
        Api {
            app: app(state.clone()),
            state,
        }
    }

    /// The answer's status, headers and body bytes.
    pub async fn call_raw(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes.to_vec())
    }

    /// The answer's status, body (JSON, or else the text as a JSON string) and headers.
    pub async fn call(&self, req: Request<Body>) -> (StatusCode, Value, HeaderMap) {
        let (status, headers, bytes) = self.call_raw(req).await;
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value, headers)
    }

    pub async fn get_raw(&self, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        self.call_raw(get(uri)).await
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (s, v, _) = self.call(get(uri)).await;
        (s, v)
    }

    /// Posts `body` as JSON with the admin token.
    pub async fn post(&self, uri: &str, body: &Value) -> (StatusCode, Value) {
        self.send("POST", uri, Some(TOKEN), Some(body)).await
    }

    /// Posts `body` to `/v1/records` with `token`.
    pub async fn write(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        self.send("POST", "/v1/records", Some(token), Some(body))
            .await
    }

    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", HOST);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let (s, v, _) = self.call(req).await;
        (s, v)
    }

    /// Bootstraps and returns the first admin key's token.
    pub async fn admin(&self) -> String {
        let (s, v) = self
            .send("POST", "/v1/admin/bootstrap", Some(TOKEN), None)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    pub async fn source(&self, admin: &str, body: Value) {
        let (s, v) = self
            .send("POST", "/v1/admin/sources", Some(admin), Some(&body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }

    /// Registers `signer`'s public key for `source`, with its proof of possession.
    pub async fn add_source_key(&self, admin: &str, source: &str, signer: &SourceSigner) {
        let proof = signer.prove_possession(ORIGIN, source).unwrap();
        let body = json!({"key_id": signer.key_id(), "public_key": signer.public_key_base64(),
            "proof": proof});
        let uri = format!("/v1/admin/sources/{source}/keys");
        let (s, v) = self.send("POST", &uri, Some(admin), Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }

    /// Creates an API key; returns its id and token.
    pub async fn create_key(
        &self,
        admin: &str,
        scope: &str,
        source: Option<&str>,
    ) -> (String, String) {
        let mut body = json!({"scope": scope});
        if let Some(source) = source {
            body["source"] = json!(source);
        }
        let (s, v) = self
            .send("POST", "/v1/admin/keys", Some(admin), Some(&body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (
            v["key"]["id"].as_str().unwrap().to_string(),
            v["token"].as_str().unwrap().to_string(),
        )
    }

    /// `POST /v1/admin/keys/{key_id}/{action}` (`rotate`, `revoke`).
    pub async fn key_action(
        &self,
        admin: &str,
        key_id: &str,
        action: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let uri = format!("/v1/admin/keys/{key_id}/{action}");
        self.send("POST", &uri, Some(admin), body).await
    }

    /// The log's size.
    pub async fn records(&self) -> u64 {
        let (s, v) = self.send("GET", "/v1/log", None, None).await;
        assert_eq!(s, StatusCode::OK);
        v["size"].as_u64().unwrap_or_else(|| panic!("{v}"))
    }

    /// Integrates and checkpoints as the leader would.
    pub async fn settle(&self) {
        let store = &self.state.store;
        assert!(store
            .acquire_lease(
                provlog_store::LEADER_LEASE,
                "test-replica",
                Duration::from_secs(30)
            )
            .await
            .unwrap());
        let mut last = Instant::now() - Duration::from_secs(10);
        provlog_server::workers::leader_step(&self.state, &mut last)
            .await
            .unwrap();
        provlog_server::workers::refresh(&self.state).await.unwrap();
    }
}
