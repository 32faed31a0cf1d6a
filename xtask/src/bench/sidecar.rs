//! The sidecar's goals: spawn → READY latency, tools/call round trip per IPC transport,
//! resident memory idle, under 50 clients and with 2,000 abandoned sessions, descriptors with
//! 200 slow connections, stripped binary size. The host side is `scripts/bench_sidecar.py`;
//! the named pipe, which only Windows processes can share, is measured with the crate's Rust
//! fake host under wine (`tests/latency.rs`), next to TCP under wine.

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::python_env::{Venv, NEWEST};

pub fn run(sh: &Shell, json: bool) -> Result<()> {
    cmd!(sh, "cargo build --release --package mcp-sidecar").run()?;
    let binary = crate::project_root().join(format!(
        "target/release/mcp-sidecar{}",
        std::env::consts::EXE_SUFFIX
    ));
    let size = std::fs::metadata(&binary)
        .with_context(|| format!("reading {}", binary.display()))?
        .len();
    let venv = Venv::ensure(sh, "bench", NEWEST, &[])?;
    let python = venv.python();
    let _path = sh.push_env("PYTHONPATH", crate::project_root().join("python"));
    let _bin = sh.push_env("MCP_SIDECAR_BINARY", &binary);
    let json_flag = if json { Some("--json") } else { None };
    let size_arg = size.to_string();
    cmd!(
        sh,
        "{python} scripts/bench_sidecar.py --binary-size {size_arg} {json_flag...}"
    )
    .run()
    .context("running scripts/bench_sidecar.py")?;
    if cfg!(target_os = "linux") {
        let output = crate::test::dist::wine::run_latency_bench(sh)?;
        // On stderr with --json, so stdout stays one JSON document.
        let print = |line: String| {
            if json {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        };
        for (transport, p50, p95) in output.lines().filter_map(parse_bench_line) {
            print(format!(
                "{:<28} {:>12}   p95 {p95} ms (Rust fake host, both under wine)",
                format!("tools/call p50, wine {transport}"),
                format!("{p50} ms")
            ));
        }
    }
    Ok(())
}

/// `BENCH <transport> <p50> <p95>` from tests/latency.rs.
fn parse_bench_line(line: &str) -> Option<(&str, &str, &str)> {
    let mut words = line.strip_prefix("BENCH ")?.split_whitespace();
    Some((words.next()?, words.next()?, words.next()?))
}
