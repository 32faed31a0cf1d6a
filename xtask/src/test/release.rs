//! The release suites. `workflows`: the GitHub workflow files checked offline (schema, matrix =
//! plan, pins, permissions, every `cargo xtask` they run). `release`, over the `dist/` the dist
//! suite filled: the workflow's assemble step, `github-release` against a recording `gh`, and
//! `publish` end to end against a real local index.

mod assemble;
mod commands;
mod gh;
mod index;
mod workflows;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result};
use xshell::Shell;

use crate::config::Config;

pub use workflows::run as run_workflows;

pub fn run(sh: &Shell, cfg: &Config) -> Result<()> {
    assemble::run(cfg).context("dist --assemble over matrix-shaped parts")?;
    gh::run(cfg).context("github-release against a recording gh")?;
    index::run(sh, cfg).context("publish to a local pypiserver")?;
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
