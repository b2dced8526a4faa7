//! clnrm's filters (case conversions), and the word splitting the `slug`/`kebab`/`snake`
//! functions share with them.

use serde_json::Value;

use super::args::{s, stringify};
use super::{Args, R};

#[derive(Clone, Copy)]
pub(super) enum Case {
    Lower,
    Camel,
    Pascal,
}

/// Splits on non-alphanumerics and lower→upper boundaries, then joins in `case`.
pub(super) fn join_words(s: &str, sep: &str, case: Case) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_numeric();
        cur.push(c);
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    let cap = |w: &str| {
        let mut c = w.chars();
        c.next().map_or(String::new(), |f| {
            f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase()
        })
    };
    match case {
        Case::Lower => parts
            .iter()
            .map(|w| w.to_lowercase())
            .collect::<Vec<_>>()
            .join(sep),
        Case::Pascal => parts.iter().map(|w| cap(w)).collect(),
        Case::Camel => parts
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { w.to_lowercase() } else { cap(w) })
            .collect(),
    }
}

type FilterFn = fn(&Value, &Args) -> R;

pub(super) const FILTERS: &[(&str, FilterFn)] = &[
    ("camel", |v, _| {
        s(join_words(&stringify(v), "", Case::Camel))
    }),
    ("pascal", |v, _| {
        s(join_words(&stringify(v), "", Case::Pascal))
    }),
    ("snake", |v, _| {
        s(join_words(&stringify(v), "_", Case::Lower))
    }),
    ("kebab", |v, _| {
        s(join_words(&stringify(v), "-", Case::Lower))
    }),
    ("slug", |v, _| {
        s(join_words(&stringify(v), "-", Case::Lower))
    }),
    ("upper", |v, _| s(stringify(v).to_uppercase())),
    ("lower", |v, _| s(stringify(v).to_lowercase())),
];

#[cfg(test)]
mod tests {
    use super::super::render;

    #[test]
    fn case_filters() {
        assert_eq!(
            render(r#"{{ "Hello World-x" | snake }} {{ "hello_world" | camel }} {{ "hello world" | pascal }} {{ 5 | upper }}"#).unwrap(),
            "hello_world_x helloWorld HelloWorld 5"
        );
    }
}
