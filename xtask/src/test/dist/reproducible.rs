//! The same bytes anywhere. dist/ is the main job's one run of every target; against it:
//! - every target built alone (the release's matrix shape), then `--assemble`: the parts'
//!   wheels carried unchanged, dist/'s sdist, and SHA256SUMS equal to dist/'s, every wheel (dist
//!   builds the host's own triple in its own invocation: `build.rs`);
//! - a second checkout of the same files at another absolute path, with another `CARGO_HOME`
//!   (a copy of the registry: offline), `RUSTUP_HOME` spelling, `HOME`, user name and a cold
//!   target dir, builds Linux and Windows together: both wheels equal this machine's build of
//!   the same set byte for byte, and `maturin sdist` there (fresh mtimes) equals dist/'s sdist.
//!   The second checkout runs this very xtask binary (`MCP_SIDECAR_XTASK_ROOT`).
//!
//! Another uid is not tried: rustup's toolchain lives in root's home (mode 0700 here), and a
//! toolchain copy per user would cost more than the point it adds.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use xshell::cmd;

use super::{run_dist, Ctx, LINUX_TAG, WIN_TAG};
use crate::artifact::SUMS_FILE;
use crate::checksums;
use crate::verify_release::diff::{locate, Container};

/// The two targets the second checkout builds (one cold invocation).
const ELSEWHERE: [&str; 2] = ["x86_64-unknown-linux-gnu", "x86_64-pc-windows-msvc"];

/// Needs symlinks and a POSIX `cp`.
#[cfg(not(unix))]
pub fn run(_ctx: &Ctx) -> Result<()> {
    crate::test::skip(
        "dist/reproducible",
        "builds a second checkout with POSIX tools",
    )
}

#[cfg(unix)]
pub fn run(ctx: &Ctx) -> Result<()> {
    let manifest = checksums::read_manifest(&ctx.out)?.context("dist/ has no manifest")?;
    let build = manifest
        .build
        .context("dist/'s manifest has no build record")?;
    let mut built: Vec<&String> = build.invocations.iter().flat_map(|i| &i.targets).collect();
    built.sort();
    let mut all: Vec<&String> = ctx.cfg.dist.targets.iter().collect();
    all.sort();
    ensure!(
        built == all && build.invocations.len() <= 2,
        "dist/ was expected to come from one run of every target (the host's triple alone): {:?}",
        build.invocations
    );
    let epoch = build.source_date_epoch.to_string();
    alone_then_assembled(ctx, &epoch)?;
    elsewhere(ctx, &epoch)
}

/// Each target in its own `dist --target T` run, then `--assemble`: dist/'s SHA256SUMS exactly.
#[cfg(unix)]
fn alone_then_assembled(ctx: &Ctx, epoch: &str) -> Result<()> {
    let started = Instant::now();
    let parts = ctx.fresh_dir("repro-parts")?;
    for triple in &ctx.cfg.dist.targets {
        let part = parts.join(format!("dist-{triple}"));
        let part_arg = part.to_string_lossy().into_owned();
        let args = ["--target", triple, "--no-sdist", "--dist", &part_arg];
        run_dist(ctx, &args, &[("SOURCE_DATE_EPOCH", epoch)])?;
    }
    let assembled = ctx.fresh_dir("repro-assembled")?;
    let (parts_arg, out_arg) = (parts.to_string_lossy(), assembled.to_string_lossy());
    let args = ["--assemble", &parts_arg, "--dist", &out_arg];
    run_dist(ctx, &args, &[("SOURCE_DATE_EPOCH", epoch)])?;
    // Every part's wheel, carried unchanged, and dist/'s sdist.
    let mut expected: Vec<String> = Vec::new();
    for triple in &ctx.cfg.dist.targets {
        let sums = fs::read_to_string(parts.join(format!("dist-{triple}")).join(SUMS_FILE))?;
        expected.extend(sums.lines().map(String::from));
    }
    let dist_sums = fs::read_to_string(ctx.out.join(SUMS_FILE))?;
    expected.push(
        dist_sums
            .lines()
            .find(|l| l.ends_with(".tar.gz"))
            .map(String::from)
            .context("dist/ has no sdist line")?,
    );
    expected.sort_by(|a, b| a[66..].cmp(&b[66..]));
    let got = fs::read_to_string(assembled.join(SUMS_FILE))?;
    ensure!(
        got.lines().collect::<Vec<_>>() == expected,
        "--assemble did not carry the parts unchanged:\n{got}\n--- expected:\n{}",
        expected.join("\n")
    );
    // And each target built alone is the all-target build's file, byte for byte.
    ensure!(
        got == dist_sums,
        "the targets built alone differ from dist/'s one run:\n{got}\n--- dist/:\n{dist_sums}"
    );
    let manifest = checksums::read_manifest(&assembled)?.context("no assembled manifest")?;
    let sets = manifest
        .build
        .context("the assembled manifest has no build record")?
        .invocations;
    ensure!(
        sets.len() == ctx.cfg.dist.targets.len() && sets.iter().all(|i| i.targets.len() == 1),
        "the assembled record must name one one-target invocation per target: {sets:?}"
    );
    crate::release_assets::Inventory::load(&assembled, &ctx.cfg.version)?;
    eprintln!(
        "    each target alone + --assemble: parts carried unchanged, SHA256SUMS = dist/'s ({} files, {:.0} s)",
        got.lines().count(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The second checkout: other paths and homes, a cold build of Linux + Windows, same bytes.
#[cfg(unix)]
fn elsewhere(ctx: &Ctx, epoch: &str) -> Result<()> {
    // Outside target/ and the checkout: another absolute path with nothing in common.
    let base = crate::test::fresh_dir(&std::env::temp_dir().join("mcp-sidecar-elsewhere"))?;
    let result = build_elsewhere(ctx, epoch, &base);
    // A cold target dir and a registry copy: gigabytes, gone whether the comparison passed or not.
    let _ = fs::remove_dir_all(&base);
    result
}

#[cfg(unix)]
fn build_elsewhere(ctx: &Ctx, epoch: &str, base: &Path) -> Result<()> {
    let started = Instant::now();
    let checkout = base.join("src/other-checkout");
    let copied = copy_tracked_files(ctx, &checkout)?;
    let home = base.join("home/builder");
    let cargo_home = home.join(".cargo");
    copy_registry(&cargo_home)?;
    let rustup_home = base.join("rustup");
    std::os::unix::fs::symlink(real_rustup_home()?, &rustup_home)?;
    let tools = tool_bin(ctx, base)?;
    // cargo-auditable is cached per target dir; carry the built tool over instead of recompiling.
    let auditable = crate::toolchain::CARGO_AUDITABLE;
    let tool_dir = format!("tools/{}-{}", auditable.krate, auditable.version);
    copy_dir(
        &ctx.cfg.target_dir.join(&tool_dir),
        &checkout.join("target").join(&tool_dir),
    )?;
    // This machine's build of the same target set (the Linux binary is reused, warm).
    let local = ctx.fresh_dir("repro-linux-windows")?;
    let local_arg = local.to_string_lossy().into_owned();
    let mut local_args = vec!["--no-sdist", "--dist", &local_arg];
    for t in ELSEWHERE {
        local_args.extend(["--target", t]);
    }
    run_dist(ctx, &local_args, &[("SOURCE_DATE_EPOCH", epoch)])?;
    let out = base.join("dist");
    let path = std::env::join_paths(std::iter::once(tools).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let xtask = &ctx.xtask;
    let out_arg = out.to_string_lossy().into_owned();
    let mut args = vec!["--no-sdist", "--dist", &out_arg];
    for t in ELSEWHERE {
        args.extend(["--target", t]);
    }
    cmd!(ctx.sh, "{xtask} dist {args...}")
        .env(crate::ROOT_OVERRIDE, &checkout)
        .env("HOME", &home)
        .env("USER", "builder")
        .env("LOGNAME", "builder")
        .env("CARGO_HOME", &cargo_home)
        .env("RUSTUP_HOME", &rustup_home)
        .env("CARGO_NET_OFFLINE", "true")
        .env("PATH", path)
        .env("SOURCE_DATE_EPOCH", epoch)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTC_WRAPPER")
        .run()
        .context("the second checkout's `dist` failed")?;
    let build_seconds = started.elapsed().as_secs_f64();
    for tag in [LINUX_TAG, WIN_TAG] {
        let name = ctx.wheel_name(tag);
        let here = fs::read(local.join(&name)).with_context(|| format!("reading {name}"))?;
        let there =
            fs::read(out.join(&name)).with_context(|| format!("reading {name} built elsewhere"))?;
        if let Some(difference) = locate(Container::Zip, &here, &there) {
            bail!(
                "{name} differs between {} and {}: {difference}",
                ctx.cfg.workspace_root.display(),
                checkout.display()
            );
        }
    }
    sdist_elsewhere(ctx, &checkout, epoch)?;
    eprintln!(
        "    another path, CARGO_HOME, HOME, user and cold target dir ({copied} files copied): \
         the Linux and Windows wheels = this machine's, sdist = dist/'s ({build_seconds:.0} s)"
    );
    Ok(())
}

/// `maturin sdist` in the second checkout (every file a fresh mtime) equals dist/'s sdist.
#[cfg(unix)]
fn sdist_elsewhere(ctx: &Ctx, checkout: &Path, epoch: &str) -> Result<()> {
    let maturin = crate::toolchain::ensure_maturin(ctx.sh)?;
    let scratch = checkout.join("target/sdist-elsewhere");
    let _dir = ctx.sh.push_dir(checkout);
    cmd!(ctx.sh, "{maturin} sdist --out {scratch}")
        .env("SOURCE_DATE_EPOCH", epoch)
        .env("USER", "builder")
        .quiet()
        .ignore_stdout()
        .run()
        .context("maturin sdist in the second checkout")?;
    let name = format!("mcp_sidecar-{}.tar.gz", ctx.cfg.version);
    let here = fs::read(ctx.out.join(&name))?;
    let there = fs::read(scratch.join(&name))?;
    ensure!(
        here == there,
        "{name} differs when built in {} ({} vs {} bytes)",
        checkout.display(),
        here.len(),
        there.len()
    );
    Ok(())
}

/// Every file git tracks, with its content in the working tree (a dirty tree is copied as is).
#[cfg(unix)]
fn copy_tracked_files(ctx: &Ctx, to: &Path) -> Result<usize> {
    let root = &ctx.cfg.workspace_root;
    let listed = cmd!(ctx.sh, "git -C {root} ls-files -z").quiet().read()?;
    let mut count = 0;
    for rel in listed.split('\0').filter(|r| !r.is_empty()) {
        let from = root.join(rel);
        // A tracked file deleted in the working tree is not part of this build.
        if !from.is_file() {
            continue;
        }
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(&from, &dest).with_context(|| format!("copying {}", from.display()))?;
        count += 1;
    }
    Ok(count)
}

/// The registry's index and downloaded crates (not the unpacked sources: cargo unpacks again).
#[cfg(unix)]
fn copy_registry(cargo_home: &Path) -> Result<()> {
    let ours = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("no CARGO_HOME or HOME")?;
    for part in ["registry/index", "registry/cache"] {
        copy_dir(&ours.join(part), &cargo_home.join(part))?;
    }
    Ok(())
}

#[cfg(unix)]
fn real_rustup_home() -> Result<PathBuf> {
    std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")))
        .context("no RUSTUP_HOME or HOME")
}

/// A PATH folder with this machine's zig and cargo-zigbuild (the pinned ones `dist` installed),
/// so the second checkout needs no PyPI download.
#[cfg(unix)]
fn tool_bin(ctx: &Ctx, base: &Path) -> Result<PathBuf> {
    let zig = crate::toolchain::ensure_zig(ctx.sh)?;
    let bin = base.join("bin");
    fs::create_dir_all(&bin)?;
    let zig_exe = match &zig.ziglang_python {
        Some(python) => {
            let code =
                "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))";
            PathBuf::from(cmd!(ctx.sh, "{python} -c {code}").quiet().read()?.trim())
        }
        None => crate::util::which("zig").context("zig is not on PATH")?,
    };
    std::os::unix::fs::symlink(zig_exe, bin.join("zig"))?;
    std::os::unix::fs::symlink(&zig.cargo_zigbuild, bin.join("cargo-zigbuild"))?;
    Ok(bin)
}

#[cfg(unix)]
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    let (from_s, to_s) = (from.as_os_str(), to.as_os_str());
    let sh = xshell::Shell::new()?;
    cmd!(sh, "cp -a {from_s}/. {to_s}")
        .quiet()
        .run()
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}
