//! The document a request names, as it was when the request arrived (ruff: a session
//! snapshot per request). `document_sync` takes it on the read loop and runs the request
//! inside [`scope`]; the session's document lookups answer from it ([`arrived`]).

use std::future::Future;

use crate::documents::Document;

tokio::task_local! {
    /// The document the request being answered names, as it was when it arrived.
    static ARRIVED: (String, Document);
}

/// Run `answer` with `doc` (its URI and the document) as the request's snapshot.
pub(crate) fn scope<F: Future>(
    doc: (String, Document),
    answer: F,
) -> impl Future<Output = F::Output> {
    ARRIVED.scope(doc, answer)
}

/// The document `uri` as it was when the current request arrived; `None` outside a request
/// about it.
pub(crate) fn arrived(uri: &str) -> Option<Document> {
    ARRIVED
        .try_with(|(u, doc)| (u == uri).then(|| doc.clone()))
        .ok()
        .flatten()
}
