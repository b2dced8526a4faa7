//! The command-line face: parse arguments, call the engine, print. No logic of its own.
//!
//! OWNER: cli helper.

pub mod diff;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Files or directories (default: the current directory).
    pub paths: Vec<std::path::PathBuf>,
}

pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Diff(args) => diff::run(args),
        _ => ExitCode::SUCCESS,
    }
}
