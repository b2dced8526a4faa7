//! Containment for the analysis pipeline: it runs on a thread whose stack is sized for the
//! template limits, and a panic anywhere in it (Tera's own included) becomes a value, so
//! every face — the server, `check`, `render`, workspace symbols — gets a diagnostic, never
//! a lost document or a dead process.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

/// Stack of the analysis thread: Tera recurses per nested macro, include and block, and
/// [`super::template`] allows 64 levels of macros and includes; a debug build needs far
/// more than a default 2 MiB (or the main thread's 8 MiB) for that. Only touched pages
/// are committed.
pub const ANALYSIS_STACK_BYTES: usize = 64 * 1024 * 1024;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// This thread was started with [`ANALYSIS_STACK_BYTES`] of stack.
    static ANALYSIS_STACK: Cell<bool> = const { Cell::new(false) };
}

/// Called first on a thread started with [`ANALYSIS_STACK_BYTES`] of stack (the server's
/// analysis pool): [`contained`] then runs there instead of hopping to a new thread on
/// every keystroke.
pub fn mark_analysis_thread() {
    ANALYSIS_STACK.with(|b| b.set(true));
}

/// A thread pool whose threads have [`ANALYSIS_STACK_BYTES`] of stack and are marked, so
/// [`contained`] runs inline on them (no thread started per file or per keystroke).
pub fn analysis_pool(
    threads: usize,
    name: &'static str,
) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(ANALYSIS_STACK_BYTES)
        .thread_name(move |i| format!("{name}-{i}"))
        .start_handler(|_| mark_analysis_thread())
        .build()
}

/// Runs `f` on a fresh thread with [`ANALYSIS_STACK_BYTES`] of stack; a panic comes back
/// as its message. When no thread can be started, `f` runs here (still caught).
pub fn contained<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, String> {
    if ANALYSIS_STACK.with(Cell::get) {
        return caught(f);
    }
    // Shared, so `f` is still here when the thread cannot be started.
    let slot = std::sync::Mutex::new(Some(f));
    let take = || slot.lock().ok().and_then(|mut f| f.take());
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("clnrm-analysis-contained".into())
            .stack_size(ANALYSIS_STACK_BYTES)
            .spawn_scoped(s, || {
                mark_analysis_thread();
                take().map(caught)
            });
        match spawned {
            Ok(handle) => match handle.join() {
                Ok(Some(result)) => result,
                Ok(None) => Err("analysis did not run".to_string()),
                Err(p) => Err(message(&*p)),
            },
            Err(_) => match take() {
                Some(f) => caught(f),
                None => Err("analysis thread unavailable".to_string()),
            },
        }
    })
}

/// Runs `f`, turning a panic into its message; the panic is not printed (the caller
/// reports it as a diagnostic).
pub fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was = QUIET.with(|q| q.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f)).map_err(|p| message(&*p));
    QUIET.with(|q| q.set(was));
    result
}

/// Keeps the default panic output for every thread except while [`caught`] runs.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

fn message(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::panic)]
    fn panics_become_values() {
        assert_eq!(contained(|| 1 + 1), Ok(2));
        let r: Result<(), String> = contained(|| panic!("boom"));
        assert_eq!(r, Err("boom".to_string()));
    }

    #[test]
    fn deep_recursion_fits() {
        fn down(n: u32) -> u32 {
            let pad = [n as u8; 512];
            if n == 0 {
                0
            } else {
                std::hint::black_box(&pad);
                down(n - 1) + 1
            }
        }
        assert_eq!(contained(|| down(50_000)), Ok(50_000));
    }
}
