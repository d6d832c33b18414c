//! The route sweep's view of the spec: each operation of `/openapi.json`, classified by its
//! security requirement, with a plausible request for it.

use provlog_client::signal;
use provlog_e2e::security::Body;
use reqwest::Method;
use serde_json::{json, Value};

/// Who may call an operation, as its security requirement in the spec says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Class {
    /// `[{}]`: anyone (health, metrics, the API description).
    Open,
    /// `[{}, {"bearer": ["read"]}]`: anyone while reads are public, else any API key.
    Read,
    /// `[{"bearer": ["ingest"]}]`.
    Write,
    /// `[{"bearer": ["admin"]}]`.
    Admin,
    /// `[{"bearer": ["bootstrap"]}]`: the bootstrap token itself.
    Bootstrap,
}

fn classify(op: &Value) -> Result<Class, String> {
    let security = op["security"].as_array().ok_or("no security requirement")?;
    let mut anonymous = false;
    let mut roles = vec![];
    for requirement in security {
        let map = requirement
            .as_object()
            .ok_or("a requirement is not an object")?;
        if map.is_empty() {
            anonymous = true;
            continue;
        }
        for (scheme, scopes) in map {
            if scheme != "bearer" {
                return Err(format!("unknown scheme {scheme}"));
            }
            match scopes.as_array().map(Vec::as_slice) {
                Some([Value::String(role)]) => roles.push(role.clone()),
                _ => return Err(format!("bearer roles {scopes}")),
            }
        }
    }
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    match (anonymous, roles.as_slice()) {
        (true, []) => Ok(Class::Open),
        (true, ["read"]) => Ok(Class::Read),
        (false, ["ingest"]) => Ok(Class::Write),
        (false, ["admin"]) => Ok(Class::Admin),
        (false, ["bootstrap"]) => Ok(Class::Bootstrap),
        other => Err(format!("unclassifiable security {other:?}")),
    }
}

pub(crate) const SRC_A: &str = "sweep-a";
pub(crate) const SRC_B: &str = "sweep-b";

/// Values the sweep fills path parameters and bodies with.
pub(crate) struct Ctx {
    pub(crate) rotate_victim: String,
    pub(crate) revoke_victim: String,
    pub(crate) receipt: Value,
    /// The body of a new key for the source, with its proof of possession.
    pub(crate) new_source_key: Value,
}

/// A plausible request for each operation of the spec: the path with its parameters filled and
/// a body the route accepts with the right credentials. `None` for an operation this sweep does
/// not know: a new route must be added here (the sweep fails until it is).
fn plausible(method: &str, path: &str, cx: &Ctx) -> Option<(String, Body)> {
    let none = |p: &str| Some((p.to_string(), Body::None));
    match (method, path) {
        ("post", "/v1/records") => Some((
            path.into(),
            Body::Json(signal(SRC_A, json!({"sweep": "refused"}))),
        )),
        ("post", "/v1/records/snapshot") => Some((
            format!("{path}?source={SRC_A}"),
            Body::Ndjson("{\"item\":1}\n{\"item\":2}\n".into()),
        )),
        ("get", "/v1/records") => none("/v1/records?limit=5"),
        ("get", "/v1/items") => none(&format!("/v1/items?leaf_hash={}", "00".repeat(32))),
        ("get", "/v1/records/{id}") => none("/v1/records/0"),
        ("get", "/v1/records/{id}/lineage") => none("/v1/records/1/lineage"),
        ("get", "/v1/records/{id}/receipt") => none("/v1/records/0/receipt"),
        ("get", "/v1/records/{id}/evidence") => none("/v1/records/0/evidence"),
        ("get", "/v1/sources") => none(path),
        ("get", "/v1/sources/{id}") => none(&format!("/v1/sources/{SRC_A}")),
        // Bounded, so the sweep's reads write no close record.
        ("get", "/v1/sources/{id}/track-record") => {
            none(&format!("/v1/sources/{SRC_A}/track-record?to_seq=0"))
        }
        ("get", "/v1/sources/{id}/score") => none(&format!("/v1/sources/{SRC_B}/score?to_seq=1")),
        ("get", "/v1/checkpoint") => none(path),
        ("get", "/v1/checkpoints") => none("/v1/checkpoints?limit=5"),
        ("get", "/v1/anchors") => none(path),
        ("get", "/v1/proofs/consistency") => none("/v1/proofs/consistency?from=1&to=2"),
        ("get", "/v1/log") => none(path),
        ("post", "/v1/verify") => Some((path.into(), Body::Json(cx.receipt.clone()))),
        ("get", "/checkpoint") => none(path),
        ("get", "/tile/{path}") => none("/tile/0/000.p/2"),
        ("get", "/healthz") | ("get", "/readyz") | ("get", "/metrics") => none(path),
        ("get", "/openapi.json") => none(path),
        ("post", "/v1/admin/bootstrap") => none(path),
        ("get", "/v1/admin/sources") => none(path),
        ("post", "/v1/admin/sources") => Some((
            path.into(),
            Body::Json(json!({"id": "sweep-new", "display_name": "Made by the sweep"})),
        )),
        ("get", "/v1/admin/sources/{id}") => none(&format!("/v1/admin/sources/{SRC_A}")),
        ("patch", "/v1/admin/sources/{id}") => Some((
            format!("/v1/admin/sources/{SRC_A}"),
            Body::Json(json!({"display_name": "Renamed by the sweep", "schema_policy": "flag"})),
        )),
        ("post", "/v1/admin/sources/{id}/keys") => Some((
            format!("/v1/admin/sources/{SRC_A}/keys"),
            Body::Json(cx.new_source_key.clone()),
        )),
        ("put", "/v1/admin/sources/{id}/scoring") => Some((
            format!("/v1/admin/sources/{SRC_A}/scoring"),
            Body::Json(
                json!({"kind": "signals", "value": "/signal", "outcome": "/return",
                "horizon_s": 60}),
            ),
        )),
        ("delete", "/v1/admin/sources/{id}/keys/{key_id}") => {
            none(&format!("/v1/admin/sources/{SRC_A}/keys/k1"))
        }
        ("get", "/v1/admin/keys") => none(path),
        ("post", "/v1/admin/keys") => Some((
            path.into(),
            Body::Json(json!({"scope": "admin", "label": "made by the sweep"})),
        )),
        ("post", "/v1/admin/keys/{id}/rotate") => Some((
            format!("/v1/admin/keys/{}/rotate", cx.rotate_victim),
            Body::Json(json!({"overlap_ms": 0})),
        )),
        ("post", "/v1/admin/keys/{id}/revoke") => {
            none(&format!("/v1/admin/keys/{}/revoke", cx.revoke_victim))
        }
        ("get", "/v1/admin/audit") => none("/v1/admin/audit?limit=5"),
        _ => None,
    }
}

pub(crate) struct Op {
    pub(crate) method: Method,
    pub(crate) template: String,
    pub(crate) class: Class,
    pub(crate) path: String,
    pub(crate) body: Body,
}

/// Every operation of the served spec, classified, with its plausible request.
pub(crate) fn operations(doc: &Value, cx: &Ctx) -> Vec<Op> {
    let mut ops = vec![];
    let mut problems = vec![];
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if ![
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                continue;
            }
            let class = match classify(op) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("{method} {template}: {e}"));
                    continue;
                }
            };
            let Some((path, body)) = plausible(method, template, cx) else {
                problems.push(format!(
                    "{method} {template}: no plausible request in this sweep; add one"
                ));
                continue;
            };
            ops.push(Op {
                method: method.to_uppercase().parse().unwrap(),
                template: template.clone(),
                class,
                path,
                body,
            });
        }
    }
    assert!(
        problems.is_empty(),
        "operations the sweep cannot cover: {problems:#?}"
    );
    ops
}
