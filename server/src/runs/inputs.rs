//! What a scenario run reads besides its own table, as content digests for its cache key:
//! workspace files (named by a word of its commands, declared with `inputs = [globs]` on
//! the scenario or `[cache] inputs` in `.clnrm/config.toml`), the executables it starts
//! on the local backend (the resolved file's content, not the `PATH` string) and, on
//! container backends, the content identity of each image it uses.
//!
//! Every label is workspace-relative or a bare name: the digests of two clones of one
//! repository at different places are the same.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::argv::{split, step_argv};
use super::backend::BackendKind;
use super::process::{self, CancelToken, ProcessSpec, Rlimits};
use crate::model::{Scenario, TestFile};

/// Files a glob may add to one key: a runaway `**` stays bounded.
const MAX_GLOB_FILES: usize = 10_000;

/// Where a scenario's files are: the workspace root and the test file's directory.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub root: &'a Path,
    /// The test file's directory (absolute): the commands' working directory on local.
    pub dir: &'a Path,
}

impl Place<'_> {
    /// The test file's directory relative to the root (`""` at the root).
    pub fn rel_dir(&self) -> String {
        relative(self.root, self.dir).unwrap_or_default()
    }
}

/// The inputs of one scenario: `(label, digest)` sorted by label, notes for the user, and
/// why the scenario cannot run at all (an image the engine does not have).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    pub digests: BTreeMap<String, String>,
    pub notes: Vec<String>,
    pub blocked: Option<String>,
}

/// The inputs of scenario `scenario` of `file` at `place`, for `backend`.
pub fn scenario_inputs(
    file: &TestFile,
    scenario: &Scenario,
    place: Place<'_>,
    config_globs: &[String],
    backend: BackendKind,
    default_image: &str,
    images: &ImageIds,
) -> Inputs {
    let mut out = Inputs::default();
    let commands = command_argvs(scenario);
    // Workspace files named by a word of a command.
    for argv in &commands {
        for word in argv.iter().flat_map(|w| words(w)) {
            if let Some((label, path)) = workspace_file(place, &word) {
                out.digests
                    .insert(format!("file:{label}"), file_digest(&path));
            }
        }
    }
    // Declared globs: the scenario's, then the project's.
    let declared = scenario
        .raw
        .get("inputs")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .map(str::to_string)
        .chain(config_globs.iter().cloned());
    for pattern in declared {
        match glob_files(place.root, &pattern) {
            Ok(files) => {
                out.digests.insert(format!("glob:{pattern}"), String::new());
                for (label, path) in files {
                    out.digests
                        .insert(format!("file:{label}"), file_digest(&path));
                }
            }
            Err(note) => out.notes.push(note),
        }
    }
    match backend {
        BackendKind::Local => {
            let path = process::base_env(place.dir)
                .into_iter()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v)
                .unwrap_or_default();
            for argv in &commands {
                for program in programs(argv) {
                    let digest = match resolve_program(place, &program, &path) {
                        Some(p) => file_digest(&p),
                        None => "missing".into(),
                    };
                    out.digests.insert(format!("exe:{program}"), digest);
                }
            }
        }
        BackendKind::Docker | BackendKind::Podman => {
            let cli = if backend == BackendKind::Podman {
                "podman"
            } else {
                "docker"
            };
            let mut used: Vec<&str> = Vec::new();
            let ids = std::iter::once(scenario.service.as_ref())
                .chain(scenario.steps.iter().map(|s| s.service.as_ref()))
                .map(|svc| {
                    svc.or(scenario.service.as_ref())
                        .and_then(|id| file.services.get(id))
                        .and_then(|s| s.image.as_deref())
                        .unwrap_or(default_image)
                });
            for image in ids {
                if !used.contains(&image) {
                    used.push(image);
                }
            }
            for image in used {
                match images.id(cli, image) {
                    Ok(id) => {
                        out.digests.insert(format!("image:{image}"), id);
                    }
                    Err(why) => {
                        out.blocked.get_or_insert(why);
                    }
                }
            }
        }
    }
    out
}

/// The argv of each command of `scenario` as it will be started.
fn command_argvs(scenario: &Scenario) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if let Some(run) = &scenario.run {
        if let Ok(argv) = split(run) {
            out.push(argv);
        }
    }
    for step in &scenario.steps {
        out.push(step_argv(&step.command));
    }
    out
}

/// The words of one argument: itself, its shell words (a `sh -c` line; a redirection's
/// target `> out.txt` is an output, not an input), and the value of `--opt=value`.
fn words(arg: &str) -> Vec<String> {
    let mut out = vec![arg.to_string()];
    if arg.contains(char::is_whitespace) {
        let inner =
            split(arg).unwrap_or_else(|_| arg.split_whitespace().map(str::to_string).collect());
        let mut output_next = false;
        for token in inner {
            let is_output = std::mem::take(&mut output_next);
            let bare = token.trim_start_matches(['1', '2', '&']);
            if bare.starts_with('>') {
                // `>`, `>>`, `2>` alone: the next word is the output; `>out` is one.
                output_next = bare.trim_start_matches('>').is_empty();
                continue;
            }
            if is_output {
                continue;
            }
            out.extend(
                token
                    .split([';', '|', '&', '<', '>', '(', ')'])
                    .map(str::to_string),
            );
        }
    }
    let extra: Vec<String> = out
        .iter()
        .filter_map(|w| w.split_once('=').map(|(_, v)| v.to_string()))
        .collect();
    out.extend(extra);
    out.retain(|w| !w.is_empty() && w.len() < 4096);
    out
}

/// The programs a command starts: its first word, and the first word of a `sh -c` line.
fn programs(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(first) = argv.first() {
        out.push(first.clone());
        if argv.len() >= 3 && argv[1] == "-c" && matches!(first.as_str(), "sh" | "bash" | "/bin/sh")
        {
            if let Some(w) = split(&argv[2]).ok().and_then(|w| w.into_iter().next()) {
                out.push(w);
            }
        }
    }
    out
}

/// A program's file: a word with a `/` relative to the commands' directory, else the first
/// executable file of that name on `path`.
fn resolve_program(place: Place<'_>, program: &str, path: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = place.dir.join(program);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// `word` as a file of the workspace (relative to the test file's directory, or absolute
/// inside the root): its workspace-relative label and path.
fn workspace_file(place: Place<'_>, word: &str) -> Option<(String, PathBuf)> {
    if word.starts_with('-') || word.contains(['*', '?', '$', '`', '\0']) {
        return None;
    }
    let path = place.dir.join(word);
    if !path.is_file() {
        return None;
    }
    let real = path.canonicalize().ok()?;
    let root = place.root.canonicalize().ok()?;
    let label = relative(&root, &real)?;
    Some((label, real))
}

/// `path` relative to `root` with `/` separators; `None` outside it.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    Some(parts.join("/"))
}

/// The files matched by a workspace-relative glob (not under `.clnrm/` or `.git/`, which
/// change on every run). A pattern that leaves the workspace is ignored with a note.
fn glob_files(root: &Path, pattern: &str) -> Result<Vec<(String, PathBuf)>, String> {
    let p = Path::new(pattern);
    if p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "input `{pattern}` is outside the workspace: ignored (inputs are globs relative to the workspace root)"
        ));
    }
    let Ok(root) = root.canonicalize() else {
        return Ok(Vec::new());
    };
    let full = format!(
        "{}/{pattern}",
        glob::Pattern::escape(&root.to_string_lossy())
    );
    let paths = glob::glob(&full).map_err(|e| format!("input `{pattern}`: {e}"))?;
    let mut out = Vec::new();
    for path in paths.flatten().take(MAX_GLOB_FILES) {
        let Ok(real) = path.canonicalize() else {
            continue;
        };
        if !real.is_file() {
            continue;
        }
        match relative(&root, &real) {
            Some(label) if !label.starts_with(".clnrm/") && !label.starts_with(".git/") => {
                out.push((label, real));
            }
            Some(_) => {}
            None => {
                return Err(format!(
                    "input `{pattern}` reaches outside the workspace: ignored"
                ))
            }
        }
    }
    Ok(out)
}

/// SHA-256 of a file's content (hex), remembered by path, size and modification time so
/// that keys for lenses do not re-read unchanged files (only files older than the
/// timestamp granularity). Unreadable → `unreadable`.
pub fn file_digest(path: &Path) -> String {
    /// Path → (size, modification time, digest).
    type Seen = HashMap<PathBuf, (u64, SystemTime, String)>;
    static SEEN: Mutex<Option<Seen>> = Mutex::new(None);
    let Ok(meta) = std::fs::metadata(path) else {
        return "unreadable".into();
    };
    let stamp = (
        meta.len(),
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    );
    if let Ok(seen) = SEEN.lock() {
        if let Some((len, at, d)) = seen.as_ref().and_then(|m| m.get(path)) {
            if (*len, *at) == stamp {
                return d.clone();
            }
        }
    }
    let Ok(mut f) = std::fs::File::open(path) else {
        return "unreadable".into();
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(_) => return "unreadable".into(),
        }
    }
    let d = hex::encode(h.finalize());
    // A file modified within the timestamp granularity could change again without its
    // stamp changing (as git's "racily clean" entries): such digests are not remembered.
    let settled = SystemTime::now()
        .duration_since(stamp.1)
        .is_ok_and(|age| age > Duration::from_secs(2));
    if !settled {
        return d;
    }
    if let Ok(mut seen) = SEEN.lock() {
        let m = seen.get_or_insert_with(HashMap::new);
        if m.len() > 50_000 {
            m.clear();
        }
        m.insert(path.to_path_buf(), (stamp.0, stamp.1, d.clone()));
    }
    d
}

/// Image content identities (`<cli> image inspect --format '{{.Id}}'`), looked up once per
/// run batch: `clear` at the start of a batch, lookups answered from memory after that.
#[derive(Debug, Default)]
pub struct ImageIds {
    known: Mutex<HashMap<(String, String), Result<String, String>>>,
}

impl ImageIds {
    pub fn clear(&self) {
        if let Ok(mut k) = self.known.lock() {
            k.clear();
        }
    }

    /// The image's ID, or why the engine has none (the engine's own message).
    pub fn id(&self, cli: &str, image: &str) -> Result<String, String> {
        let key = (cli.to_string(), image.to_string());
        if let Some(hit) = self.known.lock().ok().and_then(|k| k.get(&key).cloned()) {
            return hit;
        }
        let found = inspect(cli, image);
        if let Ok(mut k) = self.known.lock() {
            k.insert(key, found.clone());
        }
        found
    }

    #[cfg(test)]
    pub fn with(entries: &[(&str, &str, Result<&str, &str>)]) -> Self {
        let ids = ImageIds::default();
        if let Ok(mut k) = ids.known.lock() {
            for (cli, image, r) in entries {
                k.insert(
                    (cli.to_string(), image.to_string()),
                    r.map(str::to_string).map_err(str::to_string),
                );
            }
        }
        ids
    }
}

fn inspect(cli: &str, image: &str) -> Result<String, String> {
    let dir = std::env::temp_dir();
    // The engine CLI keeps the user's environment (DOCKER_HOST, XDG_RUNTIME_DIR, HOME…).
    let spec = ProcessSpec {
        argv: vec![
            cli.into(),
            "image".into(),
            "inspect".into(),
            "--format".into(),
            "{{.Id}}".into(),
            image.into(),
        ],
        cwd: dir,
        env: std::env::vars().collect(),
        timeout: Duration::from_secs(20),
        kill_grace: Duration::from_millis(500),
        limits: Rlimits::default(),
        output_cap: 64 * 1024,
        background: false,
    };
    let out = process::run(&spec, &CancelToken::new());
    if let Some(e) = out.spawn_error {
        return Err(format!("image `{image}`: {e}"));
    }
    let id = out.stdout.trim();
    if out.exit_code == Some(0) && !id.is_empty() {
        return Ok(id.to_string());
    }
    let why = super::engine::informative_line(&out.stderr)
        .unwrap_or_else(|| format!("`{cli} image inspect` failed"));
    Err(format!("image `{image}` is not available to {cli}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(root: &Path, text: &str, globs: &[String]) -> Inputs {
        let file = TestFile::from_rendered(text, None).unwrap();
        scenario_inputs(
            &file,
            &file.scenarios[0],
            Place { root, dir: root },
            globs,
            BackendKind::Local,
            "alpine",
            &ImageIds::default(),
        )
    }

    #[test]
    fn files_named_by_command_words_are_inputs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.sh"), "echo hi").unwrap();
        std::fs::write(dir.path().join("conf.yaml"), "a: 1").unwrap();
        let i = inputs(
            dir.path(),
            "[[scenario]]\nname = \"a\"\nrun = \"sh app.sh --config=conf.yaml missing.txt\"\n",
            &[],
        );
        let labels: Vec<_> = i.digests.keys().map(String::as_str).collect();
        assert_eq!(labels, ["exe:sh", "file:app.sh", "file:conf.yaml"], "{i:?}");
        // A step's `sh -c` line: its words and its first program.
        let i = inputs(
            dir.path(),
            "[[scenario]]\nname = \"a\"\nsteps = [{ name = \"s\", command = [\"python3 ./app.sh | cat\"] }]\n",
            &[],
        );
        assert!(i.digests.contains_key("file:app.sh"), "{i:?}");
        assert!(i.digests.contains_key("exe:python3"), "{i:?}");
        assert!(i.digests.contains_key("exe:sh"), "{i:?}");
        // What a command writes is not an input.
        let i = inputs(
            dir.path(),
            "[[scenario]]\nname = \"a\"\nrun = \"sh -c 'cat conf.yaml >> app.sh; echo 2>conf.yaml'\"\n",
            &[],
        );
        assert!(!i.digests.contains_key("file:app.sh"), "{i:?}");
        assert!(i.digests.contains_key("file:conf.yaml"), "{i:?}");
    }

    #[test]
    fn globs_are_workspace_relative_and_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data/sub")).unwrap();
        std::fs::create_dir_all(dir.path().join(".clnrm")).unwrap();
        std::fs::write(dir.path().join("data/a.json"), "1").unwrap();
        std::fs::write(dir.path().join("data/sub/b.json"), "2").unwrap();
        std::fs::write(dir.path().join(".clnrm/x.json"), "3").unwrap();
        let i = inputs(
            dir.path(),
            "[[scenario]]\nname = \"a\"\nrun = \"true\"\ninputs = [\"data/**/*.json\", \"../x\"]\n",
            &["**/*.json".into()],
        );
        assert!(i.digests.contains_key("file:data/a.json"), "{i:?}");
        assert!(i.digests.contains_key("file:data/sub/b.json"), "{i:?}");
        assert!(!i.digests.keys().any(|k| k.contains(".clnrm")), "{i:?}");
        assert_eq!(i.notes.len(), 1, "{i:?}");
        assert!(i.notes[0].contains("outside the workspace"));
    }

    #[test]
    fn images_are_identified_or_block_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[service.db]\nimage = \"db:1\"\n[[scenario]]\nname = \"a\"\nservice = \"db\"\nrun = \"true\"\nsteps = [{ name = \"s\", command = [\"true\"], service = \"none\" }]\n";
        let file = TestFile::from_rendered(text, None).unwrap();
        let place = Place {
            root: dir.path(),
            dir: dir.path(),
        };
        let ids = ImageIds::with(&[
            ("docker", "db:1", Ok("sha256:aaa")),
            ("docker", "alpine", Ok("sha256:bbb")),
        ]);
        let i = scenario_inputs(
            &file,
            &file.scenarios[0],
            place,
            &[],
            BackendKind::Docker,
            "alpine",
            &ids,
        );
        assert_eq!(
            i.digests.get("image:db:1").map(String::as_str),
            Some("sha256:aaa")
        );
        assert_eq!(
            i.digests.get("image:alpine").map(String::as_str),
            Some("sha256:bbb")
        );
        assert!(!i.digests.keys().any(|k| k.starts_with("exe:")));
        let missing = ImageIds::with(&[("podman", "db:1", Err("no such image"))]);
        let i = scenario_inputs(
            &file,
            &file.scenarios[0],
            place,
            &[],
            BackendKind::Podman,
            "db:1",
            &missing,
        );
        assert_eq!(i.blocked.as_deref(), Some("no such image"));
    }

    #[test]
    fn a_program_is_known_by_its_content_not_its_place() {
        let ws = tempfile::tempdir().unwrap();
        let place = Place {
            root: ws.path(),
            dir: ws.path(),
        };
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for d in [&a, &b] {
            std::fs::write(d.path().join("tool"), "#!/bin/sh\necho 1\n").unwrap();
        }
        let on = |d: &tempfile::TempDir| {
            let p = resolve_program(place, "tool", &d.path().display().to_string()).unwrap();
            file_digest(&p)
        };
        // Same content at two places (two machines' PATHs): the same identity.
        assert_eq!(on(&a), on(&b));
        std::fs::write(b.path().join("tool"), "#!/bin/sh\necho 2\n").unwrap();
        assert_ne!(on(&a), on(&b), "another program behind the same name");
        assert_eq!(
            resolve_program(place, "no-such-tool-xyz", "/nonexistent"),
            None
        );
    }
}
