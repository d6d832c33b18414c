//! Group commit for small writes. Each sequencing transaction holds the log's row lock, so
//! one-record requests from many clients would queue on it one transaction each; here they
//! queue in memory instead and whatever arrived while a transaction ran is sequenced by the
//! next one. No request waits for a timer: a lone request goes straight through.
//! Acknowledgement is unchanged: each caller gets its indexes after the commit that made them.

use provlog_store::{NewRecord, SequenceOutcome, Sequenced, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::ApiError;

/// Requests with at most this many records are grouped; larger ones are a batch already.
pub const GROUPED_MAX_RECORDS: usize = 16;

/// Small requests waiting for a transaction; beyond this, writes are pushed back (503).
const QUEUE: usize = 8192;

struct Job {
    records: Vec<NewRecord>,
    reply: oneshot::Sender<Result<Vec<Sequenced>, ApiError>>,
}

#[derive(Debug, Clone)]
pub struct Sequencer {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Job({} records)", self.records.len())
    }
}

impl Sequencer {
    /// Starts the grouping task on the current runtime; it ends when every handle is dropped.
    pub fn spawn(store: Store, max_records: usize) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, max_records.max(1), queue));
        Sequencer { jobs }
    }

    /// Sequences `records` in a transaction shared with other waiting requests.
    pub async fn sequence(&self, records: Vec<NewRecord>) -> Result<Vec<Sequenced>, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .try_send(Job { records, reply })
            .map_err(|_| ApiError::Backpressure)?;
        answer
            .await
            .map_err(|_| ApiError::Internal("the sequencer stopped".into()))?
    }
}

async fn run(store: Store, max_records: usize, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        let mut count = jobs[0].records.len();
        while count < max_records {
            match queue.try_recv() {
                Ok(job) => {
                    count += job.records.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let sizes: Vec<usize> = jobs.iter().map(|j| j.records.len()).collect();
        let all: Vec<NewRecord> = jobs
            .iter_mut()
            .flat_map(|j| std::mem::take(&mut j.records))
            .collect();
        metrics::histogram!("provlog_sequenced_group_records").record(all.len() as f64);
        match store.sequence(&all, None).await {
            Ok(SequenceOutcome::New(done)) => {
                let mut done = done.into_iter();
                for (job, n) in jobs.into_iter().zip(sizes) {
                    // A caller that went away (timeout, disconnect) still had its records logged.
                    let _ = job.reply.send(Ok(done.by_ref().take(n).collect()));
                }
            }
            Ok(SequenceOutcome::Replayed(_)) => {
                for job in jobs {
                    let _ = job.reply.send(Err(ApiError::Internal(
                        "a grouped batch was replayed".into(),
                    )));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, records = all.len(), "grouped sequencing failed");
                for job in jobs {
                    let _ = job.reply.send(Err(as_api_error(&e)));
                }
            }
        }
    }
}

fn as_api_error(e: &StoreError) -> ApiError {
    if e.is_unavailable() {
        metrics::counter!("provlog_database_unavailable_total", "where" => "request").increment(1);
        ApiError::Unavailable
    } else {
        ApiError::Internal(e.to_string())
    }
}
