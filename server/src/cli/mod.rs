//! The command-line face: parse arguments, call the engine, print. No logic of its own.
//!
//! Only this module writes to stdout, and only results go there; messages go to stderr.

pub mod allocator;
pub mod cache;
pub mod diff;
pub mod output;
pub mod render;
pub mod report;
pub mod run;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::analysis::{Analyzer, Code, Environment};
use output::{Format, HumanOptions};

#[derive(Debug, Parser)]
#[command(
    name = "clnrm-lsp",
    version,
    about = "Language server and linter for Cleanroom (clnrm) test templates"
)]
pub struct Cli {
    /// Speak LSP over stdio (the default when no command is given).
    #[arg(long)]
    pub stdio: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate templates (dry run): exit 0 clean, 1 errors found, 2 usage or I/O error.
    Check(CheckArgs),
    /// Compare scenario traces with their recorded baselines: exit 0 same, 1 differences, 2 error.
    Diff(diff::DiffArgs),
    /// Inspect and maintain the scenario-run result cache: exit 0 ok, 1 corrupt entries, 2 error.
    Cache(cache::CacheArgs),
    /// Run the scenarios of test files (results cached by rendered-scenario hash): exit 0 all
    /// passed, 1 a scenario failed, timed out or errored (or a file has errors), 2 usage or I/O error.
    Run(run::RunArgs),
    /// Merge the JSON reports of `run --shard` into one JSON or JUnit report: exit 0 all
    /// passed, 1 a scenario failed (or a file has errors), 2 unreadable or overlapping input.
    Report(report::ReportArgs),
    /// Print a template rendered to TOML; exit 1 with diagnostics on stderr if it fails.
    Render(RenderCmd),
    /// Print the diagnostic code table (the README's table is generated from it).
    #[command(hide = true)]
    Codes(CodesArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// Colour when stdout is a terminal (and NO_COLOR is unset).
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Files or directories (default: the current directory). Directories yield
    /// `*.clnrm.toml` and `*.clnrm.toml.tera`, honouring .gitignore; files are taken as given.
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to use colours in the human format.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// Check only the INDEX-th of TOTAL parts of the files (`2/4`): every part computes
    /// the same split, so the parts together check every file once.
    #[arg(long, value_name = "INDEX/TOTAL")]
    pub shard: Option<crate::runs::shard::Shard>,
}

#[derive(Debug, clap::Args)]
pub struct RenderCmd {
    #[command(flatten)]
    pub args: render::RenderArgs,
    /// When to use colours in diagnostics.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

#[derive(Debug, clap::Args)]
pub struct CodesArgs {
    /// Print a Markdown table (as in the README).
    #[arg(long)]
    pub markdown: bool,
}

impl Cli {
    /// The process's command line. A `check` (what CI jobs and editors' save hooks run)
    /// is parsed with the definition of its own arguments only: building every
    /// subcommand's definition first was ~3 % of a `check` of a hundred files, before any
    /// work could start. Anything else, and a `check` whose arguments are not accepted as
    /// they stand (`--help`, a mistake), goes through the whole definition, which prints
    /// the help or the error.
    pub fn from_env() -> Self {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        Self::quick_check(&args).unwrap_or_else(|| Self::parse_from(args))
    }

    fn quick_check(args: &[std::ffi::OsString]) -> Option<Self> {
        use clap::{Args, FromArgMatches};
        if args.get(1)? != "check" {
            return None;
        }
        let check = CheckArgs::augment_args(clap::Command::new("check").no_binary_name(true));
        let matches = check.try_get_matches_from(&args[2..]).ok()?;
        Some(Self {
            stdio: false,
            command: Some(Command::Check(CheckArgs::from_arg_matches(&matches).ok()?)),
        })
    }
}

pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Check(args) => run_check(args),
        Command::Diff(args) => diff::run(args),
        Command::Cache(args) => cache::run(args),
        Command::Run(args) => run::run(args),
        Command::Report(args) => report::run(args),
        Command::Render(cmd) => {
            let color = use_color(cmd.color, &std::io::stderr());
            render::run(cmd.args, color)
        }
        Command::Codes(args) => write_stdout(&codes_table(args.markdown)),
    }
}

fn run_check(args: CheckArgs) -> ExitCode {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let analyzer = Analyzer::for_batch(Environment::capture());
    let opts = HumanOptions {
        color: use_color(args.color, &std::io::stdout()),
    };
    // Results are written in path order as each file is done; none are held.
    // Written by whichever analysis thread hands the next report on, under the lock that
    // keeps the order: a write every few files, not every file.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let mut write_error: Option<std::io::Error> = None;
    let mut stream = match output::Stream::begin(args.format, opts, &mut out) {
        Ok(s) => Some(s),
        Err(e) => {
            write_error = Some(e);
            None
        }
    };
    let renderer = stream.as_ref().map(output::Stream::renderer);
    let streamed = crate::workspace::check::check_shard_streaming(
        &paths,
        &analyzer,
        args.shard,
        |file| renderer.map(|r| r.render(file)),
        |file, rendered| {
            if let (Some(s), Some(rendered), None) = (stream.as_mut(), rendered, &write_error) {
                if let Err(e) = s.file(&mut out, file, rendered) {
                    write_error = Some(e);
                }
            }
        },
    );
    if let (Some(s), None) = (stream, &write_error) {
        if let Err(e) = s
            .finish(&mut out, &streamed.summary)
            .and_then(|()| out.flush())
        {
            write_error = Some(e);
        }
    }
    for e in &streamed.errors {
        eprintln!("clnrm-lsp: {e}");
    }
    let written = match write_error {
        None => true,
        // A closed pipe (`| head`) is not an error worth reporting.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => true,
        Some(e) => {
            eprintln!("clnrm-lsp: cannot write to stdout: {e}");
            false
        }
    };
    if !streamed.errors.is_empty() || !written {
        ExitCode::from(2)
    } else if streamed.summary.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Whether to colour what goes to `stream`, the one choice every command makes. `auto`
/// follows the usual conventions: NO_COLOR wins, CLICOLOR_FORCE forces colour even into a
/// pipe, CLICOLOR=0 or TERM=dumb turn it off, else colour only on a terminal.
pub(crate) fn use_color(when: ColorWhen, stream: &impl anstream::stream::RawStream) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never,
    }
}

/// Write results to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn write_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clnrm-lsp: cannot write to stdout: {e}");
            ExitCode::from(2)
        }
    }
}

/// The code table, from [`Code::ALL`]: Markdown for the README, else tab-separated.
pub fn codes_table(markdown: bool) -> String {
    let mut out = String::new();
    if markdown {
        out.push_str("| Code | Default severity | Meaning |\n|---|---|---|\n");
    }
    for c in Code::ALL {
        let sev = c.default_severity().as_str();
        if markdown {
            let doc = c.description().replace('|', "\\|");
            out.push_str(&format!("| `{}` | {sev} | {doc} |\n", c.as_str()));
        } else {
            out.push_str(&format!("{}\t{sev}\t{}\n", c.as_str(), c.description()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_table_lists_every_code_once() {
        let table = codes_table(true);
        for c in Code::ALL {
            assert_eq!(table.matches(&format!("| `{}` |", c.as_str())).count(), 1);
        }
        assert_eq!(table.lines().count(), Code::ALL.len() + 2);
    }

    #[test]
    fn a_check_parsed_alone_is_what_the_whole_command_line_parses() {
        let accepted: &[&[&str]] = &[
            &["check"],
            &["check", "a.clnrm.toml", "dir"],
            &["check", "--format", "json", "x", "--color=always"],
            &["check", "--shard", "2/4", "--", "--format"],
            &["check", "help"],
        ];
        for args in accepted {
            let argv: Vec<std::ffi::OsString> = std::iter::once("clnrm-lsp")
                .chain(args.iter().copied())
                .map(Into::into)
                .collect();
            let quick = Cli::quick_check(&argv).expect("a plain check");
            let whole = Cli::parse_from(&argv);
            assert_eq!(format!("{quick:?}"), format!("{whole:?}"), "{args:?}");
        }
        // Left to the whole definition: its help, its errors, other commands.
        let others: &[&[&str]] = &[
            &["check", "--help"],
            &["check", "--format", "yaml"],
            &["check", "--stdio"],
            &["check", "-V"],
            &["--stdio"],
            &["render", "x"],
            &[],
        ];
        for args in others {
            let argv: Vec<std::ffi::OsString> = std::iter::once("clnrm-lsp")
                .chain(args.iter().copied())
                .map(Into::into)
                .collect();
            assert!(Cli::quick_check(&argv).is_none(), "{args:?}");
        }
    }
}
