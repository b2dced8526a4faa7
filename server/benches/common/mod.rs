//! Inputs shared by the benchmarks: a realistic 500-line template and its one-character edits.
#![allow(dead_code)] // each bench uses a different subset

/// A v1 test template of about `lines` lines: services, scenarios and span expectations,
/// with Tera expressions the way real files use them.
pub fn template(lines: usize) -> String {
    let mut out = String::from(
        "{# generated benchmark template #}\n[meta]\nname = \"{{ svc }}-bench\"\nversion = \"1.0.0\"\ndescription = \"benchmark\"\n\n[otel]\nexporter = \"{{ exporter }}\"\nsample_ratio = 1.0\n\n",
    );
    let mut i = 0;
    while out.lines().count() < lines {
        out.push_str(&format!(
            "[service.svc{i}]\nplugin = \"generic_container\"\nimage = \"alpine:3.20\"\nenv = {{ LEVEL = \"{i}\" }}\n\n\
             [[scenario]]\nname = \"scenario-{i}\"\nservice = \"svc{i}\"\nrun = \"echo {{{{ env }}}} {i}\"\n\n\
             [[expect.span]]\nname = \"span.{i}\"\nkind = \"internal\"\nattrs.all = {{ \"n\" = \"{i}\" }}\n\n"
        ));
        i += 1;
    }
    out
}

/// The same file as plain TOML (no Tera), for the raw-parse floor.
pub fn plain(lines: usize) -> String {
    template(lines)
        .replace("{# generated benchmark template #}", "# generated")
        .replace("{{ svc }}", "clnrm")
        .replace("{{ exporter }}", "otlp")
        .replace("{{ env }}", "ci")
}

/// `text` with the character at `at` replaced: the keystroke being measured.
pub fn edited(text: &str, at: usize, n: usize) -> String {
    let mut s = text.to_string();
    let c = char::from(b'a' + (n % 26) as u8);
    s.replace_range(at..at + 1, &c.to_string());
    s
}

/// A byte offset inside the `description` string value, safe to overwrite with a letter.
pub fn edit_offset(text: &str) -> usize {
    text.find("benchmark\"").unwrap_or(0)
}
