//! The release suites. `workflows`: the GitHub workflow files checked offline (schema, matrix =
//! plan, pins, permissions, every `cargo xtask` they run). `release`, over the `dist/` the dist
//! suite filled: the workflow's assemble step, `github-release` against a recording `gh`,
//! `publish` end to end against a real local index, and `verify-release` rebuilding it.

mod assemble;
mod commands;
mod gh;
mod index;
mod verify;
mod workflows;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result};
use xshell::Shell;

use crate::checksums::{self, Manifest};
use crate::config::Config;
use crate::release_assets::{MANIFEST, SUMS};

pub use workflows::run as run_workflows;

pub fn run(sh: &Shell, cfg: &Config) -> Result<()> {
    assemble::run(cfg).context("dist --assemble over matrix-shaped parts")?;
    gh::run(cfg).context("github-release against a recording gh")?;
    index::run(sh, cfg).context("publish to a local pypiserver")?;
    verify::run(cfg).context("verify-release over dist/")?;
    Ok(())
}

/// `dist/` as the dist suite left it.
fn dist_dir() -> PathBuf {
    crate::project_root().join("dist")
}

/// A fresh scratch folder under `target/release-test/`.
fn scratch(name: &str) -> Result<PathBuf> {
    super::fresh_dir(&crate::project_root().join("target/release-test").join(name))
}

/// This xtask as a child process (what CI runs), with no credential variables inherited.
fn xtask(args: &[&str]) -> Result<Command> {
    let mut command = Command::new(crate::util::self_exe()?);
    command.args(args).current_dir(crate::project_root());
    for var in [
        "TWINE_USERNAME",
        "TWINE_PASSWORD",
        "TWINE_REPOSITORY",
        "TWINE_REPOSITORY_URL",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "GH_TOKEN",
        "GITHUB_TOKEN",
    ] {
        command.env_remove(var);
    }
    Ok(command)
}

/// Runs a prepared command and returns its output (stdout, stderr captured).
fn output(command: &mut Command) -> Result<Output> {
    command
        .output()
        .with_context(|| format!("running {:?}", command.get_program()))
}

/// stdout and stderr together, for messages and for "never printed" checks.
fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn file_names(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// A fresh copy of the release in `dist` at `to` (its files only).
fn copy_release(dist: &Path, to: &Path) -> Result<PathBuf> {
    let to = super::fresh_dir(to)?;
    for name in file_names(dist)? {
        std::fs::copy(dist.join(&name), to.join(&name))
            .with_context(|| format!("copying {name}"))?;
    }
    Ok(to)
}

/// A copy of the release without `file`, its SHA256SUMS and manifest rewritten to match: a
/// consistent but partial release.
fn partial_copy(dist: &Path, to: &Path, file: &str) -> Result<PathBuf> {
    let to = copy_release(dist, to)?;
    std::fs::remove_file(to.join(file)).with_context(|| format!("removing {file}"))?;
    let manifest = checksums::read_manifest(&to)?.context("the copy has no manifest")?;
    let artifacts: Vec<_> = manifest
        .artifacts
        .iter()
        .filter(|a| a.file() != file)
        .cloned()
        .collect();
    std::fs::write(to.join(SUMS), checksums::sha256sums(&artifacts))?;
    let manifest = Manifest {
        artifacts,
        ..manifest
    };
    std::fs::write(to.join(MANIFEST), checksums::manifest_json(&manifest)?)?;
    Ok(to)
}

/// Makes SHA256SUMS record `file` as its bytes are now (a file changed before checksumming).
fn rewrite_sum(dir: &Path, file: &str) -> Result<()> {
    let sums = std::fs::read_to_string(dir.join(SUMS))?;
    let sha = crate::release_assets::sha256_file(&dir.join(file))?;
    let suffix = format!("  {file}");
    let fixed: String = sums
        .lines()
        .map(|l| match l.ends_with(&suffix) {
            true => format!("{sha}{suffix}\n"),
            false => format!("{l}\n"),
        })
        .collect();
    std::fs::write(dir.join(SUMS), fixed)?;
    Ok(())
}

/// The wheel of `target` in a release's manifest, and that target.
fn wheel_of(dist: &Path, cfg: &Config) -> Result<(String, String)> {
    let manifest = checksums::read_manifest(dist)?.context("dist/ has no manifest")?;
    manifest
        .artifacts
        .iter()
        .find_map(|a| {
            let target = a.target.as_ref()?;
            (a.kind.wheel().is_some() && cfg.dist.targets.contains(target))
                .then(|| (a.file(), target.clone()))
        })
        .context("dist/ holds no wheel of a configured target")
}
