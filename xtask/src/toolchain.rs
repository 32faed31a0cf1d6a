//! Bootstraps the cross-compiling toolchain: rustup targets, zig (PyPI `ziglang`) and
//! cargo-zigbuild, into `target/venvs/zig` when they are not already on PATH.

use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::python_env::{Venv, NEWEST};

/// Pinned so two machines cross-compile with the same linker.
const ZIGLANG: &str = "ziglang==0.17.1";
const CARGO_ZIGBUILD: &str = "cargo-zigbuild==0.24.0";

/// Where zig and cargo-zigbuild live; prepend `bin_dir` to PATH before calling either.
pub struct ZigTools {
    pub bin_dir: PathBuf,
}

impl ZigTools {
    /// `zig` itself, as an argv prefix (`python -m ziglang`).
    pub fn zig_argv(&self) -> Vec<String> {
        vec![
            self.bin_dir.join("python").display().to_string(),
            "-m".into(),
            "ziglang".into(),
        ]
    }

    /// PATH with the tools first (cargo-zigbuild finds zig through `python3 -m ziglang`).
    pub fn path_env(&self) -> Result<std::ffi::OsString> {
        let mut paths = vec![self.bin_dir.clone()];
        if let Some(old) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&old));
        }
        std::env::join_paths(paths).context("building PATH")
    }
}

/// Installs (once) and returns the zig toolchain.
pub fn ensure_zig(sh: &Shell) -> Result<ZigTools> {
    let venv = Venv::ensure(sh, "zig", NEWEST, &[])?;
    let tools = ZigTools {
        bin_dir: venv.bin("python").parent().map(PathBuf::from).context("venv bin dir")?,
    };
    let venv_python = venv.python();
    let have_zig = cmd!(sh, "{venv_python} -m ziglang version")
        .quiet()
        .ignore_stderr()
        .ignore_stdout()
        .run()
        .is_ok();
    if !have_zig || !venv.bin("cargo-zigbuild").is_file() {
        eprintln!("==> installing {ZIGLANG} and {CARGO_ZIGBUILD} into {}", venv.dir.display());
        venv.pip_install(sh, &[ZIGLANG, CARGO_ZIGBUILD])?;
    }
    Ok(tools)
}

/// Adds the rustup targets that are missing (no-op when all are installed).
pub fn ensure_rust_targets(sh: &Shell, triples: &[&str]) -> Result<()> {
    let installed = cmd!(sh, "rustup target list --installed")
        .quiet()
        .read()
        .context("asking rustup for installed targets")?;
    let missing: Vec<&str> = triples
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        eprintln!("==> rustup target add {}", missing.join(" "));
        cmd!(sh, "rustup target add {missing...}").run()?;
    }
    Ok(())
}
