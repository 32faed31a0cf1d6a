//! `cargo xtask bench check`: time to check every artifact in dist/ (goal ≤ 0.2 s, median of
//! N runs) next to twine check + check-wheel-contents + auditwheel show on the same files.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use xshell::{cmd, Shell};

use super::median;
use crate::python_env::{Venv, NEWEST};
use crate::test::check::{dist_dir, distributions, TOOLS};

const OURS_RUNS: usize = 15;
const THEIRS_RUNS: usize = 3;
const GOAL: Duration = Duration::from_millis(200);

fn time<T>(f: impl FnOnce() -> Result<T>) -> Result<Duration> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

pub fn run(sh: &Shell, json: bool) -> Result<()> {
    let dist = dist_dir();
    let (wheels, sdists) = distributions(&dist)?;
    ensure!(
        !wheels.is_empty(),
        "no wheels in {}: run `cargo xtask dist` first",
        dist.display()
    );
    let bytes: u64 = wheels
        .iter()
        .chain(&sdists)
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();

    let payload = crate::check::Payload::of(&crate::config::Config::load()?);
    let mut ours = Vec::with_capacity(OURS_RUNS);
    for _ in 0..OURS_RUNS {
        ours.push(time(|| {
            let report = crate::check::check_paths(std::slice::from_ref(&dist), None, &payload)?;
            ensure!(
                report.is_clean(),
                "dist/ is not clean: {:?}",
                report.artifacts
            );
            Ok(())
        })?);
    }

    let venv = Venv::ensure(sh, "check-tools", NEWEST, TOOLS)?;
    let (twine, cwc, auditwheel) = (
        venv.bin("twine"),
        venv.bin("check-wheel-contents"),
        venv.bin("auditwheel"),
    );
    let distributions: Vec<&PathBuf> = wheels.iter().chain(&sdists).collect();
    let linux: Vec<&PathBuf> = wheels
        .iter()
        .filter(|w| w.to_string_lossy().contains("manylinux"))
        .collect();
    let (mut t_twine, mut t_cwc, mut t_audit) = (Vec::new(), Vec::new(), Vec::new());
    // References, so the `{x...}` splats below do not move the lists.
    let (dists, wheel_refs) = (&distributions, &wheels);
    // check-wheel-contents reads pyproject's [tool.check-wheel-contents] from where it runs.
    let _root = sh.push_dir(crate::project_root());
    for _ in 0..THEIRS_RUNS {
        t_twine.push(time(|| {
            cmd!(sh, "{twine} check --strict {dists...}")
                .quiet()
                .ignore_stdout()
                .run()
                .map_err(Into::into)
        })?);
        t_cwc.push(time(|| {
            cmd!(sh, "{cwc} {wheel_refs...}")
                .quiet()
                .ignore_stdout()
                .run()
                .map_err(Into::into)
        })?);
        t_audit.push(time(|| {
            for wheel in &linux {
                cmd!(sh, "{auditwheel} show {wheel}")
                    .quiet()
                    .ignore_stdout()
                    .run()?;
            }
            Ok(())
        })?);
    }
    let ours_median = median(ours.clone());
    let ours_min = ours.iter().min().copied().unwrap_or_default();
    let (twine_m, cwc_m, audit_m) = (median(t_twine), median(t_cwc), median(t_audit));
    let theirs = twine_m + cwc_m + audit_m;
    let ratio = theirs.as_secs_f64() / ours_median.as_secs_f64().max(1e-9);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "files": distributions.len(),
                "bytes": bytes,
                "ours_median_ms": ms(ours_median),
                "ours_min_ms": ms(ours_min),
                "ours_runs": OURS_RUNS,
                "goal_ms": ms(GOAL),
                "twine_check_ms": ms(twine_m),
                "check_wheel_contents_ms": ms(cwc_m),
                "auditwheel_show_ms": ms(audit_m),
                "ecosystem_total_ms": ms(theirs),
                "ecosystem_runs": THEIRS_RUNS,
                "ratio": ratio,
            })
        );
        return Ok(());
    }
    println!(
        "checked {} files ({:.1} MiB) in {}",
        distributions.len(),
        bytes as f64 / f64::from(1 << 20),
        dist.display()
    );
    println!(
        "  cargo xtask check         {:>8.1} ms median of {OURS_RUNS} (min {:.1} ms; goal <= {:.0} ms: {})",
        ms(ours_median),
        ms(ours_min),
        ms(GOAL),
        if ours_median <= GOAL { "met" } else { "MISSED" }
    );
    println!(
        "  twine check --strict      {:>8.1} ms median of {THEIRS_RUNS}",
        ms(twine_m)
    );
    println!(
        "  check-wheel-contents      {:>8.1} ms median of {THEIRS_RUNS}",
        ms(cwc_m)
    );
    println!(
        "  auditwheel show (linux)   {:>8.1} ms median of {THEIRS_RUNS}",
        ms(audit_m)
    );
    println!("  ecosystem total           {:>8.1} ms", ms(theirs));
    println!("  ratio (ecosystem / ours)  {ratio:>8.1}x");
    Ok(())
}
