//! Trust and policy end to end, with the real binary: bootstrap, sources and keys through
//! `provlog keys` / `provlog sources`, a signed submission whose receipt `provlog verify receipt`
//! checks offline, rotation and revocation, the audit trail, `provlog verify payload` proving the
//! signing key from the log's registry records (and catching a key swapped in the database), and
//! no secret in the server's logs.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_client::{signal, Client, SourceSigner, Submission};
use provlog_e2e::{
    outcome, provlog, provlog_ok as run, verify_receipt, wait_for, Fixture, Server, TestDb,
};
use serde_json::{json, Value};

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

const SOURCE: &str = "e2e-oracle";

/// Bootstrap (once only), a source that requires signatures with a key of its own, and an
/// ingest key for it, all through the CLI. Returns the ingest key's id.
fn provision(fx: &Fixture, admin: &[&str]) -> String {
    let p = |name: &str| fx.path(name).to_str().unwrap().to_string();
    let (ingest_key, source_key) = (p("ingest.key"), p("source.sign"));
    run(&[
        &["sources"],
        admin,
        &[
            "create",
            SOURCE,
            "--name",
            "E2E oracle",
            "--require-signature",
        ],
    ]
    .concat());
    let public = run(&["sources", "keygen", "--out", &source_key])
        .trim()
        .to_string();
    // The CLI proves possession from the key file; the source then has the key keygen printed.
    let added: Value = serde_json::from_str(&run(&[
        &["sources"],
        admin,
        &[
            "add-key",
            SOURCE,
            "--key-id",
            "oracle-1",
            "--key-file",
            &source_key,
        ],
    ]
    .concat()))
    .unwrap();
    assert_eq!(added["keys"][0]["public_key"], public.as_str(), "{added}");
    let created: Value = serde_json::from_str(&run(&[
        &["keys"],
        admin,
        &[
            "create",
            "--scope",
            "ingest",
            "--source",
            SOURCE,
            "--token-out",
            &ingest_key,
        ],
    ]
    .concat()))
    .unwrap();
    assert!(
        created.get("token").is_none(),
        "the token went to the file: {created}"
    );
    created["key"]["id"].as_str().unwrap().to_string()
}

/// A signed submission, with ?wait=receipt, whose receipt `provlog verify receipt` checks;
/// unsigned, it is refused. Returns the signer and the ingest key's client that signs with it.
async fn submit_signed(fx: &Fixture, url: &str) -> (SourceSigner, Client) {
    let seed: [u8; 32] = BASE64_STANDARD
        .decode(read(fx.path("source.sign").as_path()))
        .unwrap()
        .try_into()
        .unwrap();
    let signer =
        SourceSigner::new(ed25519_dalek::SigningKey::from_bytes(&seed), "oracle-1").unwrap();
    let client = Client::new(url)
        .unwrap()
        .with_token(read(fx.path("ingest.key").as_path()));
    let mut record = signal(SOURCE, json!({"price": 101, "asset": "ETH"}));
    signer.sign_record(&mut record).unwrap();
    let unsigned = client.submit(&Submission::one(&record)).await.unwrap_err();
    assert!(
        unsigned
            .kind()
            .unwrap()
            .slug()
            .ends_with("signature-required"),
        "{unsigned}"
    );
    let signed_client = client.clone().with_signer(signer.clone());
    let ack = signed_client
        .submit(&Submission::one(&record).wait_for_receipts())
        .await
        .unwrap();
    assert_eq!(ack.receipt_status.as_deref(), Some("ready"), "{ack:?}");
    let receipt = client
        .receipt_json(ack.records[0].index, None, None)
        .await
        .unwrap();
    let receipt_file = fx.path("receipt.json");
    std::fs::write(&receipt_file, receipt).unwrap();
    let out = verify_receipt(fx, &receipt_file, &["--json"]);
    assert!(
        out.status.success(),
        "provlog verify receipt: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        verified["source_signature"]["key_id"], "oracle-1",
        "{verified}"
    );
    (signer, signed_client)
}

/// Rotation: the new key works, the old one within its overlap too; revoked, it does not.
/// Returns the successor's token.
async fn rotate_and_revoke(
    admin: &[&str],
    ingest_id: &str,
    signer: &SourceSigner,
    signed_client: &Client,
) -> String {
    let rotated: Value = serde_json::from_str(&run(&[
        &["keys"],
        admin,
        &["rotate", ingest_id, "--overlap-ms", "600000"],
    ]
    .concat()))
    .unwrap();
    let successor = rotated["token"].as_str().unwrap().to_string();
    let mut second = signal(SOURCE, json!({"price": 102, "asset": "ETH"}));
    signer.sign_record(&mut second).unwrap();
    signed_client
        .clone()
        .with_token(successor.clone())
        .submit(&Submission::one(&second))
        .await
        .unwrap();
    run(&[&["keys"], admin, &["revoke", ingest_id]].concat());
    let mut third = signal(SOURCE, json!({"price": 103, "asset": "ETH"}));
    signer.sign_record(&mut third).unwrap();
    let revoked = signed_client
        .submit(&Submission::one(&third))
        .await
        .unwrap_err();
    assert!(
        revoked.kind().unwrap().slug().ends_with("key-revoked"),
        "{revoked}"
    );
    successor
}

/// `provlog verify payload FILE --url … --key …` with extra arguments.
fn verify_payload(fx: &Fixture, url: &str, payload: &str, extra: &[&str]) -> (i32, String, String) {
    let file = fx.path("payload.json");
    std::fs::write(&file, payload).unwrap();
    let (file, vkey) = (file.to_str().unwrap(), fx.vkey_file.to_str().unwrap());
    let args = [
        &["verify", "payload", file, "--url", url, "--key", vkey],
        extra,
    ]
    .concat();
    outcome(&provlog(&args))
}

/// The signed payload of `submit_signed` verifies with its key proven by the registry record
/// that added it (leaf 1, after the source's registration at leaf 0). Then the operator swaps the
/// key in the database, behind the registry's back: the server accepts what the new key signs,
/// and `verify payload` refuses it, because the log registered another key under that id.
async fn check_payload_key_evidence(fx: &Fixture, url: &str, db: &TestDb, ingest: &str) {
    let (code, stdout, stderr) =
        verify_payload(fx, url, r#"{"asset": "ETH", "price": 101}"#, &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["signature"]["key_id"], "oracle-1", "{summary}");
    assert_eq!(summary["signature"]["registration_leaf"], 1, "{summary}");
    assert_eq!(summary["signature"]["proven_possession"], true, "{summary}");
    let (_, text, _) = verify_payload(fx, url, r#"{"asset": "ETH", "price": 101}"#, &[]);
    assert!(
        text.contains("it was e2e-oracle's: registered at leaf 1"),
        "{text}"
    );

    let swapped =
        SourceSigner::new(ed25519_dalek::SigningKey::from_bytes(&[66; 32]), "oracle-1").unwrap();
    let public = BASE64_STANDARD.decode(swapped.public_key_base64()).unwrap();
    sqlx::query("UPDATE source_keys SET public_key = $1 WHERE source = $2 AND key_id = 'oracle-1'")
        .bind(public)
        .bind(SOURCE)
        .execute(&mut db.connect().await)
        .await
        .unwrap();
    let client = Client::new(url)
        .unwrap()
        .with_token(ingest.to_string())
        .with_signer(swapped.clone());
    submit_when_accepted(&client, &swapped, r#"{"asset": "ETH", "price": 666}"#).await;
    let (code, _, stderr) = verify_payload(fx, url, r#"{"asset": "ETH", "price": 666}"#, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("registered for the source with another public key"),
        "{stderr}"
    );

    // A key the database has and the registry does not (inserted behind its back): it signs,
    // the server accepts, and verify payload finds no record registering it. Registered
    // through the API afterwards, its registry record comes after what it signed.
    let late =
        SourceSigner::new(ed25519_dalek::SigningKey::from_bytes(&[67; 32]), "late-1").unwrap();
    let late_key = BASE64_STANDARD.decode(late.public_key_base64()).unwrap();
    sqlx::query("INSERT INTO source_keys (source, key_id, public_key) VALUES ($1, 'late-1', $2)")
        .bind(SOURCE)
        .bind(&late_key)
        .execute(&mut db.connect().await)
        .await
        .unwrap();
    let late_client = Client::new(url)
        .unwrap()
        .with_token(ingest.to_string())
        .with_signer(late.clone());
    let p667 = r#"{"asset": "ETH", "price": 667}"#;
    submit_when_accepted(&late_client, &late, p667).await;
    let (code, _, stderr) = verify_payload(fx, url, p667, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no record registering it"), "{stderr}");
    sqlx::query("DELETE FROM source_keys WHERE key_id = 'late-1'")
        .execute(&mut db.connect().await)
        .await
        .unwrap();
    let admin = Client::new(url).unwrap().with_token(
        std::fs::read_to_string(fx.path("admin.key"))
            .unwrap()
            .trim(),
    );
    admin.add_signer(SOURCE, &late).await.unwrap();
    // Once a checkpoint covers the registration, the evidence shows it came after.
    refused_once_checkpointed(fx, url, p667, "after the record").await;

    // A key retired through the registry, then revived in the database: what it signs after
    // its retirement record fails.
    admin.retire_source_key(SOURCE, "late-1").await.unwrap();
    sqlx::query("UPDATE source_keys SET revoked_at = NULL WHERE key_id = 'late-1'")
        .execute(&mut db.connect().await)
        .await
        .unwrap();
    let p668 = r#"{"asset": "ETH", "price": 668}"#;
    submit_when_accepted(&late_client, &late, p668).await;
    refused_once_checkpointed(fx, url, p668, "before the record").await;
}

/// Submits `payload` signed by `signer` until the server accepts it (its trust cache may hold
/// the old key state for a moment) and a checkpoint covers it.
async fn submit_when_accepted(client: &Client, signer: &SourceSigner, payload: &str) {
    let payload: Value = serde_json::from_str(payload).unwrap();
    wait_for("the signed submission", Duration::from_secs(30), || {
        let (client, signer, payload) = (client.clone(), signer.clone(), payload.clone());
        async move {
            let mut record = signal(SOURCE, payload);
            signer.sign_record(&mut record).unwrap();
            let submission = Submission::one(&record).wait_for_receipts();
            client
                .submit(&submission)
                .await
                .ok()
                .filter(|a| a.receipt_status.as_deref() == Some("ready"))
        }
    })
    .await;
}

/// `verify payload` exits 1 with `reason`, once the checkpoints have caught up.
async fn refused_once_checkpointed(fx: &Fixture, url: &str, payload: &str, reason: &str) {
    let stderr = wait_for(reason, Duration::from_secs(30), || {
        let (code, _, stderr) = verify_payload(fx, url, payload, &[]);
        async move { (code == 1 && stderr.contains(reason)).then_some(stderr) }
    })
    .await;
    assert!(stderr.contains("source key"), "{stderr}");
}

#[tokio::test]
async fn keys_sources_signed_receipts_and_no_secret_in_the_logs() {
    let fx = Fixture::new("example.com/provlog/e2e-trust");
    let db = TestDb::create("trust").await;
    let server = Server::start(
        &fx,
        &db.url,
        &[
            ("PROVLOG_LOG", "debug"),
            ("PROVLOG_CHECKPOINT_INTERVAL_MS", "100"),
        ],
    );
    let url = server.url();
    let admin_key = fx.path("admin.key").to_str().unwrap().to_string();
    let bootstrap = fx.token_file.to_str().unwrap();
    let boot = [
        "keys",
        "--url",
        url.as_str(),
        "--token-file",
        bootstrap,
        "bootstrap",
    ];
    run(&[&boot[..], &["--token-out", admin_key.as_str()]].concat());
    let again = provlog(&boot);
    assert!(!again.status.success());
    let a = ["--url", url.as_str(), "--token-file", admin_key.as_str()];
    let ingest_id = provision(&fx, &a);
    let (signer, signed_client) = submit_signed(&fx, &url).await;
    let successor = rotate_and_revoke(&a, &ingest_id, &signer, &signed_client).await;
    check_payload_key_evidence(&fx, &url, &db, &successor).await;

    let listed = run(&[&["keys"], &a[..], &["list"]].concat());
    let audit: Value = serde_json::from_str(&run(&[&["audit"], &a[..]].concat())).unwrap();
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "key.created",
            "source.created",
            "source.key_added",
            "key.created",
            "key.rotated",
            "key.revoked",
            // From the key-evidence checks; their database edits leave no audit event, which
            // is why the registry is in the log.
            "source.key_added",
            "source.key_revoked"
        ]
    );

    let stderr = server.logs();
    assert!(server.terminate(Duration::from_secs(15)).success());
    // Every secret of this run, and nowhere in what the server logged (at debug level) nor in
    // what the listing printed.
    let logs = std::fs::read_to_string(fx.path("server.log")).unwrap() + &stderr;
    assert!(
        logs.contains("bootstrap admin key created"),
        "the log was captured"
    );
    let secrets = [
        fx.token.clone(),
        read(fx.path("admin.key").as_path()),
        read(fx.path("ingest.key").as_path()),
        successor,
        read(fx.path("source.sign").as_path()),
        read(fx.key_file.as_path()),
    ];
    for secret in &secrets {
        // plk_<id>_<secret>: the id is public, the part after it is not.
        let tail = if secret.starts_with("plk_") {
            &secret[17..]
        } else {
            secret.as_str()
        };
        assert!(tail.len() >= 16, "{tail}");
        assert!(!logs.contains(tail), "a secret is in the server's logs");
        assert!(!listed.contains(tail), "a secret is in `provlog keys list`");
    }
    db.drop_db().await;
}
