//! The OpenAPI document and Swagger UI, through the router (no socket) on both backends: every
//! route the router serves is documented with its methods, write routes (found by asking them
//! without a token) declare the bearer scheme, errors are problem+json, and the hand-written
//! schemas match what the server and the core really send.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{content_type, on_both_backends, setup, Api, TOKEN};
use provlog_server::api::openapi::{self, PROBLEM_JSON};
use provlog_server::api::ROUTES;
use provlog_store::Store;
use serde_json::{json, Value};

on_both_backends!(
    every_route_is_documented_with_its_methods,
    routes_that_want_a_token_declare_the_bearer_scheme,
    swagger_ui_is_served_from_the_binary,
    hand_written_schemas_match_real_bodies,
);

async fn document(api: &Api) -> Value {
    let (status, headers, body) = api.get_raw("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type(&headers).starts_with("application/json"));
    serde_json::from_slice(&body).unwrap()
}

/// The document's path for an axum path: `/tile/{*path}` is `/tile/{path}`.
fn documented_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

/// A concrete URI for an axum path, for asking the router.
fn example_uri(axum_path: &str) -> String {
    axum_path.replace("{id}", "0").replace("{*path}", "0/000")
}

/// A request that carries no token, to the route's method and an example of its path. The
/// query gives `POST /v1/records/snapshot` its required `source`, which is parsed before the
/// token is checked; the other routes ignore it or filter by it.
fn anonymous(method: &str, axum_path: &str) -> Request<Body> {
    Request::builder()
        .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
        .uri(format!("{}?source=probe", example_uri(axum_path)))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::empty())
        .unwrap()
}

fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                out.push(r);
            }
            o.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

async fn every_route_is_documented_with_its_methods(store: Store) {
    let api = setup(store, |_| {}).await;
    let doc = document(&api).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "provlog");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    let paths = doc["paths"].as_object().unwrap();
    for &(method, path) in ROUTES {
        // The router really serves it: neither the fallback's 404 nor a 405.
        let (status, _, body) = api.call_raw(anonymous(method, path)).await;
        let fallback = status == StatusCode::NOT_FOUND
            && serde_json::from_slice::<Value>(&body).unwrap()["detail"] == "no such route";
        assert!(
            !fallback && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {status}"
        );

        let op = &paths
            .get(&documented_path(path))
            .unwrap_or_else(|| panic!("{path} is not in the document's paths"))[method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for name in path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        {
            let name = name.trim_start_matches('*');
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                "{method} {path}: path parameter {name} is not documented"
            );
        }

        // Every error is problem+json, documented inline or by a shared response.
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}: no success response"
        );
        for (status, response) in responses {
            let response = match response["$ref"].as_str() {
                Some(r) => {
                    let name = r.strip_prefix("#/components/responses/").unwrap();
                    &doc["components"]["responses"][name]
                }
                None => response,
            };
            if status.starts_with(['4', '5']) && path != "/readyz" {
                assert!(
                    response["content"][PROBLEM_JSON]["schema"]["$ref"]
                        == "#/components/schemas/Problem",
                    "{method} {path} {status} is not a problem: {response}"
                );
            }
        }
    }

    // Every reference resolves.
    let mut refs = vec![];
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let target = r
            .strip_prefix("#/")
            .unwrap()
            .split('/')
            .fold(&doc, |v, key| &v[key]);
        assert!(target.is_object(), "dangling {r}");
    }

    // And the document describes nothing else.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            assert!(
                ROUTES
                    .iter()
                    .any(|&(m, p)| m == method && documented_path(p) == *path),
                "{method} {path} is documented but not routed"
            );
        }
    }
}

async fn routes_that_want_a_token_declare_the_bearer_scheme(store: Store) {
    let api = setup(store, |_| {}).await;
    let doc = document(&api).await;
    let scheme = &doc["components"]["securitySchemes"][openapi::BEARER];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"]),
        (&json!("http"), &json!("bearer"))
    );

    let mut guarded = vec![];
    for &(method, path) in ROUTES {
        let (status, _, _) = api.call_raw(anonymous(method, path)).await;
        let op = &doc["paths"][documented_path(path)][method];
        // Every operation says who may call it: `{}` (anyone) and/or the bearer scheme with the
        // role it needs (`ingest`, `admin`, `bootstrap`, or `read` when reads are not public).
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} declares no security"));
        for requirement in security {
            let roles = requirement.as_object().unwrap();
            if let Some(bearer) = roles.get(openapi::BEARER) {
                let role = bearer.as_array().filter(|r| r.len() == 1).map(|r| &r[0]);
                assert!(
                    role.is_some_and(|r| ["ingest", "admin", "bootstrap", "read"]
                        .contains(&r.as_str().unwrap_or_default())),
                    "{method} {path}: {requirement}"
                );
            } else {
                assert!(roles.is_empty(), "{method} {path}: {requirement}");
            }
        }
        let declared =
            !security.is_empty() && security.iter().all(|r| r.get(openapi::BEARER).is_some());
        assert_eq!(
            status == StatusCode::UNAUTHORIZED,
            declared,
            "{method} {path}: answered {status} without a token, declares bearer: {declared}"
        );
        if declared {
            guarded.push(path);
            if path.starts_with("/v1/records") {
                let params = op["parameters"].as_array().unwrap();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                    "{method} {path}: no Idempotency-Key header"
                );
            }
            assert!(op["responses"]["401"].is_object() && op["responses"]["403"].is_object());
        }
    }
    // The write routes and every admin route; reads are public by default.
    assert_eq!(&guarded[..2], ["/v1/records", "/v1/records/snapshot"]);
    assert_eq!(guarded.len(), 2 + 13, "{guarded:?}");
    assert!(
        guarded[2..].iter().all(|p| p.starts_with("/v1/admin/")),
        "{guarded:?}"
    );
    let ndjson = &doc["paths"]["/v1/records/snapshot"]["post"]["requestBody"]["content"];
    assert!(ndjson["application/x-ndjson"].is_object(), "{ndjson}");
}

async fn swagger_ui_is_served_from_the_binary(store: Store) {
    let api = setup(store, |_| {}).await;
    let (status, headers, _) = api.get_raw("/docs").await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(headers[header::LOCATION], "/docs/");
    for uri in ["/docs/", "/docs/index.html"] {
        let (status, headers, body) = api.get_raw(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(content_type(&headers).starts_with("text/html"), "{uri}");
        assert!(String::from_utf8(body).unwrap().contains("swagger-ui"));
    }
    let (status, _, body) = api.get_raw("/docs/swagger-initializer.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(body).unwrap().contains("/openapi.json"));
    let (status, _, body) = api.get_raw("/docs/swagger-ui-bundle.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.len() > 100_000, "{} bytes", body.len());
}

/// The schemas written by hand (shapes owned by the core and by `error.rs`) refuse unknown
/// members: real bodies parse into them, so neither side can change unnoticed.
async fn hand_written_schemas_match_real_bodies(store: Store) {
    let api = setup(store, |_| {}).await;
    let snapshot =
        json!({"kind": "snapshot", "source": "acme-grades", "items": [{"t": "BTC"}, {"t": "ETH"}]});
    let req = Request::post("/v1/records")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::from(snapshot.to_string()))
        .unwrap();
    assert_eq!(api.call_raw(req).await.0, StatusCode::CREATED);
    api.settle().await;

    let (status, _, body) = api.get_raw("/v1/records/0/receipt?item=1").await;
    assert_eq!(status, StatusCode::OK);
    let mut receipt: provlog_core::receipt::Receipt = serde_json::from_slice(&body).unwrap();
    let _: openapi::Receipt = serde_json::from_slice(&body).unwrap();
    receipt.anchor = Some(provlog_core::receipt::AnchorRef {
        chain_id: 1,
        contract: format!("0x{}", "11".repeat(20)),
        log_id: format!("0x{}", "22".repeat(32)),
        tx_hash: format!("0x{}", "33".repeat(32)),
        block_number: 7,
        block_hash: format!("0x{}", "44".repeat(32)),
        block_timestamp: Some(1_764_633_600),
        tree_size: 1,
    });
    let mirrored: openapi::Receipt =
        serde_json::from_value(serde_json::to_value(&receipt).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(&mirrored).unwrap(),
        serde_json::to_value(&receipt).unwrap()
    );

    use provlog_core::record::{signal_content, Kind, SignedStatement};
    let (content, _) = signal_content(&json!({"x": 1})).unwrap();
    let signature = SignedStatement::new("acme".parse().unwrap(), Kind::Signal, content)
        .sign_statement(
            &ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
            "acme-key-1".parse().unwrap(),
            "nonce-0123456789abcdef".parse().unwrap(),
            1_800_000_000,
        )
        .unwrap();
    let signature = serde_json::to_value(signature).unwrap();
    let mirrored: openapi::SourceSignature = serde_json::from_value(signature.clone()).unwrap();
    assert_eq!(serde_json::to_value(mirrored).unwrap(), signature);

    for uri in ["/v1/records/9", "/v1/proofs/consistency?from=2&to=1"] {
        let (status, headers, body) = api.get_raw(uri).await;
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        let problem: openapi::Problem = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem.status, status.as_u16());
    }
}
