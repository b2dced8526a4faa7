//! `clnrm-fuzz <target|all> [--seconds N]`, `clnrm-fuzz replay <target|all>`, and the
//! internal `clnrm-fuzz child <target>`. Exits 1 when any input crashed.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clnrm_fuzz::{child_main, fuzz, replay, targets, Options, Report, TARGETS};

const USAGE: &str = "usage: clnrm-fuzz <TARGET|all> [--seconds N] [--seed S] [--timeout-ms T] [--memory-mb M] [--root DIR]
       clnrm-fuzz replay <TARGET|all>
       clnrm-fuzz list
`all --seconds N` splits N seconds evenly between the targets.";

fn main() {
    let code = match real_main() {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("clnrm-fuzz: {e}\n{USAGE}");
            2
        }
    };
    std::process::exit(code);
}

fn real_main() -> Result<bool, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| -> Option<&str> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    let number = |name: &str, default: u64| -> Result<u64, String> {
        flag(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("{name} wants a number, not `{v}`"))
        })
    };
    let options = Options {
        root: flag("--root")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from),
        seconds: number("--seconds", 60)?,
        seed: number(
            "--seed",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64),
        )?,
        timeout: Duration::from_millis(number("--timeout-ms", 10_000)?),
        memory_mb: number("--memory-mb", 2048)?,
    };
    let pick = |name: Option<&String>| -> Result<Vec<&'static targets::Target>, String> {
        match name.map(String::as_str) {
            Some("all") => Ok(TARGETS.iter().collect()),
            Some(n) => targets::find(n)
                .map(|t| vec![t])
                .ok_or_else(|| format!("no target `{n}`")),
            None => Err("no target given".to_string()),
        }
    };
    let mut out = std::io::stdout();
    match args.first().map(String::as_str) {
        Some("child") => {
            let target = pick(args.get(1))?.into_iter().next().ok_or("no target")?;
            child_main(target, options.memory_mb).map_err(|e| e.to_string())?;
            Ok(true)
        }
        Some("list") => {
            for t in TARGETS {
                let _ = writeln!(out, "{}", t.name);
            }
            Ok(true)
        }
        Some("replay") => {
            let mut clean = true;
            for t in pick(args.get(1))? {
                let r = replay(t, &options).map_err(|e| e.to_string())?;
                let _ = writeln!(
                    out,
                    "{}: replayed {} regression cases, {} crashed",
                    r.target,
                    r.execs,
                    r.crashes.len()
                );
                clean &= r.crashes.is_empty();
            }
            Ok(clean)
        }
        Some(_) => {
            let chosen = pick(args.first())?;
            let share = Options {
                seconds: (options.seconds / chosen.len() as u64).max(1),
                ..options.clone()
            };
            let _ = writeln!(out, "seed {}", options.seed);
            let mut reports: Vec<Report> = Vec::new();
            for t in chosen {
                let r = fuzz(t, &share).map_err(|e| e.to_string())?;
                let _ = writeln!(
                    out,
                    "{}: {} execs in {:.1} s ({:.0}/s), {} crashes",
                    r.target,
                    r.execs,
                    r.seconds,
                    r.execs_per_second(),
                    r.crashes.len()
                );
                reports.push(r);
            }
            Ok(reports.iter().all(|r| r.crashes.is_empty()))
        }
        None => Err("nothing to do".to_string()),
    }
}
