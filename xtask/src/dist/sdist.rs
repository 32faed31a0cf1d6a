//! The sdist, made by `maturin sdist` (the project's build backend, so `pip install <sdist>`
//! builds the sidecar from source) into a scratch folder under target/; `dist` moves it into
//! `dist/` atomically.

use std::fs;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::config::Config;
use crate::toolchain;
use crate::wheel::SdistFilename;

/// The sdist's file name and bytes.
pub fn build(sh: &Shell, cfg: &Config, epoch: i64) -> Result<(SdistFilename, Vec<u8>)> {
    let maturin = toolchain::ensure_maturin(sh)?;
    let scratch = cfg.target_dir.join("xtask/sdist");
    if scratch.exists() {
        fs::remove_dir_all(&scratch).with_context(|| format!("clearing {}", scratch.display()))?;
    }
    fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    // maturin finds pyproject.toml (and through it the crate) in the working directory.
    let _root = sh.push_dir(&cfg.workspace_root);
    eprintln!("==> sdist: maturin sdist (SOURCE_DATE_EPOCH={epoch})");
    cmd!(sh, "{maturin} sdist --out {scratch}")
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .quiet()
        .ignore_stdout()
        .run()
        .context("`maturin sdist` failed")?;
    let mut made: Vec<_> = fs::read_dir(&scratch)
        .with_context(|| format!("listing {}", scratch.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    let Some(path) = made.pop().filter(|_| made.is_empty()) else {
        bail!(
            "`maturin sdist` did not leave exactly one .tar.gz in {}",
            scratch.display()
        );
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("sdist file name is not UTF-8")?
        .to_string();
    let expected = SdistFilename {
        name: cfg.name.clone(),
        version: cfg.version.clone(),
    };
    if name != expected.to_string() {
        bail!("maturin named the sdist `{name}`, expected `{expected}`");
    }
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok((expected, bytes))
}
