//! tower-lsp stops serving on `exit` only when the next message or end of input arrives;
//! an editor waiting for the process to end would wait forever. This wrapper notices the
//! `exit` notification so the server can return at once, and whether `shutdown` came
//! first (the spec's exit code: 0 after `shutdown`, 1 without).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Notify;
use tower_lsp::jsonrpc::{Request, Response};
use tower_service::Service;

pub struct ExitWatch<S> {
    inner: S,
    exited: Arc<Notify>,
    shut_down: Arc<AtomicBool>,
}

/// What the session saw of its end.
#[derive(Clone)]
pub struct Ending {
    pub exited: Arc<Notify>,
    shut_down: Arc<AtomicBool>,
}

impl Ending {
    /// The process exit code: 0 after `shutdown`, 1 otherwise (`exit` or end of input).
    pub fn code(&self) -> u8 {
        if self.shut_down.load(Ordering::SeqCst) {
            0
        } else {
            1
        }
    }
}

impl<S> ExitWatch<S> {
    pub fn new(inner: S) -> (Self, Ending) {
        let ending = Ending {
            exited: Arc::new(Notify::new()),
            shut_down: Arc::new(AtomicBool::new(false)),
        };
        (
            Self {
                inner,
                exited: ending.exited.clone(),
                shut_down: ending.shut_down.clone(),
            },
            ending,
        )
    }
}

impl<S: Service<Request, Response = Option<Response>>> Service<Request> for ExitWatch<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let exit = req.method() == "exit";
        if req.method() == "shutdown" {
            self.shut_down.store(true, Ordering::SeqCst);
        }
        let fut = self.inner.call(req);
        if exit {
            self.exited.notify_one();
        }
        fut
    }
}
