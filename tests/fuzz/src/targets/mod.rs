//! The fuzz targets: each a plain `fn(&[u8])` that must return for every input (no panic,
//! no abort, no hang, bounded memory), with the tokens its mutator inserts.

mod analysis;
mod lsp;
mod selftest;
mod span_import;
mod template;

/// One fuzz target.
pub struct Target {
    /// The name on the command line and of its `corpus/`, `crashes/` and `regressions/`
    /// directories.
    pub name: &'static str,
    pub run: fn(&[u8]),
    /// Tokens the mutator inserts, on top of the shared dictionary file.
    pub tokens: &'static [&'static str],
}

/// Every target, in the order `all` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "analysis",
        run: analysis::run,
        tokens: template::TOKENS,
    },
    Target {
        name: "template",
        run: template::run,
        tokens: template::TOKENS,
    },
    Target {
        name: "span_import",
        run: span_import::run,
        tokens: span_import::TOKENS,
    },
    Target {
        name: "lsp",
        run: lsp::run,
        tokens: lsp::TOKENS,
    },
];

/// Dies in the way its input names (`panic`, `abort`, `overflow`, `hang`, `oom`): the
/// driver's own test. Not in [`TARGETS`], so `all` never runs it.
pub const SELFTEST: Target = Target {
    name: "selftest",
    run: selftest::run,
    tokens: &[],
};

pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS
        .iter()
        .chain(std::iter::once(&SELFTEST))
        .find(|t| t.name == name)
}

/// A fuzz input as several files: the first is the file under test, and each line
/// `#--- NAME` starts another file named NAME, so includes, imports and extends across
/// files (and cycles between them) can be generated.
pub fn split_files(input: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(input);
    let mut files = vec![("t.clnrm.toml.tera".to_string(), String::new())];
    for line in text.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("#--- ") {
            let name = name.trim();
            if !name.is_empty() && !name.contains(['/', '\\']) {
                files.push((name.to_string(), String::new()));
                continue;
            }
        }
        if let Some((_, body)) = files.last_mut() {
            body.push_str(line);
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_split_into_files() {
        let f = split_files(b"a\n#--- b.tera\nb1\nb2\n#--- ../x\nc\n");
        assert_eq!(f.len(), 2);
        assert_eq!(f[0], ("t.clnrm.toml.tera".into(), "a\n".into()));
        assert_eq!(f[1], ("b.tera".into(), "b1\nb2\n#--- ../x\nc\n".into()));
    }
}
