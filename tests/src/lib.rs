//! Test harness

pub mod binary;
