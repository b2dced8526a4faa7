//! `textDocument/hover`; on a scenario header it carries the trace diff too.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types as lsp;

use crate::lsp::ide::{self};
use crate::lsp::session::{vocabulary, Session};
use crate::lsp::traces;

pub(crate) async fn run(session: &Session, params: lsp::HoverParams) -> Result<Option<lsp::Hover>> {
    let pos = params.text_document_position_params;
    let uri = pos.text_document.uri;
    let analyzer = session.analyzer.clone();
    // On a scenario's header line (where its lenses are) the hover also carries its
    // trace diff: the one place editors without code lenses (Helix) can show it.
    let trace = session.ws.path_of(uri.as_str()).map(|path| {
        let root = session.root_of(&path);
        (path, root)
    });
    session
        .on_document(&uri, move |view, doc, analysis| {
            let vocab = vocabulary(analyzer.environment(), view.text, analysis);
            let mut hover = ide::hover(view, pos.position, &vocab);
            if let Some((path, root)) = trace {
                let line_of = |o: usize| doc.line_index.line_col(&doc.text, o, view.enc).line;
                let line = line_of(view.offset(pos.position));
                let scenario = crate::runs::report::scenario_anchors(analysis)
                    .into_iter()
                    .find(|(_, anchor)| line_of(anchor.start) == line);
                if let Some((name, anchor)) = scenario {
                    if let Ok(md) = traces::show_diff(&path, &root, &name) {
                        hover = Some(append_markdown(hover, md, view.range(anchor)));
                    }
                }
            }
            hover
        })
        .await
}

fn append_markdown(hover: Option<lsp::Hover>, md: String, range: lsp::Range) -> lsp::Hover {
    let value = match hover.as_ref().map(|h| &h.contents) {
        Some(lsp::HoverContents::Markup(m)) => format!("{}\n\n---\n\n{md}", m.value),
        _ => md,
    };
    lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value,
        }),
        range: hover.and_then(|h| h.range).or(Some(range)),
    }
}
