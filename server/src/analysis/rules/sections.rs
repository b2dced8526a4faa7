//! File-level rules: metadata, something to run, and the small sections clnrm's
//! `TestConfig::validate()` checks ([otel], [chaos], [weaver], [performance], …).

use super::context::is_blank;
use super::patterns;
use super::Ctx;
use crate::analysis::schema::pointer;
use crate::analysis::{Code, Severity};

pub(super) fn check(ctx: &mut Ctx<'_>) {
    metadata(ctx);
    something_to_run(ctx);
    otel(ctx);
    determinism(ctx);
    chaos(ctx);
    weaver(ctx);
    if ctx.has("/performance") {
        ctx.report(
            Code::NotImplemented,
            ctx.key("/performance"),
            "clnrm 1.3.0 rejects any [performance] section as not implemented: `clnrm run` fails to load this file",
        );
    }
    for section in ["/limits", "/otel_headers", "/otel_propagators", "/matrix"] {
        if ctx.has(section) {
            ctx.report(
                Code::RunCompat,
                ctx.key(section),
                format!(
                    "[{}] is parsed but has no effect in clnrm 1.3.0's `run`",
                    &section[1..]
                ),
            );
        }
    }
}

fn metadata(ctx: &mut Ctx<'_>) {
    let has_meta = ctx.get("/meta").is_some_and(|v| v.is_object());
    let has_legacy = ctx.get("/test/metadata").is_some_and(|v| v.is_object());
    if !has_meta && !has_legacy && !ctx.has("/meta") && !ctx.has("/test") {
        ctx.report(
            Code::MissingMetadata,
            ctx.file_anchor(),
            "the test has no name: add a [meta] section with `name` and `version` (or legacy [test.metadata])",
        );
    }
    for (pointer, what) in [
        ("/meta/name", "test name"),
        ("/meta/version", "test version"),
        ("/test/metadata/name", "test name"),
    ] {
        if ctx.str_at(pointer).is_some_and(is_blank) {
            ctx.report(
                Code::EmptyValue,
                ctx.value(pointer),
                format!("the {what} must not be blank"),
            );
        }
    }
    if let Some(t) = ctx.str_at("/test/metadata/timeout") {
        if !patterns::is_duration(t) {
            ctx.report_as(
                Code::InvalidDuration,
                Severity::Warning,
                ctx.value("/test/metadata/timeout"),
                format!("`{t}` is not a duration such as \"30s\", \"5m\" or \"1h\" (clnrm never uses this timeout)"),
            );
        }
    }
}

fn something_to_run(ctx: &mut Ctx<'_>) {
    if ctx.len("/scenario") == 0 && ctx.len("/steps") == 0 {
        let anchor = if ctx.has("/meta") {
            ctx.value("/meta")
        } else if ctx.has("/test") {
            ctx.value("/test")
        } else {
            ctx.file_anchor()
        };
        ctx.report(
            Code::NoTests,
            anchor,
            "the file defines nothing to run: add a [[scenario]] (or legacy [[steps]])",
        );
    }
}

fn otel(ctx: &mut Ctx<'_>) {
    if let Some(exporter) = ctx.str_at("/otel/exporter") {
        let lower = exporter.to_ascii_lowercase();
        if !["stdout", "otlp", "jaeger", "zipkin"].contains(&lower.as_str()) {
            ctx.report(
                Code::InvalidValue,
                ctx.value("/otel/exporter"),
                format!("unknown OTEL exporter `{exporter}`: clnrm accepts stdout, otlp, jaeger or zipkin"),
            );
        } else if lower == "stdout" || lower == "zipkin" {
            ctx.report(
                Code::RunCompat,
                ctx.value("/otel/exporter"),
                format!("`{exporter}` is accepted by `clnrm run` but rejected by `clnrm dry-run` (only otlp and jaeger pass both)"),
            );
        }
    }
    if let Some(protocol) = ctx.str_at("/otel/protocol") {
        let lower = protocol.to_ascii_lowercase();
        if !["http/protobuf", "grpc", "http/json"].contains(&lower.as_str()) {
            ctx.report(
                Code::InvalidValue,
                ctx.value("/otel/protocol"),
                format!("unknown OTEL protocol `{protocol}`: clnrm accepts http/protobuf, grpc or http/json"),
            );
        }
    }
    if ctx.has("/otel") {
        ctx.report(
            Code::RunCompat,
            ctx.key("/otel"),
            "[otel] is validated but configures nothing in clnrm 1.3.0's `run` (tracing comes from --otel-exporter)",
        );
    }
}

fn determinism(ctx: &mut Ctx<'_>) {
    if let Some(clock) = ctx.str_at("/determinism/freeze_clock") {
        if !patterns::is_rfc3339(clock) {
            ctx.report_as(
                Code::InvalidValue,
                Severity::Warning,
                ctx.value("/determinism/freeze_clock"),
                format!("`{clock}` is not an RFC 3339 time such as \"2025-01-01T00:00:00Z\"; clnrm fails when it uses it"),
            );
        }
    }
}

fn chaos(ctx: &mut Ctx<'_>) {
    let enabled = ctx.get("/chaos/enabled").and_then(|v| v.as_bool()) == Some(true);
    if enabled && ctx.len("/chaos/experiments") == 0 {
        ctx.report(
            Code::MissingKey,
            ctx.key("/chaos/enabled"),
            "chaos is enabled but defines no experiments; clnrm rejects this",
        );
    }
    for i in 0..ctx.len("/chaos/experiments") {
        let base = format!("/chaos/experiments/{i}");
        let needs = match ctx.str_at(&pointer::at(&base, "type")) {
            Some("network_latency") => Some("latency_ms"),
            Some("cpu_stress") => Some("cpu_percent"),
            Some("memory_stress") => Some("memory_mb"),
            Some("disk_fill") => Some("fill_mb"),
            _ => None,
        };
        if let Some(field) = needs {
            if !ctx.has(&pointer::at(&base, field)) {
                ctx.report(
                    Code::MissingKey,
                    ctx.value(&pointer::at(&base, "type")),
                    format!("this experiment type needs `{field}`"),
                );
            }
        }
        let target = pointer::at(&base, "target_service");
        if ctx.str_at(&target).is_some_and(is_blank) {
            ctx.report(
                Code::EmptyValue,
                ctx.value(&target),
                "target_service must not be blank",
            );
        }
    }
}

fn weaver(ctx: &mut Ctx<'_>) {
    let mut ports = Vec::new();
    for key in ["otlp_port", "admin_port"] {
        let p = format!("/weaver/{key}");
        if let Some(port) = ctx.get(&p).and_then(|v| v.as_u64()) {
            if port != 0 && port < 1024 {
                ctx.report(
                    Code::InvalidValue,
                    ctx.value(&p),
                    format!("weaver `{key}` must be 0 (automatic) or at least 1024"),
                );
            }
            if port != 0 {
                ports.push((port, p));
            }
        }
    }
    if let [(a, _), (b, p)] = ports.as_slice() {
        if a == b {
            let p = p.clone();
            ctx.report(
                Code::InvalidValue,
                ctx.value(&p),
                "weaver otlp_port and admin_port must differ",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::analysis::annotated::fixture;
    use crate::analysis::Code;

    #[test]
    fn missing_metadata_and_tests() {
        let text = "[service.a]\nimage = \"x\"\n[assertions]\nx = 1\n";
        // The first table in the file, not the alphabetically first.
        assert_eq!(with_code(text, Code::MissingMetadata)[0].0, "service");
        assert_eq!(with_code(text, Code::NoTests).len(), 1);
        assert!(with_code(V1, Code::MissingMetadata).is_empty());
        assert!(with_code(V1, Code::NoTests).is_empty());
        let legacy = "[test.metadata]\nname = \"x\"\n[[steps]]\nname = \"a\"\ncommand = [\"x\"]\n";
        assert!(with_code(legacy, Code::MissingMetadata).is_empty());
        assert!(with_code(legacy, Code::NoTests).is_empty());
        let none = "[meta]\nname = \"t\"\nversion = \"1\"\n";
        assert_eq!(with_code(none, Code::NoTests)[0].0, "[meta]");
    }

    #[test]
    fn blank_names() {
        check_annotated(
            r#"
            [meta]
              name = "  "
            #        ^^^^ error[empty-value]
              version = ""
            #           ^^ error[empty-value]
        "#,
            &[Code::EmptyValue],
        );
    }

    #[test]
    fn performance_is_rejected() {
        let text = format!("{V1}[performance]\nsample_size = 3\n");
        assert_eq!(with_code(&text, Code::NotImplemented)[0].0, "performance");
    }

    #[test]
    fn otel_exporter_and_protocol() {
        let text = format!("{V1}[otel]\nexporter = \"OTLP\"\nprotocol = \"HTTP/JSON\"\n");
        assert!(with_code(&text, Code::InvalidValue).is_empty());
        let text = format!(
            "{V1}{}",
            fixture(
                r#"
                [otel]
                  exporter = "otlp-http"
                #            ^^^^^^^^^^^ error[invalid-value]
                  protocol = "tcp"
                #            ^^^^^ error[invalid-value]
            "#
            )
        );
        check_annotated(&text, &[Code::InvalidValue]);
    }

    #[test]
    fn freeze_clock_and_timeout_are_warnings() {
        let text = format!("{V1}[determinism]\nfreeze_clock = \"now\"\n");
        let d = with_code(&text, Code::InvalidValue);
        assert_eq!(d[0].0, "\"now\"");
        assert!(!d[0].1.is_error());
        let text = "[test.metadata]\nname = \"x\"\ntimeout = \"soon\"\n";
        assert_eq!(with_code(text, Code::InvalidDuration)[0].0, "\"soon\"");
    }

    #[test]
    fn chaos_and_weaver() {
        let text = format!("{V1}[chaos]\nenabled = true\n");
        assert_eq!(with_code(&text, Code::MissingKey)[0].0, "enabled");
        let text = format!("{V1}[chaos]\nenabled = true\n[[chaos.experiments]]\ntype = \"cpu_stress\"\ntarget_service = \" \"\n");
        assert_eq!(with_code(&text, Code::MissingKey)[0].0, "\"cpu_stress\"");
        assert_eq!(with_code(&text, Code::EmptyValue)[0].0, "\" \"");
        let text = format!("{V1}[weaver]\notlp_port = 80\nadmin_port = 0\n");
        assert_eq!(with_code(&text, Code::InvalidValue)[0].0, "80");
    }

    #[test]
    fn inert_sections_are_information() {
        let text = format!("{V1}[limits]\ncpu_millicores = 100\n");
        let d = with_code(&text, Code::RunCompat);
        assert_eq!(d[0].0, "limits");
        assert_eq!(d[0].1.severity, crate::analysis::Severity::Information);
    }
}
