//! The registry records the store writes: one per change to a source, in the transaction of the
//! change (so the registry and the log cannot disagree), and the backfill of sources registered
//! before the registry was logged. The format is `provlog_core::registry`.

use std::time::{SystemTime, UNIX_EPOCH};

use provlog_core::record::{KeyId, LogOrigin, SourceId, Timestamp};
use provlog_core::registry::{registry_record, schema_sha256, RegistryEvent, SchemaPolicy};
use provlog_core::Hash;

use crate::{NewRecord, Result, SourceChange, SourceRow, SourceSettings, StoreError};

/// A registry record as stored: where it is, when, and its one item (the event's bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRow {
    pub index: u64,
    pub source: String,
    /// The record's canonical bytes.
    pub leaf: Vec<u8>,
    /// The event's canonical bytes.
    pub item: Vec<u8>,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("registry record: {what}"))
}

fn policy(text: &str) -> Result<SchemaPolicy> {
    match text {
        "reject" => Ok(SchemaPolicy::Reject),
        "flag" => Ok(SchemaPolicy::Flag),
        other => Err(corrupt(format!("unknown schema policy {other:?}"))),
    }
}

fn schema_hash(schema: Option<&str>) -> Result<Option<Hash>> {
    schema
        .map(|text| {
            let value: serde_json::Value = serde_json::from_str(text).map_err(corrupt)?;
            schema_sha256(&value).map_err(corrupt)
        })
        .transpose()
}

fn settings_event(s: &SourceSettings, registered: bool) -> Result<RegistryEvent> {
    let (schema_sha256, schema_policy, require_signature) = (
        schema_hash(s.schema.as_deref())?,
        policy(&s.schema_policy)?,
        s.require_signature,
    );
    Ok(if registered {
        RegistryEvent::SourceRegistered {
            schema_sha256,
            schema_policy,
            require_signature,
        }
    } else {
        RegistryEvent::SettingsChanged {
            schema_sha256,
            schema_policy,
            require_signature,
        }
    })
}

fn key_id(id: &str) -> Result<KeyId> {
    KeyId::new(id).map_err(corrupt)
}

/// The event a change states.
pub(crate) fn event(change: &SourceChange<'_>) -> Result<RegistryEvent> {
    match *change {
        SourceChange::Create(_, s) => settings_event(s, true),
        SourceChange::Update(_, s) => settings_event(s, false),
        SourceChange::AddKey {
            key_id: id,
            public_key,
            proof,
            ..
        } => Ok(RegistryEvent::KeyAdded {
            key_id: key_id(id)?,
            public_key: *public_key,
            proof: Some(*proof),
        }),
        SourceChange::RetireKey { key_id: id, .. } => Ok(RegistryEvent::KeyRetired {
            key_id: key_id(id)?,
        }),
        SourceChange::DeclareScoring { spec, .. } => {
            Ok(RegistryEvent::ScoringDeclared { spec: spec.clone() })
        }
    }
}

/// The events that state a source registered before the registry was logged, as it is now: its
/// registration with its current settings, its keys in the order they were added (without a
/// proof of possession, which only the key's holder could make), and the retirements.
pub(crate) fn backfill(source: &SourceRow) -> Result<Vec<RegistryEvent>> {
    let settings = SourceSettings {
        display_name: source.display_name.clone(),
        schema: source.schema.clone(),
        schema_policy: source.schema_policy.clone(),
        require_signature: source.require_signature,
    };
    let mut events = vec![settings_event(&settings, true)?];
    for key in &source.keys {
        events.push(RegistryEvent::KeyAdded {
            key_id: key_id(&key.key_id)?,
            public_key: key.public_key,
            proof: None,
        });
    }
    let mut retired: Vec<_> = source
        .keys
        .iter()
        .filter(|k| k.revoked_ms.is_some())
        .collect();
    retired.sort_by_key(|k| k.revoked_ms);
    for key in retired {
        events.push(RegistryEvent::KeyRetired {
            key_id: key_id(&key.key_id)?,
        });
    }
    Ok(events)
}

/// The records stating `events` for `source` in the log `origin`, received now.
pub(crate) fn records(
    origin: &str,
    source: &str,
    events: &[RegistryEvent],
) -> Result<Vec<NewRecord>> {
    let origin = LogOrigin::new(origin).map_err(corrupt)?;
    let source = SourceId::new(source).map_err(corrupt)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(corrupt)?
        .as_millis();
    let received_at =
        Timestamp::from_unix_millis(i64::try_from(now).map_err(corrupt)?).map_err(corrupt)?;
    events
        .iter()
        .map(|event| {
            let (record, item) =
                registry_record(origin.clone(), source.clone(), event, received_at)
                    .map_err(corrupt)?;
            NewRecord::new(&record, Vec::new(), vec![item]).map_err(corrupt)
        })
        .collect()
}
