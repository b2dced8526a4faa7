//! `[[scenario]]` and `[[steps]]`: blank names and commands, nothing to run, service
//! references, duplicate names, regexes, and what `clnrm run` ignores.

use std::collections::HashMap;

use serde_json::Value;

use super::context::is_blank;
use super::{patterns, services, Ctx};
use crate::analysis::schema::pointer;
use crate::analysis::{Code, Diagnostic, Severity};

/// The services defined: (id, its image).
type Services = [(&'static str, String)];
/// Names seen so far → where the first one is.
type Names = HashMap<String, String, crate::analysis::FastHash>;

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let services = services::defined(ctx);
    let mut names = Names::default();
    for i in 0..ctx.len("/steps") {
        if ctx.full() {
            return;
        }
        step(ctx, &pointer::at_index("/steps", i), &services, &mut names);
    }
    let mut scenario_names = Names::default();
    for i in 0..ctx.len("/scenario") {
        if ctx.full() {
            return;
        }
        scenario(
            ctx,
            &pointer::at_index("/scenario", i),
            &services,
            &mut scenario_names,
        );
    }
}

fn scenario(ctx: &mut Ctx<'_>, base: &str, services: &Services, names: &mut Names) {
    if named_table(ctx, &ctx.document(), base, "scenario", names).is_none() {
        return;
    }
    let has_service = ctx.has(&pointer::at(base, "service"));
    let run_ptr = pointer::at(base, "run");
    let has_run = ctx.has(&run_ptr);
    let steps_ptr = pointer::at(base, "steps");
    let steps = ctx.len(&steps_ptr);
    if !has_service && !has_run && steps == 0 {
        ctx.report(
            Code::IncompleteScenario,
            ctx.value(base),
            "this scenario has nothing to run: give it `service` and `run`",
        );
    } else if !has_service || !has_run {
        let missing = if has_service { "run" } else { "service" };
        ctx.report_as(
            Code::IncompleteScenario,
            Severity::Warning,
            ctx.value(base),
            format!("`clnrm run` needs both `service` and `run` in a scenario; `{missing}` is missing, so it fails"),
        );
    }
    if let Some(run) = ctx.str_at(&run_ptr).map(str::to_string) {
        if is_blank(&run) {
            ctx.report(
                Code::EmptyValue,
                ctx.value(&run_ptr),
                "`run` must not be blank",
            );
        } else if let Some(why) = patterns::shell_split_error(&run) {
            ctx.report(
                Code::InvalidValue,
                ctx.value(&run_ptr),
                format!("clnrm cannot split this command line: {why}"),
            );
        }
    }
    let service_ptr = pointer::at(base, "service");
    let doc = ctx.document();
    let service = pointer::get(&doc, &service_ptr).and_then(Value::as_str);
    service_ref(ctx, &service_ptr, service, services);
    if steps > 0 {
        ctx.report(
            Code::RunCompat,
            ctx.key(&steps_ptr),
            "clnrm 1.3.0's `run` never executes a scenario's `steps` (only `service` + `run`)",
        );
        let mut step_names = Names::default();
        for i in 0..steps {
            step(
                ctx,
                &pointer::at_index(&steps_ptr, i),
                services,
                &mut step_names,
            );
        }
    }
    for key in ["concurrent", "timeout_ms", "policy"] {
        let p = pointer::at(base, key);
        if ctx.has(&p) {
            ctx.report(
                Code::RunCompat,
                ctx.key(&p),
                format!("`{key}` is parsed but has no effect in clnrm 1.3.0's `run`"),
            );
        }
    }
}

fn step(ctx: &mut Ctx<'_>, base: &str, services: &Services, names: &mut Names) {
    // The step's table found once; its fields are read from it, and pointers to them
    // are built only to place a finding.
    let doc = ctx.document();
    let Some(table) = named_table(ctx, &doc, base, "step", names) else {
        return;
    };
    let command = table.get("command");
    if command.and_then(Value::as_array).is_some_and(Vec::is_empty) {
        let at = ctx.value(&pointer::at(base, "command"));
        ctx.report(Code::EmptyValue, at, "`command` must not be empty");
    }
    if let Some(word) = split_by_join(command) {
        let at = ctx.value(&pointer::at(base, "command"));
        ctx.report(
            Code::RunCompat,
            at,
            [
                "clnrm 1.3.0 joins `command` with spaces and runs it with `sh -c`, which re-splits `",
                &word,
                "`; clnrm-lsp runs the elements as written (one argv word each)",
            ]
            .concat(),
        );
    }
    let pattern = table.get("expected_output_regex").and_then(Value::as_str);
    if let Some(err) = pattern.and_then(patterns::regex_error) {
        let at = ctx.value(&pointer::at(base, "expected_output_regex"));
        ctx.report(
            Code::InvalidRegex,
            at,
            format!(
                "invalid regular expression (clnrm fails when the step runs): {}",
                first_line_of(&err)
            ),
        );
    }
    let service = table.get("service").and_then(Value::as_str);
    service_ref(ctx, &pointer::at(base, "service"), service, services);
    super::services::env(ctx, &pointer::at(base, "env"));
}

/// Characters a shell reads as syntax, not as part of a word: a set of ASCII bits, as
/// commands are checked character by character (long `sh -c` scripts).
const SHELL_SPECIAL: u128 = ascii_set(b"'\"`$\\|&;<>()*?[]#~{}");

const fn ascii_set(chars: &[u8]) -> u128 {
    let mut set = 0u128;
    let mut i = 0;
    while i < chars.len() {
        set |= 1 << chars[i];
        i += 1;
    }
    set
}

fn is_shell_special(c: char) -> bool {
    (c as u32) < 128 && SHELL_SPECIAL >> (c as u32) & 1 == 1
}

/// The first element of a multi-element `command` that a shell would not read back as
/// one word once the elements are joined with spaces (clnrm 1.3.0's `sh -c "<joined>"`).
fn split_by_join(command: Option<&Value>) -> Option<String> {
    let words: Vec<&str> = command?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if words.len() < 2 {
        return None;
    }
    // `echo` prints its words joined by spaces anyway: only shell syntax changes its output.
    let spaces_matter = words[0] != "echo";
    words
        .into_iter()
        .find(|w| {
            w.is_empty()
                || w.chars()
                    .any(|c| (spaces_matter && c.is_whitespace()) || is_shell_special(c))
        })
        .map(str::to_string)
}

fn first_line_of(err: &str) -> String {
    // regex errors are multi-line with a caret diagram; the last line says what is wrong.
    err.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(err)
        .trim()
        .to_string()
}

/// The table at `base` in `doc` (the document's shared handle), if it is one; its `name`
/// is checked (blank, a duplicate).
fn named_table<'d>(
    ctx: &mut Ctx<'_>,
    doc: &'d Value,
    base: &str,
    what: &str,
    names: &mut Names,
) -> Option<&'d Value> {
    let table = pointer::get(doc, base).filter(|v| v.is_object())?;
    name(ctx, base, table.get("name"), what, names);
    Some(table)
}

/// The `name` of the table at `base` (`value`, as found there).
fn name(ctx: &mut Ctx<'_>, base: &str, value: Option<&Value>, what: &str, names: &mut Names) {
    let Some(n) = value.and_then(Value::as_str) else {
        return;
    };
    let p = pointer::at(base, "name");
    if is_blank(n) {
        ctx.report(
            Code::EmptyValue,
            ctx.value(&p),
            format!("{what} name must not be blank"),
        );
        return;
    }
    if let Some(first) = names.get(n) {
        let d = Diagnostic::new(
            Code::DuplicateName,
            ctx.value(&p),
            format!("another {what} is already named `{n}`: results and baselines are stored by name, so one would overwrite the other; rename one"),
        )
        .with_related(ctx.value(first), "first defined here");
        ctx.push(d);
    } else {
        names.insert(n.to_string(), p);
    }
}

/// `name`, the service named at `pointer`, is one the file defines.
fn service_ref(
    ctx: &mut Ctx<'_>,
    pointer: &str,
    name: Option<&str>,
    services: &[(&'static str, String)],
) {
    let Some(name) = name else {
        return;
    };
    let in_legacy = services
        .iter()
        .any(|(m, id)| *m == "/services" && *id == name);
    let in_v1 = services
        .iter()
        .any(|(m, id)| *m == "/service" && *id == name);
    let legacy_exists = ctx.get("/services").is_some_and(Value::is_object);
    if !in_legacy && !in_v1 {
        let ids: Vec<&str> = services.iter().map(|(_, id)| id.as_str()).collect();
        let mut message = format!("no service named `{name}` is defined");
        if let Some(s) = crate::analysis::schema::suggest(name, &ids) {
            message.push_str(&format!(": did you mean `{s}`?"));
        } else if !ids.is_empty() {
            message.push_str(&format!(" (defined: {})", ids.join(", ")));
        }
        ctx.report(Code::UndefinedService, ctx.value(pointer), message);
    } else if !in_legacy && legacy_exists {
        ctx.report_as(
            Code::UndefinedService,
            Severity::Warning,
            ctx.value(pointer),
            format!("`{name}` is defined under [service], but with [services] present `clnrm run` loads only [services]"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::analysis::annotated::fixture;
    use crate::analysis::Code;

    #[test]
    fn shell_syntax_is_the_listed_ascii_only() {
        let listed = "'\"`$\\|&;<>()*?[]#~{}";
        for c in (0..=0x2FFu32).filter_map(char::from_u32) {
            assert_eq!(super::is_shell_special(c), listed.contains(c), "{c:?}");
        }
    }

    #[test]
    fn valid_file_has_no_findings() {
        assert_eq!(rules(V1), vec![]);
    }

    #[test]
    fn incomplete_scenarios() {
        check_annotated(
            r#"
            [meta]
            name = "t"
            version = "1"
              [[scenario]]
            # ^^^^^^^^^^^^ error[incomplete-scenario]
            name = "a"
              [[scenario]]
            # ^^^^^^^^^^^^ warning[incomplete-scenario]
            name = "b"
            run = "echo"
        "#,
            &[Code::IncompleteScenario],
        );
    }

    #[test]
    fn undefined_services_and_suggestion() {
        let text = format!(
            "{V1}{}",
            fixture(
                r#"
                [[scenario]]
                name = "s2"
                  service = "dbb"
                #           ^^^^^ error[undefined-service]: did you mean `db`?
                run = "x"
                [[steps]]
                name = "a"
                command = ["x"]
                  service = "zzz"
                #           ^^^^^ error[undefined-service]
            "#
            )
        );
        check_annotated(&text, &[Code::UndefinedService]);
    }

    #[test]
    fn v1_service_hidden_by_legacy_map_is_a_warning() {
        let text = format!(
            "{}{}",
            fixture(
                r#"
                [meta]
                name = "t"
                version = "1"
                [service.db]
                image = "alpine"
                [[scenario]]
                name = "s"
                  service = "db"
                #           ^^^^ warning[undefined-service]
                run = "echo hi"
            "#
            ),
            "[services.other]\nimage = \"x\"\n"
        );
        check_annotated(&text, &[Code::UndefinedService]);
    }

    #[test]
    fn duplicates_blank_and_regex() {
        let (_, found) = check_annotated(
            r#"
            [test.metadata]
            name = "t"
            [[steps]]
            name = "a"
              command = []
            #           ^^ error[empty-value]
            [[steps]]
              name = "a"
            #        ^^^ error[duplicate-name]
            command = ["x"]
              expected_output_regex = "(oops"
            #                         ^^^^^^^ error[invalid-regex]: unclosed
            [[steps]]
              name = " "
            #        ^^^ error[empty-value]
            command = ["x"]
        "#,
            &[Code::DuplicateName, Code::EmptyValue, Code::InvalidRegex],
        );
        let dup = found
            .iter()
            .find(|d| d.code == Code::DuplicateName)
            .unwrap();
        assert_eq!(dup.related[0].message, "first defined here");
        assert!(dup.range.start > dup.related[0].range.start);
    }

    #[test]
    fn run_line_and_inert_keys() {
        let text = format!(
            "{V1}{}",
            fixture(
                r#"
                [[scenario]]
                name = "q"
                service = "db"
                  run = "echo 'x"
                #       ^^^^^^^^^ error[invalid-value]
                  timeout_ms = 5
                # ^^^^^^^^^^ info[run-compat]
                  [[scenario.steps]]
                #            ^^^^^ info[run-compat]
                name = "a"
                command = ["x"]
            "#
            )
        );
        check_annotated(&text, &[Code::InvalidValue, Code::RunCompat]);
    }

    #[test]
    fn commands_the_join_would_split_are_noted() {
        let text = format!(
            "{V1}[[steps]]\nname = \"a\"\ncommand = [\"sh\", \"-c\", \"echo 'x' && true\"]\n\
             [[steps]]\nname = \"b\"\ncommand = [\"echo\", \"plain words\"]\n\
             [[steps]]\nname = \"c\"\ncommand = [\"echo one && echo two\"]\n"
        );
        let compat = with_code(&text, Code::RunCompat);
        assert_eq!(compat.len(), 1, "{compat:?}");
        assert!(compat[0].0.starts_with("[\"sh\""));
        assert!(
            compat[0].1.message.contains("`echo 'x' && true`"),
            "{}",
            compat[0].1.message
        );
    }
}
