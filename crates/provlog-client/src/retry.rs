//! Backoff for submissions: 503 (backpressure, database unavailable) and 429 (the API key's rate
//! limit; nothing was done) are retried after the server's `Retry-After`; a lost connection only
//! when the request carries an idempotency key, since only then can a retry not log the records
//! twice.

use std::time::Duration;

use crate::ClientError;

/// How [`crate::Client::submit_with_retry`] retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Wait after the first failure without `Retry-After`; doubles each time.
    pub initial_backoff: Duration,
    /// Longest wait between attempts (also caps `Retry-After`).
    pub max_backoff: Duration,
    /// Retry transport errors (connection refused or reset) of keyed submissions.
    pub retry_transport: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            retry_transport: true,
        }
    }
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1` after `attempt` (1-based) failed with
    /// `error`; `None` when the error is final or the attempts are used up.
    pub fn delay(&self, attempt: u32, error: &ClientError, keyed: bool) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let retryable = error.is_unavailable()
            || error.is_rate_limited()
            || (error.is_transport() && keyed && self.retry_transport);
        if !retryable {
            return None;
        }
        let backoff = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let wait = match error.retry_after() {
            // Never sooner than the server asked.
            Some(asked) => asked.max(jitter(backoff / 2)),
            None => backoff / 2 + jitter(backoff / 2),
        };
        Some(wait.min(self.max_backoff))
    }
}

/// A pseudo-random duration in `[0, max]`, so that clients pushed back together do not
/// return together. Time-seeded: good enough to spread retries, not for anything else.
fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    // xorshift the nanoseconds so consecutive calls are not monotonic.
    let mut x = u64::from(nanos) | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    let max_ns = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(if max_ns == 0 { 0 } else { x % (max_ns + 1) })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Problem, ProblemKind};

    fn problem(status: u16, kind: ProblemKind, retry_after: Option<u64>) -> ClientError {
        ClientError::from(Problem {
            type_uri: format!("urn:provlog:problem:{kind}"),
            kind,
            title: String::new(),
            status,
            detail: String::new(),
            retry_after: retry_after.map(Duration::from_secs),
            request_id: None,
        })
    }

    #[test]
    fn busy_is_retried_no_sooner_than_retry_after() {
        let policy = RetryPolicy::default();
        let busy = problem(503, ProblemKind::Backpressure, Some(1));
        for attempt in 1..8 {
            let d = policy.delay(attempt, &busy, false).unwrap();
            assert!(d >= Duration::from_secs(1), "attempt {attempt}: {d:?}");
            assert!(d <= policy.max_backoff);
        }
        assert_eq!(policy.delay(8, &busy, false), None, "attempts used up");
        // So is a rate-limited key.
        let limited = problem(429, ProblemKind::RateLimited, Some(2));
        assert!(policy.delay(1, &limited, false).unwrap() >= Duration::from_secs(2));
        // Retry-After is capped by max_backoff.
        let long = problem(503, ProblemKind::Unavailable, Some(3600));
        assert_eq!(policy.delay(1, &long, true), Some(policy.max_backoff));
    }

    #[test]
    fn backoff_grows_without_retry_after() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(60),
            max_attempts: 20,
            retry_transport: true,
        };
        let busy = problem(503, ProblemKind::Unavailable, None);
        for attempt in 1..10u32 {
            let d = policy.delay(attempt, &busy, false).unwrap();
            let full = Duration::from_millis(100) * (1 << (attempt - 1));
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn other_errors_are_final() {
        let policy = RetryPolicy::default();
        for e in [
            problem(400, ProblemKind::InvalidRecord, None),
            problem(409, ProblemKind::IdempotencyConflict, None),
            problem(500, ProblemKind::Internal, Some(1)),
            ClientError::Decode {
                url: "u".into(),
                reason: "r".into(),
            },
        ] {
            assert_eq!(policy.delay(1, &e, true), None, "{e}");
        }
    }

    #[tokio::test]
    async fn lost_connections_are_retried_only_with_a_key() {
        // A port nobody listens on: bind, note the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        let lost = ClientError::Transport {
            method: "POST",
            url: "u".into(),
            source: err,
        };
        let policy = RetryPolicy::default();
        assert!(policy.delay(1, &lost, true).is_some());
        assert_eq!(policy.delay(1, &lost, false), None);
        let no_transport = RetryPolicy {
            retry_transport: false,
            ..policy
        };
        assert_eq!(no_transport.delay(1, &lost, true), None);
    }
}
