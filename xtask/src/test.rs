//! `cargo xtask test`: the whole suite, one named suite after another, stopping at the first
//! failure. A test that cannot run on this OS says so through `skip`; the suite fails on any
//! skip not declared for the OS in `DECLARED_SKIPS`.

mod blender;
pub mod check;
mod conformance;
pub(crate) mod dist;
mod freeze;
mod host;
mod lint;
mod node;
mod python;
mod release;
mod rust;
mod setup;
mod subscriptions;

pub use subscriptions::MCP_SDK;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use xshell::Shell;

use crate::config::Config;
use crate::flags::{self, Suite};

type SuiteFn = fn(&Shell, &Config) -> Result<()>;

/// Each suite's function; the match keeps a new `Suite` from lacking one.
fn suite_fn(suite: Suite) -> SuiteFn {
    match suite {
        Suite::Lint => |sh, _| lint::run(sh),
        Suite::Rust => |sh, _| rust::run(sh),
        Suite::Python => |sh, _| python::run(sh),
        // The official MCP conformance suite, every server scenario (Node 22 + npm package, cached).
        Suite::Conformance => |sh, _| conformance::run(sh),
        // Resource subscriptions with the official Python SDK client (PyPI mcp, pinned).
        Suite::Subscriptions => |sh, _| subscriptions::run(sh),
        // Blender (PyPI bpy, 400 MB, downloaded once into target/wheels/) as a main-thread MCP host.
        Suite::Blender => |sh, _| blender::run(sh),
        // The real main job (all four targets), then installs, pip tag selection, wine, reproducibility.
        Suite::Dist => dist::run,
        // Any wheel (the real-wheel corpus, hostile wheels); then, after `dist` (which writes
        // dist/), our check and twine/check-wheel-contents/auditwheel agree on it.
        Suite::Check => check::run,
        // Offline workflow checks: fast and independent of dist/, so CI runs them on their own.
        Suite::Workflows => release::run_workflows,
        Suite::Release => release::run,
        Suite::Freeze => freeze::run,
    }
}

/// `(OS, test)`: the tests that may not run on that OS (`std::env::consts::OS` names).
const DECLARED_SKIPS: &[(&str, &str)] = &[
    // SIGINT to a process group: POSIX only.
    ("windows", "dist/interrupt"),
    // The recording gh is a POSIX shell script.
    ("windows", "release/gh"),
];

/// A test that did not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub test: &'static str,
    pub why: String,
}

static SKIPPED: Mutex<Vec<Skip>> = Mutex::new(Vec::new());

/// Records that `test` cannot run here; returns Ok so a test can `return skip(…)`. Whether that
/// is allowed is the runner's call, against `DECLARED_SKIPS`.
pub fn skip(test: &'static str, why: &str) -> Result<()> {
    eprintln!("    SKIPPED {test}: {why}");
    let skip = Skip {
        test,
        why: why.to_string(),
    };
    SKIPPED.lock().unwrap_or_else(|e| e.into_inner()).push(skip);
    Ok(())
}

fn take_skips() -> Vec<Skip> {
    std::mem::take(&mut *SKIPPED.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The skips `os` does not declare.
fn undeclared<'a>(os: &str, skips: &'a [Skip]) -> Vec<&'a Skip> {
    skips
        .iter()
        .filter(|s| !DECLARED_SKIPS.contains(&(os, s.test)))
        .collect()
}

/// `dir`, emptied (or created): a scratch folder no earlier run can leak into.
pub fn fresh_dir(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

fn name(suite: Suite) -> String {
    suite
        .to_possible_value()
        .map_or_else(|| format!("{suite:?}"), |v| v.get_name().to_string())
}

/// Every suite name, in run order (the workflow checks read it).
pub fn suite_names() -> Vec<&'static str> {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES
        .get_or_init(|| Suite::value_variants().iter().copied().map(name).collect())
        .iter()
        .map(String::as_str)
        .collect()
}

impl flags::Test {
    pub fn run(self, sh: &Shell, cfg: &Config) -> Result<()> {
        setup::ensure_system_packages(sh)?;
        // Before the `rust` suite's cargo test re-links target/debug/xtask.
        crate::util::self_exe()?;
        let selected = Suite::value_variants()
            .iter()
            .copied()
            .filter(|s| (self.only.is_empty() || self.only.contains(s)) && !self.skip.contains(s));
        let mut summary = Vec::new();
        for suite in selected {
            let name = name(suite);
            eprintln!("\n=== suite {name} ===");
            let start = Instant::now();
            take_skips();
            suite_fn(suite)(sh, cfg).map_err(|e| e.context(format!("suite `{name}` failed")))?;
            let skips = take_skips();
            let os = std::env::consts::OS;
            let bad: Vec<String> = undeclared(os, &skips)
                .iter()
                .map(|s| format!("{} ({})", s.test, s.why))
                .collect();
            if !bad.is_empty() {
                bail!(
                    "suite `{name}` skipped tests that {os} does not declare in DECLARED_SKIPS: {}",
                    bad.join(", ")
                );
            }
            summary.push((name, start.elapsed().as_secs_f64(), skips));
        }
        eprintln!("\n=== all suites passed ===");
        for (name, secs, skips) in summary {
            let skipped: Vec<&str> = skips.iter().map(|s| s.test).collect();
            let note = if skipped.is_empty() {
                String::new()
            } else {
                format!("  skipped (declared for this OS): {}", skipped.join(", "))
            };
            eprintln!("  {name:<10} {secs:>7.1} s{note}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_passes_only_where_it_is_declared() {
        let skips = [
            Skip {
                test: "dist/interrupt",
                why: "POSIX".into(),
            },
            Skip {
                test: "dist/wine",
                why: "no wine".into(),
            },
        ];
        let names = |os| -> Vec<&str> { undeclared(os, &skips).iter().map(|s| s.test).collect() };
        assert_eq!(names("windows"), ["dist/wine"]);
        assert_eq!(names("linux"), ["dist/interrupt", "dist/wine"]);
    }

    #[test]
    fn suites_run_in_declared_order_and_help_lists_them_all() {
        assert_eq!(
            suite_names(),
            [
                "lint",
                "rust",
                "python",
                "conformance",
                "subscriptions",
                "blender",
                "dist",
                "check",
                "workflows",
                "release",
                "freeze"
            ]
        );
        let help = <crate::flags::Xtask as clap::CommandFactory>::command()
            .find_subcommand_mut("test")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        for suite in suite_names() {
            assert!(help.contains(suite), "`test --help` lacks {suite}:\n{help}");
        }
    }
}
