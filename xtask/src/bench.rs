//! `cargo xtask bench`: measures the speed and size goals and prints a report.
//! Numbers are reported, never asserted: timing belongs in benchmarks, not tests.

mod check;
mod dist;
mod mcp_peer;
mod sidecar;

use anyhow::{bail, Result};
use xshell::Shell;

use crate::flags;

type BenchFn = fn(&Shell, bool) -> Result<()>;

/// Each benchmark: name and function taking (shell, json output?).
const BENCHES: &[(&str, BenchFn)] = &[
    ("sidecar", sidecar::run),
    // Against the official Python SDK server, same client, same run (issue 10).
    ("mcp-peer", mcp_peer::run),
    ("check", check::run),
    ("dist", dist::run),
    // Cold builds of all four targets, three ways: minutes of CPU.
    ("dist-cold", dist::run_cold),
];

impl flags::Bench {
    pub fn run(self, sh: &Shell) -> Result<()> {
        for name in &self.which {
            if !BENCHES.iter().any(|(n, _)| n == name) {
                let known: Vec<&str> = BENCHES.iter().map(|(n, _)| *n).collect();
                bail!("unknown benchmark `{name}`; known: {}", known.join(", "));
            }
        }
        for (name, bench) in BENCHES {
            if self.which.is_empty() || self.which.iter().any(|w| w == name) {
                eprintln!("\n=== bench {name} ===");
                bench(sh, self.json)?;
            }
        }
        Ok(())
    }
}
