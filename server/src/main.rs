use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clnrm_lsp::cli::{self, Cli, Command};
use clnrm_lsp::runs::process::{kill_all, sweep_leftovers};

// Parsing and analysis allocate many small short-lived objects on every thread: mimalloc
// takes `check` on the real files from ~20 % of its time in glibc's malloc/free to a few.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::from_env();
    if matches!(cli.command, Some(Command::Check(_))) {
        // Only for `check`: the THP setting is inherited by child processes, and `check`
        // starts none.
        clnrm_lsp::cli::allocator::huge_pages_for_heap_start();
        clnrm_lsp::cli::allocator::keep_freed_memory();
        clnrm_lsp::documents::fs::keep_scope_handles();
    }
    // `check` starts no process, so it has nothing to adopt, kill or clean up at the end,
    // and the default action of Ctrl-C is right for it. It still sweeps what a killed
    // `run` left, beside its own work, when the owners' register says one was killed.
    let starts_processes = !matches!(cli.command, Some(Command::Check(_)));
    let sweep = if starts_processes {
        // Orphans of our runs come to us; leftovers of a killed predecessor die now.
        clnrm_lsp::runs::reaper::init();
        None
    } else {
        clnrm_lsp::runs::reaper::pending_sweep().map(|s| std::thread::spawn(move || s.run()))
    };
    // Scenario runs live in their own sessions: on Ctrl-C, SIGTERM or SIGHUP take them along.
    static INTERRUPTED: AtomicBool = AtomicBool::new(false);
    if starts_processes {
        if let Err(e) = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, Ordering::SeqCst);
            kill_all();
            std::process::exit(130);
        }) {
            eprintln!(
                "clnrm-lsp: no signal handler ({e}); interrupted runs may outlive this process"
            );
        }
    }
    if matches!(cli.command, None | Some(Command::Run(_))) {
        // Leftovers of owners that died (killed servers, crashed runs): best effort, off
        // the start-up path.
        std::thread::spawn(|| sweep_leftovers(&["docker", "podman"]));
    }
    let code = serve_or_run(cli);
    if starts_processes {
        kill_all();
    }
    if let Some(sweep) = sweep {
        let _ = sweep.join();
    }
    if INTERRUPTED.load(Ordering::SeqCst) {
        // The handler is exiting with 130; the runs it killed ended this one early.
        return ExitCode::from(130);
    }
    code
}

fn serve_or_run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(command) => cli::run(command),
        None => {
            init_logging();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("clnrm-lsp: cannot start the async runtime: {e}");
                    return ExitCode::from(2);
                }
            };
            let code = runtime.block_on(clnrm_lsp::lsp::serve_stdio());
            // The stdin reader may still block in a read: do not wait for it.
            runtime.shutdown_background();
            ExitCode::from(code)
        }
    }
}

/// Logs go to stderr only: stdout is the protocol. Filter from `CLNRM_LSP_LOG`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLNRM_LSP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
