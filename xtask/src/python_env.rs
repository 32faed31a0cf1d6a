//! Python interpreters and virtual environments the xtask drives (tests, install checks, tools).
//! Every venv lives under `target/venvs/` so a rerun reuses it and `cargo clean` removes it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// The oldest Python the package supports, and the newest one we test on.
pub const OLDEST: &str = "3.7";
pub const NEWEST: &str = "3.13";

/// Finds a CPython `major.minor`: `$MCP_SIDECAR_PYTHON_3_7`-style override, then pyenv, then PATH.
pub fn find_interpreter(version: &str) -> Result<PathBuf> {
    let var = format!("MCP_SIDECAR_PYTHON_{}", version.replace('.', "_"));
    if let Ok(path) = std::env::var(&var) {
        return Ok(PathBuf::from(path));
    }
    let mut tried = Vec::new();
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    if let Some(root) = pyenv_root {
        let versions = root.join("versions");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&versions)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with(&format!("{version}.")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        if let Some(dir) = found.pop() {
            return Ok(dir.join("bin").join("python"));
        }
        tried.push(versions.join(format!("{version}.*")).display().to_string());
    }
    let exe = format!("python{version}");
    if let Some(path) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(&exe))
            .find(|p| p.is_file())
    }) {
        return Ok(path);
    }
    tried.push(format!("{exe} on PATH"));
    bail!(
        "no CPython {version} found (set {var}); looked in: {}",
        tried.join(", ")
    )
}

/// A virtual environment under `target/venvs/<name>`.
pub struct Venv {
    pub dir: PathBuf,
}

impl Venv {
    /// Creates (or reuses) the venv and makes sure `packages` are installed in it.
    pub fn ensure(sh: &Shell, name: &str, version: &str, packages: &[&str]) -> Result<Venv> {
        let dir = crate::project_root().join("target/venvs").join(name);
        let venv = Venv { dir };
        if !venv.python().is_file() {
            let python = find_interpreter(version)?;
            eprintln!(
                "==> creating venv {} with {}",
                venv.dir.display(),
                python.display()
            );
            let dir = &venv.dir;
            cmd!(sh, "{python} -m venv --clear {dir}")
                .run()
                .with_context(|| format!("creating venv {}", dir.display()))?;
        }
        venv.pip_install(sh, packages)?;
        Ok(venv)
    }

    /// A throwaway venv at `dir` (install tests want a fresh one every time).
    pub fn fresh(sh: &Shell, dir: &Path, version: &str) -> Result<Venv> {
        let python = find_interpreter(version)?;
        cmd!(sh, "{python} -m venv --clear {dir}")
            .run()
            .with_context(|| format!("creating venv {}", dir.display()))?;
        Ok(Venv {
            dir: dir.to_path_buf(),
        })
    }

    pub fn pip_install(&self, sh: &Shell, packages: &[&str]) -> Result<()> {
        if packages.is_empty() {
            return Ok(());
        }
        let python = self.python();
        cmd!(
            sh,
            "{python} -m pip install --quiet --disable-pip-version-check {packages...}"
        )
        .run()
        .with_context(|| {
            format!(
                "pip install {} into {}",
                packages.join(" "),
                self.dir.display()
            )
        })
    }

    pub fn python(&self) -> PathBuf {
        crate::util::venv_python(&self.dir)
    }

    /// A console script installed in the venv (`pytest`, `twine`, …).
    pub fn bin(&self, name: &str) -> PathBuf {
        crate::util::venv_bin(&self.dir, name)
    }
}
