//! The `check` suite: on the wheels and sdist `cargo xtask dist` wrote, our checker and the
//! ecosystem's agree — `cargo xtask check dist` exits 0, and so do `twine check --strict`,
//! `check-wheel-contents` and `auditwheel show` (whose verdict on the Linux wheel must be
//! manylinux_2_17_x86_64 or more compatible; on our dist/ it is exactly that).
//! Runs after the `dist` suite. `MCP_SIDECAR_CHECK_DIST` points it at another output directory.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::python_env::{Venv, NEWEST};

/// Pinned so the agreement is with known versions of the tools PyPI users run.
pub const TOOLS: &[&str] = &[
    "twine==7.0.0",
    "check-wheel-contents==0.6.3",
    "auditwheel==6.8.2",
];

/// check-wheel-contents checks that contradict the design, and only those. W004 ("module is not
/// located at importable path") flags `mcp_sidecar/_pyinstaller/hook-mcp_sidecar.py`: PyInstaller
/// finds hooks by that exact hyphenated file name, so it can never be importable. Keep this short.
pub const CWC_IGNORE: &str = "W004";

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

/// Files in `dir` whose names end with `suffix`, sorted.
pub fn files(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.is_some_and(|n| n.ends_with(suffix) && !n.starts_with(crate::atomic::TEMP_PREFIX)) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

pub fn run(sh: &Shell) -> Result<()> {
    let dist = dist_dir();
    ensure!(
        dist.is_dir(),
        "{} does not exist: run `cargo xtask dist` first (the dist suite does)",
        dist.display()
    );
    let wheels = files(&dist, ".whl")?;
    let sdists = files(&dist, ".tar.gz")?;
    ensure!(
        !wheels.is_empty(),
        "no wheels in {}: run `cargo xtask dist` first (the dist suite does)",
        dist.display()
    );

    eprintln!(
        "==> cargo xtask check {} (exit code 0 expected)",
        dist.display()
    );
    let report = crate::check::check_paths(std::slice::from_ref(&dist), None)?;
    report.print(false)?;
    ensure!(
        report.is_clean(),
        "cargo xtask check found {} problem(s)",
        report.findings.len()
    );
    // The command as users run it, for its exit code.
    let xtask = std::env::current_exe().context("locating the xtask binary")?;
    cmd!(sh, "{xtask} check {dist}")
        .quiet()
        .ignore_stdout()
        .run()?;

    let venv = Venv::ensure(sh, "check-tools", NEWEST, TOOLS)?;
    let twine = venv.bin("twine");
    let distributions: Vec<&PathBuf> = wheels.iter().chain(&sdists).collect();
    eprintln!("==> twine check --strict ({} files)", distributions.len());
    cmd!(sh, "{twine} check --strict {distributions...}").run()?;
    // A reference, so the splat does not move `wheels` (used again below).
    let wheel_refs = &wheels;

    let cwc = venv.bin("check-wheel-contents");
    eprintln!("==> check-wheel-contents --ignore {CWC_IGNORE}");
    cmd!(sh, "{cwc} --ignore {CWC_IGNORE} {wheel_refs...}").run()?;

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
}
