//! Bytes → Tera evaluation with the limits: the template stages alone (syntax, render
//! with clnrm's context), the other files of the input as its includes and imports.

use std::sync::Arc;

use clnrm_lsp::analysis::template::{self, Dependency};
use clnrm_lsp::analysis::{Environment, FileKind};

/// Constructs that once crashed, hung or exhausted memory (issue 10), inserted on top of
/// the shared Tera/TOML dictionary (`dict/tokens.txt`).
pub const TOKENS: &[&str] = &[
    "self::m(n=n)",
    "self :: m(n=n)",
    "self\n:: m(n=n)",
    "{% macro m(n) %}",
    "{% include \"t.clnrm.toml.tera\" %}",
    "{% include \"b.tera\" ignore missing %}",
    "{% import \"b.tera\"\tas b %}",
    "{% extends \"b.tera\" %}",
    "{% extends \"t.clnrm.toml.tera\" %}",
    "#--- b.tera\n",
    "{% set_global s = s ~ s %}",
    "| concat(with=s)",
    "| replace(from=\"a\", to=s)",
    "| join(sep=s)",
    "range(end=100000)",
    "-9223372036854775808 % -1",
    "1 + m::a()",
    "é::m(\"x\")",
    "{% for i in [1,2,3,4,5,6,7,8,9,10] %}",
];

pub fn run(input: &[u8]) {
    let files = super::split_files(input);
    let deps: Vec<Dependency> = files[1..]
        .iter()
        .map(|(n, t)| Dependency {
            name: n.clone(),
            path: None,
            text: Some(Arc::from(t.as_str())),
            problem: None,
        })
        .collect();
    let mut diags = Vec::new();
    let _ = template::render(
        &files[0].1,
        FileKind::Test,
        &deps,
        &Environment::empty(),
        &mut diags,
    );
}
