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

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}
