//! The Linux binaries that are not x86_64 glibc, run on this x86_64 host: aarch64 (glibc and
//! musl) under qemu-user, with Debian's arm64 glibc as the loader's root for the glibc one; x86_64
//! musl natively. Each prints `--version`, then the x86_64 Python host drives a full round trip
//! over the Unix socket through a wrapper that execs the binary (under qemu).

use std::fs;

use anyhow::{ensure, Context, Result};
use xshell::cmd;

use super::install::{host_venv, smoke};
use super::wine::write_executable;
use super::{native_binary, Ctx, LINUX_ARM_TAG, MUSL_ARM_TAG, MUSL_X64_TAG};
use crate::util::{shell_quote, which};

/// Debian's `libc6-arm64-cross`: the aarch64 glibc and its loader.
const ARM64_SYSROOT: &str = "/usr/aarch64-linux-gnu";

pub fn run(ctx: &Ctx) -> Result<()> {
    let dir = ctx.fresh_dir("emulated")?;
    let venv = host_venv(ctx)?;
    let qemu = which("qemu-aarch64-static").context(
        "qemu-aarch64-static is not installed (scripts/setup-debian.sh: qemu-user-static)",
    )?;
    ensure!(
        std::path::Path::new(ARM64_SYSROOT)
            .join("lib/ld-linux-aarch64.so.1")
            .is_file(),
        "{ARM64_SYSROOT} has no aarch64 loader (scripts/setup-debian.sh: libc6-arm64-cross)"
    );
    let qemu = format!(
        "{} -L {ARM64_SYSROOT}",
        shell_quote(&qemu.to_string_lossy())
    );
    for (tag, emulator) in [
        (LINUX_ARM_TAG, qemu.as_str()),
        (MUSL_ARM_TAG, qemu.as_str()),
        (MUSL_X64_TAG, ""),
    ] {
        let exe = dir.join(format!("mcp-sidecar-{tag}"));
        write_executable(&exe, native_binary(&fs::read(ctx.wheel_path(tag))?)?)?;
        let wrapper = dir.join(format!("run-{tag}.sh"));
        let exe_arg = shell_quote(&exe.to_string_lossy());
        write_executable(
            &wrapper,
            format!("#!/bin/sh\nexec {emulator} {exe_arg} \"$@\"\n"),
        )?;
        let version = cmd!(ctx.sh, "{wrapper} --version")
            .read()
            .with_context(|| format!("{tag}: mcp-sidecar --version"))?;
        ensure!(
            version.contains(&ctx.cfg.version.to_string()),
            "{tag}: --version printed {version:?}"
        );
        let wrapper = wrapper.to_string_lossy();
        let report = smoke(
            ctx,
            &venv,
            &["--binary", &wrapper, "--ipc", "unix", "--timeout", "60"],
        )?;
        let how = if emulator.is_empty() {
            "natively"
        } else {
            "under qemu"
        };
        eprintln!("    {tag} {how}: {} | {report}", version.trim());
    }
    Ok(())
}
