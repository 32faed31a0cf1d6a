//! `cargo xtask plan [--json]`: the release matrix for GitHub Actions — per target where it is
//! built and where it is tested, the triple, what the build runner compiles and with which
//! builder, the wheel tag and a unique artifact name. Every target zig links from Linux is built
//! on the Linux runner (so any Linux machine can rebuild it byte for byte); the rest (msvc) on
//! its own runner. `[workspace.metadata.dist.runners]` names each target's native runner: it
//! tests that very wheel (install, round trip). `--json` prints `{"include": [...]}`.

use anyhow::{Context, Result};
use serde::Serialize;
use xshell::Shell;

use crate::config::Config;
use crate::flags::{self, Builder};
use crate::target::{BuilderKind, Host, Target};
use crate::wheel::{Platforms, WheelFilename};

/// The host every Linux-buildable target is built on in the release.
const LINUX_BUILD_HOST: &str = "x86_64-unknown-linux-gnu";

#[derive(Debug, Serialize)]
pub struct MatrixEntry {
    /// Where the wheel is built.
    pub build_runner: String,
    /// The target's native runner: installs and runs the wheel the build runner made.
    pub test_runner: String,
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
            "{:<26} {:<17} {:<17} {:<7} {:<44} artifact",
            "triple", "built on", "tested on", "builder", "tag"
        );
        for e in &matrix.include {
            println!(
                "{:<26} {:<17} {:<17} {:<7} {:<44} {}",
                e.triple,
                e.build_runner,
                e.test_runner,
                e.builder,
                e.tag.to_string(),
                e.artifact
            );
        }
        Ok(())
    }
}

pub fn matrix(cfg: &Config) -> Result<Matrix> {
    let runner = |triple: &str| {
        cfg.dist.runners.get(triple).cloned().with_context(|| {
            format!("[workspace.metadata.dist.runners] names no runner for {triple}")
        })
    };
    let linux = Host::new(LINUX_BUILD_HOST)?;
    let include = cfg
        .dist
        .targets
        .iter()
        .map(|triple| {
            let test_runner = runner(triple)?;
            let on_linux = Target::derive(cfg, triple, &linux, Builder::Auto)?;
            // Built on Linux when zig links the target itself there (no fallback triple).
            let (build_runner, t) =
                if on_linux.builder == BuilderKind::Zig && on_linux.build_triple == *triple {
                    (runner(LINUX_BUILD_HOST)?, on_linux)
                } else {
                    let native = Host::new(triple)?;
                    let t = Target::derive(cfg, triple, &native, Builder::Auto)?;
                    (test_runner.clone(), t)
                };
            Ok(MatrixEntry {
                build_runner,
                test_runner,
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
    fn the_release_builds_every_zig_target_on_linux_and_tests_it_natively() {
        let cfg = Config::load().unwrap();
        let m = matrix(&cfg).unwrap();
        let row = |t: &str| m.include.iter().find(|e| e.triple == t).unwrap();
        let linux_runner = &row(LINUX_BUILD_HOST).test_runner;
        let linux = row("x86_64-unknown-linux-gnu");
        assert_eq!(
            (&linux.build_runner, linux.builder),
            (linux_runner, BuilderKind::Zig)
        );
        assert_eq!(
            linux.tag.to_string(),
            "manylinux_2_17_x86_64.manylinux2014_x86_64"
        );
        // msvc needs the Microsoft linker: the one file built on its own runner.
        let win = row("x86_64-pc-windows-msvc");
        assert_eq!(
            (
                win.build_runner.as_str(),
                win.test_runner.as_str(),
                win.build_triple.as_str(),
                win.builder
            ),
            (
                "windows-2022",
                "windows-2022",
                "x86_64-pc-windows-msvc",
                BuilderKind::Native
            )
        );
        for (mac, runner) in [
            ("x86_64-apple-darwin", "macos-15-intel"),
            ("aarch64-apple-darwin", "macos-14"),
        ] {
            let r = row(mac);
            assert_eq!(
                (&r.build_runner, r.test_runner.as_str(), r.builder),
                (linux_runner, runner, BuilderKind::Zig),
                "{mac}"
            );
            assert_eq!(r.build_triple, mac);
        }
        assert_eq!(
            row("aarch64-apple-darwin").tag.to_string(),
            "macosx_11_0_arm64"
        );
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
            // Only msvc is built where it is tested; zig builds the rest on the Linux runner.
            let built_on = if triple.ends_with("-msvc") {
                runner
            } else {
                linux_runner.as_str()
            };
            assert_eq!(
                (
                    e.build_runner.as_str(),
                    e.test_runner.as_str(),
                    e.build_triple.as_str(),
                    e.tag.to_string()
                ),
                (built_on, runner, built, tag.to_string()),
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
