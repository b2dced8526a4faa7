//! The result-cache key of one scenario run: SHA-256 over everything that can change the
//! result. A field missing here would let a cached result stand in for a different run, so
//! when in doubt a field goes in (an extra run is cheap; a wrong verdict is not).

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::backend::BackendKind;
use super::inputs::{Inputs, Place};
use super::settings::RunSettings;
use crate::analysis::ContentKey;
use crate::model::TestFile;

/// Key of scenario `index` of `file`: the scenario's rendered table (command, steps, their
/// env and expectations, timeout, policy), the services it uses, the file's `[expect]` and
/// `[limits]`, its position (failure paths name it), the backend, the run settings (whether
/// services start, for a scenario that uses any), the
/// test file's directory relative to the workspace (the commands' working directory) and
/// the digests of its [`Inputs`] (workspace files, programs, images). No absolute path:
/// the workspace root is replaced by a placeholder wherever the rendered text holds it,
/// so two clones at different places have the same keys. `None` when there is no such
/// scenario.
pub fn run_key(
    file: &TestFile,
    index: usize,
    backend: BackendKind,
    settings: &RunSettings,
    place: Option<(Place<'_>, &Inputs)>,
) -> Option<ContentKey> {
    let scenario = file.scenarios.get(index)?;
    let root = place.map(|(p, _)| p.root.to_string_lossy().into_owned());
    let root = root.as_deref().filter(|r| r.len() > 1);
    let json_field = |h: &mut Sha256, v: &Value| json_field(h, v, root);
    let mut h = Sha256::new();
    field(&mut h, crate::ENGINE_VERSION.as_bytes());
    field(&mut h, &crate::cache::results::RESULT_FORMAT.to_le_bytes());
    field(&mut h, &(index as u64).to_le_bytes());
    field(&mut h, &[u8::from(scenario.implicit)]);
    field(&mut h, scenario.name.as_bytes());
    json_field(&mut h, &scenario.raw);
    let mut uses_services = false;
    for (id, service) in file.services_of(scenario) {
        field(&mut h, id.as_bytes());
        json_field(&mut h, &service.raw);
        uses_services = true;
    }
    if uses_services {
        // Without its services a scenario fails: that verdict must not answer once they start.
        field(&mut h, &[u8::from(settings.services)]);
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
    if let Some((place, inputs)) = place {
        field(&mut h, b"dir");
        field(&mut h, place.rel_dir().as_bytes());
        for (label, digest) in &inputs.digests {
            field(&mut h, label.as_bytes());
            field(&mut h, digest.as_bytes());
        }
    }
    Some(ContentKey(h.finalize().into()))
}

/// Length-prefixed so that no two different field sequences hash the same bytes.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// JSON with object keys sorted, so the key does not depend on table order or on how
/// serde_json's maps are built.
/// Strings holding the workspace root (`{{ workspace }}`, `$CLNRM_WORKSPACE` spelled
/// out) hash with a placeholder instead.
fn json_field(h: &mut Sha256, v: &Value, root: Option<&str>) {
    let mut out = Vec::new();
    canonical(v, &mut out, root);
    field(h, &out);
}

fn canonical(v: &Value, out: &mut Vec<u8>, root: Option<&str>) {
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
                canonical(v, out, root);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(v, out, root);
            }
            out.push(b']');
        }
        Value::String(s) => match root.filter(|r| s.contains(r)) {
            Some(r) => {
                let relative = Value::String(s.replace(r, "\u{0}workspace\u{0}"));
                out.extend_from_slice(relative.to_string().as_bytes());
            }
            None => out.extend_from_slice(v.to_string().as_bytes()),
        },
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
        run_key(
            &file,
            index,
            BackendKind::Local,
            &RunSettings::default(),
            None,
        )
        .unwrap()
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
            run_key(&file, 0, BackendKind::Docker, &s, None),
            "backend"
        );
        let longer = RunSettings {
            default_timeout: s.default_timeout * 2,
            ..s.clone()
        };
        assert_ne!(
            Some(k),
            run_key(&file, 0, BackendKind::Local, &longer, None)
        );
        assert_eq!(run_key(&file, 9, BackendKind::Local, &s, None), None);
        // Services off → on: a scenario using one runs again; one using none does not.
        let no_services = RunSettings {
            services: !s.services,
            ..s.clone()
        };
        assert_ne!(
            Some(k),
            run_key(&file, 0, BackendKind::Local, &no_services, None)
        );
        assert_eq!(
            run_key(&file, 1, BackendKind::Local, &s, None),
            run_key(&file, 1, BackendKind::Local, &no_services, None)
        );
    }

    #[test]
    fn two_clones_at_different_places_have_the_same_keys() {
        let text = "[[scenario]]\nname = \"a\"\nrun = \"sh app.sh\"\n";
        let keys: Vec<_> = ["one", "two/deeper"]
            .iter()
            .map(|at| {
                let base = tempfile::tempdir().unwrap();
                let root = base.path().join(at);
                std::fs::create_dir_all(root.join("tests")).unwrap();
                std::fs::write(root.join("tests/app.sh"), "echo hi").unwrap();
                let dir = root.join("tests");
                let place = Place {
                    root: &root,
                    dir: &dir,
                };
                // The rendered text spells the root out: `{{ workspace }}`, rendered for
                // the file of this clone.
                let template = text.replace("sh app.sh", "sh {{ workspace }}/tests/app.sh");
                let analysis =
                    crate::analysis::Analyzer::new(crate::analysis::Environment::empty()).analyze(
                        &template,
                        crate::analysis::Origin {
                            path: Some(&dir.join("app.clnrm.toml")),
                            workspace_root: Some(&root),
                            kind: None,
                        },
                        &crate::analysis::template::DiskLoader,
                    );
                let rendered = analysis.rendered.clone().unwrap();
                assert!(
                    rendered
                        .text
                        .contains(&format!("sh {}/tests/app.sh", root.display())),
                    "{}",
                    rendered.text
                );
                let file = TestFile::from_rendered(&rendered.text, None).unwrap();
                let inputs = crate::runs::inputs::scenario_inputs(
                    &file,
                    &file.scenarios[0],
                    place,
                    &[],
                    BackendKind::Local,
                    "alpine",
                    &crate::runs::inputs::ImageIds::default(),
                );
                assert!(
                    inputs.digests.contains_key("file:tests/app.sh"),
                    "{inputs:?}"
                );
                run_key(
                    &file,
                    0,
                    BackendKind::Local,
                    &RunSettings::default(),
                    Some((place, &inputs)),
                )
                .unwrap()
            })
            .collect();
        assert_eq!(keys[0], keys[1]);
    }

    #[test]
    fn a_rebuilt_image_is_another_key() {
        let text = "[service.db]\nimage = \"db:1\"\n[[scenario]]\nname = \"a\"\nservice = \"db\"\nrun = \"true\"\n";
        let file = TestFile::from_rendered(text, None).unwrap();
        let ws = tempfile::tempdir().unwrap();
        let place = Place {
            root: ws.path(),
            dir: ws.path(),
        };
        let key = |id: &str| {
            let ids = crate::runs::inputs::ImageIds::with(&[
                ("docker", "db:1", Ok(id)),
                ("docker", "alpine:latest", Ok("sha256:base")),
            ]);
            let inputs = crate::runs::inputs::scenario_inputs(
                &file,
                &file.scenarios[0],
                place,
                &[],
                BackendKind::Docker,
                "alpine:latest",
                &ids,
            );
            run_key(
                &file,
                0,
                BackendKind::Docker,
                &RunSettings::default(),
                Some((place, &inputs)),
            )
        };
        assert_eq!(key("sha256:old"), key("sha256:old"));
        assert_ne!(key("sha256:old"), key("sha256:new"));
    }
}
