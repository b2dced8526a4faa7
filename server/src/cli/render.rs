//! `render FILE [--var k=v]`: print the rendered TOML, as clnrm's own `render` does.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{human_diagnostics, HumanOptions};
use crate::analysis::template::DiskLoader;
use crate::analysis::{Analyzer, Environment, FileKind};
use crate::workspace::{analyse_file, root_of_file};

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The template to render.
    pub file: PathBuf,
    /// A template variable, `KEY=VALUE`; wins over clnrm's defaults and the environment.
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Print the values of secret-looking environment variables (`*_TOKEN`, `*_KEY`, …)
    /// where the template uses them; by default they are masked, as everywhere else.
    #[arg(long)]
    pub show_secrets: bool,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}

pub fn run(args: RenderArgs, color: bool) -> ExitCode {
    let env = Environment::capture().with_user_vars(args.vars);
    let analyzer = Analyzer::new(env.clone());
    let abs = crate::documents::fs::absolute(&args.file);
    let root = root_of_file(&abs, &[]);
    // Read and analysed as `check` does a named file (encoding problems included).
    let kind = Some(FileKind::of_named(&abs));
    let (report, analysis) =
        match analyse_file(&args.file, &root, kind, None, &analyzer, &DiskLoader) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("clnrm-lsp: {e}");
                return ExitCode::from(2);
            }
        };
    match &analysis.rendered {
        Some(rendered) => {
            // Logs of CI jobs are read by many: secrets stay masked unless asked for.
            let text = if args.show_secrets {
                rendered.text.clone()
            } else {
                env.mask(&rendered.text)
            };
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(text.as_bytes()).is_err() || stdout.flush().is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        None => {
            let opts = HumanOptions { color };
            eprint!(
                "{}",
                human_diagnostics(&report.path, &report.text, &report.diagnostics, &opts)
            );
            ExitCode::from(1)
        }
    }
}
