//! Track records through the router on both backends: every record carries its source's chain,
//! `GET /v1/sources/{id}/track-record` serves windows that verify offline and show themselves
//! complete, ending at a `close` record when they reach the present, and bad windows are
//! refused.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{expect_problem, on_both_backends, setup, Api};
use ed25519_dalek::SigningKey;
use provlog_client::SourceSigner;
use provlog_core::record::{FormatVersion, Kind, Record};
use provlog_core::track_record::{verify_track_record, TrackRecord, VerifiedTrackRecord};
use provlog_store::Store;
use serde_json::json;

on_both_backends!(
    records_chain_per_source_and_windows_verify_complete,
    a_quiet_source_shares_one_close_record,
    bad_windows_are_refused,
    reveals_open_their_commitments_in_time_or_are_refused,
    outcomes_score_a_source_by_its_declared_spec,
);

/// `GET` `uri`, settling the log (as the leader would) until the answer comes: a window that
/// reaches the present waits for a checkpoint over its close record.
async fn get_settled(api: &Api, uri: &str) -> (StatusCode, serde_json::Value) {
    let request = api.get(uri);
    let settle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            api.settle().await;
        }
    };
    tokio::select! {
        answer = request => answer,
        _ = settle => unreachable!(),
    }
}

/// `GET` the track record at `query` ([`get_settled`]).
async fn track(api: &Api, source: &str, query: &str) -> TrackRecord {
    let uri = format!("/v1/sources/{source}/track-record{query}");
    let (s, v) = get_settled(api, &uri).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    serde_json::from_value(v).unwrap()
}

fn verified(api: &Api, bundle: &TrackRecord) -> VerifiedTrackRecord {
    verify_track_record(bundle, &api.state.trusted)
        .unwrap_or_else(|e| panic!("{e}: {}", bundle.to_json_pretty()))
}

/// Writes `n` signals of `source` (every other one signed by `signer`, if any); their indexes.
async fn signals(
    api: &Api,
    token: &str,
    source: &str,
    n: u64,
    signer: Option<&SourceSigner>,
) -> Vec<u64> {
    let mut indexes = vec![];
    for i in 0..n {
        let mut record = json!({"kind": "signal", "source": source,
            "payload": {"token": "BTC", "signal": i % 3}});
        if let Some(signer) = signer.filter(|_| i % 2 == 0) {
            signer.sign_record(&mut record).unwrap();
        }
        let (s, v) = api.write(token, &record).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        indexes.push(v["records"][0]["index"].as_u64().unwrap());
    }
    indexes
}

async fn records_chain_per_source_and_windows_verify_complete(store: Store) {
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    let k1 = SourceSigner::new(SigningKey::from_bytes(&[61; 32]), "k1").unwrap();
    for id in ["alpha", "beta"] {
        api.source(&admin, json!({"id": id, "display_name": id}))
            .await;
    }
    api.add_source_key(&admin, "alpha", &k1).await;
    let (_, alpha_token) = api.create_key(&admin, "ingest", Some("alpha")).await;
    let (_, beta_token) = api.create_key(&admin, "ingest", Some("beta")).await;
    // Interleaved: alpha, beta, alpha, ...
    let mut alpha = vec![];
    for _ in 0..4 {
        alpha.extend(signals(&api, &alpha_token, "alpha", 2, Some(&k1)).await);
        signals(&api, &beta_token, "beta", 1, None).await;
    }
    api.settle().await;

    // Every stored record is v2, numbered densely per source with prev links.
    let size = api.records().await;
    let mut heads = std::collections::HashMap::new();
    for index in 0..size {
        let stored = api.state.store.record(index).await.unwrap().unwrap();
        let r = Record::from_canonical_bytes(&stored.leaf).unwrap();
        assert_eq!(r.v, FormatVersion::V2);
        let head: Option<&(u64, provlog_core::Hash)> = heads.get(r.source.as_str());
        assert_eq!(r.seq, Some(head.map_or(0, |h| h.0 + 1)), "record {index}");
        assert_eq!(r.prev, head.map(|h| h.1), "record {index}");
        heads.insert(r.source.to_string(), (r.seq.unwrap(), stored.leaf_hash));
    }

    // The whole history: registration, key, eight signals, closed now.
    let all = track(&api, "alpha", "").await;
    assert_eq!(all.records.len(), 10);
    assert!(all.before.is_none());
    let v = verified(&api, &all);
    assert!(v.closed);
    assert_eq!(v.records.last().unwrap().leaf_index, *alpha.last().unwrap());
    assert_eq!(v.records.iter().filter(|e| e.key.is_some()).count(), 4);
    assert_eq!(all.evidence.keys().collect::<Vec<_>>(), ["k1"]);
    let close = Record::from_canonical_bytes(all.after.record.as_bytes()).unwrap();
    assert_eq!((close.kind, close.seq), (Kind::Close, Some(10)));

    // By sequence numbers, inside the history: the record after is the next signal.
    let part = track(&api, "alpha", "?from_seq=3&to_seq=6").await;
    let v = verified(&api, &part);
    assert_eq!(
        v.records.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [3, 4, 5, 6]
    );
    assert_eq!(part.after.leaf_index, alpha[5]);
    assert!(!v.closed);

    // By time: from the third signal's time on, until a time still to come (left open).
    let third = api.state.store.record(alpha[2]).await.unwrap().unwrap();
    let since = provlog_core::record::Timestamp::from_unix_millis(third.received_ms).unwrap();
    let query = format!("?since={since}&until=2999-01-01T00:00:00.000Z");
    let late = track(&api, "alpha", &query).await;
    assert_eq!(
        late.window.until, None,
        "a future until leaves the window open"
    );
    let v = verified(&api, &late);
    assert_eq!(v.records.first().unwrap().leaf_index, alpha[2]);
    assert!(v.closed);

    // A window of another source does not see alpha's records.
    let beta = track(&api, "beta", "").await;
    let v = verified(&api, &beta);
    assert_eq!(v.records.len(), 5, "registration and four signals");
    assert!(v.records.iter().all(|e| e.record.source.as_str() == "beta"));
}

async fn a_quiet_source_shares_one_close_record(store: Store) {
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    api.source(&admin, json!({"id": "quiet", "display_name": "Quiet"}))
        .await;
    let first = track(&api, "quiet", "").await;
    let second = track(&api, "quiet", "").await;
    assert_eq!(
        first.after.leaf_index, second.after.leaf_index,
        "the recent close is reused"
    );
    assert_eq!(
        second.records.len(),
        1,
        "the registration; the close ends the window"
    );
    verified(&api, &second);
    let size = api.records().await;
    assert_eq!(size, 2, "one registration, one close record");
}

async fn bad_windows_are_refused(store: Store) {
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    api.source(&admin, json!({"id": "oracle", "display_name": "Oracle"}))
        .await;
    for (query, status, problem) in [
        ("/v1/sources/nobody/track-record", StatusCode::NOT_FOUND, "not-found"),
        ("/v1/sources/Not%20an%20id/track-record", StatusCode::BAD_REQUEST, "bad-request"),
        (
            "/v1/sources/oracle/track-record?since=2026-01-02T00:00:00.000Z&until=2026-01-01T00:00:00.000Z",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        ("/v1/sources/oracle/track-record?from_seq=5&to_seq=2", StatusCode::BAD_REQUEST, "bad-request"),
        ("/v1/sources/oracle/track-record?since=yesterday", StatusCode::BAD_REQUEST, "bad-request"),
        ("/v1/sources/oracle/track-record?from_seq=-1", StatusCode::BAD_REQUEST, "bad-request"),
        ("/v1/sources/oracle/track-record?from_seq=5", StatusCode::BAD_REQUEST, "bad-request"),
        ("/v1/sources/oracle/track-record?since=2999-01-01T00:00:00.000Z", StatusCode::BAD_REQUEST, "bad-request"),
    ] {
        expect_problem(api.get(query).await, status, problem);
    }
    assert_eq!(api.records().await, 1, "refused windows write nothing");
}

async fn reveals_open_their_commitments_in_time_or_are_refused(store: Store) {
    use provlog_core::commitment::{Commitment, Reveal};
    use provlog_core::record::Timestamp;
    use provlog_core::track_record::CommitmentStatus;
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    for id in ["oracle", "other"] {
        api.source(&admin, json!({"id": id, "display_name": id}))
            .await;
    }
    let (_, oracle) = api.create_key(&admin, "ingest", Some("oracle")).await;
    let (_, other) = api.create_key(&admin, "ingest", Some("other")).await;
    let now = || {
        Timestamp::from_unix_millis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
        )
        .unwrap()
    };
    let later = |ms: i64| Timestamp::from_unix_millis(now().unix_millis() + ms).unwrap();
    let payload = json!({"token": "BTC", "signal": 1});
    let salt = [9u8; 32];
    // Returns the commitment's leaf hash.
    let commit = |token: String, source: &'static str, after: Option<Timestamp>, by: Timestamp| {
        let api = &api;
        let payload = payload.clone();
        async move {
            let c = Commitment::new(&salt, &payload, after, by).unwrap();
            let body = json!({"kind": "commitment", "source": source, "commitment": c});
            let (s, v) = api.write(&token, &body).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["records"][0]["leaf_hash"].as_str().unwrap().to_string()
        }
    };
    let reveal_body = |parent: &str, salt: [u8; 32], payload: serde_json::Value| {
        json!({"kind": "reveal", "source": "oracle", "parents": [parent],
            "reveal": Reveal::new(&salt, payload)})
    };

    let open = commit(oracle.clone(), "oracle", None, later(60_000)).await;
    let not_yet = commit(
        oracle.clone(),
        "oracle",
        Some(later(60_000)),
        later(120_000),
    )
    .await;
    let theirs = commit(other.clone(), "other", None, later(60_000)).await;
    let soon = commit(oracle.clone(), "oracle", None, later(300)).await;
    let unrevealed = commit(oracle.clone(), "oracle", None, later(300)).await;
    let _ = unrevealed;
    let size = api.records().await;

    let refused = [
        (
            reveal_body(&open, [8; 32], payload.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reveal-does-not-open",
        ),
        (
            reveal_body(&open, salt, json!({"token": "BTC", "signal": -1})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reveal-does-not-open",
        ),
        (
            reveal_body(&not_yet, salt, payload.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reveal-outside-window",
        ),
        (
            reveal_body(&theirs, salt, payload.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not-a-commitment",
        ),
    ];
    for (body, status, problem) in refused {
        expect_problem(api.write(&oracle, &body).await, status, problem);
    }
    // The parent must be the commitment alone, and a record of the log.
    let mut two = reveal_body(&open, salt, payload.clone());
    two["parents"] = json!([open, theirs]);
    expect_problem(
        api.write(&oracle, &two).await,
        StatusCode::BAD_REQUEST,
        "invalid-record",
    );
    let (s, v) = api
        .write(&oracle, &reveal_body(&open, salt, payload.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    expect_problem(
        api.write(&oracle, &reveal_body(&open, salt, payload.clone()))
            .await,
        StatusCode::CONFLICT,
        "already-revealed",
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    expect_problem(
        api.write(&oracle, &reveal_body(&soon, salt, payload.clone()))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reveal-outside-window",
    );
    assert_eq!(
        api.records().await,
        size + 1,
        "refused reveals store nothing"
    );

    // The track record: the revealed one with its payload, two expired, one pending.
    let bundle = track(&api, "oracle", "").await;
    let v = verified(&api, &bundle);
    let states: Vec<&str> = v.commitments.iter().map(|c| c.status.name()).collect();
    assert_eq!(
        states,
        [
            "revealed",
            "pending",
            "expired_unrevealed",
            "expired_unrevealed"
        ]
    );
    match &v.commitments[0].status {
        CommitmentStatus::Revealed { payload: p, .. } => assert_eq!(p, &payload),
        other => panic!("{other:?}"),
    }
    // A window starting at the reveal carries the commitment it opens.
    let part = track(&api, "oracle", "?from_seq=5").await;
    assert_eq!(part.commitments.len(), 1);
    verified(&api, &part);
}

async fn outcomes_score_a_source_by_its_declared_spec(store: Store) {
    use provlog_core::score::score;
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    for id in ["oracle", "prices", "plain"] {
        api.source(&admin, json!({"id": id, "display_name": id}))
            .await;
    }
    let (_, oracle) = api.create_key(&admin, "ingest", Some("oracle")).await;
    let (_, prices) = api.create_key(&admin, "ingest", Some("prices")).await;
    let spec = json!({"kind": "signals", "value": "/signal", "outcome": "/return",
        "outcome_source": "prices", "horizon_s": 1});
    let declare = |id: &str, spec: &serde_json::Value| {
        let uri = format!("/v1/admin/sources/{id}/scoring");
        let (api, admin, spec) = (&api, admin.clone(), spec.clone());
        async move { api.send("PUT", &uri, Some(&admin), Some(&spec)).await }
    };
    // Bad specs, unknown sources and outcome sources are refused, writing nothing.
    let size = api.records().await;
    let mut no_horizon = spec.clone();
    no_horizon["horizon_s"] = json!(0);
    let mut extra = spec.clone();
    extra["weight"] = json!(2);
    let mut nowhere = spec.clone();
    nowhere["outcome_source"] = json!("nobody");
    for (id, body, status, problem) in [
        (
            "oracle",
            &no_horizon,
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        ("oracle", &extra, StatusCode::BAD_REQUEST, "bad-request"),
        ("nobody", &spec, StatusCode::NOT_FOUND, "not-found"),
        ("oracle", &nowhere, StatusCode::CONFLICT, "conflict"),
    ] {
        expect_problem(declare(id, body).await, status, problem);
    }
    assert_eq!(
        api.records().await,
        size,
        "refused declarations log nothing"
    );
    let (s, v) = declare("oracle", &spec).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["scoring"], spec);
    // Final: the rules cannot be changed after the outcomes are seen.
    expect_problem(
        declare("oracle", &spec).await,
        StatusCode::CONFLICT,
        "conflict",
    );

    let mut leaves = vec![];
    for signal in [1, -1, 0, 1] {
        let body = json!({"kind": "signal", "source": "oracle",
            "payload": {"token": "BTC", "signal": signal}});
        let (s, v) = api.write(&oracle, &body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        leaves.push(v["records"][0]["leaf_hash"].as_str().unwrap().to_string());
    }
    let outcome = |of: &str, r: f64| json!({"kind": "outcome", "source": "prices", "parents": [of], "payload": {"return": r}});
    // An outcome names exactly one parent, a record of the log.
    let mut orphan = outcome(&leaves[0], 0.1);
    orphan["parents"] = json!([]);
    expect_problem(
        api.write(&prices, &orphan).await,
        StatusCode::BAD_REQUEST,
        "invalid-record",
    );
    let mut two = outcome(&leaves[0], 0.1);
    two["parents"] = json!([leaves[0], leaves[1]]);
    expect_problem(
        api.write(&prices, &two).await,
        StatusCode::BAD_REQUEST,
        "invalid-record",
    );
    // Too early for the horizon: it cannot count.
    let (s, v) = api.write(&prices, &outcome(&leaves[3], 0.5)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for (leaf, r) in [(0, 0.02), (1, 0.01), (2, -0.03)] {
        let (s, v) = api.write(&prices, &outcome(&leaves[leaf], r)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }

    let bundle = track(&api, "oracle", "").await;
    assert!(bundle.scoring.is_some() && bundle.outcomes.is_some());
    assert_eq!(bundle.outcomes.as_ref().unwrap().source.as_str(), "prices");
    let ours = score(&verified(&api, &bundle)).unwrap();
    assert_eq!((ours.records, ours.scored, ours.unresolved), (4, 3, 1));
    let m = ours.signals.clone().unwrap();
    assert_eq!((m.hits, m.misses, m.flat), (1, 1, 1));
    assert_eq!(m.hit_rate, Some(0.5));
    assert!((m.cumulative_return - (1.02 * 0.99 - 1.0)).abs() < 1e-12);
    assert!((m.mean_return.unwrap() - 0.005).abs() < 1e-12);

    // The server's score is the same function of the same bundle.
    let (s, served) = get_settled(&api, "/v1/sources/oracle/score").await;
    assert_eq!(s, StatusCode::OK, "{served}");
    let ours = serde_json::to_value(&ours).unwrap();
    for key in [
        "records",
        "scored",
        "unresolved",
        "signals",
        "scores",
        "spec_sha256",
    ] {
        assert_eq!(served[key], ours[key], "{key}");
    }
    // Without a declaration there is no score.
    let (_, plain) = api.create_key(&admin, "ingest", Some("plain")).await;
    signals(&api, &plain, "plain", 1, None).await;
    let (s, v) = get_settled(&api, "/v1/sources/plain/score").await;
    expect_problem((s, v), StatusCode::NOT_FOUND, "not-found");
}
