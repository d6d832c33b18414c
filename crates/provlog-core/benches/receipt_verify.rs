//! Offline receipt verification throughput on one core, with the cost of one Ed25519
//! `verify_strict` (the floor for a receipt whose checkpoint signature is checked) measured in
//! the same run. `cold`: every receipt checks its checkpoint signature; `cached`:
//! [`ReceiptVerifier`] checks each distinct signed checkpoint once, as a consumer verifying a
//! batch fetched together does.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::{Signer, SigningKey};
use provlog_core::receipt::{verify_receipt, Receipt, ReceiptVerifier};
use provlog_core::testing::fixture::Fixture;

const RECORDS: u64 = 1000;

fn bench(c: &mut Criterion) {
    let f = Fixture::new(RECORDS);
    let trusted = f.trusted();
    let receipts: Vec<Receipt> = (0..RECORDS)
        .map(|i| {
            if i % 3 == 1 {
                f.item_receipt(i, i % 5)
            } else {
                f.receipt(i)
            }
        })
        .collect();
    let jsons: Vec<Vec<u8>> = receipts.iter().map(Receipt::to_json).collect();

    let mut g = c.benchmark_group("receipt_verify");
    g.throughput(Throughput::Elements(RECORDS));
    g.bench_function("cold_from_json", |b| {
        b.iter(|| {
            for j in &jsons {
                let r = Receipt::from_json(j).unwrap();
                verify_receipt(&r, &trusted).unwrap();
            }
        })
    });
    g.bench_function("cached_from_json", |b| {
        let v = ReceiptVerifier::new(f.trusted());
        b.iter(|| {
            for j in &jsons {
                let r = Receipt::from_json(j).unwrap();
                v.verify(&r).unwrap();
            }
        })
    });
    g.bench_function("baseline_ed25519_verify_strict", |b| {
        let key = SigningKey::from_bytes(&[3; 32]);
        let msg = f.checkpoint.as_bytes();
        let sig = key.sign(msg);
        let vk = key.verifying_key();
        b.iter(|| {
            for _ in 0..RECORDS {
                vk.verify_strict(msg, &sig).unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
