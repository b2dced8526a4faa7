//! Telling an engine's failure from a program's verdict. A container engine reports its
//! own problems (image missing, workdir missing, engine unreachable, command not found in
//! the image) through exit codes 125/126/127 and a message on stderr; those are run
//! `error`s, never cached, with the engine's own message as the reason.

use super::backend::BackendKind;
use super::process::ProcessOutcome;

/// Why `out` is the engine's failure rather than the command's, or `None` for a verdict.
///
/// - Local: a program that could not be started is a spawn error (handled by the caller);
///   exit 127 from `sh` ("not found") is the shell's verdict and stays one: the key holds
///   the resolved programs, so installing the missing one runs the scenario again.
/// - Containers: 125 is always the engine's (docker and podman: "the error is with the
///   engine itself"); 126/127 are the engine's when its message says so (`docker: …`,
///   `Error: …`, `Error response from daemon`, an OCI runtime error), else the
///   container's command's own exit code.
pub fn engine_failure(backend: BackendKind, out: &ProcessOutcome) -> Option<String> {
    if backend == BackendKind::Local {
        return None;
    }
    let code = out.exit_code?;
    let engine_said = out.stderr.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("docker: ")
            || l.starts_with("Error: ")
            || l.starts_with("Error response from daemon")
            || l.contains("OCI runtime")
            || l.starts_with("Unable to find image")
            // The runner's own workdir prelude in the container (it cannot enter it).
            || l.starts_with("clnrm-lsp: cannot use workdir")
    });
    let engine = match code {
        125 => true,
        126 | 127 => engine_said,
        _ => false,
    };
    engine.then(|| {
        let line = informative_line(&out.stderr).unwrap_or_else(|| "no message".into());
        let name = if backend == BackendKind::Podman {
            "podman"
        } else {
            "docker"
        };
        format!("the {name} engine failed (exit {code}): {line}")
    })
}

/// The line of an engine's stderr that says what went wrong: the last non-empty line
/// that is not a pointer to `--help` (docker prints "Run 'docker run --help' for more
/// information" after the real message).
pub fn informative_line(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .map(str::trim)
        .rev()
        .find(|l| {
            !l.is_empty()
                && !(l.contains("--help") && (l.starts_with("Run '") || l.starts_with("See '")))
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: i32, stderr: &str) -> ProcessOutcome {
        ProcessOutcome {
            exit_code: Some(code),
            stderr: stderr.into(),
            ..ProcessOutcome::default()
        }
    }

    #[test]
    fn docker_missing_image_names_the_real_message() {
        let o = out(
            125,
            "Unable to find image 'nope:1' locally\ndocker: Error response from daemon: pull access denied for nope.\nSee 'docker run --help'.\n",
        );
        assert_eq!(
            engine_failure(BackendKind::Docker, &o).as_deref(),
            Some("the docker engine failed (exit 125): docker: Error response from daemon: pull access denied for nope.")
        );
        let o = out(
            125,
            "docker: invalid reference format.\nRun 'docker run --help' for more information\n",
        );
        assert!(engine_failure(BackendKind::Docker, &o)
            .is_some_and(|m| m.ends_with("docker: invalid reference format.")));
    }

    #[test]
    fn podman_workdir_missing_is_an_error_but_a_program_exit_is_a_verdict() {
        let o = out(
            126,
            "Error: workdir \"/nope\" does not exist on container abc\n",
        );
        assert!(engine_failure(BackendKind::Podman, &o).is_some_and(|m| m.contains("workdir")));
        // The container's own `exit 127` / `sh: x: not found` is the command's verdict.
        assert_eq!(
            engine_failure(BackendKind::Podman, &out(127, "sh: x: not found\n")),
            None
        );
        assert_eq!(
            engine_failure(BackendKind::Docker, &out(1, "docker: x\n")),
            None
        );
        // Local: never the engine's.
        assert_eq!(
            engine_failure(BackendKind::Local, &out(125, "docker: x\n")),
            None
        );
    }
}
