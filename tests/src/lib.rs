//! Test harness
pub mod bin_path;
