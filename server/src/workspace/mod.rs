//! The workspace use cases both faces call: where a file's root is, loading and analysing a
//! file from disk, what a file-system change means, which files depend on a template, the
//! per-root projects and planning runs with a selection, workspace symbols.

pub mod changes;
pub mod check;
pub mod dependents;
pub mod diff;
pub mod file;
pub mod libraries;
pub mod projects;
pub mod root;
pub mod runs;
pub mod snapshot;
pub mod symbols;

pub use changes::{classify, ChangeKind};
pub use dependents::Dependents;
pub use file::{analyse_file, analyse_target, FileReport};
pub use projects::{Opened, ProjectOptions, Projects};
pub use root::{find_root, root_of_file, workspace_relative};
pub use runs::{FilePlan, Planning, Runs, ShardPlan, ToPlan};
