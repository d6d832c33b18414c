//! No secret in the database or the logs: a full session at trace level, with secrets in the
//! wrong places and starts that must fail, then `pg_dump` and the logs searched for every
//! secret in every encoding.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::SigningKey;
use provlog_chain::anvil::{dev_key, Anvil, AnvilOptions, CHAIN_ID};
use provlog_client::{signal, SourceSigner};
use provlog_e2e::security::{env_or, full_run, Body, Http, Secret};
use provlog_e2e::{wait_for, write_private, Fixture, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::replay::{send_signed, sign};
use crate::{
    add_source_key, admin_post, bootstrap, create_key, create_source, get, random_bytes, summary,
    token, unix_now,
};

fn run_ok(args: &[&str]) -> String {
    let out = provlog_e2e::provlog(args);
    assert!(
        out.status.success(),
        "provlog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A PostgreSQL role with a password, owning the test database (the shared server trusts
/// every connection, so the password is only there to be leaked or not).
struct PasswordRole {
    name: String,
    password: String,
    admin_url: String,
}

impl PasswordRole {
    async fn create(db: &TestDb) -> PasswordRole {
        use sqlx::Connection as _;
        let admin_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!(
            "provlog_e2e_sec_{}_{}",
            std::process::id(),
            hex::encode(random_bytes::<4>())
        );
        let password = format!("dbpw-{}", hex::encode(random_bytes::<12>()));
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        for sql in [
            format!("CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'"),
            format!("ALTER DATABASE \"{}\" OWNER TO \"{name}\"", db.name),
        ] {
            sqlx::query(&sql).execute(&mut conn).await.unwrap();
        }
        let _ = conn.close().await;
        PasswordRole {
            name,
            password,
            admin_url,
        }
    }

    /// `db`'s URL as this role, with its password.
    fn url(&self, db: &TestDb) -> String {
        let rest = db.url.split_once("://").unwrap().1;
        let host_and_db = rest.split_once('@').map_or(rest, |(_, h)| h);
        format!("postgres://{}:{}@{host_and_db}", self.name, self.password)
    }

    async fn drop_role(self) {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        let _ = sqlx::query(&format!("DROP ROLE IF EXISTS \"{}\"", self.name))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

/// Which secrets appear in `text`: (secret, form found).
fn leaks<'a>(secrets: &'a [Secret], text: &str) -> Vec<(&'a str, &'a str)> {
    secrets
        .iter()
        .filter_map(|s| s.found_in(text).map(|f| (s.name.as_str(), f)))
        .collect()
}

/// What the server anchors with: a contract on anvil, the anchorer's key file, and an RPC URL
/// with a password and a query key (hosted RPC endpoints carry API keys in the URL).
struct Chain {
    node: Anvil,
    anchorer_key: PathBuf,
    contract: String,
    chain_id: String,
    rpc_url: String,
    rpc_password: String,
    rpc_query_key: String,
}

impl Chain {
    async fn deploy(fx: &Fixture) -> Chain {
        let node = Anvil::start(AnvilOptions::default())
            .await
            .expect("anvil starts (npm ci in contracts/ installs it)");
        let anchorer_key = fx.path("anchorer.key");
        let out = anchorer_key.to_str().unwrap();
        let anchorer = run_ok(&["keygen", "--anchorer", "--out", out])
            .trim()
            .to_string();
        node.rpc("anvil_setBalance", json!([anchorer, "0x8ac7230489e80000"]))
            .await
            .unwrap();
        let deployer_key = fx.path("deployer.key");
        std::fs::write(&deployer_key, dev_key(0).to_hex().as_str()).unwrap();
        let chain_id = CHAIN_ID.to_string();
        let contract = run_ok(&[
            "contracts",
            "deploy",
            "--rpc-url",
            &node.url(),
            "--chain-id",
            &chain_id,
            "--key-file",
            deployer_key.to_str().unwrap(),
            "--anchorer",
            &anchorer,
        ])
        .trim()
        .to_string();
        let rpc_password = format!("rpcpw-{}", hex::encode(random_bytes::<12>()));
        let rpc_query_key = format!("rpckey-{}", hex::encode(random_bytes::<12>()));
        let rpc_url = format!(
            "http://rpcuser:{rpc_password}@127.0.0.1:{}/?apikey={rpc_query_key}",
            node.port()
        );
        Chain {
            node,
            anchorer_key,
            contract,
            chain_id,
            rpc_url,
            rpc_password,
            rpc_query_key,
        }
    }

    /// The server's settings: trace logs, the pepper, anchoring every checkpoint over `rpc_url`.
    fn env<'a>(&'a self, pepper_file: &'a Path, rpc_url: &'a str) -> [(&'static str, &'a str); 10] {
        [
            ("PROVLOG_LOG", "trace"),
            ("PROVLOG_API_KEY_PEPPER_FILE", pepper_file.to_str().unwrap()),
            ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200"),
            ("PROVLOG_ANCHOR_RPC_URL", rpc_url),
            ("PROVLOG_ANCHOR_CHAIN_ID", self.chain_id.as_str()),
            ("PROVLOG_ANCHOR_CONTRACT", self.contract.as_str()),
            (
                "PROVLOG_ANCHOR_KEY_FILE",
                self.anchorer_key.to_str().unwrap(),
            ),
            ("PROVLOG_ANCHOR_CONFIRMATIONS", "1"),
            ("PROVLOG_ANCHOR_EVERY_MS", "0"),
            ("PROVLOG_ANCHOR_POLL_MS", "100"),
        ]
    }
}

/// The session's API keys and its source's signing seed.
struct Keys {
    admin: String,
    admin2: String,
    admin2_id: String,
    ingest: String,
    ingest_id: String,
    successor: String,
    read: String,
    seed: [u8; 32],
}

/// The session: bootstrap, sources, keys, rotation, revocation, signed ingest.
async fn session(http: &Http, fx: &Fixture, base: &str, signed_records: u64) -> Keys {
    let admin = bootstrap(http, fx).await;
    create_source(
        http,
        &admin,
        json!({"id": "secret-src", "display_name": "S", "require_signature": true}),
    )
    .await;
    let seed: [u8; 32] = random_bytes();
    let signer = SourceSigner::new(SigningKey::from_bytes(&seed), "sk1").unwrap();
    add_source_key(http, &admin, "secret-src", &signer).await;
    let (ingest_id, ingest) = create_key(http, &admin, "ingest", Some("secret-src"), "i").await;
    let (_, read) = create_key(http, &admin, "read", None, "r").await;
    let (admin2_id, admin2) = create_key(http, &admin, "admin", None, "a2").await;
    let rotated = admin_post(
        http,
        &admin,
        &format!("/v1/admin/keys/{ingest_id}/rotate"),
        Body::Json(json!({"overlap_ms": 60_000})),
    )
    .await;
    let (_, successor) = token(&rotated);
    let revoke = format!("/v1/admin/keys/{admin2_id}/revoke");
    let r = admin_post(http, &admin2, &revoke, Body::None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for i in 0..signed_records {
        let key = if i % 2 == 0 { &ingest } else { &successor };
        let record = signal("secret-src", json!({"i": i}));
        let s = sign(&signer, base, "/v1/records", record, unix_now());
        let r = send_signed(http, "/v1/records", key, &s, None, &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    Keys {
        admin,
        admin2,
        admin2_id,
        ingest,
        ingest_id,
        successor,
        read,
        seed,
    }
}

/// A request: method, path, headers, body.
type Attempt = (Method, String, Vec<(&'static str, String)>, Body);

/// Failed attempts with real secrets in the wrong places (and a guessed admin key, returned
/// first).
fn wrong_places(fx: &Fixture, k: &Keys, pepper: &str) -> (String, Vec<Attempt>) {
    let guessed = format!(
        "{}{}",
        &k.admin[..17],
        BASE64_STANDARD
            .encode(random_bytes::<32>())
            .replace(['+', '/', '='], "x")
    );
    let auth = |value: String| vec![("authorization", value)];
    let keys = |headers| {
        (
            Method::GET,
            "/v1/admin/keys".to_string(),
            headers,
            Body::None,
        )
    };
    let post = |path: String, headers, n| {
        let body = Body::Json(signal("secret-src", json!(n)));
        (Method::POST, path, headers, body)
    };
    let basic = BASE64_STANDARD.encode(format!("u:{}", k.admin));
    let attempts: Vec<Attempt> = vec![
        keys(auth(format!("Bearer {}", k.admin2))),
        keys(auth(format!("Bearer {}", fx.token))),
        (
            Method::POST,
            "/v1/admin/bootstrap".into(),
            auth(format!("Bearer {}", k.admin)),
            Body::None,
        ),
        keys(auth(format!("Bearer {guessed}"))),
        keys(vec![("x-api-key", k.admin.clone())]),
        keys(auth(format!("Basic {basic}"))),
        keys(auth(format!("Token {pepper}"))),
        (
            Method::GET,
            format!("/v1/admin/keys?token={}", k.admin),
            vec![],
            Body::None,
        ),
        post(format!("/v1/records?api_key={}", k.ingest), vec![], 1),
        post("/v1/records".into(), auth(format!("Bearer {}", k.read)), 1),
        post(
            "/v1/records".into(),
            auth(format!("Bearer {}", k.ingest)),
            2,
        ),
    ];
    (guessed, attempts)
}

/// Each attempt is refused with a problem.
async fn assert_refused(http: &Http, attempts: &[Attempt]) {
    for (method, path, headers, body) in attempts {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = http.call(method, path, None, &h, body).await;
        assert!(
            r.status.is_client_error(),
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
        assert_eq!(
            r.headers.get("content-type").unwrap(),
            "application/problem+json",
            "{method} {path}"
        );
    }
}

/// Error messages: a database that does not exist, and a port nobody listens on, both with
/// the password in the URL; an RPC endpoint nobody listens on with its keys in the URL.
/// Returns what the starts said, and how many of them failed.
async fn refused_starts(
    fx: &Fixture,
    db: &TestDb,
    db_url: &str,
    chain: &Chain,
    pepper_file: &Path,
) -> (String, usize) {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut errors = String::new();
    let no_db = db_url.replace(&db.name, "provlog_e2e_no_such_database");
    let no_port = db_url.replace(":5432/", &format!(":{closed}/"));
    let no_rpc = chain
        .rpc_url
        .replace(&chain.node.port().to_string(), &closed.to_string());
    let acquire = vec![("PROVLOG_DATABASE_ACQUIRE_TIMEOUT_MS", "1000")];
    let starts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (no_db.as_str(), acquire.clone()),
        (no_port.as_str(), acquire),
        (db_url, chain.env(pepper_file, &no_rpc).to_vec()),
    ];
    let mut failed_starts = 0;
    for (url, env) in &starts {
        match Server::try_start(fx, url, env) {
            Err(e) => {
                failed_starts += 1;
                errors.push_str(&e);
            }
            Ok(s) => {
                // It may start and retry in the background: what it logs counts.
                tokio::time::sleep(Duration::from_secs(2)).await;
                errors.push_str(&s.logs());
                drop(s);
            }
        }
    }
    assert!(
        failed_starts >= 2,
        "the database URLs that cannot work were refused:\n{errors}"
    );
    assert!(errors.contains("database"), "{errors}");
    (errors, failed_starts)
}

/// The database, dumped whole.
fn pg_dump(db: &TestDb) -> String {
    let dump = std::process::Command::new("pg_dump")
        .args(["--data-only", "--no-owner", "--dbname", &db.url])
        .output()
        .expect("running pg_dump");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    String::from_utf8(dump.stdout).unwrap()
}

/// Every secret of the session.
fn secrets(
    fx: &Fixture,
    k: &Keys,
    guessed: &str,
    pepper: &str,
    chain: &Chain,
    role: &PasswordRole,
) -> Vec<Secret> {
    let signing_text = std::fs::read_to_string(&fx.key_file)
        .unwrap()
        .trim()
        .to_string();
    let signing_raw = BASE64_STANDARD
        .decode(signing_text.splitn(5, '+').nth(4).unwrap())
        .unwrap();
    let anchor_text = std::fs::read_to_string(&chain.anchorer_key)
        .unwrap()
        .trim()
        .to_string();
    let anchor_raw = hex::decode(anchor_text.trim_start_matches("0x")).unwrap();
    assert_eq!(anchor_raw.len(), 32);
    vec![
        Secret::text("the bootstrap token", &fx.token),
        Secret::api_key("the admin key", &k.admin),
        Secret::api_key("the revoked admin key", &k.admin2),
        Secret::api_key("the rotated ingest key", &k.ingest),
        Secret::api_key("its successor", &k.successor),
        Secret::api_key("the read key", &k.read),
        Secret::api_key("a guessed key", guessed),
        Secret::text("the pepper", pepper),
        Secret::text("the checkpoint signing key file", &signing_text),
        Secret::bytes(
            "the checkpoint signing key",
            &signing_raw[signing_raw.len() - 32..],
        ),
        Secret::bytes("the source signing key", &k.seed),
        Secret::text("the anchorer key file", &anchor_text),
        Secret::bytes("the anchorer key", &anchor_raw),
        Secret::text("the database password", &role.password),
        Secret::text("the RPC password", &chain.rpc_password),
        Secret::text("the RPC API key", &chain.rpc_query_key),
    ]
}

/// None of `secrets` is in the dump or the logs; controls: the searches find what is there
/// (public ids, the source's public key as the dump's bytea hex, the log level honoured).
fn assert_no_leaks(secrets: &[Secret], k: &Keys, dump: &str, logs: &str) {
    assert!(
        dump.contains(&k.ingest_id) && dump.contains(&k.admin2_id),
        "the dump holds the keys' rows"
    );
    let public = SigningKey::from_bytes(&k.seed).verifying_key().to_bytes();
    assert!(
        Secret::bytes("the source public key", &public)
            .found_in(dump)
            .is_some(),
        "bytea is searched"
    );
    assert!(
        logs.contains("bootstrap admin key created"),
        "the log was captured"
    );
    assert!(
        logs.contains("\"level\":\"TRACE\""),
        "the log is at trace level"
    );
    let in_dump = leaks(secrets, dump);
    let in_logs = leaks(secrets, logs);
    assert!(
        in_dump.is_empty(),
        "secrets in the database dump: {in_dump:?}"
    );
    let context: Vec<&str> = in_logs
        .iter()
        .map(|(_, form)| {
            let at = logs.find(form).unwrap();
            let (mut from, mut to) = (at.saturating_sub(300), (at + 200).min(logs.len()));
            while !logs.is_char_boundary(from) {
                from -= 1;
            }
            while !logs.is_char_boundary(to) {
                to += 1;
            }
            &logs[from..to]
        })
        .collect();
    assert!(
        in_logs.is_empty(),
        "secrets in the server's logs or errors: {in_logs:?}\n{context:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_the_database_or_the_logs() {
    let started = Instant::now();
    let signed_records = env_or(
        "PROVLOG_SECURITY_SIGNED_RECORDS",
        if full_run() { 500 } else { 10 },
    );
    let fx = Fixture::new("example.com/provlog/e2e-security-secrets");
    let db = TestDb::create("security_secrets").await;
    let role = PasswordRole::create(&db).await;
    let db_url = role.url(&db);
    let chain = Chain::deploy(&fx).await;
    let pepper = format!("pepper-{}", hex::encode(random_bytes::<24>()));
    let pepper_file = fx.path("pepper");
    write_private(&pepper_file, &pepper);
    let server = Server::start(&fx, &db_url, &chain.env(&pepper_file, &chain.rpc_url));
    let base = server.url();
    let http = Http::new(&base);

    let k = session(&http, &fx, &base, signed_records).await;
    let (guessed, attempts) = wrong_places(&fx, &k, &pepper);
    assert_refused(&http, &attempts).await;
    // An anchor confirmed: the anchorer key was used.
    wait_for("a confirmed anchor", Duration::from_secs(60), || async {
        let r = get(&http, "/v1/anchors?status=confirmed", None).await;
        r.body["anchors"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
            .then_some(())
    })
    .await;
    let stderr_tail = server.logs();
    assert!(server.terminate(Duration::from_secs(15)).success());
    let (errors, failed_starts) = refused_starts(&fx, &db, &db_url, &chain, &pepper_file).await;

    let dump = pg_dump(&db);
    let logs = std::fs::read_to_string(fx.path("server.log")).unwrap() + &stderr_tail + &errors;
    let secrets = secrets(&fx, &k, &guessed, &pepper, &chain, &role);
    assert_no_leaks(&secrets, &k, &dump, &logs);
    let forms: usize = secrets.iter().map(|s| s.forms.len()).sum();

    db.drop_db().await;
    role.drop_role().await;
    summary(format!(
        "security-secrets: {} secrets in {forms} encodings (tokens, API keys, pepper, checkpoint, source and anchorer \
         keys, database and RPC passwords) absent from a {} KiB pg_dump and {} KiB of trace-level logs of a session \
         with {signed_records} signed records, rotation, revocation, anchoring and {} failed attempts with secrets in the \
         wrong places, and from the errors of {} refused starts; {:.1} s",
        secrets.len(),
        dump.len() / 1024,
        logs.len() / 1024,
        attempts.len(),
        failed_starts,
        started.elapsed().as_secs_f64()
    ));
}
