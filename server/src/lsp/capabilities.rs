//! What we negotiate at `initialize`: position encoding, and what the server offers.

use tower_lsp::lsp_types as lsp;

use super::client::ClientFlags;

use super::convert::encoding_kind;
use crate::documents::PositionEncoding;

/// The identifier of our pull-diagnostics provider.
pub const DIAGNOSTIC_IDENTIFIER: &str = "clnrm";

/// UTF-8 when the client offers it (no transcoding for us), else UTF-16 as LSP mandates.
pub fn negotiate_encoding(caps: &lsp::ClientCapabilities) -> PositionEncoding {
    let offered = caps
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(kinds) if kinds.contains(&lsp::PositionEncodingKind::UTF8) => PositionEncoding::Utf8,
        _ => PositionEncoding::Utf16,
    }
}

/// Whether the client lets us register a file watcher at run time.
/// Everything the session needs to know of the client, resolved once at `initialize`.
pub fn client_flags(caps: &lsp::ClientCapabilities) -> ClientFlags {
    let workspace = caps.workspace.as_ref();
    ClientFlags {
        pull_diagnostics: caps
            .text_document
            .as_ref()
            .and_then(|t| t.diagnostic.as_ref())
            .is_some(),
        dynamic_watchers: supports_dynamic_watchers(caps),
        lens_refresh: workspace
            .and_then(|w| w.code_lens.as_ref())
            .and_then(|c| c.refresh_support)
            .unwrap_or(false),
        diagnostic_refresh: workspace
            .and_then(|w| w.diagnostic.as_ref())
            .and_then(|d| d.refresh_support)
            .unwrap_or(false),
        work_done_progress: caps
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false),
        configuration: workspace.and_then(|w| w.configuration).unwrap_or(false),
    }
}

pub fn supports_dynamic_watchers(caps: &lsp::ClientCapabilities) -> bool {
    caps.workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|d| d.dynamic_registration)
        .unwrap_or(false)
}

pub fn server_capabilities(enc: PositionEncoding) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(encoding_kind(enc)),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                save: Some(lsp::TextDocumentSyncSaveOptions::SaveOptions(
                    lsp::SaveOptions {
                        include_text: Some(false),
                    },
                )),
                ..Default::default()
            },
        )),
        diagnostic_provider: Some(lsp::DiagnosticServerCapabilities::Options(
            lsp::DiagnosticOptions {
                identifier: Some(DIAGNOSTIC_IDENTIFIER.to_string()),
                // An edit to an included template changes its dependents' diagnostics.
                inter_file_dependencies: true,
                workspace_diagnostics: false,
                work_done_progress_options: Default::default(),
            },
        )),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(
                ["[", ".", "=", "\"", "{", "|", " ", ":"]
                    .map(String::from)
                    .to_vec(),
            ),
            ..Default::default()
        }),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        workspace_symbol_provider: Some(lsp::OneOf::Left(true)),
        folding_range_provider: Some(lsp::FoldingRangeProviderCapability::Simple(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        document_range_formatting_provider: Some(lsp::OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![
                    lsp::CodeActionKind::QUICKFIX,
                    lsp::CodeActionKind::SOURCE,
                ]),
                ..Default::default()
            },
        )),
        code_lens_provider: Some(lsp::CodeLensOptions {
            resolve_provider: Some(false),
        }),
        execute_command_provider: Some(lsp::ExecuteCommandOptions {
            commands: super::commands::Command::ALL
                .iter()
                .map(|c| c.id().to_string())
                .collect(),
            ..Default::default()
        }),
        workspace: Some(lsp::WorkspaceServerCapabilities {
            workspace_folders: Some(lsp::WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: Some(lsp::OneOf::Left(true)),
            }),
            file_operations: None,
        }),
        // The editor protocol (PROTOCOL14): custom requests and notifications.
        experimental: Some(serde_json::json!({ "clnrm": {
            "scenarios": true,
            "scenariosChanged": true,
            "runResult": true,
            "traceDiff": true,
        }})),
        ..Default::default()
    }
}

/// The watcher registration for templates and test files changed outside the editor.
pub fn watcher_registration() -> lsp::Registration {
    // Templates and test files changed outside the editor, and baselines/traces (lenses).
    // Configuration files change how scenarios run.
    let watchers = [
        "**/*.tera",
        "**/*.clnrm.toml",
        "**/.clnrm/**/*.json",
        "**/.clnrm/config.toml",
        "**/cleanroom.toml",
    ]
    .into_iter()
    .map(|glob| lsp::FileSystemWatcher {
        glob_pattern: lsp::GlobPattern::String(glob.to_string()),
        kind: None,
    })
    .collect();
    lsp::Registration {
        id: "clnrm-watch-templates".to_string(),
        method: "workspace/didChangeWatchedFiles".to_string(),
        register_options: serde_json::to_value(lsp::DidChangeWatchedFilesRegistrationOptions {
            watchers,
        })
        .ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(encodings: Option<Vec<lsp::PositionEncodingKind>>) -> lsp::ClientCapabilities {
        lsp::ClientCapabilities {
            general: Some(lsp::GeneralClientCapabilities {
                position_encodings: encodings,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn prefers_utf8_when_offered_else_utf16() {
        use lsp::PositionEncodingKind as K;
        assert_eq!(
            negotiate_encoding(&caps(Some(vec![K::UTF16, K::UTF8]))),
            PositionEncoding::Utf8
        );
        assert_eq!(
            negotiate_encoding(&caps(Some(vec![K::UTF32, K::UTF16]))),
            PositionEncoding::Utf16
        );
        assert_eq!(negotiate_encoding(&caps(None)), PositionEncoding::Utf16);
        assert_eq!(
            negotiate_encoding(&lsp::ClientCapabilities::default()),
            PositionEncoding::Utf16
        );
    }
}
