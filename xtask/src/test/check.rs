//! The `check` suite. First any wheel: the real-wheel corpus (`corpus`: pinned downloads, no
//! error on any, each relabelled copy caught) and hostile wheels (`hostile`: memory, escaping,
//! finding caps). Then on the wheels and sdist `cargo xtask dist` wrote, our checker and the
//! ecosystem's agree — `cargo xtask check dist` exits 0, and so do `twine check --strict`,
//! `check-wheel-contents dist/*.whl` run from the repository root (as a user would, so it reads
//! pyproject's `[tool.check-wheel-contents]`) and `auditwheel show` (whose verdict on the Linux
//! wheel must be manylinux_2_17_x86_64 or more compatible; on our dist/ it is exactly that).
//! Runs after the `dist` suite. `MCP_SIDECAR_CHECK_DIST` points it at another output directory.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::config::Config;
use crate::python_env::{Venv, NEWEST};

pub mod corpus;
mod hostile;

/// Pinned so the agreement is with known versions of the tools PyPI users run.
pub const TOOLS: &[&str] = &[
    "twine==7.0.0",
    "check-wheel-contents==0.6.3",
    "auditwheel==6.8.2",
    "delocate==0.13.0",
];

/// What pyproject's `[tool.check-wheel-contents]` ignores, and why: W004 ("module is not located at
/// importable path") flags `mcp_sidecar/_pyinstaller/hook-mcp_sidecar.py`, and PyInstaller finds
/// hooks by that exact hyphenated name. Without the table this must be the only check that fails.
const CWC_IGNORED: &[&str] = &["W004"];

/// The directory the suite checks: dist/ unless overridden.
pub fn dist_dir() -> PathBuf {
    std::env::var_os("MCP_SIDECAR_CHECK_DIST")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                crate::project_root().join(p)
            }
        })
        .unwrap_or_else(|| crate::project_root().join("dist"))
}

/// The wheels and the sdist in `dir`, through the one release-directory lister.
pub fn distributions(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (wheels, sdists) = crate::artifact::list_release_dir(dir)?
        .into_iter()
        .filter(|a| a.kind.is_distribution())
        .partition(|a| a.kind.wheel().is_some());
    let paths = |v: Vec<crate::artifact::Artifact>| v.into_iter().map(|a| a.path).collect();
    Ok((paths(wheels), paths(sdists)))
}

pub fn run(sh: &Shell, cfg: &Config) -> Result<()> {
    let files = corpus::fetch(sh, cfg)?;
    corpus::clean(sh, cfg, &files)?;
    corpus::relabelled(sh, cfg)?;
    let venv = Venv::ensure(sh, "check-tools", NEWEST, TOOLS)?;
    hostile::run(sh, cfg, &venv.bin("python"))?;
    let dist = dist_dir();
    ensure!(
        dist.is_dir(),
        "{} does not exist: run `cargo xtask dist` first (the dist suite does)",
        dist.display()
    );
    let (wheels, sdists) = distributions(&dist)?;
    ensure!(
        !wheels.is_empty(),
        "no wheels in {}: run `cargo xtask dist` first (the dist suite does)",
        dist.display()
    );

    eprintln!(
        "==> cargo xtask check {} (exit code 0 expected)",
        dist.display()
    );
    let payload = crate::check::Payload::of(cfg);
    let report = crate::check::check_paths(std::slice::from_ref(&dist), None, &payload)?;
    report.print(false)?;
    ensure!(
        report.is_clean(),
        "cargo xtask check found {} problem(s)",
        report.findings().count()
    );
    // The command as users run it, for its exit code.
    let xtask = crate::util::self_exe()?;
    cmd!(sh, "{xtask} check {dist}")
        .quiet()
        .ignore_stdout()
        .run()?;

    let twine = venv.bin("twine");
    let distributions: Vec<&PathBuf> = wheels.iter().chain(&sdists).collect();
    eprintln!("==> twine check --strict ({} files)", distributions.len());
    cmd!(sh, "{twine} check --strict {distributions...}").run()?;
    check_wheel_contents(sh, &venv, &wheels)?;

    let auditwheel = venv.bin("auditwheel");
    let linux: Vec<&PathBuf> = wheels
        .iter()
        .filter(|w| w.to_string_lossy().contains("manylinux"))
        .collect();
    ensure!(
        !linux.is_empty(),
        "no manylinux wheel in {}",
        dist.display()
    );
    for wheel in linux {
        eprintln!("==> auditwheel show {}", wheel.display());
        let out = cmd!(sh, "{auditwheel} show {wheel}").read()?;
        eprintln!("{out}");
        let verdict = auditwheel_tag(&out)
            .with_context(|| format!("auditwheel show printed no platform tag:\n{out}"))?;
        // auditwheel names the most compatible tag; ours (2.17) must be no older than it.
        let floor = verdict
            .strip_prefix("manylinux_")
            .and_then(|rest| crate::wheel::PlatformTag::parse(&format!("manylinux_{rest}")).ok())
            .and_then(|t| t.expectation().max_glibc);
        match floor {
            Some(v) if v <= crate::wheel::Version2::new(2, 17) => {
                eprintln!("==> auditwheel: {verdict} (the wheel claims manylinux_2_17_x86_64)")
            }
            _ => bail!(
                "auditwheel says {} is {verdict}, not within manylinux_2_17_x86_64",
                wheel.display()
            ),
        }
    }
    eprintln!(
        "==> our check, twine, check-wheel-contents and auditwheel agree on {}",
        dist.display()
    );
    Ok(())
}

/// `check-wheel-contents WHEELS` from the repository root passes; with `--no-config` only the
/// checks pyproject ignores fail (so the table hides nothing else, and is still needed).
fn check_wheel_contents(sh: &Shell, venv: &Venv, wheels: &[PathBuf]) -> Result<()> {
    let cwc = venv.bin("check-wheel-contents");
    let _root = sh.push_dir(crate::project_root());
    eprintln!(
        "==> check-wheel-contents ({} wheels, from the repository root)",
        wheels.len()
    );
    cmd!(sh, "{cwc} {wheels...}").run()?;
    let bare = cmd!(sh, "{cwc} --no-config {wheels...}")
        .quiet()
        .ignore_status()
        .output()?;
    let text = String::from_utf8_lossy(&bare.stdout);
    let failed = cwc_failed_checks(&text);
    ensure!(
        !bare.status.success() && failed.iter().all(|c| CWC_IGNORED.contains(c)),
        "check-wheel-contents --no-config should fail only on {CWC_IGNORED:?} (pyproject ignores them); it said:\n{text}"
    );
    Ok(())
}

/// The check codes in check-wheel-contents' report lines (`WHEEL: W004: Module is not …`).
fn cwc_failed_checks(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.split(": ").nth(1))
        .filter(|c| c.len() == 4 && c.starts_with(['W', 'E']))
        .collect()
}

/// The tag in auditwheel's verdict: `… consistent with the following platform tag: "X"`.
pub fn auditwheel_tag(out: &str) -> Option<&str> {
    let (_, rest) = out.split_once("platform tag")?;
    let start = rest.find('"')? + 1;
    let len = rest[start..].find('"')?;
    Some(&rest[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_auditwheel_verdict() {
        let out = "\nmcp_sidecar-0.1.0-py3-none-manylinux_2_17_x86_64.whl is consistent with\nthe following platform tag: \"manylinux_2_17_x86_64\".\n";
        assert_eq!(auditwheel_tag(out), Some("manylinux_2_17_x86_64"));
        assert_eq!(auditwheel_tag("nothing"), None);
    }

    #[test]
    fn reads_check_wheel_contents_codes() {
        let out = "dist/a.whl: W004: Module is not located at importable path (/m/hook-m.py)\n\
dist/b.whl: OK\ndist/c.whl: W002: Wheel contains duplicate files:\n  a/x.py\n";
        assert_eq!(cwc_failed_checks(out), ["W004", "W002"]);
        assert!(cwc_failed_checks("dist/b.whl: OK\n").is_empty());
    }
}
