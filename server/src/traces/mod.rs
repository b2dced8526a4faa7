//! Spans and traces: the span model shared by runs and diffs, span trees, trace diff,
//! baselines and the text tree.
//!
//! For an editor or the CLI, per scenario: [`compare_scenario`] gives a [`ScenarioDiff`]
//! (its [`ScenarioDiff::lens_title`] is the code lens), [`render_text`] /
//! [`render_markdown`] show it, [`render_html`] draws it as a waterfall page, and [`update_baseline`] records the last trace.

pub mod baseline;
pub mod compare;
pub mod diff;
mod html;
pub mod import;
pub mod render;
mod scenario;
mod settings;
mod span;
mod summary;
pub mod tree;

pub use baseline::BaselineError;
pub use compare::{compare, compare_files, FilesOutcome, ScenarioOutcome, Update, Verdict};
pub use diff::{Change, DiffNode, Mark, TraceDiff};
pub use html::{escape as escape_html, render_html, HtmlScenario, HtmlView};
pub use import::{parse_spans, ImportError};
pub use render::{render_markdown, render_text, RenderOptions};
pub use scenario::{compare_scenario, scenario_page, update_baseline, ScenarioDiff, ScenarioState};
pub use settings::{DiffSettings, DEFAULT_BASELINE_DIR};
pub use span::{Span, SpanKind, SpanSource, SpanStatus};
pub use summary::{DiffSummary, NO_BASELINE_TITLE, NO_TRACE_TITLE};
