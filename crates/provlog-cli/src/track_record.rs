//! `provlog track-record`: fetch a source's track record, and score one offline by the rules its
//! source declared (`docs/track-records.md`).

use std::path::PathBuf;

use provlog_core::record::Timestamp;
use provlog_core::score::{score, Score, ScoreKind};
use provlog_core::track_record::{verify_track_record, TrackRecord, Window};

use crate::admin::{runtime, Conn};
use crate::verify::{read_input, trusted_keys};
use crate::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Fetch a source's track-record bundle for a window (JSON, as the server sent it).
    Get {
        #[command(flatten)]
        conn: Conn,
        source: String,
        /// Records received at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<Timestamp>,
        /// Records received before this time (RFC 3339).
        #[arg(long)]
        until: Option<Timestamp>,
        #[arg(long)]
        from_seq: Option<u64>,
        #[arg(long)]
        to_seq: Option<u64>,
        /// Write the bundle here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Verify a bundle offline, then score it by the spec its source declared: the same
    /// numbers as `GET /v1/sources/{id}/score`, the explorer and the SDKs.
    Score {
        /// Bundle file (JSON), or - for standard input.
        file: PathBuf,
        /// A trusted log verifier key (name+hexid+base64), or a file of them.
        #[arg(long = "key", value_name = "VKEY", required = true)]
        keys: Vec<String>,
        /// Print the score (`provlog-score/v1`) as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub const AFTER_HELP: &str = "Examples:\n  \
    provlog track-record get acme-signals --since 2026-12-01T00:00:00.000Z --out acme.json\n  \
    provlog track-record score acme.json --key log.vkey\n  \
    provlog track-record score acme.json --key log.vkey --json\n\n\
    score exits 1 when the bundle does not verify (naming the check), when the source declared\n\
    no scoring spec, or when a record to score comes without its payload; 2 on bad usage.\n\
    The formulas are in docs/track-records.md.";

pub fn run(args: Args) -> Result<(), Failure> {
    match args.command {
        Command::Get {
            conn,
            source,
            since,
            until,
            from_seq,
            to_seq,
            out,
        } => {
            let window = Window {
                since,
                until,
                from_seq,
                to_seq,
            };
            let client = conn.client(false)?;
            let bytes = runtime()?
                .block_on(client.track_record_json(&source, &window))
                .map_err(|e| Failure::Usage(e.to_string()))?;
            match out {
                Some(path) => std::fs::write(&path, &bytes)
                    .map_err(|e| Failure::Usage(format!("writing {}: {e}", path.display()))),
                None => {
                    println!("{}", String::from_utf8_lossy(&bytes));
                    Ok(())
                }
            }
        }
        Command::Score { file, keys, json } => {
            let trusted = trusted_keys(&keys)?;
            let bundle = TrackRecord::from_json(&read_input(&file)?)
                .map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
            let verified = verify_track_record(&bundle, &trusted)
                .map_err(|e| Failure::Invalid(format!("track record ({}): {e}", e.check())))?;
            let score = score(&verified)
                .map_err(|e| Failure::Invalid(format!("score ({}): {e}", e.check())))?;
            if json {
                let text = serde_json::to_string_pretty(&score)
                    .map_err(|e| Failure::Usage(e.to_string()))?;
                println!("{text}");
            } else {
                print!(
                    "{}",
                    summary(&score, verified.records.len(), verified.complete_until)
                );
            }
            Ok(())
        }
    }
}

fn percent(x: f64) -> String {
    format!("{:+.4}%", x * 100.0)
}

fn or_none(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or_else(|| "none".to_string(), f)
}

fn summary(s: &Score, records: usize, complete_until: Timestamp) -> String {
    let spec = &s.spec;
    let kind = match spec.kind {
        ScoreKind::Signals => "signals",
        ScoreKind::Predictions => "predictions",
    };
    let mut out = format!(
        "score of {}: verified track record of {records} records, gaps 0, complete up to {complete_until}\n",
        s.source.as_str()
    );
    out += &format!(
        "  spec        {kind}: value {}, outcome {} of {}, horizon {} s{} (sha256 {}, declared at seq {})\n",
        spec.value,
        spec.outcome,
        s.outcome_source.as_str(),
        spec.horizon_s,
        spec.baseline
            .as_ref()
            .map(|b| format!(", baseline {b}"))
            .unwrap_or_default(),
        s.spec_sha256,
        s.declared_seq
    );
    out += &format!(
        "  records     {} after the declaration: scored {}, unresolved {}, unscorable {}, pending {}, expired unrevealed {}",
        s.records, s.scored, s.unresolved, s.unscorable, s.pending, s.expired_unrevealed
    );
    if s.before_declaration > 0 {
        out += &format!(" ({} before it, not scored)", s.before_declaration);
    }
    out += "\n";
    if let Some(m) = &s.signals {
        out += &format!(
            "  hit rate    {} ({} hits, {} misses, {} flat)\n  cumulative  {}\n  mean        {} per position\n",
            or_none(m.hit_rate, |r| format!("{:.4}", r)),
            m.hits,
            m.misses,
            m.flat,
            percent(m.cumulative_return),
            or_none(m.mean_return, percent),
        );
    }
    if let Some(m) = &s.predictions {
        out += &format!(
            "  mae         {}\n  rmse        {}\n  direction   {} right\n",
            or_none(m.mae, |x| format!("{x}")),
            or_none(m.rmse, |x| format!("{x}")),
            or_none(m.directional_accuracy, |x| format!("{:.4}", x)),
        );
    }
    if s.expired_unrevealed > 0 {
        out += &format!(
            "  note        {} commitment(s) passed their reveal deadline unrevealed: count them as losses\n",
            s.expired_unrevealed
        );
    }
    out
}
