//! Document notifications in arrival order, by construction: tower-lsp reads messages in
//! order and calls the service for each at once, but runs at most four handler futures
//! together, so a notification queued behind four slow requests (a code lens opening a
//! project that probes `docker info`) would wait for them. This wrapper applies
//! `didOpen`/`didChange`/`didClose` inside `call`, on the read loop, before the next
//! message is read: never behind a request, never out of order. Everything else goes on
//! to tower-lsp.
//!
//! A request about a document sees it as it was when the request arrived (ruff: a session
//! snapshot per request): its text and version are taken here, on the read loop, and the
//! handler reads them through `snapshot::arrived`, so an edit read after the request never shifts
//! the position the request refers to.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_lsp::jsonrpc::{Request, Response};
use tower_lsp::ExitedError;
use tower_service::Service;

use super::handlers::notifications;
use super::session::Session;
use super::snapshot;
use crate::documents::Document;

type Answer = Pin<Box<dyn Future<Output = Result<Option<Response>, ExitedError>> + Send>>;

pub struct DocumentSync<S> {
    inner: S,
    session: Arc<Session>,
}

impl<S> DocumentSync<S> {
    pub fn new(inner: S, session: Arc<Session>) -> Self {
        Self { inner, session }
    }
}

impl<S> Service<Request> for DocumentSync<S>
where
    S: Service<Request, Response = Option<Response>, Error = ExitedError, Future = Answer>,
{
    type Response = Option<Response>;
    type Error = ExitedError;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // Before `initialize` (and for requests) tower-lsp decides, as the spec says.
        if !self.session.initialized() {
            return self.inner.call(optional_params(req));
        }
        if req.id().is_some() {
            let snapshot = self.snapshot(&req);
            let answer = self.inner.call(optional_params(req));
            return match snapshot {
                Some(doc) => Box::pin(snapshot::scope(doc, answer)),
                None => answer,
            };
        }
        let session = &self.session;
        let applied = match req.method() {
            "textDocument/didOpen" => apply(&req, |p| notifications::did_open::run(session, p)),
            "textDocument/didChange" => apply(&req, |p| notifications::did_change::run(session, p)),
            "textDocument/didClose" => apply(&req, |p| notifications::did_close::run(session, p)),
            _ => return self.inner.call(req),
        };
        if let Err(e) = applied {
            tracing::warn!("{}: invalid params: {e}", req.method());
        }
        Box::pin(async { Ok(None) })
    }
}

impl<S> DocumentSync<S> {
    /// The document a request names (`textDocument.uri`), as it is now.
    fn snapshot(&self, req: &Request) -> Option<(String, Document)> {
        let uri = req.params()?.get("textDocument")?.get("uri")?.as_str()?;
        let doc = self.session.ws.documents.get(uri)?;
        Some((uri.to_string(), doc))
    }
}

/// Methods whose params are all optional: tower-lsp rejects a request without `params`
/// ("Missing params field") before any handler runs, so an absent or null one becomes `{}`.
const OPTIONAL_PARAMS: &[&str] = &["clnrm/scenarios"];

fn optional_params(req: Request) -> Request {
    if !OPTIONAL_PARAMS.contains(&req.method()) || !matches!(req.params(), None | Some(Value::Null))
    {
        return req;
    }
    let (method, id, _) = req.into_parts();
    let builder = Request::build(method).params(Value::Object(Default::default()));
    match id {
        Some(id) => builder.id(id).finish(),
        None => builder.finish(),
    }
}

fn apply<P: DeserializeOwned>(req: &Request, run: impl FnOnce(P)) -> Result<(), String> {
    let params = req.params().cloned().unwrap_or(Value::Null);
    let params = serde_json::from_value(params).map_err(|e| e.to_string())?;
    run(params);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::client::ClientFlags;
    use crate::lsp::Server;
    use serde_json::json;

    /// The server's service behind the document-sync layer, and its session.
    fn service() -> (
        DocumentSync<tower_lsp::LspService<Server>>,
        Arc<Session>,
        tower_lsp::ClientSocket,
    ) {
        let built = Arc::new(std::sync::OnceLock::new());
        let (service, socket) = tower_lsp::LspService::new(|client| {
            let server = Server::new(client);
            let _ = built.set(server.session());
            server
        });
        let session = built.get().cloned().unwrap();
        (DocumentSync::new(service, session.clone()), session, socket)
    }

    #[tokio::test]
    async fn edits_apply_in_call_order_without_polling_any_handler() {
        let (mut sync, session, _socket) = service();
        let _ = session.flags.set(ClientFlags::default());
        let uri = "file:///w/a.clnrm.toml";
        let open = json!({ "textDocument": { "uri": uri, "languageId": "toml", "version": 1, "text": "a" } });
        let change = json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": "b" }] });
        // The answers are never polled: as if four slow requests held every handler slot.
        let _first = sync.call(Request::build("textDocument/didOpen").params(open).finish());
        let _second = sync.call(
            Request::build("textDocument/didChange")
                .params(change)
                .finish(),
        );
        let doc = session.ws.documents.get(uri).unwrap();
        assert_eq!((doc.version, &*doc.text), (2, "b"));
    }

    #[tokio::test]
    async fn a_request_sees_the_document_as_it_arrived() {
        let (mut sync, session, _socket) = service();
        let init = Request::build("initialize")
            .params(json!({ "capabilities": {} }))
            .id(0)
            .finish();
        sync.call(init).await.unwrap();
        assert!(session.initialized());
        let uri = "file:///w/a.clnrm.toml";
        let text = "[meta]\nname = \"a\"\n";
        let open = json!({ "textDocument": { "uri": uri, "languageId": "toml", "version": 1, "text": text } });
        drop(sync.call(Request::build("textDocument/didOpen").params(open).finish()));
        let symbols = sync.call(
            Request::build("textDocument/documentSymbol")
                .params(json!({ "textDocument": { "uri": uri } }))
                .id(1)
                .finish(),
        );
        // An edit read after the request, applied before the request is answered.
        let change = json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": "" }] });
        drop(
            sync.call(
                Request::build("textDocument/didChange")
                    .params(change)
                    .finish(),
            ),
        );
        assert_eq!(session.ws.documents.get(uri).unwrap().version, 2);
        let answer = symbols.await.unwrap().unwrap();
        let (_, result) = answer.into_parts();
        let names: Vec<String> = result
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect();
        // The symbols of version 1 (`[meta]` named "a"); version 2 is empty.
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn scenarios_without_params_gets_an_empty_object() {
        let bare = optional_params(Request::build("clnrm/scenarios").id(7).finish());
        assert_eq!(bare.params(), Some(&json!({})));
        assert_eq!(bare.id(), Some(&tower_lsp::jsonrpc::Id::Number(7)));
        let given = json!({ "uri": "file:///w/a.clnrm.toml" });
        let kept = optional_params(
            Request::build("clnrm/scenarios")
                .id(8)
                .params(given.clone())
                .finish(),
        );
        assert_eq!(kept.params(), Some(&given));
        let other = optional_params(Request::build("textDocument/hover").id(9).finish());
        assert_eq!(other.params(), None);
    }
}
