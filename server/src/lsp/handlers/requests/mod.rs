//! One file per LSP request.

pub(crate) mod cache_stats;
pub(crate) mod code_action;
pub(crate) mod code_lens;
pub(crate) mod completion;
pub(crate) mod diagnostic;
pub(crate) mod document_symbol;
pub(crate) mod execute_command;
pub(crate) mod folding_range;
pub(crate) mod formatting;
pub(crate) mod goto_definition;
pub(crate) mod hover;
pub(crate) mod initialize;
pub(crate) mod range_formatting;
pub(crate) mod references;
pub(crate) mod scenarios;
pub(crate) mod shutdown;
pub(crate) mod trace_diff;
pub(crate) mod workspace_symbol;
