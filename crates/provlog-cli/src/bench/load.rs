//! The load generator: generated records, the workers that send them, and the modes that
//! measure ingest, receipts and checkpoint latency against a running server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use provlog_client::{digest, signal, snapshot, Client, RetryPolicy, Submission};
use provlog_core::checkpoint::{TrustedKeys, VerifierKey};
use provlog_core::receipt::{Receipt, ReceiptVerifier};
use provlog_core::Hash;
use rand::rngs::StdRng as SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::report::{Report, Tally};
use super::usage;
use crate::Failure;

// ---- record generation -------------------------------------------------------------------

const TOKENS: [&str; 8] = ["BTC", "ETH", "SOL", "ARB", "OP", "AVAX", "LINK", "MATIC"];
const TRENDS: [&str; 3] = ["up", "down", "flat"];

/// `--source`: the one source every generated record names.
pub(super) static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// One realistic record: 80% trading signals, 10% small snapshots, 10% client digests.
pub(super) fn random_record(rng: &mut SmallRng, seq: u64) -> Value {
    let mut record = mixed_record(rng, seq);
    if let Some(source) = SOURCE.get() {
        record["source"] = json!(source);
    }
    record
}

fn mixed_record(rng: &mut SmallRng, seq: u64) -> Value {
    let token = TOKENS[rng.gen_range(0..TOKENS.len())];
    match rng.gen_range(0..10) {
        0 => {
            let items = (0..rng.gen_range(2..6))
                .map(|i| json!({"row": i, "token": token, "price": rng.gen_range(0.01..70_000.0f64), "volume": rng.gen_range(0..1_000_000u64)}))
                .collect();
            snapshot("market-snapshots", items)
        }
        1 => {
            let root = Hash::sha256(&seq.to_be_bytes());
            digest("dataset-digests", root, 1)
        }
        _ => signal(
            "signals",
            json!({
                "token": token,
                "signal": rng.gen_range(-1..=1i8),
                "trend": TRENDS[rng.gen_range(0..TRENDS.len())],
                "trader_grade": rng.gen_range(0..=100u8),
                "seq": seq,
            }),
        ),
    }
}

// ---- workers -----------------------------------------------------------------------------

/// Runs `concurrency` workers that each take job numbers from a shared counter below `jobs`.
async fn drive<F, Fut>(jobs: u64, concurrency: u64, job: F) -> (Tally, Duration)
where
    F: Fn(u64, SmallRng) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (Tally, SmallRng)> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let job = Arc::new(job);
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (next, job) = (next.clone(), job.clone());
            tokio::spawn(async move {
                let mut rng = SmallRng::seed_from_u64(0x5eed ^ w);
                let mut tally = Tally::default();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= jobs {
                        return tally;
                    }
                    let (t, r) = job(n, rng).await;
                    rng = r;
                    tally.merge(t);
                }
            })
        })
        .collect();
    let mut total = Tally::default();
    for w in workers {
        match w.await {
            Ok(t) => total.merge(t),
            Err(e) => total.fail(e),
        }
    }
    (total, start.elapsed())
}

async fn timed_submit(client: &Client, sub: &Submission) -> Tally {
    let policy = RetryPolicy::default();
    let mut tally = Tally::default();
    let mut attempt: u32 = 1;
    let start = Instant::now();
    loop {
        match client.submit(sub).await {
            Ok(resp) => {
                tally.latencies.push(start.elapsed());
                tally.ops = 1;
                tally.records = resp.records.len() as u64;
                return tally;
            }
            Err(e) => match policy.delay(attempt, &e, false) {
                Some(wait) => {
                    tally.retried += 1;
                    tokio::time::sleep(wait).await;
                }
                None => {
                    tally.fail(e);
                    return tally;
                }
            },
        }
        attempt += 1;
    }
}

// ---- modes -------------------------------------------------------------------------------

pub(super) async fn ingest(
    client: &Client,
    records: u64,
    batch: u64,
    concurrency: u64,
) -> Result<Report, Failure> {
    let requests = records.div_ceil(batch);
    let client = client.clone();
    let (tally, elapsed) = drive(requests, concurrency, move |n, mut rng| {
        let client = client.clone();
        async move {
            let len = batch.min(records - n * batch);
            let batch: Vec<Value> = (0..len)
                .map(|i| random_record(&mut rng, n * batch + i))
                .collect();
            let sub = Submission::batch(&batch);
            (timed_submit(&client, &sub).await, rng)
        }
    })
    .await;
    let mut report = tally.report("ingest", elapsed);
    report.note.get_or_insert_with(|| {
        format!("batch {batch}, concurrency {concurrency}; latency per request")
    });
    Ok(report)
}

pub(super) async fn ingest_single(
    client: &Client,
    requests: u64,
    concurrency: u64,
) -> Result<Report, Failure> {
    let client = client.clone();
    let (tally, elapsed) = drive(requests, concurrency, move |n, mut rng| {
        let client = client.clone();
        async move {
            let record = random_record(&mut rng, n);
            let sub = Submission::one(&record);
            (timed_submit(&client, &sub).await, rng)
        }
    })
    .await;
    let mut report = tally.report("single", elapsed);
    report
        .note
        .get_or_insert_with(|| format!("concurrency {concurrency}"));
    Ok(report)
}

pub(super) async fn receipts(
    client: &Client,
    requests: u64,
    concurrency: u64,
    verify_every: u64,
    key: Option<&str>,
) -> Result<Report, Failure> {
    let info = client.log_info().await.map_err(usage)?;
    let size = info.checkpoint_size;
    if size == 0 {
        return Err(usage("the log has no checkpoint yet: ingest first"));
    }
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(u64, Vec<u8>)>::new()));
    let (c, s) = (client.clone(), samples.clone());
    let (tally, elapsed) = drive(requests, concurrency, move |n, mut rng| {
        let (client, samples) = (c.clone(), s.clone());
        async move {
            let index = rng.gen_range(0..size);
            let mut tally = Tally::default();
            let start = Instant::now();
            match client.receipt_json(index, None, None).await {
                Ok(bytes) => {
                    tally.latencies.push(start.elapsed());
                    tally.ops = 1;
                    if verify_every > 0 && n % verify_every == 0 {
                        if let Ok(mut s) = samples.lock() {
                            s.push((index, bytes));
                        }
                    }
                }
                Err(e) => tally.fail(e),
            }
            (tally, rng)
        }
    })
    .await;
    let mut report = tally.report("receipts", elapsed);
    report.log_size = Some(size);
    // Verify the sample outside the timed run: the generator's CPU is the server's too.
    let key: VerifierKey = key
        .unwrap_or(&info.verifier_key)
        .parse()
        .map_err(|e| usage(format!("verifier key: {e}")))?;
    let verifier = ReceiptVerifier::new(TrustedKeys::new([key]));
    let sample = std::mem::take(&mut *samples.lock().map_err(|_| usage("sample lock poisoned"))?);
    let mut verified = 0;
    for (index, bytes) in sample {
        let ok = Receipt::from_json(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|r| verifier.verify(&r).map_err(|e| e.to_string()))
            .and_then(|v| {
                (v.leaf_index == index)
                    .then_some(())
                    .ok_or_else(|| format!("receipt is for {}, asked {index}", v.leaf_index))
            });
        match ok {
            Ok(()) => verified += 1,
            Err(e) => {
                report.errors += 1;
                report.note = Some(format!("receipt {index} does not verify: {e}"));
            }
        }
    }
    report.verified = Some(verified);
    Ok(report)
}

pub(super) async fn checkpoint_latency(
    client: &Client,
    samples: u64,
    wait: bool,
    poll_ms: u64,
    jitter_ms: u64,
) -> Result<Report, Failure> {
    let mut rng = SmallRng::seed_from_u64(0xc4ec);
    let mut tally = Tally::default();
    let start_all = Instant::now();
    for n in 0..samples {
        if jitter_ms > 0 {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..=jitter_ms))).await;
        }
        let record = random_record(&mut rng, n);
        let mut sub = Submission::one(&record);
        if wait {
            sub = sub.wait_for_receipts();
        }
        let start = Instant::now();
        let resp = match client.submit(&sub).await {
            Ok(r) => r,
            Err(e) => {
                tally.fail(e);
                continue;
            }
        };
        let index = resp.records.first().map_or(0, |a| a.index);
        if wait {
            if resp.receipt_status.as_deref() == Some("ready") {
                tally.latencies.push(start.elapsed());
                tally.ops += 1;
            } else {
                tally.fail(format!(
                    "record {index}: receipt status {:?}",
                    resp.receipt_status
                ));
            }
            continue;
        }
        loop {
            match client.log_info().await {
                Ok(info) if info.checkpoint_size > index => {
                    tally.latencies.push(start.elapsed());
                    tally.ops += 1;
                    break;
                }
                Ok(_) if start.elapsed() > Duration::from_secs(30) => {
                    tally.fail(format!("record {index}: no checkpoint after 30 s"));
                    break;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(poll_ms)).await,
                Err(e) => {
                    tally.fail(e);
                    break;
                }
            }
        }
    }
    let mut report = tally.report("checkpoint-latency", start_all.elapsed());
    report.ops_per_s = 0.0;
    report.records_per_s = 0.0;
    report.note.get_or_insert_with(|| {
        if wait {
            "?wait=receipt, one sample at a time".into()
        } else {
            format!("polling /v1/log every {poll_ms} ms, one sample at a time")
        }
    });
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_records_have_every_kind() {
        let mut rng = SmallRng::seed_from_u64(1);
        let kinds: std::collections::HashSet<String> = (0..200)
            .map(|i| {
                random_record(&mut rng, i)["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
    }
}
