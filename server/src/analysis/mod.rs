//! The dry-run validator: Tera syntax → render → TOML parse → schema → semantic rules,
//! every finding reported at its place in the template source.
//!
//! [`Analyzer::analyze`] is the one entry point for the LSP face and the CLI alike, so
//! an editor and `clnrm-lsp check` show the same diagnostics by construction.

#[cfg(test)]
pub(crate) mod annotated;
pub mod codes;
mod contain;
mod diagnostic;
pub mod environment;
mod key;
mod library;
pub mod rules;
pub mod schema;
mod severity;
pub mod source_map;
pub mod template;
pub mod toml;
mod toml_wording;

use std::path::Path;
use std::sync::Arc;

pub use codes::Code;
pub use diagnostic::{Diagnostic, Edit, Fix, Related, Severity, SourceFile};
pub use environment::Environment;
pub use key::ContentKey;
pub use source_map::SourceMap;
pub use template::{Dependency, Rendered, SourceLoader};

use crate::cache::{BoundedCache, CacheStats};

/// Files larger than this get a single diagnostic instead of a full analysis: a keystroke
/// must never stall on a pasted log file.
pub const MAX_ANALYSED_BYTES: usize = 4 * 1024 * 1024;

/// Findings reported per file; the rest are counted in one `too-many-diagnostics` summary,
/// so a generated or pasted file cannot produce megabytes of output.
pub const MAX_DIAGNOSTICS_PER_FILE: usize = 200;

/// The schema and rule stages each stop once they have this many findings: past the cap
/// they would only be counted, and a 4 MiB file of 300,000 empty `[[scenario]]` tables
/// would spend seconds and hundreds of megabytes describing each one.
pub const STAGE_BUDGET: usize = 2 * MAX_DIAGNOSTICS_PER_FILE;

/// What a file is, which decides how much of the pipeline applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A test file (`*.clnrm.toml.tera`, or an unsaved buffer): full pipeline.
    Test,
    /// A template library (`_macros.toml.tera`, any other `*.tera`): Tera syntax only,
    /// since it is not a test by itself.
    TemplateLibrary,
    /// A test named `*.toml` (e.g. `*.clnrm.toml`): full pipeline, and since clnrm's `run`
    /// parses such a file as raw TOML, Tera statements outside strings are reported.
    RawTest,
    /// A workspace's `.clnrm/config.toml`: checked against the configuration's own
    /// schema and bounds, not as a test.
    Config,
}

impl FileKind {
    pub fn of(path: Option<&Path>) -> Self {
        let Some(name) = path.and_then(|p| p.file_name()).and_then(|n| n.to_str()) else {
            return FileKind::Test;
        };
        if path.is_some_and(crate::config::is_config_file) {
            return FileKind::Config;
        }
        if name.ends_with(".tera") && !name.ends_with(".clnrm.toml.tera") {
            FileKind::TemplateLibrary
        } else if name.ends_with(".toml") {
            FileKind::RawTest
        } else {
            FileKind::Test
        }
    }

    /// The kind of a file the user named explicitly (`check FILE`): a `*.toml.tera` is a
    /// test whatever the rest of its name, as the user asked for it, except a `_`-prefixed
    /// partial (clnrm's `_macros.toml.tera` convention), which stays a library.
    pub fn of_named(path: &Path) -> Self {
        let kind = Self::of(Some(path));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if kind == FileKind::TemplateLibrary
            && name.ends_with(".toml.tera")
            && !name.starts_with('_')
        {
            FileKind::Test
        } else {
            kind
        }
    }
}

/// Where a document lives: decides which templates it may import or include.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    /// The document's own path, when it has one.
    pub path: Option<&'a Path>,
    /// The workspace root; templates outside it are never read.
    pub workspace_root: Option<&'a Path>,
    /// What the file is, when the caller knows better than its name (a file named on the
    /// command line); `None`: [`FileKind::of`] its path.
    pub kind: Option<FileKind>,
}

/// The result of analysing one text. Shared by content hash, so it must not depend on
/// anything the key does not cover.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Findings in pipeline order (Tera, render, TOML, schema, rules), each stage by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The rendered TOML and its map back to the template, when rendering succeeded.
    pub rendered: Option<Arc<Rendered>>,
    /// Whether the rendered text parsed as TOML (later stages ran).
    pub parsed: bool,
    /// The templates this text imports or includes, as resolved when it was analysed.
    pub dependencies: Vec<Dependency>,
    /// The workspace root `{{ workspace }}` rendered to (covered by the key).
    pub workspace: Option<String>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Rough heap size, for the cache's byte bound.
    pub fn weight(&self) -> usize {
        let diags: usize = self.diagnostics.iter().map(|d| 96 + d.message.len()).sum();
        let rendered = self.rendered.as_ref().map_or(0, |r| r.weight());
        let deps: usize = self.dependencies.iter().map(|d| 64 + d.name.len()).sum();
        diags + rendered + deps + 64
    }
}

/// How an analysis was obtained: for logs and cache observability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalysisInfo {
    pub key: ContentKey,
    pub cache_hit: bool,
}

/// The analysis engine: the compiled schema, the environment snapshot, and the hash cache.
pub struct Analyzer {
    env: Environment,
    cache: BoundedCache<ContentKey, Arc<Analysis>>,
    /// For a batch run ([`Analyzer::for_batch`]): the contents seen once (by
    /// [`ContentKey::quick`]), whose analyses are kept only when they come again.
    seen_once: Option<std::sync::Mutex<std::collections::HashSet<u64, FastHash>>>,
}

/// Contents remembered by a batch analyzer as seen once (8 bytes each); past it, the set
/// starts again (a repeat then costs one more analysis).
const MAX_SEEN_ONCE: usize = 100_000;

/// Hash maps keyed by our own strings (pointers, memo keys): foldhash, the hasher of
/// hashbrown. The index holds one entry per key and value of every checked file, so
/// SipHash's flooding resistance costs more than it buys here (as in the memos of
/// suggestions and regex verdicts, bounded and cleared when full).
pub(crate) type FastHash = foldhash::fast::RandomState;

/// Bounds of the in-memory analysis cache.
pub const CACHE_MAX_ENTRIES: usize = 4096;
pub const CACHE_MAX_BYTES: usize = 64 * 1024 * 1024;

impl Analyzer {
    pub fn new(env: Environment) -> Self {
        Self {
            env,
            cache: BoundedCache::new(CACHE_MAX_ENTRIES, CACHE_MAX_BYTES),
            seen_once: None,
        }
    }

    /// An analyzer for a run over many files (`check`): an analysis is kept for reuse
    /// only once its content comes a second time. Most files of a run are distinct, and
    /// keeping each analysis to the end only grows the heap (fresh pages, page faults);
    /// copies of one file are analysed twice, then answered from the cache.
    pub fn for_batch(env: Environment) -> Self {
        Self {
            seen_once: Some(Default::default()),
            ..Self::new(env)
        }
    }

    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// Analyse `text`, or return the cached analysis of identical input.
    ///
    /// The key covers the text, the file kind, the environment and the content of every
    /// template it imports or includes (read through `loader`), plus the engine version.
    pub fn analyze(
        &self,
        text: &str,
        origin: Origin<'_>,
        loader: &dyn SourceLoader,
    ) -> Arc<Analysis> {
        self.analyze_keeping(text, origin, loader, false)
    }

    /// [`Analyzer::analyze`], also saying whether the cache answered and under which key.
    pub fn analyze_with_info(
        &self,
        text: &str,
        origin: Origin<'_>,
        loader: &dyn SourceLoader,
    ) -> (Arc<Analysis>, AnalysisInfo) {
        let input = self.input(text, origin, loader);
        let keep = self.seen_before(text, &input);
        self.keyed(text, input, keep)
    }

    /// [`Analyzer::analyze`] of a text that will be asked for again in this run (a
    /// library's importers, checked later as files of their own): kept for reuse even by
    /// a batch analyzer.
    pub fn analyze_to_reuse(
        &self,
        text: &str,
        origin: Origin<'_>,
        loader: &dyn SourceLoader,
    ) -> Arc<Analysis> {
        self.analyze_keeping(text, origin, loader, true)
    }

    fn analyze_keeping(
        &self,
        text: &str,
        origin: Origin<'_>,
        loader: &dyn SourceLoader,
        reused: bool,
    ) -> Arc<Analysis> {
        let input = self.input(text, origin, loader);
        // Recorded first, even when kept anyway: a later sight must look in the cache.
        let keep = self.seen_before(text, &input) || (reused && !input.oversized);
        if !keep {
            // Whatever the cache holds was kept through here, its content marked as
            // seen: a batch run's first sight cannot be in it, and needs neither the key
            // (SHA-256 of the text and its imports) nor a look.
            return Arc::new(input.analyze(text));
        }
        self.keyed(text, input, keep).0
    }

    /// What an analysis of `text` depends on besides the text.
    fn input<'e>(&'e self, text: &str, origin: Origin<'_>, loader: &dyn SourceLoader) -> Input<'e> {
        let kind = origin.kind.unwrap_or_else(|| FileKind::of(origin.path));
        // `{{ workspace }}` is the file's workspace root: part of what the text renders to.
        let env = match origin.workspace_root {
            Some(root) => std::borrow::Cow::Owned(self.env.in_workspace(root)),
            None => std::borrow::Cow::Borrowed(&self.env),
        };
        // Past the size limit nothing is analysed: no dependency scan either.
        let oversized = text.len() > MAX_ANALYSED_BYTES;
        let deps = if oversized {
            Vec::new()
        } else {
            template::collect_dependencies(text, origin, loader)
        };
        Input {
            kind,
            env,
            deps,
            oversized,
        }
    }

    /// The analysis of `input` through the cache (kept in it when `keep`), with its key.
    fn keyed(&self, text: &str, input: Input<'_>, keep: bool) -> (Arc<Analysis>, AnalysisInfo) {
        let key = input.key(text);
        if let Some(hit) = self.cache.get(&key) {
            let info = AnalysisInfo {
                key,
                cache_hit: true,
            };
            return (hit, info);
        }
        let analysis = Arc::new(input.analyze(text));
        if keep {
            self.cache
                .insert(key, analysis.clone(), analysis.weight() + text.len());
        }
        let info = AnalysisInfo {
            key,
            cache_hit: false,
        };
        (analysis, info)
    }

    /// Whether an analysis of this content is worth keeping: always, except in a batch
    /// run the first time the content is seen (which this records).
    fn seen_before(&self, text: &str, input: &Input<'_>) -> bool {
        if input.oversized {
            // Nothing was analysed, nothing is worth keeping.
            return false;
        }
        let Some(seen) = &self.seen_once else {
            return true;
        };
        let quick = ContentKey::quick(text, input.kind, &input.env, &input.deps);
        let mut seen = seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_SEEN_ONCE {
            seen.clear();
        }
        !seen.insert(quick)
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }
}

/// What an analysis depends on besides the text: its kind, the environment of its
/// workspace and its resolved imports/includes.
struct Input<'e> {
    kind: FileKind,
    env: std::borrow::Cow<'e, Environment>,
    deps: Vec<Dependency>,
    /// Over [`MAX_ANALYSED_BYTES`]: only the size matters.
    oversized: bool,
}

impl Input<'_> {
    fn key(&self, text: &str) -> ContentKey {
        if self.oversized {
            // The result depends on the size alone: no hash of the whole text.
            return ContentKey::for_analysis(&text.len().to_string(), self.kind, &self.env, &[]);
        }
        ContentKey::for_analysis(text, self.kind, &self.env, &self.deps)
    }

    fn analyze(self, text: &str) -> Analysis {
        analyze_uncached(text, self.kind, self.deps, &self.env)
    }
}

/// The pipeline itself, with no cache. `deps` are the resolved imports/includes.
/// Every diagnostic leaves through here, so this is where secret values are masked.
///
/// It runs contained (see `contain`): a panic anywhere in it becomes a `render-error`
/// diagnostic on the first line, and deep recursion has a stack sized for the limits.
pub fn analyze_uncached(
    text: &str,
    kind: FileKind,
    deps: Vec<Dependency>,
    env: &Environment,
) -> Analysis {
    let names = deps.clone();
    let mut stopped = false;
    let mut analysis = match contain::contained(|| run_pipeline(text, kind, deps, env)) {
        Ok((analysis, stopped_early)) => {
            stopped = stopped_early;
            analysis
        }
        Err(panic) => {
            let line_end = text.find('\n').unwrap_or(text.len());
            Analysis {
                diagnostics: vec![Diagnostic::new(
                    Code::RenderError,
                    0..line_end,
                    format!(
                        "analysis failed on an internal error ({panic}); please report this file"
                    ),
                )],
                dependencies: names,
                ..Analysis::default()
            }
        }
    };
    cap_diagnostics(&mut analysis.diagnostics, MAX_DIAGNOSTICS_PER_FILE, stopped);
    analysis.workspace = env.workspace().map(str::to_string);
    for d in &mut analysis.diagnostics {
        env.mask_diagnostic(d);
    }
    analysis
}

pub(crate) use contain::caught;
pub use contain::{analysis_pool, mark_analysis_thread, ANALYSIS_STACK_BYTES};

/// Keep the first `max` findings by position and replace the rest by one summary at the
/// first one dropped (`stopped`: a stage stopped looking, so the count is a lower bound).
pub fn cap_diagnostics(diagnostics: &mut Vec<Diagnostic>, max: usize, stopped: bool) {
    if diagnostics.len() <= max {
        return;
    }
    diagnostics.sort_by_key(|d| (d.range.start, d.range.end));
    let dropped = diagnostics.split_off(max);
    let (mut errors, mut warnings, mut others) = (0, 0, 0);
    for d in &dropped {
        match d.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
            Severity::Information | Severity::Hint => others += 1,
        }
    }
    let at = dropped.first().map_or(0, |d| d.range.start);
    let severity = if errors > 0 {
        Severity::Error
    } else {
        Severity::Warning
    };
    diagnostics.push(
        Diagnostic::new(
            Code::TooManyDiagnostics,
            at..at,
            format!(
                "{}{} more findings from here on are not shown ({errors} errors, {warnings} warnings, {others} notes{}): fix the ones above first",
                if stopped { "at least " } else { "" },
                dropped.len(),
                if stopped { "; the file was not checked past them" } else { "" },
            ),
        )
        .with_severity(severity),
    );
}

/// The analysis, and whether a stage stopped at its [`STAGE_BUDGET`].
fn run_pipeline(
    text: &str,
    kind: FileKind,
    deps: Vec<Dependency>,
    env: &Environment,
) -> (Analysis, bool) {
    let analysis = Analysis {
        dependencies: deps,
        ..Analysis::default()
    };
    let mut stopped = false;
    let analysis = stages(text, kind, analysis, env, &mut stopped);
    (analysis, stopped)
}

fn stages(
    text: &str,
    kind: FileKind,
    mut analysis: Analysis,
    env: &Environment,
    stopped: &mut bool,
) -> Analysis {
    if text.len() > MAX_ANALYSED_BYTES {
        analysis.diagnostics.push(Diagnostic::new(
            Code::FileTooLarge,
            0..0,
            format!(
                "file is {} bytes; files over {} bytes are not analysed",
                text.len(),
                MAX_ANALYSED_BYTES
            ),
        ));
        return analysis;
    }

    if kind == FileKind::Config {
        analysis.diagnostics = crate::config::check_text(text);
        return analysis;
    }

    // Stages a and b: Tera syntax and render. Plain TOML maps 1:1.
    let rendered = if template::is_template(text) {
        template::render(
            text,
            kind,
            &analysis.dependencies,
            env,
            &mut analysis.diagnostics,
        )
    } else {
        Some(Rendered::verbatim(text))
    };
    let Some(rendered) = rendered else {
        return analysis;
    };
    if kind == FileKind::TemplateLibrary {
        return analysis;
    }

    // Stages c–e run on the rendered text; their ranges are mapped back to the template.
    let mut found = Vec::new();
    if let Some(doc) = toml::parse(&rendered.text, &mut found) {
        analysis.parsed = true;
        *stopped |= schema::validate(&doc, &rendered.text, &mut found);
        *stopped |= rules::check(&doc, &rendered.text, &mut found);
    }
    let mut libraries = library::Libraries::new(text, &analysis.dependencies);
    for mut d in found {
        let in_rendered = d.range.clone();
        d.range = rendered.map.to_source(d.range.clone());
        if !rendered.map.is_verbatim(in_rendered.clone()) {
            let snippet = rendered.text.get(in_rendered.clone()).unwrap_or("");
            let line_start = rendered.text[..in_rendered.start.min(rendered.text.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let line_end = rendered.text[line_start..]
                .find('\n')
                .map_or(rendered.text.len(), |i| line_start + i);
            libraries.relate(&mut d, snippet, &rendered.text[line_start..line_end]);
        }
        // Places in other files (libraries) are already in their own positions.
        for r in d.related.iter_mut().filter(|r| r.file.is_none()) {
            r.range = rendered.map.to_source(r.range.clone());
        }
        if let Some(fix) = &mut d.fix {
            // A fix is only safe where the rendered text was copied verbatim.
            if fix
                .edits
                .iter()
                .all(|e| rendered.map.is_verbatim(e.range.clone()))
            {
                for e in &mut fix.edits {
                    e.range = rendered.map.to_source(e.range.clone());
                }
            } else {
                d.fix = None;
            }
        }
        analysis.diagnostics.push(d);
    }
    analysis.rendered = Some(Arc::new(rendered));
    analysis
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_analyzer_keeps_an_analysis_from_its_contents_second_sight() {
        let loader = template::DiskLoader;
        let origin = Origin::default();
        let hit = |a: &Analyzer, text: &str| a.analyze_with_info(text, origin, &loader).1.cache_hit;
        let text = "[meta]\nname = \"t\"\nversion = \"1\"\n";
        let editor = Analyzer::new(Environment::empty());
        assert!(!hit(&editor, text));
        assert!(hit(&editor, text));
        let batch = Analyzer::for_batch(Environment::empty());
        assert!(!hit(&batch, text));
        assert!(!hit(&batch, text), "seen once: not kept");
        assert!(hit(&batch, text), "seen twice: kept");
        // What a run will ask for again is kept at once, with the same result.
        let other = "[meta]\nname = \"u\"\n";
        let first = batch.analyze_to_reuse(other, origin, &loader);
        let (again, info) = batch.analyze_with_info(other, origin, &loader);
        assert!(info.cache_hit);
        assert_eq!(first.diagnostics, again.diagnostics);
        // `check`'s way in, which asks for no key: the same admission.
        let third = "[meta]\nname = \"v\"\n";
        let a1 = batch.analyze(third, origin, &loader);
        let a2 = batch.analyze(third, origin, &loader);
        assert!(!Arc::ptr_eq(&a1, &a2), "seen once: analysed again");
        assert_eq!(a1.diagnostics, a2.diagnostics);
        let a3 = batch.analyze(third, origin, &loader);
        assert!(Arc::ptr_eq(&a2, &a3), "seen twice: answered from the cache");
        let fourth = "[meta]\nname = \"w\"\n";
        let kept = batch.analyze_to_reuse(fourth, origin, &loader);
        assert!(Arc::ptr_eq(&kept, &batch.analyze(fourth, origin, &loader)));
    }

    #[test]
    fn findings_per_file_are_capped_with_a_summary() {
        let text =
            "[meta]\nname = \"t\"\nversion = \"1\"\n".to_string() + &"[[scenario]]\n".repeat(5000);
        let a = analyze_uncached(&text, FileKind::Test, Vec::new(), &Environment::empty());
        assert_eq!(a.diagnostics.len(), MAX_DIAGNOSTICS_PER_FILE + 1);
        let last = a.diagnostics.last().unwrap();
        assert_eq!(last.code, Code::TooManyDiagnostics);
        assert!(last.is_error());
        // The stages stopped looking once they had twice the cap: a lower bound.
        assert!(last.message.starts_with("at least "), "{}", last.message);
        // The kept ones are the first by position, the summary sits after them.
        assert!(a.diagnostics[..MAX_DIAGNOSTICS_PER_FILE]
            .windows(2)
            .all(|w| w[0].range.start <= w[1].range.start));
        assert!(last.range.start >= a.diagnostics[MAX_DIAGNOSTICS_PER_FILE - 1].range.start);
    }
}
