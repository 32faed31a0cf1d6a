//! `cargo xtask bench`: measures the speed and size goals and prints a report.
//! Numbers are reported, never asserted: timing belongs in benchmarks, not tests.

mod check;
mod dist;
mod mcp_peer;
mod sidecar;
mod verifiable;

use std::time::Duration;

use anyhow::Result;
use clap::ValueEnum;
use xshell::Shell;

use crate::config::Config;
use crate::flags::{self, BenchName};

type BenchFn = fn(&Shell, &Config, bool) -> Result<()>;

/// Each benchmark's function, taking (shell, configuration, json output?).
fn bench_fn(bench: BenchName) -> BenchFn {
    match bench {
        BenchName::Sidecar => |sh, _, json| sidecar::run(sh, json),
        BenchName::McpPeer => |sh, _, json| mcp_peer::run(sh, json),
        BenchName::Check => check::run,
        BenchName::Dist => dist::run,
        BenchName::DistCold => dist::run_cold,
    }
}

/// The middle of `times` (the upper one of an even count); zero for none.
pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// With no names: every quick benchmark (`dist-cold` costs minutes of CPU, so only when named).
fn selected(which: &[BenchName]) -> Vec<BenchName> {
    BenchName::value_variants()
        .iter()
        .copied()
        .filter(|b| {
            if which.is_empty() {
                *b != BenchName::DistCold
            } else {
                which.contains(b)
            }
        })
        .collect()
}

impl flags::Bench {
    pub fn run(self, sh: &Shell, cfg: &Config) -> Result<()> {
        for bench in selected(&self.which) {
            let name = bench.to_possible_value().map(|v| v.get_name().to_string());
            eprintln!("\n=== bench {} ===", name.unwrap_or_default());
            bench_fn(bench)(sh, cfg, self.json)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cold_build_runs_only_when_named() {
        use BenchName::*;
        assert_eq!(selected(&[]), [Sidecar, McpPeer, Check, Dist]);
        assert_eq!(selected(&[DistCold, Sidecar]), [Sidecar, DistCold]);
    }
}
