//! `cargo xtask plan [--json]`: the release matrix for GitHub Actions — per target the runner,
//! the triple, what that runner compiles and with which builder, the wheel tag and a unique
//! artifact name. Each runner is native to its target, so the plan derives every `Target` as if
//! that target were the host. `--json` prints `{"include": [...]}` for `fromJSON()`.

use anyhow::{Context, Result};
use serde::Serialize;
use xshell::Shell;

use crate::config::Config;
use crate::flags::{self, Builder};
use crate::target::{BuilderKind, Host, Target};
use crate::wheel::{Platforms, WheelFilename};

#[derive(Debug, Serialize)]
pub struct MatrixEntry {
    pub runner: String,
    pub triple: String,
    pub build_triple: String,
    pub builder: BuilderKind,
    pub tag: Platforms,
    pub wheel: WheelFilename,
    pub artifact: String,
}

#[derive(Debug, Serialize)]
pub struct Matrix {
    pub include: Vec<MatrixEntry>,
}

impl flags::Plan {
    pub fn run(self, _sh: &Shell, cfg: &Config) -> Result<()> {
        let matrix = matrix(cfg)?;
        if self.json {
            println!(
                "{}",
                serde_json::to_string(&matrix).context("serializing the matrix")?
            );
            return Ok(());
        }
        println!(
            "{:<26} {:<17} {:<7} {:<44} artifact",
            "triple", "runner", "builder", "tag"
        );
        for e in &matrix.include {
            println!(
                "{:<26} {:<17} {:<7} {:<44} {}",
                e.triple,
                e.runner,
                e.builder,
                e.tag.to_string(),
                e.artifact
            );
        }
        Ok(())
    }
}

pub fn matrix(cfg: &Config) -> Result<Matrix> {
    let include = cfg
        .dist
        .targets
        .iter()
        .map(|triple| {
            let runner = cfg.dist.runners.get(triple).with_context(|| {
                format!("[workspace.metadata.dist.runners] names no runner for {triple}")
            })?;
            let host = Host::new(triple)?;
            let t = Target::derive(cfg, triple, &host, Builder::Auto)?;
            Ok(MatrixEntry {
                runner: runner.clone(),
                tag: t.wheel.tags.platform.clone(),
                triple: t.triple,
                build_triple: t.build_triple,
                builder: t.builder,
                wheel: t.wheel,
                artifact: t.artifact,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Matrix { include })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_matrix_runs_each_target_natively_except_linux_on_zig() {
        let cfg = Config::load().unwrap();
        let m = matrix(&cfg).unwrap();
        let row = |t: &str| m.include.iter().find(|e| e.triple == t).unwrap();
        let linux = row("x86_64-unknown-linux-gnu");
        assert_eq!(
            (linux.runner.as_str(), linux.builder),
            ("ubuntu-latest", BuilderKind::Zig)
        );
        assert_eq!(
            linux.tag.to_string(),
            "manylinux_2_17_x86_64.manylinux2014_x86_64"
        );
        let win = row("x86_64-pc-windows-msvc");
        assert_eq!(
            (win.runner.as_str(), win.build_triple.as_str(), win.builder),
            (
                "windows-2022",
                "x86_64-pc-windows-msvc",
                BuilderKind::Native
            )
        );
        assert_eq!(row("x86_64-apple-darwin").runner, "macos-15-intel");
        let arm = row("aarch64-apple-darwin");
        assert_eq!(
            (arm.runner.as_str(), arm.builder),
            ("macos-14", BuilderKind::Native)
        );
        assert_eq!(arm.tag.to_string(), "macosx_11_0_arm64");
        let mut names: Vec<&str> = m.include.iter().map(|e| e.artifact.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            m.include.len(),
            "artifact names must be unique"
        );
        for (triple, runner, built, tag) in [
            (
                "aarch64-unknown-linux-gnu",
                "ubuntu-24.04-arm",
                "aarch64-unknown-linux-gnu",
                "manylinux_2_17_aarch64.manylinux2014_aarch64",
            ),
            (
                "x86_64-unknown-linux-musl",
                "ubuntu-latest",
                "x86_64-unknown-linux-musl",
                "musllinux_1_2_x86_64",
            ),
            (
                "aarch64-unknown-linux-musl",
                "ubuntu-24.04-arm",
                "aarch64-unknown-linux-musl",
                "musllinux_1_2_aarch64",
            ),
            (
                "aarch64-pc-windows-msvc",
                "windows-11-arm",
                "aarch64-pc-windows-msvc",
                "win_arm64",
            ),
        ] {
            let e = row(triple);
            assert_eq!(
                (
                    e.runner.as_str(),
                    e.build_triple.as_str(),
                    e.tag.to_string()
                ),
                (runner, built, tag.to_string()),
                "{triple}"
            );
        }
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(
            json["include"].as_array().unwrap().len(),
            cfg.dist.targets.len()
        );
    }
}
