//! `[service.<id>]` / `[services.<id>]`: what `TestConfig::validate()` rejects (errors),
//! what `clnrm run` cannot start (warnings), and dry-run's stricter checks (warnings: a
//! file `clnrm run` loads gets no error from them).

use std::collections::HashMap;

use serde_json::Value;

use super::context::is_blank;
use super::patterns;
use super::Ctx;
use crate::analysis::schema::pointer;
use crate::analysis::{Code, Diagnostic, Edit, Fix, Severity};

/// Plugins `clnrm run` can start.
const RUNNABLE: [&str; 2] = ["generic_container", "surrealdb"];
/// Plugins for which `validate()` does not require an image.
const IMAGELESS: [&str; 2] = ["network_service", "ollama"];
/// Container paths dry-run refuses to mount over.
const SYSTEM_DIRS: [&str; 13] = [
    "/etc",
    "/var",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/usr/bin",
    "/usr/sbin",
];

/// Every defined service: (map pointer, id), in file order.
pub(super) fn defined(ctx: &Ctx<'_>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for map in ["/services", "/service"] {
        for id in ctx.keys(map) {
            out.push((map, id));
        }
    }
    out.sort_by_key(|(map, id)| ctx.key(&pointer::push(map, id)).start);
    out
}

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let both = ctx.get("/services").is_some_and(Value::is_object)
        && ctx.get("/service").is_some_and(Value::is_object);
    if both {
        ctx.report_as(
            Code::RunCompat,
            Severity::Warning,
            ctx.key("/service"),
            "both [services] and [service] exist: `clnrm run` starts only the [services] ones",
        );
    }
    let mut ports: HashMap<u64, String> = HashMap::new();
    let mut ids: HashMap<String, String> = HashMap::new();
    for (map, id) in defined(ctx) {
        if ctx.full() {
            return;
        }
        let base = pointer::push(map, &id);
        if let Some(first) = ids.get(&id) {
            let d = Diagnostic::new(
                Code::DuplicateName,
                ctx.key(&base),
                format!("service `{id}` is defined in both [services] and [service]"),
            )
            .with_severity(Severity::Warning)
            .with_related(ctx.key(first), "first defined here");
            ctx.push(d);
        } else {
            ids.insert(id.clone(), base.clone());
        }
        if !ctx.get(&base).is_some_and(Value::is_object) {
            continue;
        }
        plugin_and_image(ctx, &base, &id);
        volumes(ctx, &base);
        service_ports(ctx, &base, &id, &mut ports);
        env(ctx, &pointer::at(&base, "env"));
    }
}

fn plugin_and_image(ctx: &mut Ctx<'_>, base: &str, id: &str) {
    let plugin_ptr = pointer::at(base, "plugin");
    let plugin = ctx.str_at(&plugin_ptr).map(str::to_string);
    let plugin_name = plugin.as_deref().unwrap_or("generic_container");
    if let Some(p) = &plugin {
        if is_blank(p) {
            ctx.report(
                Code::EmptyValue,
                ctx.value(&plugin_ptr),
                "plugin must not be blank",
            );
        } else if !RUNNABLE.contains(&p.as_str()) {
            let suggestion = suggest_plugin(p);
            let mut message = format!(
                "`clnrm run` cannot start plugin `{p}` (only generic_container and surrealdb work)"
            );
            if let Some(s) = suggestion {
                message.push_str(&format!(": did you mean `{s}`?"));
            }
            let range = ctx.value(&plugin_ptr);
            let mut d = Diagnostic::new(Code::UnknownPlugin, range.clone(), message);
            if let Some(s) = suggestion {
                d = d.with_fix(Fix {
                    title: format!("Use plugin `{s}`"),
                    edits: vec![Edit {
                        range,
                        new_text: format!("\"{s}\""),
                    }],
                });
            }
            ctx.push(d);
        }
    }
    if IMAGELESS.contains(&plugin_name) {
        return;
    }
    let image_ptr = pointer::at(base, "image");
    match ctx.str_at(&image_ptr).map(str::to_string) {
        None if !ctx.has(&image_ptr) => {
            // validate() demands an image for every plugin but network_service and ollama,
            // even surrealdb/tgi/vllm which ignore it: `run` refuses to load the file.
            let message = if plugin_name == "generic_container" {
                format!("service `{id}` has no `image`: clnrm's loader requires one for generic_container (add `image = \"…\"`)")
            } else {
                format!("service `{id}` has no `image`: clnrm's loader rejects the file (\"Service image is required\") even for plugin `{plugin_name}`, which ignores it; add `image = \"…\"`")
            };
            ctx.report(Code::MissingKey, ctx.key(base), message);
        }
        Some(image) if is_blank(&image) => {
            ctx.report(
                Code::EmptyValue,
                ctx.value(&image_ptr),
                "image must not be blank",
            );
        }
        Some(image) => {
            let bad_char = image.contains([' ', '!', '?', '*']);
            if bad_char || image.split('/').count() > 3 {
                ctx.report_as(
                    Code::InvalidService,
                    Severity::Warning,
                    ctx.value(&image_ptr),
                    format!("`{image}` does not look like an image reference (clnrm dry-run rejects it)"),
                );
            }
        }
        None => {}
    }
}

fn suggest_plugin(p: &str) -> Option<&'static str> {
    let lower = p.to_ascii_lowercase().replace('-', "_");
    if lower.starts_with("generic") || lower == "container" || lower == "testcontainers" {
        return Some("generic_container");
    }
    if lower.starts_with("surreal") {
        return Some("surrealdb");
    }
    None
}

fn volumes(ctx: &mut Ctx<'_>, base: &str) {
    let vbase = pointer::at(base, "volumes");
    for i in 0..ctx.len(&vbase) {
        for field in ["host_path", "container_path"] {
            let p = pointer::at(&pointer::at_index(&vbase, i), field);
            let Some(path) = ctx.str_at(&p).map(str::to_string) else {
                continue;
            };
            if is_blank(&path) || !path.starts_with('/') {
                ctx.report(
                    Code::InvalidService,
                    ctx.value(&p),
                    format!(
                        "volume {field} must be an absolute path; clnrm's `run` rejects `{path}`"
                    ),
                );
            } else if field == "container_path"
                && SYSTEM_DIRS
                    .iter()
                    .any(|d| path == *d || path.starts_with(&format!("{d}/")))
            {
                ctx.report_as(
                    Code::InvalidService,
                    Severity::Warning,
                    ctx.value(&p),
                    format!("mounting over system directory `{path}` (clnrm dry-run rejects it)"),
                );
            }
        }
    }
}

fn service_ports(ctx: &mut Ctx<'_>, base: &str, id: &str, seen: &mut HashMap<u64, String>) {
    let pbase = pointer::at(base, "ports");
    for i in 0..ctx.len(&pbase) {
        let p = pointer::at_index(&pbase, i);
        let Some(port) = ctx.get(&p).and_then(Value::as_u64) else {
            continue;
        };
        if port < 1024 {
            ctx.report_as(
                Code::InvalidService,
                Severity::Warning,
                ctx.value(&p),
                format!("port {port} is privileged (< 1024): mapping it to the same host port usually needs root (clnrm dry-run rejects it)"),
            );
        }
        match seen.get(&port) {
            Some(first) if !first.starts_with(&format!("{base}/")) => {
                let d = Diagnostic::new(
                    Code::InvalidService,
                    ctx.value(&p),
                    format!("port {port} of service `{id}` is also used by another service: both map it to the same host port"),
                )
                .with_severity(Severity::Warning)
                .with_related(ctx.value(first), "first used here");
                ctx.push(d);
            }
            Some(_) => {}
            None => {
                seen.insert(port, p);
            }
        }
    }
}

/// Env tables of services and steps: names and secret-looking literals.
pub(super) fn env(ctx: &mut Ctx<'_>, pointer: &str) {
    let doc = ctx.document();
    let entries = pointer::get(&doc, pointer).and_then(Value::as_object);
    for (key, value) in entries.into_iter().flatten() {
        let p = pointer::push(pointer, key);
        if !patterns::is_env_name(key) {
            ctx.report_as(
                Code::InvalidService,
                Severity::Warning,
                ctx.key(&p),
                format!("`{key}` is not a portable environment variable name (letters, digits, `_`; clnrm dry-run rejects it)"),
            );
        }
        if let Some(v) = value.as_str() {
            if patterns::looks_secret(key, v) {
                ctx.report(
                    Code::SecretValue,
                    ctx.value(&p),
                    format!("`{key}` looks like a secret but has a literal value in the file; reference it as \"${key}\" or use env() in a template"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::analysis::annotated::fixture;
    use crate::analysis::Code;

    const META: &str =
        "[meta]\nname = \"t\"\nversion = \"1\"\n[[scenario]]\nname = \"s\"\nrun = \"x\"\n";

    #[test]
    fn plugins() {
        let text = format!("{META}[service.a]\nimage = \"x\"\nplugin = \"surreal_db\"\n[service.b]\nimage = \"x\"\nplugin = \"surrealdb\"\n");
        let d = with_code(&text, Code::UnknownPlugin);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].0, "\"surreal_db\"");
        assert_eq!(
            d[0].1.fix.as_ref().unwrap().edits[0].new_text,
            "\"surrealdb\""
        );
        assert!(!d[0].1.is_error());
        let text = format!("{META}[service.a]\nimage = \"x\"\nplugin = \"\"\n");
        assert_eq!(with_code(&text, Code::EmptyValue)[0].0, "\"\"");
    }

    #[test]
    fn missing_image_is_an_error_except_for_network_service_and_ollama() {
        let text = format!(
            "{META}{}",
            fixture(
                r#"
                  [service.gen]
                #          ^^^ error[missing-key]
                ports = [8080]
                  [service.db]
                #          ^^ error[missing-key]: Service image is required
                plugin = "surrealdb"
                [service.ai]
                plugin = "ollama"
            "#
            )
        );
        check_annotated(&text, &[Code::MissingKey]);
        let text = format!("{META}[service.gen]\nimage = \" \"\n");
        assert_eq!(with_code(&text, Code::EmptyValue)[0].0, "\" \"");
    }

    #[test]
    fn volumes_ports_and_env() {
        let text = format!(
            "{META}{}",
            fixture(
                r#"
                [service.a]
                image = "x"
                  ports = [80, 9000]
                #          ^^ warning[invalid-service]
                  volumes = [{ host_path = "./data", container_path = "/etc/x" }]
                #                          ^^^^^^^^ error[invalid-service]
                #                                                     ^^^^^^^^ warning[invalid-service]
                  env = { API_TOKEN = "abc", "BAD-NAME" = "1", DB_PASSWORD = "$P" }
                #                     ^^^^^ warning[secret-value]
                #                            ^^^^^^^^^^ warning[invalid-service]
                [service.b]
                image = "y"
                  ports = [9000]
                #          ^^^^ warning[invalid-service]
            "#
            )
        );
        let (_, found) = check_annotated(&text, &[Code::InvalidService, Code::SecretValue]);
        let reused = found
            .iter()
            .filter(|d| d.code == Code::InvalidService)
            .nth(4)
            .unwrap();
        assert_eq!(reused.related.len(), 1, "the port's other user");
        let secret = found.iter().find(|d| d.code == Code::SecretValue).unwrap();
        assert!(!secret.message.contains("abc"), "never show the secret");
    }

    #[test]
    fn both_maps() {
        let text = format!("{META}[service.a]\nimage = \"x\"\n[services.a]\nimage = \"x\"\n");
        assert_eq!(with_code(&text, Code::RunCompat)[0].0, "service");
        let d = with_code(&text, Code::DuplicateName);
        assert_eq!(d.len(), 1);
        // The later definition is flagged; the earlier one is "first defined here".
        assert!(d[0].1.related[0].range.start < d[0].1.range.start);
    }
}
