//! `dist`'s speed goals.
//!
//! - `dist`: a warm `cargo xtask dist` rerun with nothing changed (goal ≤ 5 s), packing one
//!   wheel (goal ≤ 100 ms), and what the verifiable-release steps add to that rerun (goal ≤ 5 %,
//!   `verifiable.rs`).
//! - `dist-cold`: cold `cargo xtask dist` for every target vs one separate
//!   `cargo zigbuild --release --target T` run per target (one after the other, sharing one target
//!   dir, as a release script without xtask would), plus `maturin build --zig` for the Linux
//!   target; each in its own fresh `CARGO_TARGET_DIR` under target/bench/. Goals: ratio ≤ 0.6, and
//!   all targets in ≤ 1.7× the 203 s the first four took; each binary at most 2 % larger than the
//!   plain zigbuild one (remapped paths, `.dep-v0`). Minutes of CPU: run it on purpose.

use std::fs;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use xshell::{cmd, Shell};

use super::median;
use crate::config::Config;
use crate::dist::{pack, PackInputs};
use crate::flags::Builder;
use crate::target::{self, Host};
use crate::toolchain;
use crate::wheel::PlatformTag;

const WARM_GOAL: Duration = Duration::from_secs(5);
const PACK_GOAL: Duration = Duration::from_millis(100);
/// What SBOM, dependency list, remapping and signing may add to a warm rerun.
const ADDED_GOAL: f64 = 0.05;
const COLD_GOAL_RATIO: f64 = 0.6;
/// Cold `cargo xtask dist` of the first four targets on the 2-core reference machine, and the
/// growth allowed for all of them.
const FOUR_TARGETS_COLD: Duration = Duration::from_secs(203);
const ALL_TARGETS_GROWTH: f64 = 1.7;
/// What the remapping and the dependency list may add to a binary.
const SIZE_GOAL_PERCENT: f64 = 2.0;

pub fn run(sh: &Shell, cfg: &Config, json: bool) -> Result<()> {
    let out = cfg.target_dir.join("bench/dist-warm");
    let out_arg = out.to_string_lossy().into_owned();
    eprintln!("priming: cargo xtask dist --dist {out_arg}");
    cmd!(sh, "cargo xtask dist --dist {out_arg}").run()?;
    let mut warm = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        cmd!(sh, "cargo xtask dist --dist {out_arg}")
            .quiet()
            .ignore_stderr()
            .run()?;
        warm.push(start.elapsed());
    }
    let warm = median(warm);

    let host = Host::detect(sh)?;
    let targets = target::plan(cfg, &host, &[], Builder::Auto)?;
    let linux = targets
        .iter()
        .find(|t| matches!(t.wheel.platforms()[0], PlatformTag::Manylinux { .. }))
        .context("no Linux target in the plan")?;
    let binary = fs::read(&linux.binary_path)
        .with_context(|| format!("reading {}", linux.binary_path.display()))?;
    let inputs = PackInputs::load(cfg, &targets, 1_700_000_000)?;
    let mut packs = Vec::new();
    let mut size = 0;
    for _ in 0..10 {
        let start = Instant::now();
        size = pack(&inputs, linux, binary.clone())?.len();
        packs.push(start.elapsed());
    }
    let pack_time = median(packs);
    let added = super::verifiable::measure(sh, cfg, &targets, &out)?;
    let added_share = added.total().as_secs_f64() / warm.as_secs_f64();

    if json {
        println!(
            "{}",
            json!({
                "warm_rerun_seconds": warm.as_secs_f64(),
                "warm_goal_seconds": WARM_GOAL.as_secs_f64(),
                "pack_one_wheel_ms": pack_time.as_secs_f64() * 1000.0,
                "pack_goal_ms": PACK_GOAL.as_secs_f64() * 1000.0,
                "wheel": linux.wheel,
                "wheel_bytes": size,
                "binary_bytes": binary.len(),
                "verifiable_added": added.steps.iter().map(|(what, d)| json!({"step": what, "seconds": d.as_secs_f64()})).collect::<Vec<_>>(),
                "verifiable_added_share_of_warm": added_share,
                "verifiable_goal_share": ADDED_GOAL,
                "binaries": added.sizes.iter().map(|(wheel, bytes, dep_list, signature)| json!({
                    "wheel": wheel, "binary_bytes": bytes, "dep_list_bytes": dep_list, "signature_bytes": signature,
                })).collect::<Vec<_>>(),
            })
        );
    } else {
        println!("{:<44} {:>9} {:>9}", "dist", "measured", "goal");
        println!(
            "{:<44} {:>7.2} s {:>7.1} s {}",
            "warm rerun, nothing changed (median of 3)",
            warm.as_secs_f64(),
            WARM_GOAL.as_secs_f64(),
            verdict(warm <= WARM_GOAL)
        );
        println!(
            "{:<44} {:>6.1} ms {:>6.0} ms {}",
            format!("pack one wheel ({} KiB binary)", binary.len() / 1024),
            pack_time.as_secs_f64() * 1000.0,
            PACK_GOAL.as_secs_f64() * 1000.0,
            verdict(pack_time <= PACK_GOAL)
        );
        println!(
            "\n{:<52} {:>9}",
            "added by verifiability, within that warm rerun", "measured"
        );
        for (what, d) in &added.steps {
            println!("{what:<52} {:>6.1} ms", d.as_secs_f64() * 1000.0);
        }
        println!(
            "{:<52} {:>6.1} %  (goal <= {:.0} %) {}",
            "together, share of the warm rerun",
            added_share * 100.0,
            ADDED_GOAL * 100.0,
            verdict(added_share <= ADDED_GOAL)
        );
        println!(
            "\n{:<58} {:>9} {:>9} {:>9}",
            "bytes per binary", "binary", ".dep-v0", "signature"
        );
        for (wheel, bytes, dep_list, signature) in &added.sizes {
            let signature = signature.map_or("-".to_string(), |s| {
                format!("{s} ({:.2} %)", percent(s, *bytes))
            });
            println!(
                "{wheel:<58} {bytes:>9} {:>9} {signature:>9}",
                format!("{dep_list} ({:.2} %)", percent(*dep_list, *bytes))
            );
        }
    }
    Ok(())
}

fn percent(part: usize, whole: usize) -> f64 {
    part as f64 * 100.0 / whole.max(1) as f64
}

pub fn run_cold(sh: &Shell, cfg: &Config, json: bool) -> Result<()> {
    let bench = cfg.target_dir.join("bench");
    let host = Host::detect(sh)?;
    let targets = target::plan(cfg, &host, &[], Builder::Zig)?;
    let zig = toolchain::ensure_zig(sh)?;
    toolchain::ensure_rust_targets(
        sh,
        &targets
            .iter()
            .map(|t| t.build_triple.as_str())
            .collect::<Vec<_>>(),
    )?;

    // 1. The xtask: one invocation for every target, packing and checking included.
    let ours_dir = crate::test::fresh_dir(&bench.join("cold-dist"))?;
    let dir = ours_dir.clone();
    let out = bench.join("cold-dist-out").to_string_lossy().into_owned();
    eprintln!(
        "==> cold: cargo xtask dist --no-sdist (CARGO_TARGET_DIR={})",
        dir.display()
    );
    // This binary, not `cargo xtask`: cargo would first rebuild xtask itself into the cold dir.
    let xtask = crate::util::self_exe()?;
    let start = Instant::now();
    cmd!(sh, "{xtask} dist --no-sdist --dist {out}")
        .env("CARGO_TARGET_DIR", &dir)
        .run()?;
    let ours = start.elapsed();

    // 2. One separate cargo zigbuild run per target, sharing one target dir.
    let separate_dir = crate::test::fresh_dir(&bench.join("cold-separate"))?;
    let dir = separate_dir.clone();
    let (package, bin, czb) = (&cfg.dist.package, &cfg.dist.binary, &zig.cargo_zigbuild);
    let mut each = Vec::new();
    for t in &targets {
        let target = &t.cargo_target;
        eprintln!("==> cold: cargo zigbuild --release --target {target}");
        let start = Instant::now();
        cmd!(
            sh,
            "{czb} zigbuild --release --package {package} --bin {bin} --target {target}"
        )
        .env("CARGO_TARGET_DIR", &dir)
        .envs(zig.env())
        .envs(&t.env)
        .run()?;
        each.push((t.triple.clone(), start.elapsed()));
    }
    let separate: Duration = each.iter().map(|(_, d)| *d).sum();

    // 3. maturin's own zig build of the Linux wheel (the same binary, through maturin).
    let dir = crate::test::fresh_dir(&bench.join("cold-maturin"))?;
    let maturin = toolchain::ensure_maturin(sh)?;
    let maturin_out = bench.join("cold-maturin-out");
    eprintln!("==> cold: maturin build --release --zig -b bin --target x86_64-unknown-linux-gnu");
    let start = Instant::now();
    let _root = sh.push_dir(&cfg.workspace_root);
    let maturin_ok = cmd!(
        sh,
        "{maturin} build --release --zig -b bin --target x86_64-unknown-linux-gnu --compatibility manylinux2014 --out {maturin_out}"
    )
    .env("CARGO_TARGET_DIR", &dir)
    .envs(zig.env())
    .run()
    .is_ok();
    let maturin_time = start.elapsed();

    // The same targets' binaries: remapped paths and a dependency list vs neither.
    let mut sizes = Vec::new();
    for t in &targets {
        let name = t
            .binary_path
            .file_name()
            .context("a binary path without a name")?;
        let size = |root: &std::path::Path| -> Result<u64> {
            let path = root.join(&t.build_triple).join("release").join(name);
            Ok(fs::metadata(&path)
                .with_context(|| format!("reading {}", path.display()))?
                .len())
        };
        sizes.push((t.triple.clone(), size(&ours_dir)?, size(&separate_dir)?));
    }
    let ratio = ours.as_secs_f64() / separate.as_secs_f64();
    let growth_goal = FOUR_TARGETS_COLD.mul_f64(ALL_TARGETS_GROWTH);
    if json {
        println!(
            "{}",
            json!({
                "cold_xtask_dist_seconds": ours.as_secs_f64(),
                "cold_separate_zigbuild_seconds": separate.as_secs_f64(),
                "separate": each.iter().map(|(t, d)| json!({"target": t, "seconds": d.as_secs_f64()})).collect::<Vec<_>>(),
                "ratio": ratio,
                "goal_ratio": COLD_GOAL_RATIO,
                "targets": targets.len(),
                "goal_seconds": growth_goal.as_secs_f64(),
                "maturin_zig_linux_seconds": maturin_ok.then_some(maturin_time.as_secs_f64()),
                "binary_sizes": sizes.iter().map(|(t, ours, plain)| json!({"target": t, "verifiable_bytes": ours, "plain_bytes": plain})).collect::<Vec<_>>(),
                "size_goal_percent": SIZE_GOAL_PERCENT,
            })
        );
    } else {
        println!(
            "{:<58} {:>9}",
            "cold builds (fresh CARGO_TARGET_DIR each)", "seconds"
        );
        println!(
            "{:<58} {:>9.1} {}",
            format!(
                "cargo xtask dist, {} targets (build+pack+check; goal <= {:.0} s)",
                targets.len(),
                growth_goal.as_secs_f64()
            ),
            ours.as_secs_f64(),
            verdict(ours <= growth_goal)
        );
        for (t, d) in &each {
            println!(
                "{:<58} {:>9.1}",
                format!("  cargo zigbuild --target {t}"),
                d.as_secs_f64()
            );
        }
        println!(
            "{:<58} {:>9.1}",
            "separate cargo zigbuild runs, total",
            separate.as_secs_f64()
        );
        println!(
            "{:<58} {:>9.2} {}",
            format!("ratio (goal <= {COLD_GOAL_RATIO})"),
            ratio,
            verdict(ratio <= COLD_GOAL_RATIO)
        );
        println!(
            "\n{:<40} {:>10} {:>10} {:>8}",
            "binary bytes: dist (remap + .dep-v0) vs plain zigbuild", "dist", "plain", "added"
        );
        for (t, ours, plain) in &sizes {
            let added = (*ours as f64 - *plain as f64) * 100.0 / (*plain).max(1) as f64;
            println!(
                "{t:<40} {ours:>10} {plain:>10} {added:>+7.2} % {}",
                verdict(added <= SIZE_GOAL_PERCENT)
            );
        }
        if maturin_ok {
            println!(
                "{:<58} {:>9.1}",
                "maturin build --zig, linux target only",
                maturin_time.as_secs_f64()
            );
        } else {
            println!(
                "{:<58} {:>9}",
                "maturin build --zig, linux target only", "failed"
            );
        }
    }
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISSED"
    }
}
