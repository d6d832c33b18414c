use crate::testing::registry_log::{evidence_cases, log};

#[test]
fn a_key_added_before_the_record_and_retired_after_it_is_the_sources() {
    let log = log();
    let key = log.check(2, Some(&log.evidence(1, Some(5)))).unwrap();
    assert_eq!((key.key_id.as_str(), key.added.leaf_index), ("k1", 1));
    assert_eq!(key.retired.map(|r| r.leaf_index), Some(5));
    assert!(key.proven);
    let key = log.check(4, Some(&log.evidence(3, None))).unwrap();
    assert_eq!((key.key_id.as_str(), key.retired), ("k2", None));
}

#[test]
fn each_way_the_key_was_not_the_sources_names_its_check() {
    let log = log();
    let mut checks = std::collections::BTreeSet::new();
    for (desc, record, evidence, check) in evidence_cases(&log) {
        match (log.check(record, evidence.as_ref()), check) {
            (Ok(_), None) => {}
            (Err(e), Some(check)) => {
                assert_eq!(e.check(), check, "{desc}: {e}");
                checks.insert(check);
            }
            (outcome, _) => panic!("{desc}: {outcome:?}"),
        }
    }
    assert_eq!(checks.len(), 10, "every check is exercised: {checks:?}");
}
