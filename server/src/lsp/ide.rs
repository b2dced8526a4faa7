//! Editing features for the LSP face: convert engine results (`crate::ide`) to LSP types.
//! No logic lives here beyond the conversion.

use std::ops::Range as ByteRange;

use tower_lsp::lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Command, CompletionItem, CompletionItemKind,
    CompletionTextEdit, Diagnostic as LspDiagnostic, DocumentSymbol, Documentation, FoldingRange,
    FoldingRangeKind, Hover, HoverContents, InsertTextFormat, Location, MarkupContent, MarkupKind,
    Position, Range, SymbolKind, TextEdit, Url, WorkspaceEdit,
};

use crate::analysis::{Analysis, Diagnostic, Edit};
use crate::ide::{self, actions, completion, folding, hover, navigation, symbols, vocabulary};

pub use super::convert::View;

fn edit(view: &View<'_>, e: &Edit) -> TextEdit {
    TextEdit::new(view.range(e.range.clone()), e.new_text.clone())
}

pub fn completion(
    view: &View<'_>,
    pos: Position,
    vocab: &vocabulary::Vocabulary,
) -> Vec<CompletionItem> {
    completion::complete(view.text, view.offset(pos), vocab)
        .into_iter()
        .map(|c| CompletionItem {
            label: c.label,
            kind: Some(match c.kind {
                completion::CompletionKind::Table => CompletionItemKind::MODULE,
                completion::CompletionKind::Key => CompletionItemKind::PROPERTY,
                completion::CompletionKind::Value => CompletionItemKind::ENUM_MEMBER,
                completion::CompletionKind::Service => CompletionItemKind::REFERENCE,
                completion::CompletionKind::Variable => CompletionItemKind::VARIABLE,
                completion::CompletionKind::Function => CompletionItemKind::FUNCTION,
                completion::CompletionKind::Filter => CompletionItemKind::OPERATOR,
                completion::CompletionKind::Macro => CompletionItemKind::METHOD,
                completion::CompletionKind::Snippet => CompletionItemKind::SNIPPET,
            }),
            detail: c.detail,
            documentation: c.documentation.map(|d| {
                Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: d,
                })
            }),
            insert_text_format: Some(if c.snippet {
                InsertTextFormat::SNIPPET
            } else {
                InsertTextFormat::PLAIN_TEXT
            }),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
                view.range(c.replace),
                c.insert_text,
            ))),
            ..CompletionItem::default()
        })
        .collect()
}

pub fn hover(view: &View<'_>, pos: Position, vocab: &vocabulary::Vocabulary) -> Option<Hover> {
    hover::hover(view.text, view.offset(pos), vocab).map(|h| Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: h.markdown,
        }),
        range: Some(view.range(h.range)),
    })
}

/// Definitions; `other` converts a location in another file (path, byte range) to LSP.
pub fn definition(
    view: &View<'_>,
    uri: &Url,
    pos: Position,
    vocab: &vocabulary::Vocabulary,
    analysis: &Analysis,
    other: &dyn Fn(&std::path::Path, ByteRange<usize>) -> Option<Location>,
) -> Vec<Location> {
    navigation::definition(view.text, view.offset(pos), vocab, &analysis.dependencies)
        .into_iter()
        .filter_map(|l| match &l.path {
            None => Some(Location::new(uri.clone(), view.range(l.range))),
            Some(p) => other(p, l.range),
        })
        .collect()
}

pub fn references(view: &View<'_>, uri: &Url, pos: Position) -> Vec<Location> {
    navigation::references(view.text, view.offset(pos))
        .into_iter()
        .map(|r| Location::new(uri.clone(), view.range(r)))
        .collect()
}

pub fn document_symbols(view: &View<'_>, analysis: &Analysis) -> Vec<DocumentSymbol> {
    symbols::document_symbols(analysis)
        .iter()
        .map(|s| document_symbol(view, s))
        .collect()
}

#[allow(deprecated)] // `deprecated` must still be spelled out in lsp-types 0.94.
fn document_symbol(view: &View<'_>, s: &symbols::Symbol) -> DocumentSymbol {
    DocumentSymbol {
        name: if s.name.is_empty() {
            "(unnamed)".into()
        } else {
            s.name.clone()
        },
        detail: s.detail.clone(),
        kind: symbol_kind(s.kind),
        tags: None,
        deprecated: None,
        range: view.range(s.range.clone()),
        selection_range: view.range(s.selection.clone()),
        children: Some(
            s.children
                .iter()
                .map(|c| document_symbol(view, c))
                .collect(),
        ),
    }
}

pub fn symbol_kind(k: symbols::SymbolKind) -> SymbolKind {
    match k {
        symbols::SymbolKind::Metadata => SymbolKind::NAMESPACE,
        symbols::SymbolKind::Service => SymbolKind::CLASS,
        symbols::SymbolKind::Scenario => SymbolKind::FUNCTION,
        symbols::SymbolKind::Step => SymbolKind::METHOD,
        symbols::SymbolKind::Expectation => SymbolKind::EVENT,
        symbols::SymbolKind::Section => SymbolKind::MODULE,
    }
}

pub fn folding_ranges(view: &View<'_>, analysis: &Analysis) -> Vec<FoldingRange> {
    folding::folding_ranges(view.text, analysis)
        .into_iter()
        .filter_map(|f| {
            let r = view.range(f.range);
            (r.end.line > r.start.line).then_some(FoldingRange {
                start_line: r.start.line,
                start_character: None,
                end_line: r.end.line,
                end_character: None,
                kind: Some(match f.kind {
                    folding::FoldKind::Comment => FoldingRangeKind::Comment,
                    folding::FoldKind::Region => FoldingRangeKind::Region,
                }),
                collapsed_text: None,
            })
        })
        .collect()
}

/// Whole-document formatting; a refusal becomes the error message the client shows.
pub fn formatting(view: &View<'_>, range: Option<Range>) -> Result<Vec<TextEdit>, String> {
    let edits = match range {
        None => ide::format::format_edits(view.text),
        Some(r) => ide::format::format_range_edits(view.text, view.byte_range(r)),
    }
    .map_err(|e| e.to_string())?;
    Ok(edits.iter().map(|e| edit(view, e)).collect())
}

/// Code actions for `range`; `client_diags` are the LSP diagnostics the client sent and
/// `engine_diags` the engine's current ones (matched by range and code).
pub fn code_actions(
    view: &View<'_>,
    uri: &Url,
    range: Range,
    client_diags: &[LspDiagnostic],
    engine_diags: &[Diagnostic],
    analysis: &Analysis,
) -> Vec<CodeActionOrCommand> {
    // Only the engine diagnostics the client is asking about, in the client's order.
    let mut matched: Vec<(Diagnostic, LspDiagnostic)> = Vec::new();
    for cd in client_diags {
        let code = match &cd.code {
            Some(tower_lsp::lsp_types::NumberOrString::String(s)) => s.as_str(),
            _ => continue,
        };
        if let Some(d) = engine_diags.iter().find(|d| {
            d.code.as_str() == code
                && view.range(d.range.clone()) == cd.range
                && d.message == cd.message
        }) {
            matched.push((d.clone(), cd.clone()));
        }
    }
    let engine: Vec<Diagnostic> = matched.iter().map(|(d, _)| d.clone()).collect();
    actions::code_actions(view.text, view.byte_range(range), &engine, analysis)
        .into_iter()
        .map(|a| {
            let command = a.command.as_ref().map(|c| Command {
                title: a.title.clone(),
                command: crate::lsp::commands::Command::for_action(c.action)
                    .id()
                    .to_string(),
                arguments: Some(vec![serde_json::json!(uri), serde_json::json!(c.scenario)]),
            });
            let edit = (!a.edits.is_empty()).then(|| WorkspaceEdit {
                changes: Some(
                    [(uri.clone(), a.edits.iter().map(|e| edit(view, e)).collect())]
                        .into_iter()
                        .collect(),
                ),
                ..WorkspaceEdit::default()
            });
            CodeActionOrCommand::CodeAction(CodeAction {
                title: a.title,
                kind: Some(match a.kind {
                    actions::ActionKind::QuickFix => CodeActionKind::QUICKFIX,
                    actions::ActionKind::Source => CodeActionKind::SOURCE,
                }),
                diagnostics: a
                    .fixes
                    .and_then(|i| matched.get(i))
                    .map(|(_, cd)| vec![cd.clone()]),
                edit,
                command,
                is_preferred: a.preferred.then_some(true),
                ..CodeAction::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::{LineIndex, PositionEncoding};

    #[test]
    fn converts_positions_in_the_negotiated_encoding() {
        let text = "a = \"😀\"\nb = 1\n";
        let index = LineIndex::new(text);
        let view = View {
            text,
            index: &index,
            enc: PositionEncoding::Utf16,
        };
        let b = text.find('b').unwrap();
        assert_eq!(view.position(b), Position::new(1, 0));
        assert_eq!(
            view.position(text.find("\"\n").unwrap()),
            Position::new(0, 7)
        );
        assert_eq!(view.offset(Position::new(0, 7)), text.find("\"\n").unwrap());
    }

    #[test]
    fn formatting_refusal_is_a_message() {
        let text = "[meta\n";
        let index = LineIndex::new(text);
        let view = View {
            text,
            index: &index,
            enc: PositionEncoding::Utf16,
        };
        let err = formatting(&view, None).unwrap_err();
        assert!(err.contains("syntax errors"), "{err}");
    }
}
