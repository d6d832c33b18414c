use serde_json::json;

use super::*;
use crate::registry::{RegistryError, RegistryEvent, SourceHistory};
use crate::testing::track_log::{prediction_spec, score_log, signal_spec, SOURCE};
use crate::track_record::verify_track_record;

#[test]
fn specs_that_could_not_score_are_refused() {
    let bad = [
        (json!({"value": "signal"}), "not a JSON Pointer"),
        (json!({"outcome": "return"}), "not a JSON Pointer"),
        (json!({"horizon_s": 0}), "horizon_s"),
        (json!({"horizon_s": MAX_HORIZON_S + 1}), "horizon_s"),
        (json!({"baseline": "/price"}), "only predictions"),
    ];
    for (change, reason) in bad {
        let mut spec = serde_json::to_value(signal_spec()).unwrap();
        for (k, v) in change.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let spec: ScoringSpec = serde_json::from_value(spec).unwrap();
        let err = spec.check().unwrap_err();
        assert!(err.contains(reason), "{err}");
        // …and a registry record declaring it does not read.
        let event = RegistryEvent::ScoringDeclared { spec };
        let item = serde_json::to_vec(&serde_json::to_value(&event).unwrap()).unwrap();
        let item = crate::record::canonicalize(&serde_json::from_slice(&item).unwrap()).unwrap();
        assert!(RegistryEvent::from_item(&item).is_err());
    }
    assert!(signal_spec().check().is_ok() && prediction_spec().check().is_ok());
}

#[test]
fn a_spec_with_unknown_fields_is_refused() {
    let item = br#"{"event":"scoring-declared","spec":{"horizon_s":2,"kind":"signals","outcome":"/r","value":"/s","weight":2}}"#;
    assert!(RegistryEvent::from_item(item).is_err());
}

#[test]
fn a_source_declares_its_scoring_once() {
    use crate::registry::{registry_record, SchemaPolicy};
    let origin = crate::record::LogOrigin::new("example.com/log").unwrap();
    let source = SourceId::new("s").unwrap();
    let at = Timestamp::from_unix_millis(1_764_000_000_000).unwrap();
    let registered = RegistryEvent::SourceRegistered {
        schema_sha256: None,
        schema_policy: SchemaPolicy::Reject,
        require_signature: false,
    };
    let declared = RegistryEvent::ScoringDeclared {
        spec: signal_spec(),
    };
    let records: Vec<_> = [&registered, &declared, &declared]
        .iter()
        .map(|e| registry_record(origin.clone(), source.clone(), e, at).unwrap())
        .collect();
    let fold = |n: usize| {
        SourceHistory::fold(
            records[..n]
                .iter()
                .enumerate()
                .map(|(i, (r, item))| (i as u64, r, item.as_slice())),
        )
    };
    let history = fold(2).unwrap().unwrap();
    assert_eq!(history.scoring.unwrap().0, signal_spec());
    assert_eq!(
        fold(3).unwrap_err(),
        RegistryError::ScoringDeclaredTwice { leaf_index: 2 }
    );
}

#[test]
fn the_same_bundle_gives_the_same_score_and_a_changed_outcome_changes_it() {
    let log = score_log();
    let bundle = log.bundle(SOURCE, Default::default(), log.size()).unwrap();
    let verified = verify_track_record(&bundle, &log.trusted()).unwrap();
    let a = score(&verified).unwrap();
    assert_eq!(a, score(&verified).unwrap());
    assert_eq!(a.spec_sha256, signal_spec().sha256());
    assert_eq!(a.outcome_source.as_str(), "acme-prices");

    // Without a declaration there is nothing to score by.
    let mut unscored = verified.clone();
    unscored.scoring = None;
    assert_eq!(score(&unscored).unwrap_err(), ScoreError::NoSpec);
    // A signal whose payload the bundle does not carry cannot be scored, not skipped.
    let mut bare = verified.clone();
    let a_signal = bare.records.iter_mut().find(|e| e.seq == 3).unwrap();
    a_signal.item = None;
    assert_eq!(
        score(&bare).unwrap_err(),
        ScoreError::PayloadMissing { seq: 3 }
    );
    // Moving the horizon past every outcome leaves every signal unresolved.
    let mut later = verified;
    later.scoring.as_mut().unwrap().spec.horizon_s = 1000;
    let b = score(&later).unwrap();
    assert_eq!((b.scored, b.unresolved), (0, 7));
    assert_eq!(b.signals.unwrap().hit_rate, None);
}
