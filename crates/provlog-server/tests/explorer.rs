//! `/explorer` through the router (no socket) on both backends: every embedded file is served
//! with its content type and the strict headers, the scripts' imports all resolve to served
//! files, the page's configuration follows the server's, and the page stays reachable when
//! reads need a key.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{header, HeaderMap, StatusCode};
use common::{content_type, on_both_backends, setup};
use provlog_server::explorer::{ASSETS, CONTENT_SECURITY_POLICY};
use provlog_store::Store;
use serde_json::Value;

on_both_backends!(
    every_explorer_file_is_served_with_its_type_and_a_strict_policy,
    every_script_import_resolves_to_a_served_file,
    the_page_learns_the_block_explorer_link_and_read_policy,
);

fn assert_strict_headers(uri: &str, headers: &HeaderMap) {
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        CONTENT_SECURITY_POLICY,
        "{uri}"
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{uri}");
}

/// Whether `html` has an event-handler attribute (` onclick=`, ` onload=`, …).
fn has_inline_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    })
}

#[test]
fn inline_handlers_are_recognised() {
    assert!(has_inline_handler(r#"<body onload="x()">"#));
    assert!(!has_inline_handler("sent only to this server"));
}

async fn every_explorer_file_is_served_with_its_type_and_a_strict_policy(store: Store) {
    let api = setup(store, |_| {}).await;
    let on_disk = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("explorer");
    for &(name, content_type, _) in ASSETS {
        let uri = format!("/explorer/{name}");
        let (status, headers, body) = api.get_raw(&uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(headers[header::CONTENT_TYPE], content_type, "{uri}");
        assert_strict_headers(&uri, &headers);
        // What the binary serves is what is committed (dist/ for scripts, static/ otherwise).
        let dir = if name.ends_with(".js") {
            "dist"
        } else {
            "static"
        };
        assert_eq!(
            body,
            std::fs::read(on_disk.join(dir).join(name)).unwrap(),
            "{uri}"
        );
    }
    let types: Vec<&str> = ASSETS.iter().map(|a| a.1).collect();
    assert!(types.iter().any(|t| t.starts_with("text/html")));
    assert!(types.iter().any(|t| t.starts_with("text/css")));
    assert!(types.iter().any(|t| t.starts_with("text/javascript")));

    for uri in ["/explorer", "/explorer/"] {
        let (status, headers, body) = api.get_raw(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(content_type(&headers).starts_with("text/html"));
        assert_strict_headers(uri, &headers);
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains(r#"<script type="module" src="/explorer/app.js">"#));
        // The CSP allows no inline code: the page must not need any.
        assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains("style="));
        assert!(!has_inline_handler(&html), "an on…= attribute in the page");
    }
    let (status, headers, _) = api.get_raw("/explorer/nope.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(content_type(&headers).starts_with("application/problem+json"));
}

/// Each module the page loads imports only files the server has, so no script 404s at run time.
async fn every_script_import_resolves_to_a_served_file(store: Store) {
    let api = setup(store, |_| {}).await;
    let mut imports = 0;
    for &(name, _, body) in ASSETS.iter().filter(|a| a.0.ends_with(".js")) {
        let text = std::str::from_utf8(body).unwrap();
        for line in text.lines().filter(|l| l.starts_with("import ")) {
            let target = line
                .split(['"', '\''])
                .nth(1)
                .unwrap_or_else(|| panic!("{name}: {line}"));
            let file = target
                .strip_prefix("./")
                .unwrap_or_else(|| panic!("{name} imports {target}"));
            let (status, _, _) = api.get_raw(&format!("/explorer/{file}")).await;
            assert_eq!(status, StatusCode::OK, "{name} imports {target}");
            imports += 1;
        }
    }
    assert!(imports >= 3, "{imports}");
}

async fn the_page_learns_the_block_explorer_link_and_read_policy(store: Store) {
    let api = setup(store.clone(), |_| {}).await;
    let (status, headers, body) = api.get_raw("/explorer/config.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"explorer_tx_url": null, "public_reads": true})
    );

    let api = setup(store, |c| {
        c.explorer_tx_url = Some("https://etherscan.io/tx/{tx}".into());
        c.public_reads = false;
    })
    .await;
    let (_, _, body) = api.get_raw("/explorer/config.json").await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["explorer_tx_url"], "https://etherscan.io/tx/{tx}");
    assert_eq!(v["public_reads"], false);
    // Reads need a key, but the page itself loads (and then asks for one).
    let (status, _, _) = api.get_raw("/v1/log").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for uri in ["/explorer", "/explorer/", "/explorer/app.js"] {
        let (status, _, _) = api.get_raw(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
}
