//! The demo's ingestion for `provlog dev`: registers the demo sources and their keys with the
//! admin API, submits the generated data, and keeps what was logged in `demo.json`.

use std::collections::HashMap;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_client::{Ack, Client, ClientError, SourceSigner, Submission};
use provlog_core::commitment::{Commitment, Reveal, SALT_LEN};
use provlog_core::record::Timestamp;
use serde_json::{json, Value};

use crate::demo::{self, DemoData};
use crate::dev::{ensure_secret, say, usage, Paths, ORIGIN};
use crate::keygen::write_secret;
use crate::Failure;

/// The key id of the demo signals source's key.
const DEMO_KEY_ID: &str = "demo-signals-1";
/// Tokens in the daily grade snapshot.
pub(crate) const UNIVERSE: usize = 300;

/// What the demo logged, kept in `demo.json` so a second run finds it again.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Manifest {
    pub(crate) origin: String,
    pub(crate) records: u64,
    /// The record whose receipt shows a signed trading signal.
    pub(crate) signal: Pick,
    /// The snapshot, and the row whose receipt shows one line of it.
    pub(crate) snapshot: Pick,
    /// The strategy signal derived from a grade row and a prediction.
    pub(crate) derived: Pick,
    /// The latest checkpoint this directory's runs have verified (signed note text).
    pub(crate) checkpoint: String,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pick {
    pub(crate) index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) item: Option<u64>,
    pub(crate) label: String,
    /// A signal's payload as the consumer received it: the receipt proves its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) payload: Option<Value>,
}

pub(crate) fn read_manifest(paths: &Paths) -> Result<Option<Manifest>, Failure> {
    match std::fs::read(paths.file("demo.json")) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(usage("demo.json (remove it to submit the demo data again)")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::Usage(format!("reading demo.json: {e}"))),
    }
}

pub(crate) fn write_manifest(paths: &Paths, manifest: &Manifest) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(manifest).map_err(|e| Failure::Usage(e.to_string()))?;
    std::fs::write(paths.file("demo.json"), text + "\n").map_err(usage("writing demo.json"))
}

/// An ingest client per demo source, signing for the sources that must sign.
type Writers = HashMap<&'static str, Client>;

/// What the demo submitted, kind by kind.
struct Logged {
    snapshot: Vec<Ack>,
    predictions: Vec<Ack>,
    sentiment: Vec<Ack>,
    signals: Vec<Ack>,
    derived: Vec<Ack>,
    /// Committed signals, and the reveals of all but the last.
    commitments: Vec<Ack>,
    reveals: Vec<Ack>,
    /// `demo.prices`' outcomes of the signals, predictions and revealed commitments.
    outcomes: Vec<Ack>,
    /// The token the strategy signal is about.
    token: String,
}

impl Logged {
    fn total(&self) -> usize {
        self.snapshot.len()
            + self.predictions.len()
            + self.sentiment.len()
            + self.signals.len()
            + self.derived.len()
            + self.commitments.len()
            + self.reveals.len()
            + self.outcomes.len()
    }
}

/// Registers the demo's sources and their keys, then submits the demo data.
pub(crate) async fn ingest(paths: &Paths, client: &Client) -> Result<Manifest, Failure> {
    let admin = admin_client(paths, client).await?;
    let signer = source_signer(paths)?;
    let writers = register(&admin, client, &signer).await?;
    let data = demo::generate(UNIVERSE);
    let logged = submit_data(&writers, &signer, &data).await?;
    let total = logged.total();
    say(format!(
        "demo    logged {total} records: a snapshot of {} token grades, {} price predictions, \
         {} sentiment scores, {} signed hourly signals, and a strategy signal for {} \
         derived from its grade row and its prediction",
        data.grades.len(),
        logged.predictions.len(),
        logged.sentiment.len(),
        logged.signals.len(),
        logged.token
    ));
    say(format!(
        "        then {} committed signals (revealed {}, one left past its deadline), and {} outcomes \
         from {}: each signal's hour and each prediction's price (the demo's day runs in \
         seconds: its scoring specs' horizon is {} s)",
        logged.commitments.len(),
        logged.reveals.len(),
        logged.outcomes.len(),
        demo::PRICES,
        demo::HORIZON_S
    ));
    manifest(&data, &logged)
}

/// Registers each demo source (and the signals source's key) and issues it an ingest key.
async fn register(
    admin: &Client,
    client: &Client,
    signer: &SourceSigner,
) -> Result<Writers, Failure> {
    let mut writers = HashMap::new();
    for spec in demo::sources() {
        let created = admin
            .create_source(&json!({
                "id": spec.id,
                "display_name": spec.display_name,
                "schema": spec.schema,
                "schema_policy": "reject",
                "require_signature": spec.require_signature,
            }))
            .await;
        kept(created, || format!("registering source {}", spec.id))?;
        if spec.require_signature {
            let added = admin.add_signer(spec.id, signer).await;
            kept(added, || format!("adding {}'s key", spec.id))?;
        }
        let key = admin
            .create_key("ingest", Some(spec.id), "provlog dev demo")
            .await
            .map_err(usage("creating an ingest key"))?;
        let mut writer = client.clone().with_token(key.token);
        if spec.require_signature {
            writer = writer.with_signer(signer.clone());
        }
        writers.insert(spec.id, writer);
    }
    // Before any record to score: records logged before a declaration are not scored.
    for (id, spec) in demo::scoring_specs() {
        let declared = admin.declare_scoring(id, &spec).await;
        kept(declared, || format!("declaring {id}'s scoring spec"))?;
    }
    say(format!(
        "sources {} registered with JSON Schemas; {} must sign with key {}",
        demo::sources()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
            .join(", "),
        demo::SIGNALS,
        signer.key_id()
    ));
    Ok(writers)
}

/// A 409 means a run that stopped before its demo.json registered it already: keep it.
fn kept(result: Result<Value, ClientError>, what: impl FnOnce() -> String) -> Result<(), Failure> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.status() == Some(409) => Ok(()),
        Err(e) => Err(Failure::Usage(format!("{}: {e}", what()))),
    }
}

/// Submits the demo data in order: the derived signal names the leaf hashes of records
/// logged before it.
async fn submit_data(
    writers: &Writers,
    signer: &SourceSigner,
    data: &DemoData,
) -> Result<Logged, Failure> {
    let writer = |id: &str| {
        writers
            .get(id)
            .ok_or_else(|| Failure::Usage(format!("no writer for {id}")))
    };
    let snapshot = {
        let mut record = provlog_client::snapshot(demo::GRADES, data.grades.clone());
        record["metadata"] = json!({"model": "demo-grader-2", "date": demo::DAY});
        submit(writer(demo::GRADES)?, vec![record], "grades").await?
    };
    let predictions = submit(
        writer(demo::PREDICTIONS)?,
        signals_of(demo::PREDICTIONS, &data.predictions),
        "predictions",
    )
    .await?;
    let sentiment = submit(
        writer(demo::SENTIMENT)?,
        signals_of(demo::SENTIMENT, &data.sentiment),
        "sentiment",
    )
    .await?;
    let mut signals = vec![];
    for (n, chunk) in data.signals.chunks(96).enumerate() {
        let records = chunk
            .iter()
            .map(|p| signed(signer, provlog_client::signal(demo::SIGNALS, p.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        signals.extend(submit(writer(demo::SIGNALS)?, records, &format!("signals-{n}")).await?);
    }

    let (token, grade_row, prediction) = derived_inputs(data)?;
    let mut derived = provlog_client::signal(
        demo::STRATEGY,
        demo::derived_signal(&data.grades[grade_row], &data.predictions[prediction]),
    );
    derived["parents"] = json!([snapshot[0].leaf_hash, predictions[prediction].leaf_hash]);
    derived["metadata"] = json!({"strategy": "grade-and-forecast", "version": 1});
    let derived = submit(writer(demo::STRATEGY)?, vec![derived], "strategy").await?;

    // Signals sold before they are published: committed now, revealed within a few seconds —
    // all but the last, which stays unrevealed past its deadline and counts against the source.
    let committed = demo::committed_signals();
    let reveal_by = now_ms() + 4_000;
    let mut salts = vec![];
    let mut records = vec![];
    for payload in &committed {
        let mut salt = [0u8; SALT_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
        let c = Commitment::new(&salt, payload, None, timestamp(reveal_by)?)
            .map_err(|e| Failure::Usage(e.to_string()))?;
        let record = json!({"kind": "commitment", "source": demo::SIGNALS, "commitment": c});
        records.push(signed(signer, record)?);
        salts.push(salt);
    }
    let commitments = submit(writer(demo::SIGNALS)?, records, "commitments").await?;

    // An outcome counts once the horizon has passed since its record.
    wait_horizon().await;
    let o = demo::outcomes(data);
    let mut outcomes = vec![];
    let parents = signals.iter().chain(&predictions).map(|a| a.leaf_hash);
    let payloads = o.signals.into_iter().chain(o.predictions);
    let records: Vec<Value> = parents
        .zip(payloads)
        .map(|(of, payload)| provlog_client::outcome(demo::PRICES, of, payload))
        .collect();
    for (n, chunk) in records.chunks(96).enumerate() {
        let acks = submit(
            writer(demo::PRICES)?,
            chunk.to_vec(),
            &format!("outcomes-{n}"),
        )
        .await?;
        outcomes.extend(acks);
    }

    let mut reveals = vec![];
    let revealed = commitments.len().saturating_sub(1);
    for (n, (c, salt)) in commitments.iter().zip(&salts).take(revealed).enumerate() {
        let reveal = Reveal::new(salt, committed[n].clone());
        let record = json!({"kind": "reveal", "source": demo::SIGNALS,
            "parents": [c.leaf_hash], "reveal": reveal});
        let record = signed(signer, record)?;
        reveals.extend(submit(writer(demo::SIGNALS)?, vec![record], &format!("reveal-{n}")).await?);
    }
    wait_horizon().await;
    let records: Vec<Value> = reveals
        .iter()
        .zip(demo::committed_outcomes())
        .map(|(r, payload)| provlog_client::outcome(demo::PRICES, r.leaf_hash, payload))
        .collect();
    outcomes.extend(submit(writer(demo::PRICES)?, records, "outcomes-revealed").await?);
    // The unrevealed commitment's deadline passes before anyone reads the track record.
    let left = reveal_by + 100 - now_ms();
    if left > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(left as u64)).await;
    }
    Ok(Logged {
        snapshot,
        predictions,
        sentiment,
        signals,
        derived,
        commitments,
        reveals,
        outcomes,
        token,
    })
}

/// `record` with `signer`'s source signature.
fn signed(signer: &SourceSigner, mut record: Value) -> Result<Value, Failure> {
    signer
        .sign_record(&mut record)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    Ok(record)
}

async fn wait_horizon() {
    tokio::time::sleep(std::time::Duration::from_millis(
        demo::HORIZON_S * 1000 + 100,
    ))
    .await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn timestamp(ms: i64) -> Result<Timestamp, Failure> {
    Timestamp::from_unix_millis(ms).map_err(|e| Failure::Usage(e.to_string()))
}

fn signals_of(source: &str, payloads: &[Value]) -> Vec<Value> {
    payloads
        .iter()
        .map(|p| provlog_client::signal(source, p.clone()))
        .collect()
}

/// The records whose receipts the demo shows: the day's last signal of the first token, the
/// snapshot row of the second, and the strategy signal.
fn manifest(data: &DemoData, logged: &Logged) -> Result<Manifest, Failure> {
    let last = data.signals.len() - demo::majors().len();
    let signal_index = logged
        .signals
        .get(last)
        .map(|a| a.index)
        .ok_or_else(|| Failure::Usage("no signal was logged".into()))?;
    let row_token = &data.tokens[1].symbol;
    let row = data
        .grades
        .iter()
        .position(|r| r["token"] == row_token.as_str())
        .ok_or_else(|| Failure::Usage(format!("no grade row for {row_token}")))?;
    Ok(Manifest {
        origin: ORIGIN.into(),
        records: logged.total() as u64,
        signal: Pick {
            index: signal_index,
            item: None,
            payload: Some(data.signals[last].clone()),
            label: format!(
                "signal-{}-{}",
                data.signals[last]["token"].as_str().unwrap_or("token"),
                data.signals[last]["at"]
                    .as_str()
                    .unwrap_or("")
                    .get(..13)
                    .unwrap_or("")
            ),
        },
        snapshot: Pick {
            index: logged.snapshot[0].index,
            item: Some(row as u64),
            label: format!("grades-{}-{row_token}", demo::DAY),
            payload: None,
        },
        derived: Pick {
            index: logged.derived[0].index,
            item: None,
            label: format!("strategy-{}", logged.token),
            payload: None,
        },
        checkpoint: String::new(),
    })
}

/// The token the strategy signal is about: the best-graded major, with its grade row and
/// prediction.
fn derived_inputs(data: &DemoData) -> Result<(String, usize, usize), Failure> {
    let majors = demo::majors();
    let (row, grade) = data
        .grades
        .iter()
        .enumerate()
        .find(|(_, r)| majors.contains(&r["token"].as_str().unwrap_or("")))
        .ok_or_else(|| Failure::Usage("no major token in the grades".into()))?;
    let token = grade["token"].as_str().unwrap_or("").to_string();
    let prediction = data
        .predictions
        .iter()
        .position(|p| p["token"] == token.as_str())
        .ok_or_else(|| Failure::Usage(format!("no prediction for {token}")))?;
    Ok((token, row, prediction))
}

async fn submit(client: &Client, records: Vec<Value>, key: &str) -> Result<Vec<Ack>, Failure> {
    let submission = Submission::batch(&records).idempotency_key(format!("provlog-dev-{key}"));
    let response = client
        .submit_with_retry(&submission, &provlog_client::RetryPolicy::default())
        .await
        .map_err(usage("submitting demo data"))?;
    Ok(response.records)
}

/// The admin key: issued once with the bootstrap token and kept in `admin.key`.
async fn admin_client(paths: &Paths, client: &Client) -> Result<Client, Failure> {
    let file = paths.file("admin.key");
    if let Ok(token) = std::fs::read_to_string(&file) {
        return Ok(client.clone().with_token(token.trim()));
    }
    let bootstrap =
        std::fs::read_to_string(paths.file("admin.token")).map_err(usage("reading admin.token"))?;
    let issued = client
        .clone()
        .with_token(bootstrap.trim())
        .bootstrap()
        .await
        .map_err(|e| {
            Failure::Usage(format!(
                "bootstrapping the admin key: {e} (admin.key is missing but the log was \
                 bootstrapped: remove {} to start over)",
                paths.dir.display()
            ))
        })?;
    write_secret(&file, &issued.token)?;
    Ok(client.clone().with_token(issued.token))
}

/// The signals source's Ed25519 key in `demo.signals.key`, in `provlog sources keygen`'s format
/// (so `provlog submit --signing-key` takes it too).
fn source_signer(paths: &Paths) -> Result<SourceSigner, Failure> {
    let path = ensure_secret(paths.file("demo.signals.key"), || {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        Ok(BASE64_STANDARD.encode(key.to_bytes()))
    })?;
    crate::admin::read_source_signer(&path, DEMO_KEY_ID)
}
