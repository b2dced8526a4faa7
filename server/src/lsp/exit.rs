//! tower-lsp stops serving on `exit` only when the next message or end of input arrives;
//! an editor waiting for the process to end would wait forever. This wrapper notices the
//! `exit` notification so the server can return at once.

use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Notify;
use tower_lsp::jsonrpc::{Request, Response};
use tower_service::Service;

pub struct ExitWatch<S> {
    inner: S,
    exited: Arc<Notify>,
}

impl<S> ExitWatch<S> {
    pub fn new(inner: S) -> (Self, Arc<Notify>) {
        let exited = Arc::new(Notify::new());
        (
            Self {
                inner,
                exited: exited.clone(),
            },
            exited,
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
        let fut = self.inner.call(req);
        if exit {
            self.exited.notify_one();
        }
        fut
    }
}
