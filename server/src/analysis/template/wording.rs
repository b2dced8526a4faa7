//! Tera's render-time errors speak in its own terms ("Forloop containers have to be an
//! ident", "Expr { val: Int(1), … }"); these say what is wrong and what to do instead.
//! A message with no rewrite here is shown as Tera wrote it.

/// A render failure Tera reported as a plain message.
pub fn runtime(msg: &str) -> String {
    let msg = msg.trim();
    if let Some(name) = between(msg, "Variable `", "` was used in a math operation") {
        return format!("`{name}` is not a number, so it cannot be used in arithmetic or a `<`/`>` comparison: convert it (`{name} | int`, `{name} | float`) or compare it with a string");
    }
    if let Some(name) = between(msg, "Function `", "` was used in a math operation") {
        return format!("`{name}(…)` does not return a number, so it cannot be used in arithmetic: convert its result with `| int` or `| float`");
    }
    if let Some(value) = msg.strip_prefix("Tried to do math with a string: ") {
        return format!("arithmetic on the string {value}: join strings with `~`, or convert a number held in a string with `| int`");
    }
    if msg.starts_with("Tried to do math with a string concatenation") {
        return "arithmetic on a `~` string concatenation: put the arithmetic in parentheses before joining, e.g. `\"n\" ~ (a + 1)`".to_string();
    }
    if let Some(value) = msg.strip_prefix("Tried to do math with a boolean: ") {
        return format!("arithmetic on the boolean {value}: use `if` to choose a number instead");
    }
    if msg.starts_with("Tried to do a modulo by zero") {
        return "modulo by zero: the right-hand side of `%` is 0".to_string();
    }
    if msg.ends_with("results in an out of bounds i64")
        || msg.ends_with("results in an out of bounds u64")
    {
        return format!(
            "integer overflow: {} (the result does not fit in 64 bits)",
            msg.replace(" results in an out of bounds", ", a")
                .trim_end_matches(" i64")
                .trim_end_matches(" u64")
        );
    }
    if let Some(what) = between(
        msg,
        "Forloop containers have to be an ident or a function call (tried to iterate on '",
        "')",
    ) {
        return format!("`{{% for %}}` loops over a variable or a function call, not over the literal `{}`: use e.g. `range(end=…)` or an array variable", literal(what));
    }
    if let Some(name) = between(
        msg,
        "Tried to iterate on a container (`",
        "`) that has a unsupported type",
    ) {
        return format!("`{name}` cannot be looped over: `{{% for %}}` needs an array, an object (`for k, v in …`) or a string");
    }
    if let Some(name) = between(
        msg,
        "Tried to iterate using key value on variable `",
        "`, but it isn't an object/map",
    ) {
        return format!("`for k, v in {name}` needs an object (a table), and `{name}` is not one: loop with `for x in {name}`");
    }
    if let Some(what) = between(
        msg,
        "Tried to check if ",
        " is in a string, but it isn't a string",
    ) {
        return format!(
            "`{} in …` searches a string, so the left side must be a string: quote it",
            literal(what)
        );
    }
    if let Some(what) = between(
        msg,
        "Tried to check if ",
        " is in a object, but it isn't a string",
    ) {
        return format!(
            "`{} in …` looks up a key of an object, so the left side must be a string: quote it",
            literal(what)
        );
    }
    if let Some(from) =
        msg.strip_prefix("Tried to concat a value that is not a string or a number from ident ")
    {
        return format!("`~` joins strings and numbers, and `{from}` is neither (an array, an object or a boolean): join an array with `| join(sep=…)` first");
    }
    if let Some(from) = msg.strip_prefix(
        "Tried to concat a value that is not a string or a number from function call ",
    ) {
        return format!("`~` joins strings and numbers, and `{from}(…)` returns neither: convert its result first");
    }
    if let (Some(m), Some(arg)) = (
        between(msg, "Macro `", "` is missing the argument"),
        between(msg, "is missing the argument `", "`"),
    ) {
        return format!("macro `{m}` is called without its argument `{arg}`: add `{arg}=…` to the call (macro arguments are passed by name)");
    }
    if let Some(name) = between(
        msg,
        "Function `",
        "` was used in a logic operation but is not returning a bool",
    ) {
        return format!("`{name}(…)` does not return a boolean, so it cannot be a condition: compare its result, e.g. `{name}(…) == \"…\"`");
    }
    if msg == "Tried to use super() in the top level block" {
        return "`super()` only works inside a `{% block %}` of a template that `{% extends %}` another".to_string();
    }
    if let Some(test) = between(
        msg,
        "Tester `",
        "` was called on a variable that isn't a number",
    ) {
        return format!("the test `is {test}` needs a number, and the value is not one: convert it with `| int` first");
    }
    if let Some(test) = between(msg, "Tester `", "` was called on an undefined variable") {
        return format!("the test `is {test}` was given a variable that is not defined: check `is defined` first");
    }
    msg.to_string()
}

/// Why a call to function or filter `name` failed (Tera's wording in `detail`).
pub fn call(name: &str, detail: &str) -> String {
    let detail = detail.trim();
    if let (Some(value), Some(expected)) = (
        between(
            detail,
            "was called on an incorrect value: got `",
            "` but expected",
        ),
        detail.split(" but expected ").nth(1),
    ) {
        return format!(
            "filter `{name}` needs {} and was given `{value}`: convert the value first or use another filter",
            kind(expected)
        );
    }
    if let Some(arg) = between(detail, "expected an arg called `", "`") {
        return format!("filter `{name}` needs the argument `{arg}`: add `{arg}=…` to the call");
    }
    if let Some(arg) = between(detail, "was called without a `", "` argument") {
        return format!("function `{name}` needs the argument `{arg}`: add `{arg}=…` to the call");
    }
    if let (Some(arg), Some(value)) = (
        between(detail, "received an incorrect type for arg `", "`"),
        between(detail, ": got `", "` but expected"),
    ) {
        let expected = detail.split(" but expected ").nth(1).unwrap_or("");
        return format!(
            "argument `{arg}` of `{name}` needs {} and was given `{value}`",
            kind(expected)
        );
    }
    format!("`{name}` failed: {detail}")
}

/// Tera's type names in words: "a f64" → "a number".
fn kind(expected: &str) -> &'static str {
    let e = expected
        .trim()
        .trim_start_matches("a ")
        .trim_start_matches("an ");
    match e {
        "f64" | "i64" | "u64" | "number" => "a number",
        "Vec<Value>" | "array" | "Array" => "an array",
        "String" | "string" => "a string",
        "bool" | "boolean" => "a boolean",
        "Map" | "object" | "HashMap<String, Value>" => "an object",
        _ => "a value of another type",
    }
}

/// Tera's debug form of a value (`Int(5)`, `String("a")`) as template text.
fn literal(debug: &str) -> String {
    for (prefix, quote) in [
        ("Int(", false),
        ("Float(", false),
        ("Number(", false),
        ("String(", true),
        ("Bool(", false),
    ] {
        if let Some(inner) = debug.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')) {
            return if quote {
                inner.to_string()
            } else {
                inner.trim_matches('"').to_string()
            };
        }
    }
    debug.to_string()
}

/// The text between `start` and the next `end` in `msg`.
fn between<'a>(msg: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = msg.find(start)? + start.len();
    let j = msg[i..].find(end)?;
    Some(&msg[i..i + j])
}

#[cfg(test)]
mod tests {
    use crate::analysis::{analyze_uncached, Code, Environment, FileKind};

    const HEAD: &str = "[meta]\nname = \"t\"\nversion = \"1\"\n";

    fn first_error(body: &str) -> crate::analysis::Diagnostic {
        let text = format!("{HEAD}{body}");
        let a = analyze_uncached(&text, FileKind::Test, Vec::new(), &Environment::empty());
        a.diagnostics
            .into_iter()
            .find(|d| d.is_error() && d.code != Code::NoTests)
            .unwrap_or_else(|| panic!("no error for {body}"))
    }

    #[test]
    fn arithmetic_on_a_string_variable_is_not_called_undefined() {
        for body in [
            "x = \"{{ svc + 1 }}\"\n",
            "{% if svc > 3 %}x = 1{% endif %}\n",
        ] {
            let d = first_error(body);
            assert_eq!(d.code, Code::RenderError, "{body}: {}", d.message);
            assert!(
                d.message.starts_with("`svc` is not a number"),
                "{}",
                d.message
            );
        }
    }

    #[test]
    fn tera_internals_are_not_shown() {
        let cases = [
            ("x = \"{{ 1 % 0 }}\"\n", "modulo by zero"),
            (
                "{% for c in 5 %}x{% endfor %}\n",
                "not over the literal `5`",
            ),
            ("x = \"{{ 5 in svc }}\"\n", "`5 in …` searches a string"),
            (
                "x = \"{{ svc is odd }}\"\n",
                "the test `is odd` needs a number",
            ),
        ];
        for (body, want) in cases {
            let d = first_error(body);
            assert!(d.message.contains(want), "{body}: {}", d.message);
            assert!(!d.message.contains("Expr {"), "{}", d.message);
        }
    }

    #[test]
    fn a_macro_called_without_an_argument_is_not_called_undefined() {
        let d = first_error("{% macro m(a) %}{{ a }}{% endmacro m %}x = \"{{ self::m() }}\"\n");
        assert!(
            d.message
                .starts_with("macro `m` is called without its argument `a`"),
            "{}",
            d.message
        );
    }

    #[test]
    fn filter_failures_say_what_the_filter_needs() {
        let d = first_error("x = \"{{ svc | round }}\"\n");
        assert_eq!(d.code, Code::FunctionError);
        assert_eq!(
            d.message,
            "filter `round` needs a number and was given `\"clnrm\"`: convert the value first or use another filter"
        );
        let d = first_error("x = \"{{ svc | replace(from=\"a\") }}\"\n");
        assert_eq!(
            d.message,
            "filter `replace` needs the argument `to`: add `to=…` to the call"
        );
    }
}
