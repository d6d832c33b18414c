//! `provlog submit signals --commit` and `provlog submit reveal`: hiding commitments to signals,
//! revealed later (`provlog_core::commitment`). The salts and payloads stay in a file the
//! provider keeps (mode 0600), written and synced before anything is sent: a commitment whose
//! salt is lost can never be revealed, and counts against its source once its deadline passes.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_client::{Client, ClientError, FindQuery, ProblemKind, Submission};
use provlog_core::commitment::{item_content, Commitment, Reveal, SALT_LEN};
use provlog_core::record::Timestamp;
use provlog_core::Hash;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::Failure;

/// Options of `submit signals` that commit instead of publishing.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct CommitArgs {
    /// Log a hiding commitment to each signal instead of the signal; reveal later with
    /// `provlog submit reveal`.
    #[arg(long)]
    pub commit: bool,
    /// The reveal must come before this time: RFC 3339, or +N followed by s, m, h or d.
    #[arg(
        long,
        value_name = "TIME",
        requires = "commit",
        required_if_eq("commit", "true")
    )]
    pub reveal_by: Option<String>,
    /// The reveal may not come before this time (RFC 3339, or +N s/m/h/d).
    #[arg(long, value_name = "TIME", requires = "commit")]
    pub reveal_after: Option<String>,
    /// Where the salts and payloads are kept (appended; default: the input file + .salts.jsonl).
    #[arg(long, value_name = "FILE", requires = "commit")]
    pub salts: Option<PathBuf>,
}

/// One line of the salts file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Kept {
    pub source: String,
    /// `content.root` of the commitment record: how `reveal` finds it in the log.
    pub content_root: Hash,
    pub payload: Value,
    pub salt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reveal_after: Option<Timestamp>,
    pub reveal_by: Timestamp,
}

fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    Timestamp::from_unix_millis(ms).unwrap_or(Timestamp::from_unix_millis(0).expect("epoch"))
}

/// `2026-12-01T00:00:00Z` or `+90s`, `+30m`, `+2h`, `+7d`.
pub(super) fn parse_time(flag: &str, text: &str) -> Result<Timestamp, Failure> {
    let bad = || {
        Failure::Usage(format!(
            "{flag} {text:?}: give an RFC 3339 time or +N followed by s, m, h or d"
        ))
    };
    if let Some(rel) = text.strip_prefix('+') {
        let (n, unit) = rel.split_at(rel.len().saturating_sub(1));
        let n: i64 = n.parse().map_err(|_| bad())?;
        let ms = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        let at = n
            .checked_mul(ms)
            .and_then(|d| d.checked_add(now().unix_millis()));
        return at
            .and_then(|ms| Timestamp::from_unix_millis(ms).ok())
            .ok_or_else(bad);
    }
    text.parse().map_err(|_| bad())
}

/// The default salts file of an input file.
pub(super) fn salts_path(args: &CommitArgs, input: &Path) -> Result<PathBuf, Failure> {
    match &args.salts {
        Some(p) => Ok(p.clone()),
        None if input == Path::new("-") => Err(Failure::Usage(
            "--commit reading standard input needs --salts FILE".into(),
        )),
        None => {
            let mut p = input.as_os_str().to_owned();
            p.push(".salts.jsonl");
            Ok(PathBuf::from(p))
        }
    }
}

/// The commitment records for `payloads`, with the salts kept in `path` (appended and synced
/// before this returns).
pub(super) fn commitments(
    source: &str,
    payloads: &[Value],
    args: &CommitArgs,
    path: &Path,
) -> Result<Vec<Value>, Failure> {
    let by = parse_time("--reveal-by", args.reveal_by.as_deref().unwrap_or_default())?;
    let after = args
        .reveal_after
        .as_deref()
        .map(|t| parse_time("--reveal-after", t))
        .transpose()?;
    if by <= now() || after.is_some_and(|a| a >= by) {
        return Err(Failure::Usage(
            "--reveal-by must be in the future and after --reveal-after".into(),
        ));
    }
    let mut rng = rand::rngs::OsRng;
    let mut records = Vec::with_capacity(payloads.len());
    let mut lines = String::new();
    for payload in payloads {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let c = Commitment::new(&salt, payload, after, by)
            .map_err(|e| Failure::Usage(format!("a signal: {e}")))?;
        let item = c.to_item().map_err(|e| Failure::Usage(e.to_string()))?;
        let kept = Kept {
            source: source.to_string(),
            content_root: item_content(&item).root,
            payload: payload.clone(),
            salt: BASE64_STANDARD.encode(salt),
            reveal_after: after,
            reveal_by: by,
        };
        lines += &serde_json::to_string(&kept).map_err(|e| Failure::Usage(e.to_string()))?;
        lines.push('\n');
        records.push(json!({"kind": "commitment", "source": source, "commitment": c}));
    }
    let cannot = |e: std::io::Error| Failure::Usage(format!("{}: {e}", path.display()));
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(cannot)?;
    file.write_all(lines.as_bytes()).map_err(cannot)?;
    file.sync_all().map_err(cannot)?;
    Ok(records)
}

/// What `submit reveal` did with each kept commitment.
#[derive(Debug, Default, Serialize)]
struct Outcome {
    revealed: Vec<u64>,
    already_revealed: usize,
    not_yet: usize,
    expired: usize,
    not_logged: usize,
}

/// Reveals every commitment kept in `salts` for `source` whose window is open now.
pub(super) async fn reveal(
    client: &Client,
    source: &str,
    salts: &Path,
    json_out: bool,
) -> Result<(), Failure> {
    let file =
        File::open(salts).map_err(|e| Failure::Usage(format!("{}: {e}", salts.display())))?;
    let mut out = Outcome::default();
    let at = now();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Failure::Usage(format!("{}: {e}", salts.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let kept: Kept = serde_json::from_str(&line)
            .map_err(|e| Failure::Usage(format!("{} line {}: {e}", salts.display(), n + 1)))?;
        if kept.source != source {
            continue;
        }
        if kept.reveal_after.is_some_and(|a| at < a) {
            out.not_yet += 1;
            continue;
        }
        if at >= kept.reveal_by {
            out.expired += 1;
            continue;
        }
        let query = FindQuery {
            content_root: Some(kept.content_root),
            source: Some(source.to_string()),
            kind: Some("commitment".into()),
            limit: Some(1),
            ..FindQuery::default()
        };
        let page = client.find(&query).await.map_err(unreachable)?;
        let Some(commitment) = page.records.first() else {
            out.not_logged += 1;
            continue;
        };
        let record = json!({
            "kind": "reveal",
            "source": source,
            "parents": [commitment.leaf_hash],
            "reveal": Reveal { payload: kept.payload.clone(), salt: kept.salt.clone() },
        });
        match client.submit(&Submission::one(&record)).await {
            Ok(r) => out.revealed.extend(r.records.iter().map(|a| a.index)),
            Err(ClientError::Problem(p)) if p.kind == ProblemKind::AlreadyRevealed => {
                out.already_revealed += 1
            }
            Err(e) => return Err(Failure::Usage(format!("the log refused a reveal: {e}"))),
        }
    }
    if json_out {
        println!("{}", json!(out));
    } else {
        println!(
            "revealed {} commitment(s) of {source}{}; {} already revealed, {} not yet due, {} past their deadline, {} not in the log",
            out.revealed.len(),
            match (out.revealed.first(), out.revealed.last()) {
                (Some(a), Some(b)) => format!(" as records {a}..={b}"),
                _ => String::new(),
            },
            out.already_revealed,
            out.not_yet,
            out.expired,
            out.not_logged,
        );
    }
    Ok(())
}

fn unreachable(e: ClientError) -> Failure {
    Failure::Usage(format!("the log: {e}"))
}
