//! `render FILE [--var k=v]`: print the rendered TOML, as clnrm's own `render` does.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::check::check_bytes;
use super::output::{human_diagnostics, HumanOptions};
use crate::analysis::template::DiskLoader;
use crate::analysis::{Analyzer, Environment, FileKind, Origin};
use crate::documents::discover::workspace_root;
use crate::documents::fs::{read_bytes, MAX_READ_BYTES};

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The template to render.
    pub file: PathBuf,
    /// A template variable, `KEY=VALUE`; wins over clnrm's defaults and the environment.
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}

pub fn run(args: RenderArgs, color: bool) -> ExitCode {
    let bytes = match read_bytes(&args.file, None, MAX_READ_BYTES) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("clnrm-lsp: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let abs = std::path::absolute(&args.file).unwrap_or_else(|_| args.file.clone());
    let root = workspace_root(abs.parent().unwrap_or(&abs));
    let env = Environment::capture().with_user_vars(args.vars);
    let analyzer = Analyzer::new(env);
    // Encoding problems are reported like `check` does; the render itself uses the text.
    let report = check_bytes(&args.file, &abs, &root, bytes, &analyzer);
    let analysis = analyzer.analyze(
        &report.text,
        Origin {
            path: Some(&abs),
            workspace_root: Some(&root),
            kind: Some(FileKind::of_named(&abs)),
        },
        &DiskLoader,
    );
    match &analysis.rendered {
        Some(rendered) => {
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(rendered.text.as_bytes()).is_err() || stdout.flush().is_err() {
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
