//! The process half of a verdict: the exit code and `expected_output_regex` of a step or
//! scenario, as clnrm checks them (exit code equal to `expected_exit_code`, default 0; the
//! regex searched in the trimmed stdout).

use regex::RegexBuilder;

use super::ExpectationFailure;

/// What a step or scenario expects of its process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessExpectation<'a> {
    /// `expected_exit_code`; `None` means 0.
    pub exit_code: Option<i32>,
    /// `expected_output_regex`.
    pub output_regex: Option<&'a str>,
}

/// What the process did. `exit_code` is `None` when it was killed (signal, timeout).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessOutcome<'a> {
    pub exit_code: Option<i32>,
    pub stdout: &'a str,
    pub stderr: &'a str,
}

/// Failures for the table at `path` (e.g. `steps[0]`, `scenario[1]`), keyed
/// `expected_exit_code` and `expected_output_regex`.
pub fn check_process(
    path: &str,
    expect: ProcessExpectation<'_>,
    outcome: ProcessOutcome<'_>,
) -> Vec<ExpectationFailure> {
    let mut out = Vec::new();
    let want = expect.exit_code.unwrap_or(0);
    if outcome.exit_code != Some(want) {
        let mut observed = match outcome.exit_code {
            Some(code) => format!("exit code {code}"),
            None => "no exit code (killed by a signal or a timeout)".to_string(),
        };
        if let Some(line) = last_line(outcome.stderr) {
            observed.push_str(&format!("; stderr ends with: {line}"));
        }
        out.push(ExpectationFailure::new(
            path,
            Some("expected_exit_code".into()),
            format!("exit code {want}"),
            observed,
        ));
    }
    if let Some(pattern) = expect.output_regex {
        // Bounded compile: a pathological pattern is a failure, not a stall.
        match RegexBuilder::new(pattern).size_limit(1 << 20).build() {
            Err(e) => out.push(ExpectationFailure::new(
                path,
                Some("expected_output_regex".into()),
                "a valid regular expression",
                format!("{pattern:?}: {e}"),
            )),
            Ok(re) if !re.is_match(outcome.stdout.trim()) => {
                out.push(ExpectationFailure::new(
                    path,
                    Some("expected_output_regex".into()),
                    format!("stdout matching /{pattern}/"),
                    match last_line(outcome.stdout) {
                        Some(line) => format!(
                            "{} of stdout, ending with: {line}",
                            super::count_noun(outcome.stdout.lines().count(), "line")
                        ),
                        None => "empty stdout".to_string(),
                    },
                ));
            }
            Ok(_) => {}
        }
    }
    out
}

/// The last non-blank line, cut to 200 characters.
fn last_line(text: &str) -> Option<String> {
    let line = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    let mut cut: String = line.chars().take(200).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(e: ProcessExpectation<'_>, o: ProcessOutcome<'_>) -> Vec<String> {
        check_process("steps[1]", e, o)
            .iter()
            .map(|f| f.message())
            .collect()
    }

    #[test]
    fn matching_exit_code_and_output_pass() {
        let e = ProcessExpectation {
            exit_code: Some(3),
            output_regex: Some(r"^ready\b"),
        };
        let o = ProcessOutcome {
            exit_code: Some(3),
            stdout: "\n  ready now\n",
            stderr: "",
        };
        assert_eq!(msgs(e, o), Vec::<String>::new());
        let o = ProcessOutcome {
            exit_code: Some(0),
            ..Default::default()
        };
        assert_eq!(msgs(ProcessExpectation::default(), o), Vec::<String>::new());
    }

    #[test]
    fn wrong_code_killed_process_and_unmatched_output_fail() {
        let e = ProcessExpectation {
            exit_code: None,
            output_regex: Some("ok$"),
        };
        let o = ProcessOutcome {
            exit_code: Some(2),
            stdout: "a\nnot good\n",
            stderr: "x\nerror: boom\n\n",
        };
        assert_eq!(msgs(e, o), vec![
            "steps[1].expected_exit_code: expected exit code 0; observed exit code 2; stderr ends with: error: boom",
            "steps[1].expected_output_regex: expected stdout matching /ok$/; observed 2 lines of stdout, ending with: not good",
        ]);
        let o = ProcessOutcome {
            exit_code: None,
            stdout: "",
            stderr: "",
        };
        let e = ProcessExpectation {
            exit_code: Some(0),
            output_regex: Some("x"),
        };
        assert_eq!(msgs(e, o), vec![
            "steps[1].expected_exit_code: expected exit code 0; observed no exit code (killed by a signal or a timeout)",
            "steps[1].expected_output_regex: expected stdout matching /x/; observed empty stdout",
        ]);
    }

    #[test]
    fn invalid_regex_is_a_failure() {
        let e = ProcessExpectation {
            exit_code: None,
            output_regex: Some("("),
        };
        let o = ProcessOutcome {
            exit_code: Some(0),
            stdout: "(",
            stderr: "",
        };
        let f = check_process("scenario[0]", e, o);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].key.as_deref(), Some("expected_output_regex"));
        assert_eq!(f[0].expected, "a valid regular expression");
    }
}
