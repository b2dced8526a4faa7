//! Splitting a scenario's `run` string into argv the way clnrm 1.3.0's
//! `parse_shell_command` does: whitespace separates words, `'…'` and `"…"` group, `\`
//! escapes the next character outside single quotes; unbalanced quotes, a trailing
//! backslash and an empty command are errors. No variables, globs or operators: the
//! result is executed without a shell.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgvError {
    #[error("empty command")]
    Empty,
    #[error("unbalanced {0} quote in command")]
    Unbalanced(char),
    #[error("trailing backslash in command")]
    TrailingBackslash,
}

pub fn split(command: &str) -> Result<Vec<String>, ArgvError> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word exists once a quote opens, even if it stays empty (`''` is an argument).
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') => quote = None,
            (Some('\''), c) => word.push(c),
            (Some('"'), '"') => quote = None,
            (_, '\\') => match chars.next() {
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
                None => return Err(ArgvError::TrailingBackslash),
            },
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(ArgvError::Unbalanced(q));
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err(ArgvError::Empty);
    }
    Ok(words)
}

/// A step's command as its author meant it: one element is a shell command line
/// (`sh -c`), several are an argv, each element one word. (clnrm 1.3.0 joins the elements
/// with spaces and runs `sh -c` on the result, which re-splits words with spaces or quotes;
/// the analysis notes where that differs, as `run-compat`.)
pub fn step_argv(command: &[String]) -> Vec<String> {
    match command {
        [line] => vec!["sh".into(), "-c".into(), line.clone()],
        argv => argv.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<String> {
        split(s).unwrap()
    }

    #[test]
    fn splits_like_clnrm() {
        assert_eq!(ok("echo  hello\tworld"), ["echo", "hello", "world"]);
        assert_eq!(
            ok("sh -c 'echo a && echo b'"),
            ["sh", "-c", "echo a && echo b"]
        );
        // `\` escapes inside double quotes too, as in clnrm: `\n` is a plain `n`.
        assert_eq!(ok(r#"printf "%s\n" x"#), ["printf", "%sn", "x"]);
        assert_eq!(ok(r"a\ b c"), ["a b", "c"]);
        assert_eq!(ok(r"'a\b'"), [r"a\b"]);
        assert_eq!(ok(r#"say "it's""#), ["say", "it's"]);
        assert_eq!(ok("x '' y"), ["x", "", "y"]);
        assert_eq!(ok("pre'fix'\"ed\""), ["prefixed"]);
    }

    #[test]
    fn rejects_bad_commands() {
        assert_eq!(split("   "), Err(ArgvError::Empty));
        assert_eq!(split("echo 'x"), Err(ArgvError::Unbalanced('\'')));
        assert_eq!(split("echo \"x"), Err(ArgvError::Unbalanced('"')));
        assert_eq!(split("echo \\"), Err(ArgvError::TrailingBackslash));
    }

    #[test]
    fn a_step_is_a_shell_line_or_an_argv() {
        assert_eq!(
            step_argv(&["echo a && echo b".into()]),
            ["sh", "-c", "echo a && echo b"]
        );
        let argv = ["sh".to_string(), "-c".into(), "echo 'x y'".into()];
        assert_eq!(step_argv(&argv), argv);
    }
}
