//! Trust state, written once and compiled into each backend with its `dialect`: timestamps go
//! through `now!`, `ms!` and `from_ms!`, JSON through `json!` (which refuses malformed text) and
//! `json_text!`.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Transaction};

use provlog_core::record::canonicalize;
use provlog_core::registry::RegistryEvent;
use provlog_core::score::ScoringSpec;

use super::dialect::{
    for_update, from_ms, json, json_text, ms, now, now_plus_ms, tiebreak, Backend, Db,
};
use super::sequence::append;
use crate::convert::{from_db, to_db};
use crate::registry;
use crate::trust::{
    key_detail, key_row, source_rows, AuditDbRow, KeyRow, SourceDbRow, SourceKeyDbRow,
};
use crate::{
    ApiKeyRow, AuditEvent, Change, NewApiKey, RegistryRow, Result, SourceChange, SourceRow,
    SourceSettings, StoreError, Trust,
};

type Connection = <Db as sqlx::Database>::Connection;

const KEY_COLUMNS: &str = concat!(
    "id, key_hash, scope, source, label, ",
    ms!("created_at"),
    ", ",
    ms!("expires_at"),
    ", ",
    ms!("revoked_at"),
    ", replaces"
);

/// Runs an INSERT or UPDATE of `sources` whose parameters are `$1` the id and `$2..$5` the
/// settings; returns how many rows it touched.
async fn write_source(
    conn: &mut Connection,
    sql: &str,
    id: &str,
    settings: &SourceSettings,
) -> Result<u64> {
    Ok(sqlx::query(sql)
        .bind(id)
        .bind(&settings.display_name)
        .bind(&settings.schema)
        .bind(&settings.schema_policy)
        .bind(settings.require_signature)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Ends a change that succeeded: its audit event in the same transaction, then the commit.
async fn commit_audited(
    mut tx: Transaction<'_, Db>,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(concat!(
        "INSERT INTO audit_events (actor, action, target, detail) VALUES ($1, $2, $3, ",
        json!("$4"),
        ")"
    ))
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(detail)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Serialises a check-then-write with the other writers until the transaction ends: on
/// PostgreSQL this row lock orders them across replicas, on SQLite the write lock already has.
async fn lock_log_state(conn: &mut Connection) -> Result<()> {
    sqlx::query(concat!(
        "SELECT id FROM log_state WHERE id = 1",
        for_update!()
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends the registry records of `events` for `source`, in the caller's write transaction.
async fn log_registry(conn: &mut Connection, source: &str, events: &[RegistryEvent]) -> Result<()> {
    let origin: String = sqlx::query_scalar("SELECT origin FROM log_state WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the log is not bound to an origin yet".into()))?;
    append(conn, &registry::records(&origin, source, events)?).await?;
    Ok(())
}

/// Logs the registry of every source registered before registry records existed, once: each
/// source in one transaction that first checks, under the sequencing lock, that none is logged.
pub(super) async fn backfill_registry(backend: &Backend) -> Result<u64> {
    let unlogged: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM sources s WHERE NOT EXISTS
            (SELECT 1 FROM records r WHERE r.kind = 'source' AND r.source = s.id)
         ORDER BY id",
    )
    .fetch_all(&backend.pool)
    .await?;
    let mut logged = 0;
    for id in unlogged {
        let mut tx = backend.write().await?;
        // Taken first, so two replicas starting at once cannot both find the source unlogged.
        lock_log_state(&mut tx).await?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM records WHERE kind = 'source' AND source = $1)",
        )
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
        if exists {
            continue;
        }
        let Some(source) = sources_in(&mut tx, Some(&id)).await?.pop() else {
            continue;
        };
        let events = registry::backfill(&source)?;
        log_registry(&mut tx, &source.id, &events).await?;
        let detail = serde_json::json!({ "records": events.len() }).to_string();
        commit_audited(
            tx,
            "migration",
            "source.registry_logged",
            &source.id,
            &detail,
        )
        .await?;
        logged += 1;
    }
    Ok(logged)
}

/// Runs `sql` with `$1` bound to `id`; how many rows it touched.
async fn execute_for(conn: &mut Connection, sql: &str, id: &str) -> Result<u64> {
    Ok(sqlx::query(sql)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Marks a source changed, with a change to one of its keys.
async fn touch_source(conn: &mut Connection, source: &str) -> Result<()> {
    let sql = concat!("UPDATE sources SET updated_at = ", now!(), " WHERE id = $1");
    execute_for(conn, sql, source).await?;
    Ok(())
}

async fn create_source(conn: &mut Connection, id: &str, s: &SourceSettings) -> Result<Change<()>> {
    let sql = concat!(
        "INSERT INTO sources (id, display_name, schema, schema_policy, require_signature)
         VALUES ($1, $2, ",
        json!("$3"),
        ", $4, $5) ON CONFLICT (id) DO NOTHING"
    );
    if write_source(conn, sql, id, s).await? == 0 {
        return Ok(Change::Conflict(format!("source {id:?} already exists")));
    }
    Ok(Change::Done(()))
}

async fn update_source(conn: &mut Connection, id: &str, s: &SourceSettings) -> Result<Change<()>> {
    let sql = concat!(
        "UPDATE sources SET display_name = $2, schema = ",
        json!("$3"),
        ", schema_policy = $4, require_signature = $5, updated_at = ",
        now!(),
        " WHERE id = $1"
    );
    if write_source(conn, sql, id, s).await? == 0 {
        return Ok(Change::NotFound);
    }
    Ok(Change::Done(()))
}

async fn declare_scoring(
    conn: &mut Connection,
    source: &str,
    spec: &ScoringSpec,
) -> Result<Change<()>> {
    let declared: Option<Option<String>> = sqlx::query_scalar(concat!(
        "SELECT scoring FROM sources WHERE id = $1",
        for_update!()
    ))
    .bind(source)
    .fetch_optional(&mut *conn)
    .await?;
    match declared {
        None => return Ok(Change::NotFound),
        Some(Some(_)) => {
            return Ok(Change::Conflict(format!(
                "source {source:?} has declared its scoring; a declaration is final"
            )))
        }
        Some(None) => {}
    }
    if let Some(outcomes) = spec
        .outcome_source
        .as_ref()
        .filter(|o| o.as_str() != source)
    {
        let exists: Option<bool> = sqlx::query_scalar("SELECT true FROM sources WHERE id = $1")
            .bind(outcomes.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Ok(Change::Conflict(format!(
                "the outcome source {outcomes:?} is not registered"
            )));
        }
    }
    let value = serde_json::to_value(spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let text = canonicalize(&value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(concat!(
        "UPDATE sources SET scoring = $2, updated_at = ",
        now!(),
        " WHERE id = $1"
    ))
    .bind(source)
    .bind(String::from_utf8_lossy(&text).into_owned())
    .execute(&mut *conn)
    .await?;
    Ok(Change::Done(()))
}

async fn add_source_key(
    conn: &mut Connection,
    source: &str,
    key_id: &str,
    public_key: &[u8; 32],
) -> Result<Change<()>> {
    let exists: Option<bool> = sqlx::query_scalar(concat!(
        "SELECT true FROM sources WHERE id = $1",
        for_update!()
    ))
    .bind(source)
    .fetch_optional(&mut *conn)
    .await?;
    if exists.is_none() {
        return Ok(Change::NotFound);
    }
    let inserted = sqlx::query(
        "INSERT INTO source_keys (source, key_id, public_key) VALUES ($1, $2, $3)
         ON CONFLICT (source, key_id) DO NOTHING",
    )
    .bind(source)
    .bind(key_id)
    .bind(public_key.as_slice())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(Change::Conflict(format!(
            "source {source:?} already has a key {key_id:?}"
        )));
    }
    touch_source(conn, source).await?;
    Ok(Change::Done(()))
}

async fn retire_source_key(
    conn: &mut Connection,
    source: &str,
    key_id: &str,
) -> Result<Change<()>> {
    let updated = sqlx::query(concat!(
        "UPDATE source_keys SET revoked_at = ",
        now!(),
        " WHERE source = $1 AND key_id = $2 AND revoked_at IS NULL"
    ))
    .bind(source)
    .bind(key_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(Change::NotFound);
    }
    touch_source(conn, source).await?;
    Ok(Change::Done(()))
}

async fn insert_key(conn: &mut Connection, key: &NewApiKey, replaces: Option<&str>) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, key_hash, scope, source, label, replaces)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.id)
    .bind(key.key_hash.as_slice())
    .bind(&key.scope)
    .bind(&key.source)
    .bind(&key.label)
    .bind(replaces)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn admin_key_exists(conn: &mut Connection) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_keys WHERE scope = 'admin')")
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// The key, locked until the transaction ends.
async fn key_for_update(conn: &mut Connection, id: &str) -> Result<Option<ApiKeyRow>> {
    let row: Option<KeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1{}",
        for_update!()
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(key_row).transpose()
}

#[async_trait]
impl Trust for Backend {
    async fn change_source(&self, change: SourceChange<'_>, actor: &str) -> Result<Change<()>> {
        let mut tx = self.write().await?;
        let outcome = match change {
            SourceChange::Create(id, settings) => create_source(&mut tx, id, settings).await?,
            SourceChange::Update(id, settings) => update_source(&mut tx, id, settings).await?,
            SourceChange::AddKey {
                source,
                key_id,
                public_key,
                ..
            } => add_source_key(&mut tx, source, key_id, public_key).await?,
            SourceChange::RetireKey { source, key_id } => {
                retire_source_key(&mut tx, source, key_id).await?
            }
            SourceChange::DeclareScoring { source, spec } => {
                declare_scoring(&mut tx, source, spec).await?
            }
        };
        if outcome == Change::Done(()) {
            let event = registry::event(&change)?;
            log_registry(&mut tx, change.source(), &[event]).await?;
            let (action, target) = (change.action(), change.source());
            commit_audited(tx, actor, action, target, &change.detail()).await?;
        }
        Ok(outcome)
    }

    async fn registry(&self, source: Option<&str>) -> Result<Vec<RegistryRow>> {
        let mut q = QueryBuilder::new(
            "SELECT r.idx, r.source, r.leaf, i.data FROM records r
             JOIN snapshot_items i ON i.record = r.idx AND i.item = 0
             WHERE r.kind = 'source'",
        );
        if let Some(source) = source {
            q.push(" AND r.source = ").push_bind(source);
        }
        q.push(" ORDER BY r.idx");
        let rows: Vec<(i64, String, Vec<u8>, Vec<u8>)> =
            q.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|(index, source, leaf, item)| {
                Ok(RegistryRow {
                    index: from_db(index)?,
                    source,
                    leaf,
                    item,
                })
            })
            .collect()
    }

    async fn source(&self, id: &str) -> Result<Option<SourceRow>> {
        Ok(self.sources_where(Some(id)).await?.into_iter().next())
    }

    async fn sources(&self) -> Result<Vec<SourceRow>> {
        self.sources_where(None).await
    }

    async fn has_admin_key(&self) -> Result<bool> {
        admin_key_exists(&mut *self.pool.acquire().await?).await
    }

    async fn bootstrap_admin_key(&self, key: &NewApiKey) -> Result<Change<()>> {
        let mut tx = self.write().await?;
        // Two bootstraps must not both find no admin key.
        lock_log_state(&mut tx).await?;
        if admin_key_exists(&mut tx).await? {
            return Ok(Change::Conflict("an admin key already exists".into()));
        }
        insert_key(&mut tx, key, None).await?;
        commit_audited(tx, "bootstrap", "key.created", &key.id, &key_detail(key)).await?;
        Ok(Change::Done(()))
    }

    async fn create_api_key(&self, key: &NewApiKey, actor: &str) -> Result<Change<()>> {
        let mut tx = self.write().await?;
        if let Some(source) = &key.source {
            let exists: Option<bool> = sqlx::query_scalar("SELECT true FROM sources WHERE id = $1")
                .bind(source)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Ok(Change::NotFound);
            }
        }
        insert_key(&mut tx, key, None).await?;
        commit_audited(tx, actor, "key.created", &key.id, &key_detail(key)).await?;
        Ok(Change::Done(()))
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>> {
        let row: Option<KeyRow> =
            sqlx::query_as(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(key_row).transpose()
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>> {
        let rows: Vec<KeyRow> = sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, {}",
            tiebreak!("id")
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(key_row).collect()
    }

    async fn revoke_api_key(&self, id: &str, actor: &str) -> Result<Change<ApiKeyRow>> {
        let mut tx = self.write().await?;
        let Some(row) = key_for_update(&mut tx, id).await? else {
            return Ok(Change::NotFound);
        };
        if row.revoked_ms.is_some() {
            return Ok(Change::Conflict(format!("key {id:?} is already revoked")));
        }
        let sql = concat!(
            "UPDATE api_keys SET revoked_at = ",
            now!(),
            " WHERE id = $1"
        );
        execute_for(&mut tx, sql, id).await?;
        commit_audited(tx, actor, "key.revoked", id, "{}").await?;
        Ok(Change::Done(row))
    }

    async fn rotate_api_key(
        &self,
        old_id: &str,
        new: &NewApiKey,
        overlap_ms: i64,
        actor: &str,
    ) -> Result<Change<ApiKeyRow>> {
        let mut tx = self.write().await?;
        let Some(old) = key_for_update(&mut tx, old_id).await? else {
            return Ok(Change::NotFound);
        };
        let expired: bool = sqlx::query_scalar(concat!(
            "SELECT revoked_at IS NOT NULL OR (expires_at IS NOT NULL AND expires_at <= ",
            now!(),
            ") FROM api_keys WHERE id = $1"
        ))
        .bind(old_id)
        .fetch_one(&mut *tx)
        .await?;
        if expired {
            return Ok(Change::Conflict(format!(
                "key {old_id:?} is revoked or expired; create a new key instead"
            )));
        }
        let new = NewApiKey {
            scope: old.scope.clone(),
            source: old.source.clone(),
            ..new.clone()
        };
        // Never later than an expiry the key already has.
        sqlx::query(concat!(
            "UPDATE api_keys SET expires_at = ",
            now_plus_ms!("$2"),
            " WHERE id = $1 AND (expires_at IS NULL OR expires_at > ",
            now_plus_ms!("$2"),
            ")"
        ))
        .bind(old_id)
        .bind(overlap_ms)
        .execute(&mut *tx)
        .await?;
        insert_key(&mut tx, &new, Some(old_id)).await?;
        let detail = serde_json::json!({ "new_key": new.id, "overlap_ms": overlap_ms });
        commit_audited(tx, actor, "key.rotated", old_id, &detail.to_string()).await?;
        let updated = self.api_key(old_id).await?;
        Ok(updated.map_or(Change::NotFound, Change::Done))
    }

    async fn use_nonce(
        &self,
        source: &str,
        key_id: &str,
        nonce: &str,
        expires_ms: i64,
    ) -> Result<bool> {
        let inserted = sqlx::query(concat!(
            "INSERT INTO signature_nonces (source, key_id, nonce, expires_at)
             VALUES ($1, $2, $3, ",
            from_ms!("$4"),
            ") ON CONFLICT DO NOTHING"
        ))
        .bind(source)
        .bind(key_id)
        .bind(nonce)
        .bind(expires_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn purge_nonces(&self) -> Result<u64> {
        Ok(sqlx::query(concat!(
            "DELETE FROM signature_nonces WHERE expires_at < ",
            now!()
        ))
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn audit_events(&self, after: Option<u64>, limit: u32) -> Result<Vec<AuditEvent>> {
        let rows: Vec<AuditDbRow> = sqlx::query_as(concat!(
            "SELECT id, ",
            ms!("at"),
            ", actor, action, target, ",
            json_text!("detail"),
            " FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(to_db(after.unwrap_or(0))?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, at_ms, actor, action, target, detail)| {
                Ok(AuditEvent {
                    id: from_db(id)?,
                    at_ms,
                    actor,
                    action,
                    target,
                    detail,
                })
            })
            .collect()
    }
}

impl Backend {
    async fn sources_where(&self, id: Option<&str>) -> Result<Vec<SourceRow>> {
        sources_in(&mut *self.pool.acquire().await?, id).await
    }
}

/// The source `id`, or every source, by id, with their keys.
async fn sources_in(conn: &mut Connection, id: Option<&str>) -> Result<Vec<SourceRow>> {
    let sql = concat!(
        "SELECT id, display_name, ",
        json_text!("schema"),
        ", schema_policy, require_signature, ",
        ms!("created_at"),
        ", ",
        ms!("updated_at"),
        ", scoring FROM sources"
    );
    let mut q = where_equal(sql, "id", id);
    q.push(" ORDER BY id");
    let rows: Vec<SourceDbRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    let sql = concat!(
        "SELECT source, key_id, public_key, ",
        ms!("created_at"),
        ", ",
        ms!("revoked_at"),
        " FROM source_keys"
    );
    let mut q = where_equal(sql, "source", id);
    q.push(concat!(
        " ORDER BY source, created_at, ",
        tiebreak!("key_id")
    ));
    let keys: Vec<SourceKeyDbRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    source_rows(rows, &keys)
}

/// `select`, restricted to the rows whose `column` is `value` when one is given.
fn where_equal<'a>(select: &str, column: &str, value: Option<&'a str>) -> QueryBuilder<'a, Db> {
    let mut q = QueryBuilder::new(select);
    if let Some(value) = value {
        q.push(format_args!(" WHERE {column} = ")).push_bind(value);
    }
    q
}
