//! The workspace use cases both faces call: where a file's root is, loading and analysing a
//! file from disk, what a file-system change means, workspace symbols.

pub mod changes;
pub mod file;
pub mod libraries;
pub mod root;
pub mod symbols;

pub use changes::{classify, ChangeKind};
pub use file::{analyse_file, analyse_target, FileReport};
pub use root::{find_root, root_of_file};
