//! Track records: the shared cases (honest bundles verify, each attack fails at its check), and
//! what a verified bundle reports.

use super::*;
use crate::testing::track_log::{at, cases, log, middle, SOURCE};

#[test]
fn every_case_verifies_or_fails_at_its_check() {
    let trusted = log().trusted();
    for (desc, bundle, expected) in cases() {
        let got = verify_track_record(&bundle, &trusted);
        match (expected, &got) {
            (None, Ok(_)) => {}
            (Some(check), Err(e)) => assert_eq!(e.check(), check, "{desc}: {e}"),
            _ => panic!("{desc}: expected {expected:?}, got {got:?}"),
        }
        // The JSON form verifies the same.
        let back = TrackRecord::from_json(bundle.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(back, bundle, "{desc}");
    }
}

#[test]
fn a_verified_window_reports_its_records_and_boundaries() {
    let log = log();
    let bundle = log.bundle(SOURCE, middle(), log.size()).unwrap();
    let v = verify_track_record(&bundle, &log.trusted()).unwrap();
    let seqs: Vec<u64> = v.records.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [3, 4, 5]);
    assert_eq!(v.first_seq, 3);
    assert_eq!(v.span(), Some((at(5), at(8))));
    assert_eq!(v.complete_until, at(9));
    assert!(!v.closed);
    assert_eq!(v.gaps(), 0);
    let signed: Vec<bool> = v.records.iter().map(|e| e.key.is_some()).collect();
    assert_eq!(signed, [true, false, true]);

    let all = log.bundle(SOURCE, Window::default(), log.size()).unwrap();
    let v = verify_track_record(&all, &log.trusted()).unwrap();
    assert_eq!(v.records.len(), 7);
    assert_eq!(v.first_seq, 0);
    assert!(v.closed, "the whole history ends at the close record");
}

#[test]
fn every_failing_case_names_a_distinct_attack() {
    // Each attack the issue lists is among the cases, and fails.
    let names: Vec<String> = cases()
        .into_iter()
        .filter(|c| c.2.is_some())
        .map(|c| c.0)
        .collect();
    for attack in [
        "drop one record",
        "drop the last record of the window",
        "reorder two records",
        "replace a record with one of another source",
        "a prev the log forged",
        "an older checkpoint that omits the newest records",
    ] {
        assert!(names.iter().any(|n| n.starts_with(attack)), "{attack}");
    }
}

#[test]
fn close_records_are_v2_only() {
    let (record, _) = close_record(
        LogOrigin::new("example.com/log").unwrap(),
        SourceId::new("s").unwrap(),
        at(0),
    );
    let v1 = Record {
        v: FormatVersion::V1,
        ..record.clone()
    };
    assert!(v1.validate(&Default::default()).is_err());
    for kind in [Kind::Commitment, Kind::Reveal] {
        let r = Record { kind, ..v1.clone() };
        assert!(r.validate(&Default::default()).is_err(), "{kind} in v1");
    }
    let bytes = record
        .unsealed()
        .unwrap()
        .seal(1, Some(Hash::sha256(b"x")), at(1));
    let back = Record::from_canonical_bytes(&bytes).unwrap();
    assert_eq!(back.kind, Kind::Close);
    assert_eq!(back.seq, Some(1));
}

#[test]
fn commitments_are_revealed_pending_or_expired_as_of_the_bundle() {
    use crate::testing::track_log::{commit_log, committed};
    let log = commit_log();
    let whole = log.bundle(SOURCE, Window::default(), log.size()).unwrap();
    let v = verify_track_record(&whole, &log.trusted()).unwrap();
    let states: Vec<(u64, &str)> = v
        .commitments
        .iter()
        .map(|c| (c.leaf_index, c.status.name()))
        .collect();
    assert_eq!(
        states,
        [(1, "revealed"), (2, "expired_unrevealed"), (5, "pending")]
    );
    match &v.commitments[0].status {
        CommitmentStatus::Revealed { payload, seq, .. } => {
            assert_eq!(payload, &committed(1).0);
            assert_eq!(*seq, 4);
        }
        other => panic!("{other:?}"),
    }
    // A window that starts after the commitment still checks its reveal, from the bundle's
    // `commitments`, and counts only its own commitments.
    let later = Window {
        since: Some(at(3)),
        ..Window::default()
    };
    let part = log.bundle(SOURCE, later, log.size()).unwrap();
    assert_eq!(part.commitments.len(), 1);
    let v = verify_track_record(&part, &log.trusted()).unwrap();
    assert_eq!(v.commitments.len(), 1);
    assert_eq!(v.commitments[0].status, CommitmentStatus::Pending);
    // Cut before the deadline of leaf 2's commitment, it is pending, not expired.
    let early = Window {
        until: Some(at(3)),
        ..Window::default()
    };
    let early = log.bundle(SOURCE, early, log.size()).unwrap();
    let v = verify_track_record(&early, &log.trusted()).unwrap();
    assert_eq!(v.complete_until, at(3));
    let states: Vec<&str> = v.commitments.iter().map(|c| c.status.name()).collect();
    assert_eq!(states, ["pending", "pending"]);
}
