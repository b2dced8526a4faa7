//! The command line as a user meets it: the built binary run in a directory, with no colour
//! forced or forbidden by the environment the tests happen to run in.

use std::path::Path;
use std::process::{Command, Output};

use crate::bin_path::clnrm_lsp_bin;

/// Run `clnrm-lsp ARGS` in `cwd`.
pub fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(clnrm_lsp_bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("CLICOLOR_FORCE")
        .env_remove("NO_COLOR")
        .output()
        .expect("run clnrm-lsp")
}

/// [`run_in`] for inputs that could hang the binary (FIFOs, devices): a hang becomes a
/// test failure after `limit` instead of a stuck test run (the process is killed).
pub fn run_in_bounded(cwd: &Path, args: &[&str], limit: std::time::Duration) -> Output {
    let child = Command::new(clnrm_lsp_bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("CLICOLOR_FORCE")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run clnrm-lsp");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait for clnrm-lsp"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("clnrm-lsp {args:?} still running after {limit:?}: it hangs");
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}
