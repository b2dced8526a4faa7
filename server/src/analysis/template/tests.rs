//! Stage a+b behaviour as a user sees it: diagnostics at template positions, rendered
//! text identical to a plain Tera render, and ranges mapped back through the source map.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::analysis::{Code, Environment};

fn run(text: &str, kind: FileKind, env: &Environment) -> (Option<Rendered>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let r = render(text, kind, &[], env, &mut diags);
    (r, diags)
}

fn ok(text: &str) -> Rendered {
    let (r, d) = run(text, FileKind::Test, &Environment::empty());
    assert!(d.is_empty(), "{d:?}");
    let r = r.expect("rendered");
    assert_eq!(
        r.text,
        plain(text),
        "marked render differs from a plain render"
    );
    r
}

/// The same template rendered by Tera without markers, with the same context.
fn plain(text: &str) -> String {
    let env = Environment::empty();
    let b = context::bindings(text, &env);
    let ctx = context::context_value(&b);
    let now = b
        .iter()
        .find(|b| b.name == "freeze_clock")
        .and_then(|b| functions::parse_clock(b.value.as_str()?))
        .unwrap_or(functions::DEFAULT_NOW);
    let _g = functions::enter(functions::Scope::new(env, now));
    let mut t = functions::base().clone();
    t.add_raw_template("x", text).unwrap();
    t.render(
        "x",
        &tera::Context::from_value(serde_json::Value::Object(ctx)).unwrap(),
    )
    .unwrap()
}

/// The template text that produced the rendered occurrence `needle` (nth, 0-based).
fn source_of(text: &str, r: &Rendered, needle: &str, nth: usize) -> String {
    let at = r.text.match_indices(needle).nth(nth).unwrap().0;
    let src = r.map.to_source(at..at + needle.len());
    text[src].to_string()
}

#[test]
fn verbatim_text_maps_exactly_and_values_map_to_their_tag() {
    let text = "[meta]\nname = \"{{ svc }}-{{ env | upper }}\"\nversion = \"1\"\n";
    let r = ok(text);
    assert_eq!(r.text, "[meta]\nname = \"clnrm-CI\"\nversion = \"1\"\n");
    assert_eq!(source_of(text, &r, "version = \"1\"", 0), "version = \"1\"");
    assert_eq!(source_of(text, &r, "clnrm", 0), "{{ svc }}");
    assert_eq!(source_of(text, &r, "CI", 0), "{{ env | upper }}");
    assert!(r.map.is_verbatim(0..6));
    let at = r.text.find("clnrm").unwrap();
    assert!(!r.map.is_verbatim(at..at + 2));
    // A range from verbatim text into a value spans up to the tag's end.
    let start = r.text.find("name").unwrap();
    let src = r.map.to_source(start..at + 5);
    assert_eq!(&text[src], "name = \"{{ svc }}");
}

#[test]
fn loops_repeat_their_body_mapping() {
    let text = "{% for i in [1, 2] %}\n[[steps]]\nname = \"s{{ i }}\"\n{% endfor %}\nend = 1\n";
    let r = ok(text);
    assert_eq!(r.text.matches("[[steps]]").count(), 2);
    for n in 0..2 {
        assert_eq!(source_of(text, &r, "[[steps]]", n), "[[steps]]");
        let at = r.text.match_indices("name = \"s").nth(n).unwrap().0 + 9;
        assert_eq!(&text[r.map.to_source(at..at + 1)], "{{ i }}");
    }
    assert_eq!(source_of(text, &r, "end = 1", 0), "end = 1");
}

#[test]
fn whitespace_control_is_unchanged() {
    for text in [
        "a = 1\n{%- if true -%}\n   b = 2\n{%- endif %}\nc = 3\n",
        "x = [\n{%- for i in [1,2,3] %}\n  {{ i }},\n{%- endfor %}\n]\n",
        "{# c -#}\n  a = {{- \" 1\" -}}  \n  b = 2{{ \"\" -}}   \n\n",
        "{% set x = 1 -%}\n\n\n  y = {{ x }}\n{%- raw -%}  {{ raw }}  {%- endraw %}\n",
        "{% macro m(a) %}\n  k = {{ a }}\n{% endmacro m %}\n{{- self::m(a=1) }}\nz = 1\n",
        "{% filter upper %}a = 'x{{ svc }}'{% endfilter %}\n",
    ] {
        let r = ok(text);
        // Every rendered byte maps inside the template.
        for i in 0..r.text.len() {
            let s = r.map.to_source(i..i + 1);
            assert!(s.end <= text.len(), "{text:?} @{i}");
        }
    }
    let text = "a = 1\n{%- if true -%}\n   b = 2\n{%- endif %}\nc = 3\n";
    let r = ok(text);
    assert_eq!(source_of(text, &r, "b = 2", 0), "b = 2");
    assert_eq!(source_of(text, &r, "c = 3", 0), "c = 3");
}

#[test]
fn multi_byte_characters_keep_positions() {
    let text = "# ünïcödé ✓\n[meta]\nname = \"{{ svc }}—ß\"\nx = \"€\"\n";
    let r = ok(text);
    assert_eq!(source_of(text, &r, "x = \"€\"", 0), "x = \"€\"");
    assert_eq!(source_of(text, &r, "—ß", 0), "—ß");
}

#[test]
fn macros_of_other_files_map_to_the_call() {
    let deps = vec![Dependency {
        name: "lib.tera".into(),
        path: None,
        problem: None,
        text: Some(
            "{% macro span(name) %}[[expect.span]]\nname = \"{{ name }}\"\n{% endmacro %}".into(),
        ),
    }];
    let text = "{% import \"lib.tera\" as m %}\n# c\n{{ m::span(name=\"a\") }}\nz = 1\n";
    let mut d = Vec::new();
    let r = render(text, FileKind::Test, &deps, &Environment::empty(), &mut d).unwrap();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(r.text, "# c\n[[expect.span]]\nname = \"a\"\n\nz = 1\n");
    assert_eq!(
        source_of(text, &r, "[[expect.span]]", 0),
        "{{ m::span(name=\"a\") }}"
    );
    assert_eq!(source_of(text, &r, "z = 1", 0), "z = 1");
    assert_eq!(source_of(text, &r, "# c", 0), "# c");
}

#[test]
fn each_undefined_variable_is_reported_once_with_its_other_uses_related() {
    let text = "a = \"{{ foo }}\"\nb = {{ bar }}\nc = \"{{ foo }}\"\nd = \"{{ baz | default(value=1) }}\"\ne = \"{{ vars.nope }}\"\n";
    let (r, d) = run(text, FileKind::Test, &Environment::empty());
    assert!(r.is_none());
    let got: Vec<(&str, Code)> = d.iter().map(|d| (&text[d.range.clone()], d.code)).collect();
    assert_eq!(
        got,
        [
            ("foo", Code::UndefinedVariable),
            ("bar", Code::UndefinedVariable),
            ("vars.nope", Code::UndefinedVariable),
        ]
    );
    assert_eq!(d[0].range.start, text.find("foo").unwrap());
    assert!(d[0].message.contains("(used 2 times)"), "{}", d[0].message);
    assert!(
        d[0].message.contains("add `foo = \"…\"` under [vars]"),
        "{}",
        d[0].message
    );
    assert_eq!(d[0].related.len(), 1);
    assert_eq!(d[0].related[0].range.start, text.rfind("foo").unwrap());
}

#[test]
fn a_loop_over_an_undefined_value_does_not_cascade() {
    let text = "{% for p in matrix.items %}\n[[steps]]\nname = \"{{ p.name }}\"\n{% endfor %}\n";
    let (r, d) = run(text, FileKind::Test, &Environment::empty());
    assert!(r.is_none());
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(&text[d[0].range.clone()], "matrix.items");
    assert!(d[0].message.contains("`matrix` is empty"));
}

#[test]
fn unknown_functions_and_filters_are_reported_at_the_call() {
    let text = "a = \"{{ fake_nmae() }}\"\nb = \"{{ svc | shout }}\"\nc = \"{{ svc }}\"\n";
    let (r, d) = run(text, FileKind::Test, &Environment::empty());
    assert!(r.is_none());
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[0].code, Code::UnknownFunction);
    assert_eq!(&text[d[0].range.clone()], "fake_nmae");
    assert!(d[0].message.contains("fake_name"), "{}", d[0].message);
    assert_eq!(d[1].code, Code::UnknownFunction);
    assert_eq!(&text[d[1].range.clone()], "shout");
}

#[test]
fn env_of_an_unset_variable_fails_like_clnrm() {
    let text = "a = \"{{ env(name=\"HOME_X\") }}\"\nb = \"{{ env(name=\"OTHER_Y\") }}\"\n";
    let (r, d) = run(text, FileKind::Test, &Environment::empty());
    assert!(r.is_none());
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d.iter().all(|d| d.code == Code::FunctionError));
    assert_eq!(&text[d[1].range.clone()], "env(name=\"OTHER_Y\")");
    let env = Environment::from_vars([
        ("HOME_X".to_string(), "h".to_string()),
        ("OTHER_Y".to_string(), "o".to_string()),
    ]);
    let (r, d) = run(text, FileKind::Test, &env);
    assert!(d.is_empty());
    assert_eq!(r.unwrap().text, "a = \"h\"\nb = \"o\"\n");
}

#[test]
fn precedence_vars_environment_default() {
    let text = "[vars]\nsvc = \"mine\"\n\n[meta]\nname = \"{{ svc }}/{{ vars.env }}/{{ image }}/{{ token }}\"\n";
    let env = Environment::from_vars([
        ("SERVICE_NAME".to_string(), "envsvc".to_string()),
        ("ENV".to_string(), "prod".to_string()),
    ]);
    let (r, d) = run(text, FileKind::Test, &env);
    assert!(d.is_empty(), "{d:?}");
    assert!(r
        .unwrap()
        .text
        .contains("name = \"mine/prod/registry/clnrm:1.0.0/\""));
}

#[test]
fn renders_are_deterministic() {
    let text = "a = \"{{ fake_email() }} {{ uuid_v4() }} {{ now_rfc3339() }} {{ rand_hex() }}\"\n";
    let a = ok(text);
    let b = ok(text);
    assert_eq!(a.text, b.text);
    assert!(a.text.contains("2025-01-01T00:00:00Z"));
    let frozen = "[vars]\nfreeze_clock = \"2030-05-06T07:08:09Z\"\nt = \"{{ now_rfc3339() }}\"\n";
    assert!(ok(frozen).text.contains("t = \"2030-05-06T07:08:09Z\""));
}

#[test]
fn includes_resolve_and_missing_ones_are_reported_at_the_tag() {
    let text = "{% include \"part.tera\" %}\n{% include \"gone.tera\" %}\n";
    let deps = vec![
        Dependency {
            name: "part.tera".into(),
            path: None,
            problem: None,
            text: Some("p = \"{{ svc }}\"\n".into()),
        },
        Dependency {
            name: "gone.tera".into(),
            path: None,
            problem: None,
            text: None,
        },
    ];
    let mut d = Vec::new();
    let r = render(text, FileKind::Test, &deps, &Environment::empty(), &mut d);
    assert!(r.is_none());
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::TemplateNotFound);
    assert_eq!(&text[d[0].range.clone()], "{% include \"gone.tera\" %}");

    let mut d = Vec::new();
    let r = render(
        &text[..26],
        FileKind::Test,
        &deps,
        &Environment::empty(),
        &mut d,
    )
    .unwrap();
    assert_eq!(r.text, "p = \"clnrm\"\n\n");
    assert_eq!(&text[r.map.to_source(5..10)], "{% include \"part.tera\" %}");
}

#[test]
fn embedded_macros_define_nothing() {
    let text = "{% import \"_macros.toml.tera\" as m %}\n{{ m::span(name=\"x\") }}\n";
    let deps = collect_dependencies(text, Origin::default(), &DiskLoader);
    let mut d = Vec::new();
    assert!(render(text, FileKind::Test, &deps, &Environment::empty(), &mut d).is_none());
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::UnknownFunction);
    assert_eq!(&text[d[0].range.clone()], "m::span");
}

#[test]
fn libraries_are_only_syntax_checked() {
    let (r, d) = run(
        "{% macro a(x) %}{{ undefined }}{% endmacro %}",
        FileKind::TemplateLibrary,
        &Environment::empty(),
    );
    assert!(r.is_none() && d.is_empty());
    let (_, d) = run(
        "{% macro a(x) %}{{ x }",
        FileKind::TemplateLibrary,
        &Environment::empty(),
    );
    assert_eq!(d[0].code, Code::TeraSyntax);
}

#[test]
fn raw_toml_tests_get_one_run_compat_error() {
    let text = "[meta]\nname = \"x\"\n{% if true %}\n[a]\n{% endif %}\n";
    let (r, d) = run(text, FileKind::RawTest, &Environment::empty());
    assert!(r.is_some());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, Code::RunCompat);
    assert_eq!(&text[d[0].range.clone()], "{% if true %}");
    let (_, d) = run(text, FileKind::Test, &Environment::empty());
    assert!(d.is_empty());
}

#[test]
fn bindings_and_names_are_exposed() {
    let b = bindings("[vars]\nport = 80\n", &Environment::empty());
    assert!(b
        .iter()
        .any(|b| b.name == "port" && b.origin == BindingOrigin::Vars && b.range.is_some()));
    assert!(b
        .iter()
        .any(|b| b.name == "svc" && b.origin == BindingOrigin::Default));
    assert!(function_names().contains(&"fake_name"));
    assert!(function_names().contains(&"env"));
    let filters = filter_names();
    assert!(filters.iter().any(|f| f == "kebab"));
    assert!(filters.iter().any(|f| f == "default"));
}

// --- the real-world corpus ---------------------------------------------------------------

struct Disk;
impl SourceLoader for Disk {
    fn load(&self, path: &Path) -> Option<Arc<str>> {
        std::fs::read_to_string(path).ok().map(Into::into)
    }
}

const CORPUS: &str = "/work/shared/corpus/clnrm";

fn corpus_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.to_string_lossy().ends_with(".toml")
                || p.to_string_lossy().ends_with(".tera")
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(CORPUS), &mut out);
    out.sort();
    out
}

fn analyse_corpus(rel: &str) -> (String, Option<Rendered>, Vec<Diagnostic>) {
    let path = Path::new(CORPUS).join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let origin = Origin {
        path: Some(&path),
        workspace_root: Some(Path::new(CORPUS)),
        kind: None,
    };
    let deps = collect_dependencies(&text, origin, &Disk);
    let mut d = Vec::new();
    let r = render(
        &text,
        FileKind::of(Some(&path)),
        &deps,
        &Environment::empty(),
        &mut d,
    );
    (text, r, d)
}

#[test]
fn corpus_never_panics_and_renders_match_plain_tera() {
    let files = corpus_files();
    if files.is_empty() {
        return; // corpus not present on this machine
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for path in &files {
        let rel = path
            .strip_prefix(CORPUS)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let (text, r, d) = analyse_corpus(&rel);
        for diag in &d {
            assert!(
                diag.range.end <= text.len() && diag.range.start <= diag.range.end,
                "{rel}: {diag:?}"
            );
            assert!(
                text.is_char_boundary(diag.range.start) && text.is_char_boundary(diag.range.end)
            );
        }
        if let Some(r) = &r {
            if is_template(&text) && !text.contains("{% include") && !text.contains("{% import") {
                assert_eq!(r.text, plain(&text), "{rel}");
            }
            *seen.entry("rendered").or_default() += 1;
        }
        if r.is_none() && FileKind::of(Some(path)) != FileKind::TemplateLibrary {
            assert!(
                d.iter().any(|d| d.is_error()),
                "{rel}: no render and no error"
            );
        }
    }
    assert!(seen.get("rendered").copied().unwrap_or(0) > 10);
}

#[test]
fn unterminated_tags_stop_the_render() {
    for text in [
        "a = 1\nb = {{ x\nc = 2\n",
        "a = 1\n{# open\nc = 2\n",
        "{% raw %}\nx = 1\n",
    ] {
        let (r, d) = run(text, FileKind::Test, &Environment::empty());
        assert!(r.is_none(), "{text:?}");
        assert!(
            !d.is_empty() && d.iter().all(|d| d.code == Code::TeraSyntax),
            "{d:?}"
        );
    }
    let text = "a = 1\nb = {{ x\nc = 2\n";
    let (_, d) = run(text, FileKind::Test, &Environment::empty());
    assert_eq!(d[0].range.start, text.find("{{").unwrap());
}

#[test]
fn truncated_and_mangled_inputs_never_panic() {
    let mut inputs: Vec<String> = vec![
        "{{".into(),
        "{%".into(),
        "{#".into(),
        "{{ é".into(),
        "é{{ \"é }}".into(),
        "{% raw %}".into(),
        "{% for %}{% endif %}".into(),
        "{{ ((((( }}".into(),
        "\u{E000}1\u{E001}{{ svc }}".into(),
        "{% macro m() %}{{ self::m() }}{% endmacro %}{{ self::m() }}".into(),
        "{% include \"/etc/passwd\" %}".into(),
    ];
    for path in corpus_files()
        .iter()
        .filter(|p| p.to_string_lossy().contains("templates"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        let cuts: Vec<usize> = (0..text.len())
            .step_by(97)
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for c in cuts {
            inputs.push(text[..c].to_string());
            inputs.push(text[c..].to_string());
        }
    }
    for text in &inputs {
        let (_, d) = run(text, FileKind::Test, &Environment::empty());
        for diag in d {
            assert!(diag.range.start <= diag.range.end && diag.range.end <= text.len());
        }
    }
}

#[test]
fn corpus_redteam_reports_undefined_seed_at_its_use() {
    let rel = "examples/case-studies/redteam-otlp-env.clnrm.toml.tera";
    if !Path::new(CORPUS).join(rel).exists() {
        return;
    }
    let (text, r, d) = analyse_corpus(rel);
    assert!(r.is_none());
    let seed: Vec<_> = d
        .iter()
        .filter(|d| d.code == Code::UndefinedVariable)
        .collect();
    assert!(!seed.is_empty(), "{d:?}");
    assert!(seed.iter().all(|d| &text[d.range.clone()] == "seed"));
    let line = text[..seed[0].range.start].matches('\n').count() + 1;
    assert_eq!(line, 234);
}

#[test]
fn corpus_example_usage_reports_its_syntax_errors() {
    let rel = "templates/example_usage.clnrm.toml.tera";
    if !Path::new(CORPUS).join(rel).exists() {
        return;
    }
    let (text, r, d) = analyse_corpus(rel);
    assert!(r.is_none());
    assert!(d.len() > 1, "{d:?}");
    assert!(d.iter().all(|d| d.code == Code::TeraSyntax));
    let first = &d[0];
    assert!(
        text[first.range.clone()].starts_with("m::span"),
        "{first:?}"
    );
}

#[test]
fn later_stage_errors_land_on_the_template() {
    use crate::analysis::analyze_uncached;
    // A generated value that breaks TOML maps to its tag.
    let text = "[meta]\nname = \"{{ svc }}\"\nport = {{ svc }}\n";
    let a = analyze_uncached(text, FileKind::Test, Vec::new(), &Environment::empty());
    let toml: Vec<_> = a
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::TomlSyntax)
        .collect();
    assert_eq!(toml.len(), 1, "{:?}", a.diagnostics);
    assert_eq!(&text[toml[0].range.clone()], "{{ svc }}");
    assert_eq!(toml[0].range.start, text.rfind("{{ svc }}").unwrap());
    // Broken verbatim text after a tag maps exactly.
    let text = "{% if true %}\n[meta]\nname = \"{{ svc }}\"\n{% endif %}\nbad line ü\n";
    let a = analyze_uncached(text, FileKind::Test, Vec::new(), &Environment::empty());
    let toml: Vec<_> = a
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::TomlSyntax)
        .collect();
    assert_eq!(toml.len(), 1, "{:?}", a.diagnostics);
    let line = text[..toml[0].range.start].matches('\n').count() + 1;
    assert_eq!(line, 5, "{:?}", &text[toml[0].range.clone()]);
}

#[test]
fn long_templates_parsed_in_pieces_render_like_tera() {
    let mut text = String::from("{# head -#}\n{% macro row(i) %}r{{ i }} = {{ i * 2 }}\n{% endmacro row %}\n[vars]\nn = 3\n");
    for i in 0..80 {
        text.push_str(&format!(
            "# block {i}\n[t{i}]\nname = \"{{{{ svc }}}}-{i}\"\n{{%- if {i} % 2 == 0 -%}}\n  even = true\n{{% else %}}\n  odd = true\n{{%- endif %}}\n{{{{ self::row(i={i}) }}}}\n{{% raw -%}}  {{{{ raw }}}}{{% endraw %}}\n"
        ));
    }
    let r = ok(&text);
    assert_eq!(source_of(&text, &r, "# block 79", 0), "# block 79");
    assert_eq!(
        source_of(&text, &r, "r79 = 158", 0),
        "{{ self::row(i=79) }}"
    );
    // An edit far down reports at the right place.
    let broken = text.replace("self::row(i=77)", "self::row(i=77");
    let (_, d) = run(&broken, FileKind::Test, &Environment::empty());
    assert_eq!(d.len(), 1, "{d:?}");
    let line = broken[..d[0].range.start].matches('\n').count() + 1;
    let expected = broken[..broken.find("self::row(i=77").unwrap()]
        .matches('\n')
        .count()
        + 1;
    assert_eq!(line, expected);
    // A macro defined twice in different pieces is still Tera's error.
    let twice = format!("{text}{{% macro row(i) %}}x{{% endmacro %}}\n");
    let (r, d) = run(&twice, FileKind::Test, &Environment::empty());
    assert!(r.is_none() && !d.is_empty());
}

/// A dense template (a tag per line): an edit in the middle still renders cleanly, and
/// one syntax error there is one diagnostic on its line. (Its speed is the `analysis`
/// benchmark's `edit/dense_template_edit_120_scenarios`.)
#[test]
fn a_dense_template_edited_in_the_middle() {
    let mut text = String::from("[vars]\nport = 8080\n");
    for i in 0..120 {
        text.push_str(&format!(
            "\n[[scenario]]\nname = \"s{i}-{{{{ svc | kebab }}}}\"\nrun = \"echo {{{{ fake_name(seed={i}) }}}} {{{{ port }}}}\"\n{{% if env == \"ci\" %}}service = \"api\"{{% endif %}}\n"
        ));
    }
    let env = Environment::empty();
    let mid = text.len() / 2;
    let at = text[..mid].rfind('\n').map_or(0, |p| p + 1);
    let edited = format!("{}# edit\n{}", &text[..at], &text[at..]);
    let mut d = Vec::new();
    assert!(render(&edited, FileKind::Test, &[], &env, &mut d).is_some());
    assert!(d.is_empty(), "{d:?}");

    let broken = text.replacen("fake_name(seed=60)", "fake_name(seed=60", 1);
    let mut d = Vec::new();
    assert!(render(&broken, FileKind::Test, &[], &env, &mut d).is_none());
    assert_eq!(d.len(), 1, "{d:?}");
    let line = broken[..d[0].range.start].matches('\n').count();
    let want = broken[..broken.find("fake_name(seed=60").unwrap()]
        .matches('\n')
        .count();
    assert_eq!(line, want, "{d:?}");
}

#[test]
fn adding_a_tag_leaves_the_other_pieces_unchanged() {
    let mut text = String::from("[meta]\nname = \"x\"\n");
    for i in 0..60 {
        text.push_str(&format!(
            "[[scenario]]\nname = \"s{i}-{{{{ svc }}}}\"\n{{% if env == \"ci\" %}}retries = {i}{{% endif %}}\nrun = \"{{{{ fake_name(seed={i}) }}}}\"\n"
        ));
    }
    let edited = text.replacen("name = \"x\"", "name = \"{{ env }}\"", 1);
    let pieces = |t: &str| -> Vec<String> {
        let m = marks::mark(t, &scan::scan(t));
        let mut bounds = vec![0];
        bounds.extend(m.cuts.iter().copied());
        bounds.push(m.text.len());
        bounds
            .windows(2)
            .map(|w| m.text[w[0]..w[1]].to_string())
            .collect()
    };
    let (a, b) = (pieces(&text), pieces(&edited));
    assert!(a.len() > 4, "{}", a.len());
    let same = b.iter().filter(|p| a.contains(p)).count();
    assert!(
        same + 1 >= b.len(),
        "{same} of {} pieces unchanged",
        b.len()
    );
    ok(&edited);
}

#[test]
fn nesting_just_under_the_limit_is_checked_without_overflow() {
    // Test threads have 2 MiB stacks, like tokio workers.
    let ifs = format!(
        "{}x{}",
        "{% if true %}".repeat(64),
        "{% endif %}".repeat(64)
    );
    let (r, d) = run(&ifs, FileKind::Test, &Environment::empty());
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(r.unwrap().text, "x");
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(64), ")".repeat(64));
    let (r, d) = run(&parens, FileKind::Test, &Environment::empty());
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(r.unwrap().text, "1");
    let broken = format!("{{{{ {}1{} }}}}", "(".repeat(64), ")".repeat(63));
    let (_, d) = run(&broken, FileKind::Test, &Environment::empty());
    assert!(!d.is_empty());
}

// ---------------------------------------------------------------------------------------
// Bounds (issue 10): every case gives a diagnostic at its place, never a crash or a hang.
// Through `analyze_uncached`, which contains the render as every face does.

fn dep(name: &str, text: &str) -> Dependency {
    Dependency {
        name: name.into(),
        path: None,
        problem: None,
        text: Some(text.into()),
    }
}

fn bounded(text: &str, deps: Vec<Dependency>) -> Vec<Diagnostic> {
    crate::analysis::analyze_uncached(text, FileKind::Test, deps, &Environment::empty()).diagnostics
}

/// The one diagnostic with `code`, and the source text it covers.
fn one<'t>(text: &'t str, d: &[Diagnostic], code: Code) -> (&'t str, String) {
    let found: Vec<&Diagnostic> = d.iter().filter(|d| d.code == code).collect();
    assert_eq!(found.len(), 1, "{code:?} in {d:?}");
    (&text[found[0].range.clone()], found[0].message.clone())
}

#[test]
fn includes_of_itself_stop_at_the_depth_limit() {
    let text = "{% include \"self.clnrm.toml.tera\" %}\n";
    let d = bounded(text, vec![dep("self.clnrm.toml.tera", text)]);
    let (at, msg) = one(text, &d, Code::RecursionLimit);
    assert_eq!(at, text.trim_end());
    assert!(
        msg.contains("self.clnrm.toml.tera → self.clnrm.toml.tera"),
        "{msg}"
    );

    let missing = "{% include \"self.clnrm.toml.tera\" ignore missing %}\n";
    let d = bounded(missing, vec![dep("self.clnrm.toml.tera", missing)]);
    one(missing, &d, Code::RecursionLimit);

    // A → B → A, named as a chain.
    let a = "x = 1\n{% include \"b.tera\" %}\n";
    let b = "{% include \"a.clnrm.toml.tera\" %}\n";
    let d = bounded(a, vec![dep("b.tera", b), dep("a.clnrm.toml.tera", a)]);
    let (at, msg) = one(a, &d, Code::RecursionLimit);
    assert_eq!(at, "{% include \"b.tera\" %}");
    assert!(msg.contains("b.tera → a.clnrm.toml.tera → b.tera"), "{msg}");
}

#[test]
fn recursive_macros_stop_whatever_the_spelling() {
    for call in [
        "self::m(n=n)",
        "self :: m(n=n)",
        "self\n:: m(n=n)",
        "self::m( n = n )",
    ] {
        let text = format!(
            "{{% macro m(n) %}}{{{{ {call} }}}}{{% endmacro m %}}\nv = \"{{{{ self::m(n=1) }}}}\"\n"
        );
        let d = bounded(&text, Vec::new());
        let (at, msg) = one(&text, &d, Code::RecursionLimit);
        assert_eq!(at, "{{ self::m(n=1) }}", "{call}");
        assert!(msg.contains("self::m → self::m"), "{msg}");
    }
    // Recursion that ends renders: the limit is on depth, not on recursion itself.
    let countdown = "{% macro c(n) %}{{ n }}{% if n > 0 %}{{ self::c(n=n-1) }}{% endif %}{% endmacro c %}\nv = \"{{ self::c(n=10) }}\"\n";
    let a = crate::analysis::analyze_uncached(
        countdown,
        FileKind::Test,
        Vec::new(),
        &Environment::empty(),
    );
    assert!(
        a.diagnostics.iter().all(|d| d.code.as_str().contains('-')
            && !matches!(d.code, Code::RecursionLimit | Code::RenderError)),
        "{:?}",
        a.diagnostics
    );
    assert!(a.rendered.unwrap().text.contains("109876543210"));
}

#[test]
fn import_and_extends_cycles_are_reported_the_same_way_every_time() {
    // Mutual recursion through an import alias written with a tab.
    let l1 = "{% import \"l2.tera\"\tas b %}{% macro a() %}{{ b::b() }}{% endmacro %}";
    let l2 = "{% import \"l1.tera\"\tas a %}{% macro b() %}{{ a::a() }}{% endmacro %}";
    let text = "{% import \"l1.tera\"\tas x %}\nv = \"{{ x::a() }}\"\n";
    let d = bounded(text, vec![dep("l1.tera", l1), dep("l2.tera", l2)]);
    let (_, msg) = one(text, &d, Code::RecursionLimit);
    assert!(msg.contains("l1.tera → l2.tera → l1.tera"), "{msg}");

    let own = "{% extends \"t.clnrm.toml.tera\" %}\n";
    let a = "{% extends \"b.tera\" %}\n";
    let b = "{% extends \"a.clnrm.toml.tera\" %}\n";
    // Tera's own walk follows hash-map order: repeat to catch the bad orders.
    for _ in 0..16 {
        let d = bounded(own, vec![dep("t.clnrm.toml.tera", own)]);
        let (at, msg) = one(own, &d, Code::RecursionLimit);
        assert_eq!(at, own.trim_end());
        assert!(msg.contains("this file → t.clnrm.toml.tera → t.clnrm.toml.tera"));
        let d = bounded(a, vec![dep("b.tera", b), dep("a.clnrm.toml.tera", a)]);
        let (_, msg) = one(a, &d, Code::RecursionLimit);
        assert!(msg.contains("b.tera → a.clnrm.toml.tera → b.tera"), "{msg}");
    }
}

#[test]
fn a_deeply_nested_included_file_is_refused() {
    let deep = format!(
        "{}x{}",
        "{% if true %}".repeat(10_000),
        "{% endif %}".repeat(10_000)
    );
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(10_000), ")".repeat(10_000));
    for inner in [deep, parens] {
        let text = "{% include \"deep.tera\" %}\n";
        let d = bounded(text, vec![dep("deep.tera", &inner)]);
        let (at, msg) = one(text, &d, Code::RenderError);
        assert_eq!(at, text.trim_end());
        assert!(msg.contains("levels deep"), "{msg}");
    }
}

#[test]
fn loops_values_and_output_are_bounded() {
    let hundred: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    let text = format!(
        "{{% set a = [{}] %}}\n{{% for i in a %}}{{% for j in a %}}{{% for k in a %}}{{% for l in a %}}{{% for m in a %}}{{% endfor %}}{{% endfor %}}{{% endfor %}}{{% endfor %}}{{% endfor %}}\n",
        hundred.join(",")
    );
    one(&text, &bounded(&text, Vec::new()), Code::IterationLimit);

    let doubling = format!(
        "{{% set_global s = \"ab\" %}}\n{}",
        "{% set_global s = s ~ s %}\n".repeat(40)
    );
    let (at, msg) = one(
        &doubling,
        &bounded(&doubling, Vec::new()),
        Code::ValueTooLarge,
    );
    assert_eq!(at, "{% set_global s = s ~ s %}");
    assert!(msg.contains("variable `s`"), "{msg}");

    let concat = format!(
        "{{% set_global s = [1, 2] %}}\n{}",
        "{% set_global s = s | concat(with=s) %}\n".repeat(40)
    );
    one(&concat, &bounded(&concat, Vec::new()), Code::ValueTooLarge);

    // One filter call that multiplies its input.
    let replace = format!(
        "{{% set s = \"{}\" %}}\n{{% set t = s | replace(from=\"a\", to=s) %}}\n",
        "a".repeat(2000)
    );
    one(
        &replace,
        &bounded(&replace, Vec::new()),
        Code::ValueTooLarge,
    );

    // Output made inside a macro (buffered by Tera) counts too.
    let big = format!(
        "{{% macro m() %}}{{% for i in range(end=60000) %}}{}{{% endfor %}}{{% endmacro m %}}\nv = \"{{{{ self::m() }}}}\"\n",
        "x".repeat(300)
    );
    one(&big, &bounded(&big, Vec::new()), Code::OutputTooLarge);
}

#[test]
fn tera_panics_become_render_errors_at_the_tag() {
    for tag in ["{{ -9223372036854775808 % -1 }}", "{{ 1 + m::a() }}"] {
        let text = format!("x = 1\n{tag}\n");
        let (at, msg) = one(&text, &bounded(&text, Vec::new()), Code::RenderError);
        assert_eq!(at, tag);
        assert!(msg.contains("Tera failed internally"), "{msg}");
    }
    let text = "{{ é::m(\"x\") }}\n";
    assert!(!bounded(text, Vec::new()).is_empty());
}

#[test]
fn workspace_renders_the_root_with_a_note_that_clnrm_lacks_it() {
    let text = "[[scenario]]\nname = \"a\"\nrun = \"sh {{ workspace }}/app.sh {{ workspace }}\"\n";
    let env = Environment::empty().in_workspace(Path::new("/src/repo"));
    let (r, d) = run(text, FileKind::Test, &env);
    assert!(r.unwrap().text.contains("sh /src/repo/app.sh /src/repo"));
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::RunCompat);
    assert_eq!(d[0].severity, crate::analysis::Severity::Information);
    assert_eq!(&text[d[0].range.clone()], "workspace");
    assert!(d[0].message.contains("clnrm does not define it"), "{d:?}");
    // The file's own `workspace` is clnrm's too: no note.
    let own = format!("[vars]\nworkspace = \"w\"\n{text}");
    let (r, d) = run(&own, FileKind::Test, &env);
    assert!(r.unwrap().text.contains("sh w/app.sh"));
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn an_unclosed_tag_is_reported_with_tera_errors_before_it_only() {
    let env = Environment::empty();
    let messages = |text: &str| -> Vec<(usize, String)> {
        run(text, FileKind::Test, &env)
            .1
            .into_iter()
            .map(|d| (d.range.start, d.message))
            .collect()
    };
    // Valid before the unclosed tag: only the scanner's problem (Tera's own error, at or
    // after it, is not repeated).
    let valid_before =
        "[meta]\nname = \"{{ svc }}\"\n{% if a %}x{% endif %}\ncmd = \"{{ env(name='A') ~ \"\n";
    let m = messages(valid_before);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].1.contains("never closed"), "{m:?}");
    // A Tera error before it is reported too, where it is.
    let invalid_before = "[meta]\nname = \"{{ 1e3 }}\"\ncmd = \"{{ env(name='A')\n";
    let m = messages(invalid_before);
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[0].0, invalid_before.find("e3").unwrap_or(0));
    assert!(m[1].1.contains("never closed"), "{m:?}");
}

#[test]
fn a_template_is_a_text_with_a_tera_opener() {
    for text in [
        "",
        "{",
        "x{",
        "{{",
        "{%",
        "{#",
        "a = { b = 1 }",
        "a = {{ b }}",
        "{ {",
        "{\n%",
        "é{#",
        "t = { x = '{' }\n{",
        "{{{",
        "}}{%",
    ] {
        let by_search = text.contains("{{") || text.contains("{%") || text.contains("{#");
        assert_eq!(is_template(text), by_search, "{text:?}");
    }
}

#[test]
fn the_nearest_name_is_the_one_scoring_every_name_finds() {
    let names = super::functions::function_names();
    let by_scoring_all = |name: &str| {
        names
            .iter()
            .map(|n| (strsim::levenshtein(n, name), *n))
            .filter(|(d, _)| *d <= 2)
            .min()
            .map(|(_, n)| n)
    };
    let mut probes: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    for n in &names {
        probes.push(format!("{n}x"));
        probes.push(format!("{n}xyz"));
        probes.push(n.chars().skip(2).collect());
        probes.push(n.chars().rev().collect());
    }
    probes.extend(["".into(), "é".into(), "fake_nme".into(), "uuid4".into()]);
    for p in &probes {
        assert_eq!(
            super::render::nearest(p, names.iter().copied()),
            by_scoring_all(p),
            "{p}"
        );
    }
}
