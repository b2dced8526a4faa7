//! Files of our own for the cases the corpus lacks (`tests/fixtures/`): each poor parser
//! message we rewrote, and a workspace whose template libraries have mistakes that only
//! their importers reveal. They go through the same `check` as a user's files.

#![allow(clippy::unwrap_used)] // a test harness: a missing fixture should fail loudly

use std::path::{Path, PathBuf};

use clnrm_lsp::analysis::{Analyzer, Code, Environment};
use clnrm_lsp::workspace::check::check_paths;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Each message fixture: the file, its first error's code, and how its message starts.
const MESSAGES: &[(&str, Code, &str)] = &[
    (
        "unquoted-word.clnrm.toml",
        Code::TomlSyntax,
        "`orders` is not a TOML value: quote a string (`\"orders\"`)",
    ),
    (
        "missing-value.clnrm.toml",
        Code::TomlSyntax,
        "`name =` has no value",
    ),
    (
        "two-pairs-one-line.clnrm.toml",
        Code::TomlSyntax,
        "unexpected `version = \"1\"` after the value",
    ),
    (
        "version-number.clnrm.toml",
        Code::TomlSyntax,
        "`1.2.3` is not a number: quote it",
    ),
    (
        "key-with-space.clnrm.toml",
        Code::TomlSyntax,
        "a bare key cannot contain spaces",
    ),
    (
        "unclosed-header.clnrm.toml",
        Code::TomlSyntax,
        "this `[[…]]` header is not closed",
    ),
    (
        "bad-escape.clnrm.toml",
        Code::TomlSyntax,
        "`\\d` is not an escape TOML knows",
    ),
    (
        "table-twice.clnrm.toml",
        Code::TomlSyntax,
        "table `[service.db]` is defined twice",
    ),
    (
        "math-on-string.clnrm.toml.tera",
        Code::RenderError,
        "`svc` is not a number",
    ),
    (
        "macro-missing-arg.clnrm.toml.tera",
        Code::RenderError,
        "macro `svc_name` is called without its argument `suffix`",
    ),
    (
        "filter-wrong-type.clnrm.toml.tera",
        Code::FunctionError,
        "filter `round` needs a number",
    ),
    (
        "set-without-value.clnrm.toml.tera",
        Code::TeraSyntax,
        "a value is missing after `=`",
    ),
    (
        "operator-without-value.clnrm.toml.tera",
        Code::TeraSyntax,
        "`~` has nothing after it",
    ),
    (
        "for-over-literal.clnrm.toml.tera",
        Code::RenderError,
        "`{% for %}` loops over a variable or a function call",
    ),
];

#[test]
fn every_rewritten_message_reaches_the_user() {
    let dir = fixtures().join("messages");
    let analyzer = Analyzer::new(Environment::empty());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut listed: Vec<_> = MESSAGES.iter().map(|(f, _, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed, "every fixture has its expectation");
    for (file, code, start) in MESSAGES {
        let out = check_paths(&[dir.join(file)], &analyzer);
        let first = out.files[0]
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .unwrap_or_else(|| panic!("{file}: no error"));
        assert_eq!(first.code, *code, "{file}: {}", first.message);
        assert!(
            first.message.starts_with(start),
            "{file}: {}",
            first.message
        );
        for raw in [
            "expected nothing",
            "Expr {",
            "invalid boolean",
            "can be negated",
        ] {
            assert!(!first.message.contains(raw), "{file}: {}", first.message);
        }
    }
}

#[test]
fn library_mistakes_are_reported_on_the_library_once_and_never_cascade() {
    let dir = fixtures().join("libraries");
    let analyzer = Analyzer::new(Environment::empty());
    let out = check_paths(std::slice::from_ref(&dir), &analyzer);
    let names: Vec<String> = out
        .files
        .iter()
        .map(|f| f.path.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    // Tests in path order, the workspace's config, then the libraries their mistakes are in.
    assert_eq!(
        names,
        [
            "orders.clnrm.toml.tera",
            "payments.clnrm.toml.tera",
            "sessions.clnrm.toml.tera",
            ".clnrm/config.toml",
            "_broken.toml.tera",
            "_services.toml.tera",
        ]
    );
    let file = |name: &str| &out.files[names.iter().position(|n| n == name).unwrap()];
    // The macro body's mistake: once on the library's line, naming both importers.
    let services = file("_services.toml.tera");
    assert_eq!(services.diagnostics.len(), 1, "{:?}", services.diagnostics);
    let d = &services.diagnostics[0];
    assert_eq!(d.code, Code::InvalidType);
    assert_eq!(&services.text[d.range.clone()], "\"5432\"");
    assert_eq!(d.related.len(), 2);
    // A library that does not parse: its own error, no "not defined" at the call site.
    let sessions = file("sessions.clnrm.toml.tera");
    assert_eq!(sessions.diagnostics.len(), 1, "{:?}", sessions.diagnostics);
    assert_eq!(sessions.diagnostics[0].code, Code::RenderError);
    let broken = file("_broken.toml.tera");
    assert_eq!(broken.diagnostics.len(), 1, "{:?}", broken.diagnostics);
    assert_eq!(broken.diagnostics[0].code, Code::TeraSyntax);
    // Named alone, a library finds its importers in its workspace.
    let alone = check_paths(&[dir.join("_services.toml.tera")], &analyzer);
    assert_eq!(alone.files[0].diagnostics, services.diagnostics);
}
