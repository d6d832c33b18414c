//! The worked examples of `docs/formats.md`, built here so the document cannot drift from the
//! code: every canonical JSON text and hash printed there is checked against what this code
//! computes. `cargo test -p provlog-core record::tests::examples -- --nocapture` prints them.

use ed25519_dalek::SigningKey;
use serde_json::json;

use super::*;

const DOC: &str = include_str!("../../../../../docs/formats.md");

pub(super) struct Example {
    name: &'static str,
    /// Files a reader creates: (file name, exact bytes).
    inputs: Vec<(String, Vec<u8>)>,
    record: Record,
}

fn signal_example() -> Example {
    let payload = json!({
        "asset": "ETH-USD",
        "signal": "buy",
        "confidence": 0.82,
        "horizon_hours": 24,
        "size_wei": "1500000000000000000000"
    });
    let (content, payload_bytes) = signal_content(&payload).unwrap();
    let mut record = Record {
        content,
        kind: Kind::Signal,
        metadata: object(json!({"model": "momentum-v3"})),
        origin: LogOrigin::new("log.example.com/ai-signals").unwrap(),
        parents: vec![],
        quality: vec![],
        received_at: ts("2025-03-14T09:26:53.589Z"),
        signature: None,
        source: SourceId::new("acme.eth-momentum").unwrap(),
        seq: None,
        prev: None,
        v: FormatVersion::V1,
    };
    let signature = record
        .statement()
        .sign_statement(
            &SigningKey::from_bytes(&[7; 32]),
            KeyId::new("acme-2025").unwrap(),
            Nonce::new("bm9uY2UtZXhhbXBsZS0x").unwrap(),
            1_741_944_412,
        )
        .unwrap();
    record.signature = Some(signature);
    Example {
        name: "signal",
        inputs: vec![("payload.json".into(), payload_bytes)],
        record,
    }
}

fn snapshot_example(parent: Hash) -> Example {
    let items = [
        json!({"token": "ETH", "grade": "A", "score": 0.91}),
        json!({"token": "SOL", "grade": "B", "score": 0.74}),
        json!({"token": "DOGE", "grade": "C", "score": 0.38}),
    ];
    let (content, canonical) = snapshot_content_json(&items).unwrap();
    let record = Record {
        content,
        kind: Kind::Snapshot,
        metadata: object(json!({"rubric": "grades-v2"})),
        origin: LogOrigin::new("log.example.com/ai-signals").unwrap(),
        parents: vec![parent],
        quality: vec![QualityCheck {
            check: "schema:token-grade.v2".into(),
            passed: true,
            detail: None,
        }],
        received_at: ts("2025-03-14T09:30:00.000Z"),
        signature: None,
        source: SourceId::new("acme.token-grades").unwrap(),
        seq: None,
        prev: None,
        v: FormatVersion::V1,
    };
    let inputs = canonical
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| (format!("item{i}.json"), bytes))
        .collect();
    Example {
        name: "snapshot",
        inputs,
        record,
    }
}

fn digest_example() -> Example {
    let file = b"id,text,label\n1,great product,pos\n2,awful service,neg\n".to_vec();
    let content = digest_content(
        ContentAlg::Sha256,
        Hash::sha256(&file),
        1,
        MediaType::new("text/csv").unwrap(),
    )
    .unwrap();
    let record = Record {
        content,
        kind: Kind::Digest,
        metadata: object(json!({"dataset": "sentiment-train", "rows": 2})),
        origin: LogOrigin::new("log.example.com/ai-signals").unwrap(),
        parents: vec![],
        quality: vec![],
        received_at: ts("2025-03-14T10:00:00.000Z"),
        signature: None,
        source: SourceId::new("acme.sentiment-data").unwrap(),
        seq: None,
        prev: None,
        v: FormatVersion::V1,
    };
    Example {
        name: "digest",
        inputs: vec![("train.csv".into(), file)],
        record,
    }
}

fn examples() -> Vec<Example> {
    let signal = signal_example();
    let parent = signal.record.leaf_hash().unwrap();
    vec![signal, snapshot_example(parent), digest_example()]
}

/// What the document must show for each example.
fn facts(e: &Example) -> Vec<String> {
    let bytes = e.record.to_canonical_bytes().unwrap();
    let mut facts = vec![
        String::from_utf8(bytes.clone()).unwrap(),
        e.record.leaf_hash().unwrap().to_hex(),
        e.record.content.root.to_hex(),
        e.record.content.root.to_base64(),
    ];
    for (_, input) in &e.inputs {
        if e.record.kind == Kind::Signal || e.record.kind == Kind::Snapshot {
            facts.push(String::from_utf8(input.clone()).unwrap());
            facts.push(leaf_hash(input).to_hex());
        }
    }
    if let Some(sig) = &e.record.signature {
        let statement = e
            .record
            .statement()
            .statement_bytes(&sig.key_id, &sig.nonce, sig.created)
            .unwrap();
        facts.push(String::from_utf8(statement).unwrap());
    }
    facts
}

#[test]
fn worked_examples_match_the_document() {
    let examples = examples();
    let mut missing = vec![];
    for e in &examples {
        // Each example is itself a valid, canonical, verifiable record.
        let bytes = e.record.to_canonical_bytes().unwrap();
        assert_eq!(Record::from_canonical_bytes(&bytes).unwrap(), e.record);
        assert_eq!(
            e.record.verify_source_signature().unwrap().is_some(),
            e.name == "signal"
        );
        println!("== {} ({} bytes)", e.name, bytes.len());
        for (file, input) in &e.inputs {
            println!("{file}: {}", String::from_utf8_lossy(input));
        }
        for fact in facts(e) {
            println!("{fact}");
            if !DOC.contains(&fact) {
                missing.push(fact);
            }
        }
    }
    assert!(missing.is_empty(), "docs/formats.md lacks {missing:#?}");
    // Pinned here too, so regenerating the document cannot hide a format change.
    let leaves: Vec<String> = examples
        .iter()
        .map(|e| e.record.leaf_hash().unwrap().to_hex())
        .collect();
    assert_eq!(
        leaves,
        [
            "af4ffc13ed0ec3d5fecf9b1a13894287bf8a2b8220389fdd6f011e831a567304",
            "df4243be7cf0984e3ca2bd8796b14cf9d54e04f8ef048f37c94d734d14d23428",
            "561b995ce648111427c3cb855123cb203fc95df05ac071e678b51c594c825e4d",
        ]
    );
}
