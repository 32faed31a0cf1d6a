//! The machine's paths that would reach a binary (panic locations, `file!()`), each rewritten to a
//! fixed virtual prefix with rustc's `--remap-path-prefix` (scope `object`, stable since 1.95:
//! the binary only, compiler diagnostics keep the real paths). The same commit then builds the
//! same bytes from any checkout path, `CARGO_HOME`, rustup home or user.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::config::Config;

/// One rewrite: the machine's directory and what the binary says instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    pub from: PathBuf,
    pub to: &'static str,
}

/// The rewrites of one build, most general first (rustc lets the last matching one win, so the
/// target dir, often inside the checkout, comes after the checkout).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remap {
    pub prefixes: Vec<Prefix>,
}

impl Remap {
    /// This machine's checkout, target dir, cargo home (registry sources and git checkouts) and
    /// the toolchain's sysroot (its `rust-src`, when a crate's path resolves into it).
    pub fn detect(sh: &Shell, cfg: &Config) -> Result<Remap> {
        let sysroot = cmd!(sh, "rustc --print sysroot")
            .quiet()
            .read()
            .context("asking rustc for its sysroot")?;
        Ok(Remap::of(
            &cfg.workspace_root,
            &cfg.target_dir,
            &cargo_home()?,
            Path::new(sysroot.trim()),
        ))
    }

    pub fn of(workspace: &Path, target_dir: &Path, cargo_home: &Path, sysroot: &Path) -> Remap {
        let p = |from: PathBuf, to| Prefix { from, to };
        Remap {
            prefixes: vec![
                p(sysroot.to_path_buf(), "/rust/toolchain"),
                p(workspace.to_path_buf(), "/build/mcp-sidecar"),
                p(target_dir.to_path_buf(), "/build/target"),
                p(cargo_home.join("registry/src"), "/cargo/registry/src"),
                p(cargo_home.join("git/checkouts"), "/cargo/git/checkouts"),
            ],
        }
    }

    /// rustc flags, for `target.<triple>.rustflags` (none without prefixes).
    pub fn rustflags(&self) -> Vec<String> {
        if self.prefixes.is_empty() {
            return Vec::new();
        }
        let mut flags = vec!["--remap-path-scope=object".to_string()];
        flags.extend(
            self.prefixes
                .iter()
                .map(|p| format!("--remap-path-prefix={}={}", p.from.display(), p.to)),
        );
        flags
    }
}

/// `$CARGO_HOME`, else `~/.cargo` (cargo's own rule).
fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .context(
            "neither CARGO_HOME nor HOME is set: cannot tell where cargo keeps the registry",
        )?;
    Ok(PathBuf::from(home).join(".cargo"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_machine_path_gets_a_fixed_prefix_and_the_target_dir_wins_inside_the_checkout() {
        let r = Remap::of(
            Path::new("/home/u/src/proj"),
            Path::new("/home/u/src/proj/target"),
            Path::new("/home/u/.cargo"),
            Path::new("/home/u/.rustup/toolchains/1.95-x86_64"),
        );
        let flags = r.rustflags();
        assert_eq!(flags[0], "--remap-path-scope=object");
        let at = |s: &str| flags.iter().position(|f| f.contains(s)).unwrap();
        assert!(at("=/build/mcp-sidecar") < at("=/build/target"));
        assert!(flags.contains(
            &"--remap-path-prefix=/home/u/.cargo/registry/src=/cargo/registry/src".to_string()
        ));
        assert!(flags
            .iter()
            .any(|f| f.ends_with("/git/checkouts=/cargo/git/checkouts")));
        assert!(flags.iter().skip(1).all(|f| !f
            .split_once('=')
            .unwrap()
            .1
            .split_once('=')
            .unwrap()
            .1
            .contains("/home")));
    }
}
