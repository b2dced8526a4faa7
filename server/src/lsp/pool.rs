//! Analysis runs off the async runtime, on a few threads with a large stack: deeply nested
//! input recurses, and a keystroke must never starve the protocol loop.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::analysis::{analysis_pool, mark_analysis_thread, ANALYSIS_STACK_BYTES};

pub struct AnalysisPool {
    pool: Option<rayon::ThreadPool>,
}

/// Why a job produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("analysis panicked: {0}")]
    Panicked(String),
    #[error("analysis thread unavailable")]
    Lost,
}

impl AnalysisPool {
    pub fn new() -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 8);
        Self::with_threads(threads)
    }

    pub fn with_threads(threads: usize) -> Self {
        let pool = analysis_pool(threads, "clnrm-analysis");
        match pool {
            Ok(pool) => Self { pool: Some(pool) },
            Err(e) => {
                tracing::warn!("analysis pool unavailable ({e}); using a thread per analysis");
                Self { pool: None }
            }
        }
    }

    /// Run `job` on an analysis thread. A panic becomes an error value, never a dead server.
    pub async fn run<T, F>(&self, job: F) -> Result<T, JobError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = move || {
            // The request was cancelled (its future, and so the receiver, dropped) while
            // the job waited for a thread: nobody wants the answer.
            if tx.is_closed() {
                return;
            }
            let result = catch_unwind(AssertUnwindSafe(job)).map_err(|p| panic_message(&*p));
            let _ = tx.send(result);
        };
        match &self.pool {
            Some(pool) => pool.spawn(task),
            None => {
                let spawned = std::thread::Builder::new()
                    .name("clnrm-analysis".into())
                    .stack_size(ANALYSIS_STACK_BYTES)
                    .spawn(move || {
                        mark_analysis_thread();
                        task()
                    });
                if spawned.is_err() {
                    return Err(JobError::Lost);
                }
            }
        }
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(JobError::Panicked(message)),
            Err(_) => Err(JobError::Lost),
        }
    }
}

impl Default for AnalysisPool {
    fn default() -> Self {
        Self::new()
    }
}

pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(n: usize) -> usize {
        // Roughly 1 KiB of stack per frame: far past a default 2 MiB thread stack.
        let pad = std::hint::black_box([0u8; 1024]);
        if n == 0 {
            pad[0] as usize
        } else {
            depth(n - 1) + 1 + pad[n % 1024] as usize
        }
    }

    #[tokio::test]
    async fn runs_deep_recursion_and_survives_panics() {
        let pool = AnalysisPool::new();
        assert_eq!(pool.run(|| depth(20_000)).await, Ok(20_000));
        let err = pool.run(|| -> u8 { panic!("boom") }).await;
        assert_eq!(err, Err(JobError::Panicked("boom".into())));
        assert_eq!(
            pool.run(|| 7).await,
            Ok(7),
            "the pool still works after a panic"
        );
    }

    #[tokio::test]
    async fn a_cancelled_request_never_runs_its_queued_job() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let pool = AnalysisPool::with_threads(1);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        // Occupy the only thread until released.
        let mut busy = Box::pin(pool.run(move || {
            let _ = gate.recv();
        }));
        assert!(poll_once(&mut busy).await.is_none());
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let mut cancelled = Box::pin(pool.run(move || flag.store(true, Ordering::SeqCst)));
        assert!(poll_once(&mut cancelled).await.is_none());
        // Dropped, as tower-lsp drops the future of a cancelled request.
        drop(cancelled);
        release.send(()).unwrap();
        busy.await.unwrap();
        // A later job on the same single thread is the barrier: the cancelled one came first.
        pool.run(|| ()).await.unwrap();
        assert!(!ran.load(Ordering::SeqCst));
    }

    /// Poll a future once; its output if it was ready.
    async fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut *f).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
