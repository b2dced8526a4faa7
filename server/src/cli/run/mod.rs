//! `clnrm-lsp run`: discover, analyse, plan and run scenarios on the engine's runner, then
//! print the results (`human`, `json`, `junit`). `--watch` re-runs on changes (`watch`).
//!
//! Exit 0 when every scenario passed, 1 when one failed (or a file could not run because of
//! its errors), 2 on usage or I/O errors.

mod command;
mod format;
mod html;
pub(crate) mod junit;
mod progress;
mod watch;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::{use_color, write_stdout, ColorWhen};
use crate::analysis::{Diagnostic, Rendered};
use crate::documents::discover;
use crate::model::TestFile;
use crate::runs::result::{RunResult, RunStatus};
use crate::runs::selection::Selection;
pub use command::{Problems, RunCommand, RunOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RunFormat {
    /// One line per scenario, failures explained in the template, a summary.
    #[default]
    Human,
    /// One JSON document: `results` (one per scenario), `not_run`, `summary` (see the README).
    Json,
    /// JUnit XML: a testsuite per file, a testcase per scenario.
    Junit,
    /// One self-contained HTML page; with `--output`, each scenario's diff page beside it.
    Html,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Files or directories (default: the current directory), found as `check` finds them.
    pub paths: Vec<PathBuf>,
    /// Run only the scenario NAME (repeatable). A name no file defines is a usage error.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Scenarios run at once (default: `[executor] jobs`, else the number of CPUs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Run every scenario, reading and writing nothing: no cached result is used, and
    /// neither the result nor the trace is recorded.
    #[arg(long, conflicts_with = "refresh")]
    pub no_cache: bool,
    /// Run every scenario and record the results, replacing the cached ones.
    #[arg(long)]
    pub refresh: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    pub format: RunFormat,
    /// When to use colours in the human format.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// With `--format html`: write the report to this `.html` file, or `index.html` in this
    /// directory, with each scenario's trace-diff page beside it (default: stdout, no diffs).
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Keep running: re-run what a change affects (debounce and ignores from `[watch]`).
    #[arg(long)]
    pub watch: bool,
    /// Run only the INDEX-th of TOTAL parts of the selected scenarios (`2/4`): every part
    /// computes the same split, so the parts together run each scenario once. Merge their
    /// `--format json` outputs with `clnrm-lsp report merge`.
    #[arg(long, value_name = "INDEX/TOTAL", conflicts_with = "watch")]
    pub shard: Option<crate::runs::shard::Shard>,
}

/// The results of one file, in the shape the formats need.
#[derive(Debug, Clone)]
pub struct FileRun {
    /// As the user gave or the walk found it.
    pub path: PathBuf,
    /// The template's text (positions of diagnostics refer to it).
    pub text: String,
    pub outcome: FileOutcome,
}

#[derive(Debug, Clone)]
pub enum FileOutcome {
    /// Its scenarios ran (or came from the cache): `(scenario index, result)` in file order.
    Ran {
        rendered: Arc<Rendered>,
        file: Arc<TestFile>,
        results: Vec<(usize, Arc<RunResult>)>,
    },
    /// Not run because of errors in the file (shown like `check` shows them) or because
    /// it could not be read as a test file (`reason`).
    Invalid {
        reason: String,
        diagnostics: Vec<Diagnostic>,
    },
}

/// Everything one `run` (or one watch cycle) produced.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub files: Vec<FileRun>,
    pub elapsed_ms: u64,
    /// `--shard`: the part of the selection this run was (in the JSON, for `report merge`).
    pub shard: Option<crate::workspace::ShardPlan>,
}

/// Counts for the summary line, JSON and JUnit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    pub scenarios: usize,
    pub passed: usize,
    /// Failed, timed out or errored.
    pub failed: usize,
    pub cancelled: usize,
    pub cached: usize,
    /// Files not run because of errors in them.
    pub files_not_run: usize,
    pub duration_ms: u64,
}

impl RunReport {
    pub fn summary(&self) -> RunSummary {
        let mut s = RunSummary {
            duration_ms: self.elapsed_ms,
            ..RunSummary::default()
        };
        for f in &self.files {
            match &f.outcome {
                FileOutcome::Invalid { .. } => s.files_not_run += 1,
                FileOutcome::Ran { results, .. } => {
                    for (_, r) in results {
                        s.scenarios += 1;
                        s.cached += usize::from(r.cached);
                        match r.status {
                            RunStatus::Passed => s.passed += 1,
                            RunStatus::Cancelled => s.cancelled += 1,
                            RunStatus::Failed | RunStatus::TimedOut | RunStatus::Error => {
                                s.failed += 1
                            }
                        }
                    }
                }
            }
        }
        s
    }

    /// Exit 1 when anything failed or could not run; cancelled runs count as not passed.
    pub fn failed(&self) -> bool {
        let s = self.summary();
        s.failed > 0 || s.cancelled > 0 || s.files_not_run > 0
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: RunFormat,
    pub color: bool,
}

impl Printer {
    pub fn render(&self, report: &RunReport) -> String {
        match self.format {
            RunFormat::Human => format::human(report, self.color),
            RunFormat::Json => format::json(report),
            RunFormat::Junit => junit::render(report),
            RunFormat::Html => html::render(report, &|_, _| None),
        }
    }
}

/// Report exit-2 problems on stderr; whether there were any.
pub fn report_problems(problems: &Problems) -> bool {
    for e in &problems.errors {
        eprintln!("clnrm-lsp: {e}");
    }
    for name in &problems.unknown_scenarios {
        eprintln!("clnrm-lsp: no file defines a scenario named `{name}`");
    }
    !problems.errors.is_empty() || !problems.unknown_scenarios.is_empty()
}

pub fn run(args: RunArgs) -> ExitCode {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let printer = Printer {
        format: args.format,
        color: use_color(args.color, &std::io::stdout()),
    };
    let mut command = RunCommand::new(RunOptions {
        selection: Selection {
            shard: args.shard,
            ..Selection::named(args.scenarios.clone())
        },
        jobs: args.jobs.map(usize::from),
        use_cache: !args.no_cache && !args.refresh,
        record: !args.no_cache,
        progress: std::io::stderr().is_terminal(),
    });
    if args.watch {
        return watch::watch(&paths, &mut command, printer);
    }
    let (targets, errors) = discover::discover(&paths);
    let mut problems = Problems {
        errors,
        ..Problems::default()
    };
    let report = command.run(&targets, &mut problems);
    for warning in command.finish_remote() {
        eprintln!("clnrm-lsp: warning: {warning}");
    }
    let usage = report_problems(&problems);
    if !problems.unknown_scenarios.is_empty() {
        return ExitCode::from(2);
    }
    let written = match (&args.output, args.format) {
        (Some(output), RunFormat::Html) => match html::write(&report, output) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("clnrm-lsp: {e}");
                ExitCode::from(2)
            }
        },
        _ => write_stdout(&printer.render(&report)),
    };
    if usage || written != ExitCode::SUCCESS {
        ExitCode::from(2)
    } else if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A report with every kind of outcome, for the format snapshots.
#[cfg(test)]
pub(crate) fn fixture_report() -> RunReport {
    use crate::analysis::template::DiskLoader;
    use crate::analysis::{Analyzer, Environment, Origin};
    use crate::runs::expect::ExpectationFailure;

    const TEXT: &str = "[meta]\nname = \"api\"\nversion = \"1.0\"\n\n[[scenario]]\nname = \"smoke\"\nrun = \"true\"\n\n[[scenario]]\nname = \"load\"\nrun = \"sh -c 'exit 3'\"\n\n[[scenario]]\nname = \"slow\"\nrun = \"sleep 30\"\ntimeout_ms = 500\n\n[[scenario]]\nname = \"missing\"\nrun = \"no-such-tool\"\n\n[[scenario]]\nname = \"late\"\nrun = \"true\"\n";
    const BROKEN: &str = "[meta]\nname = \"b\"\nversion = \"1.0\"\n\n[[scenario]]\nname = 1\n";
    let analyzer = Analyzer::new(Environment::empty());
    let origin = Origin {
        path: None,
        workspace_root: None,
        kind: None,
    };
    let analysis = analyzer.analyze(TEXT, origin, &DiskLoader);
    assert!(!analysis.has_errors(), "{:#?}", analysis.diagnostics);
    let rendered = analysis.rendered.clone().unwrap();
    let file = Arc::new(TestFile::from_rendered(&rendered.text, Some(&rendered.map)).unwrap());
    let result = |name: &str, status: RunStatus, ms: u64| RunResult {
        duration_ms: ms,
        ..RunResult::without_run(name, status, None)
    };
    let smoke = RunResult {
        exit_code: Some(0),
        stdout_tail: "ok <all> & \"good\"\n".into(),
        cached: true,
        ..result("smoke", RunStatus::Passed, 420)
    };
    let load = RunResult {
        exit_code: Some(3),
        stderr_tail: "connecting…\nboom: \x1b[31mrefused\x1b[0m\n".into(),
        failures: vec![ExpectationFailure::new(
            "scenario[1]",
            Some("expected_exit_code".into()),
            "exit code 0",
            "exit code 3",
        )],
        ..result("load", RunStatus::Failed, 1234)
    };
    let slow = RunResult {
        timeout_ms: 500,
        ..result("slow", RunStatus::TimedOut, 502)
    };
    let missing = RunResult {
        error: Some("cannot start `no-such-tool`: not found".into()),
        ..result("missing", RunStatus::Error, 3)
    };
    let late = result("late", RunStatus::Cancelled, 0);
    let results = [smoke, load, slow, missing, late]
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i, Arc::new(r)))
        .collect();

    let broken = analyzer.analyze(BROKEN, origin, &DiskLoader);
    let diagnostics: Vec<Diagnostic> = broken
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    assert!(!diagnostics.is_empty());
    RunReport {
        files: vec![
            FileRun {
                path: PathBuf::from("tests/api.clnrm.toml"),
                text: TEXT.into(),
                outcome: FileOutcome::Ran {
                    rendered,
                    file,
                    results,
                },
            },
            FileRun {
                path: PathBuf::from("tests/broken.clnrm.toml"),
                text: BROKEN.into(),
                outcome: FileOutcome::Invalid {
                    reason: "not run: the file has 2 error(s); fix them first".into(),
                    diagnostics,
                },
            },
        ],
        elapsed_ms: 2100,
        shard: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_exit() {
        let report = fixture_report();
        let s = report.summary();
        assert_eq!(
            (
                s.scenarios,
                s.passed,
                s.failed,
                s.cancelled,
                s.cached,
                s.files_not_run
            ),
            (5, 1, 3, 1, 1, 1)
        );
        assert!(report.failed());
        let ok = RunReport {
            files: report.files[..1]
                .iter()
                .cloned()
                .map(|mut f| {
                    if let FileOutcome::Ran { results, .. } = &mut f.outcome {
                        results.truncate(1);
                    }
                    f
                })
                .collect(),
            elapsed_ms: 1,
            shard: None,
        };
        assert!(!ok.failed());
    }

    #[test]
    fn captured_output_cannot_drive_the_terminal() {
        assert_eq!(
            format::plain("a\x1b[1;31mb\x1b[0m\rc\x07\x1b]0;title\x07\n"),
            "abc\n"
        );
        let text = format::human(&fixture_report(), false);
        assert!(!text.contains('\x1b'), "{text}");
    }

    #[test]
    fn human_snapshot() {
        insta::assert_snapshot!(format::human(&fixture_report(), false));
    }

    #[test]
    fn human_colour_is_optional() {
        assert!(format::human(&fixture_report(), true).contains("\x1b["));
        assert!(!format::human(&fixture_report(), false).contains("\x1b["));
    }

    #[test]
    fn json_snapshot() {
        let text = format::json(&fixture_report());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["results"].as_array().map(Vec::len), Some(5));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn junit_snapshot() {
        insta::assert_snapshot!(junit::render(&fixture_report()));
    }
}
