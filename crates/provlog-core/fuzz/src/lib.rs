//! Shared state of the fuzz targets: one signed fixture log (built once) and its trusted keys.

use std::sync::OnceLock;

use provlog_core::checkpoint::TrustedKeys;
use provlog_core::receipt::Receipt;
use provlog_core::testing::fixture::Fixture;

/// Records in the fixture log: signals, snapshots and digests, some signed by their source.
pub const FIXTURE_RECORDS: u64 = 7;

/// The fixture log, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture::new(FIXTURE_RECORDS))
}

/// Valid receipts of the fixture: one per record, and two for snapshot items.
pub fn base_receipts() -> &'static [Receipt] {
    static RECEIPTS: OnceLock<Vec<Receipt>> = OnceLock::new();
    RECEIPTS.get_or_init(|| {
        let f = fixture();
        let mut receipts: Vec<Receipt> = (0..FIXTURE_RECORDS).map(|i| f.receipt(i)).collect();
        receipts.push(f.item_receipt(1, 2));
        receipts.push(f.item_receipt(4, 4));
        receipts
    })
}

thread_local! {
    // `TrustedKeys` holds boxed verifiers that are not `Sync`: one per thread.
    static TRUSTED: TrustedKeys = fixture().trusted();
}

/// Runs `f` with the fixture's trusted keys (its log key only).
pub fn with_trusted<R>(f: impl FnOnce(&TrustedKeys) -> R) -> R {
    TRUSTED.with(f)
}

/// `name+hexid` of the fixture's log key, as `VerifiedCheckpoint::signed_by` lists it.
pub fn trusted_label() -> String {
    let key = fixture().signer.verifier_key();
    format!("{}+{:08x}", key.name(), key.id())
}
