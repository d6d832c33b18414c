//! What a bench mode measured, and how it is printed.

use std::time::Duration;

/// What one mode measured.
#[derive(Debug, Default, serde::Serialize)]
pub(super) struct Report {
    pub(super) mode: &'static str,
    /// Operations (requests, receipts, rows) completed.
    pub(super) ops: u64,
    /// Records written (ingest modes).
    pub(super) records: u64,
    pub(super) errors: u64,
    /// 503 answers that were retried (ingest modes).
    pub(super) retried_503: u64,
    pub(super) seconds: f64,
    pub(super) ops_per_s: f64,
    pub(super) records_per_s: f64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) max_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) log_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) verified: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) note: Option<String>,
}

/// Latencies and counters of one run's workers.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) latencies: Vec<Duration>,
    pub(super) ops: u64,
    pub(super) records: u64,
    pub(super) errors: u64,
    pub(super) retried: u64,
    pub(super) first_error: Option<String>,
}

impl Tally {
    pub(super) fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.ops += other.ops;
        self.records += other.records;
        self.errors += other.errors;
        self.retried += other.retried;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub(super) fn fail(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }

    pub(super) fn report(mut self, mode: &'static str, elapsed: Duration) -> Report {
        self.latencies.sort_unstable();
        let secs = elapsed.as_secs_f64().max(1e-9);
        let pct = |p: f64| {
            if self.latencies.is_empty() {
                return 0.0;
            }
            let i =
                ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
            self.latencies[i - 1].as_secs_f64() * 1e3
        };
        Report {
            mode,
            ops: self.ops,
            records: self.records,
            errors: self.errors,
            retried_503: self.retried,
            seconds: secs,
            ops_per_s: self.ops as f64 / secs,
            records_per_s: self.records as f64 / secs,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
            note: self.first_error.map(|e| format!("first error: {e}")),
            ..Report::default()
        }
    }
}

pub(super) fn print_table(r: &Report) {
    println!("{:<22} {}", "mode", r.mode);
    println!("{:<22} {}", "operations", r.ops);
    if r.records > 0 && r.records != r.ops {
        println!("{:<22} {}", "records", r.records);
    }
    println!("{:<22} {:.2}", "seconds", r.seconds);
    if r.ops_per_s > 0.0 {
        println!("{:<22} {:.0}", "operations/s", r.ops_per_s);
    }
    if r.records > 0 && r.records != r.ops {
        println!("{:<22} {:.0}", "records/s", r.records_per_s);
    }
    println!(
        "{:<22} {:.2} / {:.2} / {:.2}",
        "p50 / p99 / max (ms)", r.p50_ms, r.p99_ms, r.max_ms
    );
    println!("{:<22} {}", "errors", r.errors);
    if r.retried_503 > 0 {
        println!("{:<22} {}", "503s retried", r.retried_503);
    }
    if let Some(size) = r.log_size {
        println!("{:<22} {size}", "checkpoint size");
    }
    if let Some(v) = r.verified {
        println!("{:<22} {v}", "verified (sample)");
    }
    if let Some(note) = &r.note {
        println!("{:<22} {note}", "note");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let tally = Tally {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ops: 100,
            ..Tally::default()
        };
        let r = tally.report("x", Duration::from_secs(1));
        assert_eq!((r.p50_ms, r.p99_ms, r.max_ms), (50.0, 99.0, 100.0));
    }
}
