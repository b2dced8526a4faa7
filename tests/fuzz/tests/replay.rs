//! Every crash the fuzzer found (and every case of issue 10) stays fixed: `cargo test`
//! replays `regressions/<target>/` in this process.

use std::path::Path;

use clnrm_fuzz::{replay_in_process, TARGETS};

#[test]
fn regressions_replay_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cases = 0;
    for target in TARGETS {
        cases += clnrm_fuzz::inputs_in(&root.join("regressions").join(target.name)).len();
        let failed = replay_in_process(target, root);
        assert!(failed.is_empty(), "{}: {failed:?}", target.name);
    }
    assert!(cases > 10, "the issue's cases are kept: {cases}");
}
