//! `cargo xtask test`: the whole suite, one named suite after another, stopping at the first failure.

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
mod subscriptions;

pub use subscriptions::MCP_SDK;

use std::time::Instant;

use anyhow::{bail, Result};
use xshell::Shell;

use crate::flags;

type SuiteFn = fn(&Shell) -> Result<()>;

/// In run order: cheap and fundamental first.
const SUITES: &[(&str, SuiteFn)] = &[
    ("lint", lint::run),
    ("rust", rust::run),
    ("python", python::run),
    // The official MCP conformance suite, every server scenario (Node 22 + npm package, cached).
    ("conformance", conformance::run),
    // Resource subscriptions with the official Python SDK client (PyPI mcp, pinned).
    ("subscriptions", subscriptions::run),
    // Blender (PyPI bpy, 400 MB, downloaded once into target/wheels/) as a main-thread MCP host.
    ("blender", blender::run),
    // The real main job (all four targets), then installs, pip tag selection, wine, reproducibility.
    ("dist", dist::run),
    // After `dist` (which writes dist/): our check and twine/check-wheel-contents/auditwheel agree on it.
    ("check", check::run),
    // Offline workflow checks: fast and independent of dist/, so CI runs them on their own.
    ("workflows", release::run_workflows),
    ("release", release::run),
    ("freeze", freeze::run),
];

/// Every suite name, in run order (the workflow checks validate `--only`/`--skip` against it).
pub fn suite_names() -> Vec<&'static str> {
    SUITES.iter().map(|(name, _)| *name).collect()
}

impl flags::Test {
    pub fn run(self, sh: &Shell) -> Result<()> {
        for name in self.only.iter().chain(&self.skip) {
            if !SUITES.iter().any(|(n, _)| n == name) {
                let known: Vec<&str> = SUITES.iter().map(|(n, _)| *n).collect();
                bail!("unknown suite `{name}`; known suites: {}", known.join(", "));
            }
        }
        let selected = SUITES.iter().filter(|(name, _)| {
            (self.only.is_empty() || self.only.iter().any(|o| o == name))
                && !self.skip.iter().any(|s| s == name)
        });
        let mut timings = Vec::new();
        for (name, suite) in selected {
            eprintln!("\n=== suite {name} ===");
            let start = Instant::now();
            suite(sh).map_err(|e| e.context(format!("suite `{name}` failed")))?;
            timings.push((*name, start.elapsed().as_secs_f64()));
        }
        eprintln!("\n=== all suites passed ===");
        for (name, secs) in timings {
            eprintln!("  {name:<10} {secs:>7.1} s");
        }
        Ok(())
    }
}
