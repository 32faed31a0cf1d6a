//! Bootstraps what `dist` builds with: rustup targets, zig (PyPI `ziglang`) and cargo-zigbuild
//! (into `target/venvs/zig` unless both are on PATH), cargo-auditable (crates.io, into
//! `target/tools/`), maturin for the sdist, and the checks `--builder cross` needs. Every step
//! says what it does.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::python_env::{find_interpreter, Venv, NEWEST};
use crate::util::which;

/// Pinned so two machines cross-compile with the same linker.
const ZIGLANG: &str = "ziglang==0.17.1";
const CARGO_ZIGBUILD: &str = "cargo-zigbuild==0.24.0";
/// Pinned inside pyproject's `maturin>=1.5,<2` so two sdists of one commit are byte-identical.
const MATURIN: &str = "maturin==1.16.0";
/// Embeds the dependency list (`.dep-v0`) in every binary; pinned, its format is in the bytes.
pub const CARGO_AUDITABLE: CargoTool = CargoTool {
    krate: "cargo-auditable",
    version: "0.7.4",
    bin: "cargo-auditable",
};
/// Reads that list back (tests).
pub const RUST_AUDIT_INFO: CargoTool = CargoTool {
    krate: "rust-audit-info",
    version: "0.5.4",
    bin: "rust-audit-info",
};

/// A binary crate from crates.io, installed once per version under `target/tools/`.
#[derive(Debug, Clone, Copy)]
pub struct CargoTool {
    pub krate: &'static str,
    pub version: &'static str,
    pub bin: &'static str,
}

impl CargoTool {
    /// How the build record spells the pin (cargo-auditable has no `--version` of its own), so
    /// `dist` and `verify-release` compare the same text.
    pub fn version_line(&self) -> String {
        format!("{} {}", self.krate, self.version)
    }
}

/// zig and cargo-zigbuild, wherever they came from.
#[derive(Debug, Clone)]
pub struct ZigTools {
    pub cargo_zigbuild: PathBuf,
    /// The venv Python whose `-m ziglang` is zig (None: zig is on PATH).
    pub ziglang_python: Option<PathBuf>,
    /// `zig version` and `cargo-zigbuild --version`, for the manifest's build record.
    pub zig_version: String,
    pub cargo_zigbuild_version: String,
}

impl ZigTools {
    /// Variables that make cargo-zigbuild (and the linker scripts it runs) use this zig.
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let mut env = Vec::new();
        if let Some(python) = &self.ziglang_python {
            env.push((
                "CARGO_ZIGBUILD_PYTHON_PATH".into(),
                python.clone().into_os_string(),
            ));
        }
        env
    }
}

/// zig + cargo-zigbuild: from PATH when both are there, else installed (once) into target/.
pub fn ensure_zig(sh: &Shell) -> Result<ZigTools> {
    if let (Some(zig), Some(czb)) = (which("zig"), which("cargo-zigbuild")) {
        let zig_version = version_of(cmd!(sh, "{zig} version"))?;
        let cargo_zigbuild_version = version_of(cmd!(sh, "{czb} --version"))?;
        eprintln!("==> zig {zig_version} and {} from PATH", czb.display());
        return Ok(ZigTools {
            cargo_zigbuild: czb,
            ziglang_python: None,
            zig_version,
            cargo_zigbuild_version,
        });
    }
    let venv = tools_venv(sh, "zig")?;
    let python = venv.python();
    let czb = venv.bin("cargo-zigbuild");
    let installed = || -> (Option<String>, Option<String>) {
        let zig = version_of(cmd!(sh, "{python} -m ziglang version").ignore_stderr()).ok();
        let czb = version_of(cmd!(sh, "{czb} --version").ignore_stderr()).ok();
        (zig, czb)
    };
    let (mut zig_version, mut czb_version) = installed();
    let have_zig = zig_version.as_deref().is_some_and(|v| ZIGLANG.ends_with(v));
    let have_czb = czb_version
        .as_deref()
        .is_some_and(|v| CARGO_ZIGBUILD.ends_with(v.trim_start_matches("cargo-zigbuild ")));
    if have_zig && have_czb {
        eprintln!(
            "==> zig: {ZIGLANG} and {CARGO_ZIGBUILD} from {}",
            venv.dir.display()
        );
    } else {
        eprintln!(
            "==> zig: zig and cargo-zigbuild are not both on PATH; installing {ZIGLANG} and {CARGO_ZIGBUILD} into {}",
            venv.dir.display()
        );
        venv.pip_install(sh, &[ZIGLANG, CARGO_ZIGBUILD])?;
        (zig_version, czb_version) = installed();
    }
    Ok(ZigTools {
        zig_version: zig_version.context("the installed zig prints no version")?,
        cargo_zigbuild_version: czb_version
            .context("the installed cargo-zigbuild prints no version")?,
        cargo_zigbuild: czb,
        ziglang_python: Some(python),
    })
}

/// `rustc -V` of the toolchain cargo builds with (rustup's override for this checkout).
pub fn rustc_version(sh: &Shell) -> Result<String> {
    version_of(cmd!(sh, "rustc -V"))
}

/// The maturin the sdist is built with, as `maturin --version` prints it.
pub fn maturin_version() -> String {
    format!("maturin {}", MATURIN.trim_start_matches("maturin=="))
}

/// A tool's one-line version output, trimmed.
fn version_of(c: xshell::Cmd<'_>) -> Result<String> {
    let line = c.to_string();
    let out = c
        .quiet()
        .read()
        .with_context(|| format!("asking for a version: {line}"))?;
    Ok(out.trim().to_string())
}

/// `target/tools/<crate>-<version>/bin/<bin>`, installed with `cargo install --locked` if absent.
pub fn ensure_cargo_tool(sh: &Shell, target_dir: &Path, tool: CargoTool) -> Result<PathBuf> {
    let CargoTool {
        krate,
        version,
        bin,
    } = tool;
    let root = target_dir.join(format!("tools/{krate}-{version}"));
    let path = root
        .join("bin")
        .join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        return Ok(path);
    }
    eprintln!(
        "==> tools: cargo install --locked {krate}@{version} into {}",
        root.display()
    );
    cmd!(
        sh,
        "cargo install --locked --quiet --root {root} {krate} --version ={version}"
    )
    .run()
    .with_context(|| format!("installing {krate} {version} from crates.io"))?;
    anyhow::ensure!(
        path.is_file(),
        "cargo install {krate} left no {}",
        path.display()
    );
    Ok(path)
}

/// maturin (for `maturin sdist`) from `target/venvs/maturin`.
pub fn ensure_maturin(sh: &Shell) -> Result<PathBuf> {
    let venv = tools_venv(sh, "maturin")?;
    let maturin = venv.bin("maturin");
    let wanted = MATURIN.trim_start_matches("maturin==");
    let have = cmd!(sh, "{maturin} --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok_and(|v| v.trim() == format!("maturin {wanted}"));
    if !have {
        eprintln!(
            "==> sdist: installing {MATURIN} into {}",
            venv.dir.display()
        );
        venv.pip_install(sh, &[MATURIN])?;
    }
    Ok(maturin)
}

/// Adds the rustup targets that are missing (no-op when all are installed).
pub fn ensure_rust_targets(sh: &Shell, triples: &[&str]) -> Result<()> {
    let installed = cmd!(sh, "rustup target list --installed")
        .quiet()
        .read()
        .context("asking rustup for installed targets")?;
    let mut missing: Vec<&str> = triples
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        eprintln!("==> rustup: targets {} installed", triples.join(", "));
    } else {
        eprintln!(
            "==> rustup: adding missing targets: rustup target add {}",
            missing.join(" ")
        );
        cmd!(sh, "rustup target add {missing...}")
            .ignore_stdout()
            .run()?;
    }
    Ok(())
}

/// `--builder cross` needs the `cross` CLI and a Docker daemon; say plainly which one is missing.
pub fn ensure_cross(sh: &Shell) -> Result<PathBuf> {
    let Some(cross) = which("cross") else {
        bail!("--builder cross needs the `cross` CLI (cargo install cross --git https://github.com/cross-rs/cross) and Docker; it is meant for CI. Use --builder zig here")
    };
    let Some(docker) = which("docker") else {
        bail!("--builder cross needs Docker, and `docker` is not on PATH; use --builder zig on this machine")
    };
    let probe = cmd!(sh, "{docker} info")
        .quiet()
        .ignore_status()
        .output()
        .context("running `docker info`")?;
    if !probe.status.success() {
        let why = String::from_utf8_lossy(&probe.stderr);
        bail!(
            "--builder cross cannot run here: Docker's daemon is not reachable ({}); use --builder zig",
            why.lines().last().unwrap_or("docker info failed").trim()
        );
    }
    eprintln!(
        "==> cross: {} with a running Docker daemon",
        cross.display()
    );
    Ok(cross)
}

/// A venv for build tools under `target/venvs/<name>`, on CPython 3.13 or else any `python3`.
fn tools_venv(sh: &Shell, name: &str) -> Result<Venv> {
    let venv = Venv::at(name);
    if !venv.python().is_file() {
        let python = find_interpreter(NEWEST)
            .ok()
            .or_else(|| which("python3"))
            .context(
            "no Python found to host zig and maturin (tried CPython 3.13, then python3 on PATH)",
        )?;
        venv.create(sh, &python)?;
    }
    Ok(venv)
}
