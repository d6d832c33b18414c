//! The refusal cases of the route sweep, per class of operation, and the sweep that sends them.

use std::collections::BTreeMap;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_e2e::security::{fingerprint, Http};
use provlog_e2e::TestDb;
use reqwest::StatusCode;

use crate::routes::{Class, Op};
use crate::{FORBIDDEN, UNAUTHORIZED};

/// A refusal case: what is sent as `Authorization` (and other headers), and the exact answer.
struct Case {
    what: &'static str,
    authorization: Option<String>,
    headers: Vec<(&'static str, String)>,
    status: StatusCode,
    slug: &'static str,
}

fn case(
    what: &'static str,
    authorization: Option<String>,
    status: StatusCode,
    slug: &'static str,
) -> Case {
    Case {
        what,
        authorization,
        headers: vec![],
        status,
        slug,
    }
}

fn bearer(t: &str) -> Option<String> {
    Some(format!("Bearer {t}"))
}

/// The keys the sweep refuses or uses.
pub(crate) struct Keys {
    pub(crate) admin: String,
    pub(crate) ingest_a: String,
    pub(crate) ingest_b: String,
    pub(crate) read: String,
    pub(crate) revoked: BTreeMap<&'static str, String>,
    pub(crate) rotated: BTreeMap<&'static str, String>,
    pub(crate) bootstrap: String,
}

/// Cases that every guarded operation refuses the same way: no or malformed credentials.
fn credential_cases(k: &Keys) -> Vec<Case> {
    let wrong_secret = format!("{}{}", &k.ingest_a[..17], "A".repeat(43));
    let mut wrong_last = k.admin.clone();
    let last = wrong_last.pop().unwrap();
    wrong_last.push(if last == 'A' { 'B' } else { 'A' });
    let mut cases = vec![
        case("no credentials", None, UNAUTHORIZED, "unauthorized"),
        case(
            "a Basic credential",
            Some(format!(
                "Basic {}",
                BASE64_STANDARD.encode(format!("admin:{}", k.admin))
            )),
            UNAUTHORIZED,
            "unauthorized",
        ),
        case(
            "a lowercase bearer scheme",
            Some(format!("bearer {}", k.admin)),
            UNAUTHORIZED,
            "unauthorized",
        ),
        case(
            "a random bearer token",
            bearer("not-a-key-at-all-0123456789"),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "a key id that is not hex",
            bearer("plk_zzzzzzzzzzzz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "an unknown key id",
            bearer("plk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "a real id with another secret",
            bearer(&wrong_secret),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "the admin key with its last character changed",
            bearer(&wrong_last),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "a truncated key",
            bearer(&k.admin[..k.admin.len() - 1]),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "the spent bootstrap token",
            bearer(&k.bootstrap),
            UNAUTHORIZED,
            "bootstrap-spent",
        ),
    ];
    cases.push(Case {
        what: "the admin key in X-Api-Key",
        authorization: None,
        headers: vec![("x-api-key", k.admin.clone())],
        status: UNAUTHORIZED,
        slug: "unauthorized",
    });
    cases
}

/// The cases of one class of operation.
fn cases_for(class: Class, k: &Keys) -> Vec<Case> {
    let mut cases = credential_cases(k);
    let revoked = |scope: &str| bearer(&k.revoked[scope]);
    let rotated = |scope: &str| bearer(&k.rotated[scope]);
    match class {
        Class::Write => cases.extend([
            case("a read key", bearer(&k.read), FORBIDDEN, "wrong-scope"),
            case("an admin key", bearer(&k.admin), FORBIDDEN, "wrong-scope"),
            case(
                "an ingest key of another source",
                bearer(&k.ingest_b),
                FORBIDDEN,
                "wrong-source",
            ),
            case(
                "a revoked ingest key",
                revoked("ingest"),
                UNAUTHORIZED,
                "key-revoked",
            ),
            case(
                "a rotated-away ingest key",
                rotated("ingest"),
                UNAUTHORIZED,
                "key-expired",
            ),
        ]),
        Class::Admin => cases.extend([
            case(
                "an ingest key",
                bearer(&k.ingest_a),
                FORBIDDEN,
                "wrong-scope",
            ),
            case("a read key", bearer(&k.read), FORBIDDEN, "wrong-scope"),
            case(
                "a revoked admin key",
                revoked("admin"),
                UNAUTHORIZED,
                "key-revoked",
            ),
            case(
                "a rotated-away admin key",
                rotated("admin"),
                UNAUTHORIZED,
                "key-expired",
            ),
        ]),
        Class::Read => {
            // Any scope reads; only dead keys are refused.
            for scope in ["read", "ingest", "admin"] {
                cases.extend([
                    case("a revoked key", revoked(scope), UNAUTHORIZED, "key-revoked"),
                    case(
                        "a rotated-away key",
                        rotated(scope),
                        UNAUTHORIZED,
                        "key-expired",
                    ),
                ]);
            }
        }
        Class::Bootstrap => {
            // Only the bootstrap token itself counts here: every API key is an unknown token,
            // and the spent bootstrap token is answered 409 (it proves who calls; the answer
            // is that the one admin key it could make exists).
            cases.retain(|c| c.slug != "bootstrap-spent");
            for (what, t) in [
                ("the admin key", &k.admin),
                ("an ingest key", &k.ingest_a),
                ("a read key", &k.read),
            ] {
                cases.push(case(what, bearer(t), UNAUTHORIZED, "unknown-key"));
            }
            cases.push(case(
                "the spent bootstrap token",
                bearer(&k.bootstrap),
                StatusCode::CONFLICT,
                "conflict",
            ));
        }
        Class::Open => cases.clear(),
    }
    cases
}

/// Sends each case to each operation of `classes`; asserts the exact refusal and that the
/// database did not change. Returns the number of cases sent.
pub(crate) async fn sweep(
    http: &Http,
    db: &TestDb,
    ops: &[Op],
    classes: &[Class],
    keys: &Keys,
    tally: &mut BTreeMap<String, usize>,
) -> usize {
    let before = fingerprint(db).await;
    let mut sent = 0;
    for op in ops.iter().filter(|o| classes.contains(&o.class)) {
        for c in cases_for(op.class, keys) {
            let headers: Vec<(&str, &str)> =
                c.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = http
                .call(
                    &op.method,
                    &op.path,
                    c.authorization.as_deref(),
                    &headers,
                    &op.body,
                )
                .await;
            let what = format!("{} {} ({:?}) with {}", op.method, op.path, op.class, c.what);
            r.assert_problem(c.status, c.slug, &what);
            let after = fingerprint(db).await;
            assert_eq!(after, before, "{what} changed the database");
            sent += 1;
            *tally
                .entry(format!("{:?}", op.class).to_lowercase())
                .or_default() += 1;
        }
    }
    sent
}
