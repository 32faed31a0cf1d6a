//! `cargo xtask bench check`: time to check the whole real-wheel corpus of the `check` suite
//! (goal ≤ 1.5 s, median of N runs) next to twine check + check-wheel-contents + auditwheel
//! show (Linux wheels) + delocate-listdeps (macOS wheels) on the same files, in the same run
//! (goal: ours ≥ 20× faster).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use xshell::{cmd, Shell};

use super::median;
use crate::config::Config;
use crate::python_env::{Venv, NEWEST};
use crate::test::check::{corpus, TOOLS};

const OURS_RUNS: usize = 5;
const THEIRS_RUNS: usize = 1;
const GOAL: Duration = Duration::from_millis(1500);
const RATIO_GOAL: f64 = 20.0;

fn time<T>(f: impl FnOnce() -> Result<T>) -> Result<Duration> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

/// CPU time this process has used (user + system): on a shared machine the wall clock measures
/// the neighbours too.
#[cfg(unix)]
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the one rusage it is given.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return Duration::ZERO;
    }
    // SAFETY: getrusage returned 0, so the struct is filled.
    let u = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

#[cfg(not(unix))]
fn cpu_time() -> Duration {
    Duration::ZERO
}

pub fn run(sh: &Shell, cfg: &Config, json: bool) -> Result<()> {
    let files = corpus::fetch(sh, cfg)?;
    let bytes: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let payload = crate::check::Payload::of(cfg);
    let mut ours = Vec::with_capacity(OURS_RUNS);
    let cpu_start = cpu_time();
    for _ in 0..OURS_RUNS {
        ours.push(time(|| {
            let report = crate::check::check_paths(&files, None, &payload)?;
            ensure!(
                report.passes(false),
                "the corpus has errors: {:?}",
                report.artifacts
            );
            Ok(())
        })?);
    }

    let ours_cpu = (cpu_time() - cpu_start) / OURS_RUNS as u32;
    let venv = Venv::ensure(sh, "check-tools", NEWEST, TOOLS)?;
    let (twine, cwc, auditwheel, delocate) = (
        venv.bin("twine"),
        venv.bin("check-wheel-contents"),
        venv.bin("auditwheel"),
        venv.bin("delocate-listdeps"),
    );
    let name = |p: &PathBuf| p.to_string_lossy().into_owned();
    let linux: Vec<&PathBuf> = files
        .iter()
        .filter(|w| name(w).contains("linux_"))
        .collect();
    let mac: Vec<&PathBuf> = files
        .iter()
        .filter(|w| name(w).contains("macosx_"))
        .collect();
    let (mut t_twine, mut t_cwc, mut t_audit, mut t_delocate) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let all = &files;
    // Their verdicts on foreign wheels differ (twine wants a long description, check-wheel-contents
    // dislikes data files): timed, not judged.
    let quiet = |c: xshell::Cmd<'_>| -> Result<()> {
        let c = c.quiet().ignore_status().ignore_stdout().ignore_stderr();
        c.run().map_err(Into::into)
    };
    for _ in 0..THEIRS_RUNS {
        t_twine.push(time(|| quiet(cmd!(sh, "{twine} check --strict {all...}")))?);
        t_cwc.push(time(|| quiet(cmd!(sh, "{cwc} {all...}")))?);
        t_audit.push(time(|| {
            linux
                .iter()
                .try_for_each(|w| quiet(cmd!(sh, "{auditwheel} show {w}")))
        })?);
        t_delocate.push(time(|| {
            mac.iter()
                .try_for_each(|w| quiet(cmd!(sh, "{delocate} {w}")))
        })?);
    }
    let ours_median = median(ours.clone());
    let ours_min = ours.iter().min().copied().unwrap_or_default();
    let [twine_m, cwc_m, audit_m, delocate_m] = [t_twine, t_cwc, t_audit, t_delocate].map(median);
    let theirs = twine_m + cwc_m + audit_m + delocate_m;
    let ratio = theirs.as_secs_f64() / ours_median.as_secs_f64().max(1e-9);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    if json {
        println!(
            "{}",
            serde_json::json!({
                "files": files.len(),
                "bytes": bytes,
                "ours_median_ms": ms(ours_median),
                "ours_min_ms": ms(ours_min),
                "ours_runs": OURS_RUNS,
                "ours_cpu_ms_per_run": ms(ours_cpu),
                "goal_ms": ms(GOAL),
                "twine_check_ms": ms(twine_m),
                "check_wheel_contents_ms": ms(cwc_m),
                "auditwheel_show_ms": ms(audit_m),
                "delocate_listdeps_ms": ms(delocate_m),
                "ecosystem_total_ms": ms(theirs),
                "ecosystem_runs": THEIRS_RUNS,
                "ratio": ratio,
                "ratio_goal": RATIO_GOAL,
            })
        );
        return Ok(());
    }
    println!(
        "checked {} real wheels ({:.1} MiB) in {}",
        files.len(),
        bytes as f64 / f64::from(1 << 20),
        corpus::dir(cfg).display()
    );
    println!(
        "  cargo xtask check         {:>8.1} ms median of {OURS_RUNS} (min {:.1} ms; goal <= {:.0} ms: {})",
        ms(ours_median),
        ms(ours_min),
        ms(GOAL),
        met(ours_median <= GOAL)
    );
    println!(
        "  (cpu per run)             {:>8.1} ms user + system",
        ms(ours_cpu)
    );
    for (what, t, n) in [
        ("twine check --strict", twine_m, files.len()),
        ("check-wheel-contents", cwc_m, files.len()),
        ("auditwheel show", audit_m, linux.len()),
        ("delocate-listdeps", delocate_m, mac.len()),
    ] {
        println!("  {what:<25} {:>8.1} ms ({n} wheels)", ms(t));
    }
    println!("  ecosystem total           {:>8.1} ms", ms(theirs));
    println!(
        "  ratio (ecosystem / ours)  {ratio:>8.1}x (goal >= {RATIO_GOAL:.0}x: {})",
        met(ratio >= RATIO_GOAL)
    );
    Ok(())
}
