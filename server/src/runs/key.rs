//! The result-cache key of one scenario run: SHA-256 over everything that can change the
//! result. A field missing here would let a cached result stand in for a different run, so
//! when in doubt a field goes in (an extra run is cheap; a wrong verdict is not).

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::backend::BackendKind;
use super::settings::RunSettings;
use crate::analysis::ContentKey;
use crate::model::TestFile;

/// Key of scenario `index` of `file`: the scenario's rendered table (command, steps, their
/// env and expectations, timeout, policy), the services it uses, the file's `[expect]` and
/// `[limits]`, its position (failure paths name it), the backend, the run settings and
/// the host `PATH` local commands are looked up in. `None` when there is no such scenario.
pub fn run_key(
    file: &TestFile,
    index: usize,
    backend: BackendKind,
    settings: &RunSettings,
) -> Option<ContentKey> {
    let scenario = file.scenarios.get(index)?;
    let mut h = Sha256::new();
    field(&mut h, crate::ENGINE_VERSION.as_bytes());
    field(&mut h, &crate::cache::results::RESULT_FORMAT.to_le_bytes());
    field(&mut h, &(index as u64).to_le_bytes());
    field(&mut h, &[u8::from(scenario.implicit)]);
    field(&mut h, scenario.name.as_bytes());
    json_field(&mut h, &scenario.raw);
    for (id, service) in file.services_of(scenario) {
        field(&mut h, id.as_bytes());
        json_field(&mut h, &service.raw);
    }
    field(&mut h, b"expect");
    json_field(&mut h, &file.expect);
    field(&mut h, b"limits");
    for v in [file.limits.cpu_millicores, file.limits.memory_mb] {
        field(&mut h, &v.unwrap_or(u64::MAX).to_le_bytes());
    }
    field(&mut h, format!("{backend:?}").as_bytes());
    field(
        &mut h,
        &u64::try_from(settings.default_timeout.as_millis())
            .unwrap_or(u64::MAX)
            .to_le_bytes(),
    );
    field(
        &mut h,
        &u64::try_from(settings.kill_grace.as_millis())
            .unwrap_or(u64::MAX)
            .to_le_bytes(),
    );
    field(&mut h, &(settings.output_cap as u64).to_le_bytes());
    field(&mut h, settings.default_image.as_bytes());
    field(&mut h, std::env::var("PATH").unwrap_or_default().as_bytes());
    Some(ContentKey(h.finalize().into()))
}

/// Length-prefixed so that no two different field sequences hash the same bytes.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// JSON with object keys sorted, so the key does not depend on table order or on how
/// serde_json's maps are built.
fn json_field(h: &mut Sha256, v: &Value) {
    let mut out = Vec::new();
    canonical(v, &mut out);
    field(h, &out);
}

fn canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(Value::String(k.clone()).to_string().as_bytes());
                out.push(b':');
                canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(v, out);
            }
            out.push(b']');
        }
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"[meta]
name = "k"
[service.db]
image = "postgres:16"
[service.other]
image = "redis:7"
[[scenario]]
name = "a"
service = "db"
run = "echo a"
[[scenario]]
name = "b"
run = "echo b"
"#;

    fn key(text: &str, index: usize) -> ContentKey {
        let file = TestFile::from_rendered(text, None).unwrap();
        run_key(&file, index, BackendKind::Local, &RunSettings::default()).unwrap()
    }

    #[test]
    fn same_content_same_key_regardless_of_layout() {
        let relaid = BASE
            .replace(
                "name = \"a\"\nservice = \"db\"",
                "service = \"db\"\nname = \"a\"",
            )
            .replace("run = \"echo b\"", "run = 'echo b'   # comment");
        assert_eq!(key(BASE, 0), key(&relaid, 0));
        assert_eq!(key(BASE, 1), key(&relaid, 1));
        // An unused service changing does not touch a scenario that does not use it.
        let other = BASE.replace("redis:7", "redis:8");
        assert_eq!(key(BASE, 0), key(&other, 0));
    }

    #[test]
    fn every_input_changes_the_key() {
        let k = key(BASE, 0);
        assert_ne!(k, key(BASE, 1));
        assert_ne!(k, key(&BASE.replace("echo a", "echo A"), 0));
        assert_ne!(k, key(&BASE.replace("postgres:16", "postgres:17"), 0));
        assert_ne!(
            k,
            key(
                &format!("{BASE}[expect.counts]\nspans_total = {{ gte = 1 }}\n"),
                0
            )
        );
        assert_ne!(k, key(&format!("{BASE}[limits]\nmemory_mb = 64\n"), 0));
        // Moving the scenario changes the paths its failures are reported under.
        let swapped = "[meta]\nname = \"k\"\n[service.db]\nimage = \"postgres:16\"\n[service.other]\nimage = \"redis:7\"\n[[scenario]]\nname = \"b\"\nrun = \"echo b\"\n[[scenario]]\nname = \"a\"\nservice = \"db\"\nrun = \"echo a\"\n";
        assert_ne!(k, key(swapped, 1));

        let file = TestFile::from_rendered(BASE, None).unwrap();
        let s = RunSettings::default();
        assert_ne!(
            Some(k),
            run_key(&file, 0, BackendKind::Docker, &s),
            "backend"
        );
        let longer = RunSettings {
            default_timeout: s.default_timeout * 2,
            ..s.clone()
        };
        assert_ne!(Some(k), run_key(&file, 0, BackendKind::Local, &longer));
        assert_eq!(run_key(&file, 9, BackendKind::Local, &s), None);
    }
}
