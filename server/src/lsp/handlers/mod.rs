//! The LSP methods, one file each: convert the params in, call the session and the engine,
//! convert the answer out. Requests may wait; notifications are plain functions.

pub(crate) mod notifications;
pub(crate) mod requests;
