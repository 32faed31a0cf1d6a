//! Assembles a target's wheel: the pure-Python package, the binary under `_native/`, and the
//! dist-info files from pyproject, handed to the deterministic writer.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use zip::DateTime;

use crate::config::Config;
use crate::target::Target;
use crate::wheel::metadata;
use crate::wheel::writer::{self, Entry};

/// What every wheel of one run shares (read once, packed four times).
pub struct PackInputs {
    pub package_files: Vec<Entry>,
    /// `METADATA`, `entry_points.txt`, `licenses/…` (relative to the dist-info folder).
    pub dist_info: Vec<Entry>,
    pub generator: String,
    pub mtime: DateTime,
}

impl PackInputs {
    pub fn load(cfg: &Config, epoch: i64) -> Result<PackInputs> {
        let root = &cfg.workspace_root;
        let mut license_names = Vec::new();
        let mut dist_info = Vec::new();
        for path in cfg.license_files()? {
            let rel = relative_slash_path(root, &path)?;
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            dist_info.push(Entry::file(format!("licenses/{rel}"), bytes));
            license_names.push(rel);
        }
        let readme = cfg.readme()?;
        let meta = metadata::metadata(
            &cfg.project,
            &cfg.name,
            &cfg.version,
            readme.as_ref(),
            &license_names,
        )?;
        dist_info.push(Entry::file("METADATA", meta.into_bytes()));
        if let Some(eps) = metadata::entry_points(&cfg.project) {
            dist_info.push(Entry::file("entry_points.txt", eps.into_bytes()));
        }
        Ok(PackInputs {
            package_files: collect_package_files(cfg)?,
            dist_info,
            generator: format!("mcp-sidecar-xtask {}", cfg.version),
            mtime: writer::zip_time(epoch),
        })
    }
}

/// The wheel's bytes for `target`, carrying `binary` as an executable under `_native/`.
pub fn pack(inputs: &PackInputs, target: &Target, binary: Vec<u8>) -> Result<Vec<u8>> {
    let mut payload = inputs.package_files.clone();
    payload.push(Entry {
        path: target.binary_in_wheel.clone(),
        bytes: binary,
        executable: true,
    });
    let mut dist_info = inputs.dist_info.clone();
    let wheel = metadata::wheel_file(&inputs.generator, &target.wheel.expanded_tags());
    dist_info.push(Entry::file("WHEEL", wheel.into_bytes()));
    writer::write_wheel(
        payload,
        &target.wheel.dist_info_dir(),
        dist_info,
        inputs.mtime,
    )
    .with_context(|| format!("packing {}", target.wheel))
}

/// Every file of the Python package, except bytecode and stale binaries in `_native/`.
pub fn collect_package_files(cfg: &Config) -> Result<Vec<Entry>> {
    let package_dir = cfg.package_dir();
    let native = format!("{}/{}", cfg.dist.python_package, cfg.dist.native_dir);
    // A dev build may have left a binary in the source tree; the wheel gets the target's own.
    let stale: Vec<String> = ["", ".exe"]
        .iter()
        .map(|ext| format!("{native}/{}{ext}", cfg.dist.binary))
        .collect();
    let mut files = Vec::new();
    walk(&package_dir, &mut files)?;
    let mut entries = Vec::new();
    for path in files {
        let rel = relative_slash_path(&cfg.python_source, &path)?;
        if stale.contains(&rel) {
            continue;
        }
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        entries.push(Entry::file(rel, bytes));
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    let mut children: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("listing {}", dir.display()))?;
    children.sort_by_key(|e| e.file_name());
    for child in children {
        let path = child.path();
        let name = child.file_name().to_string_lossy().into_owned();
        let meta = fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?;
        if meta.is_dir() {
            if name != "__pycache__" {
                walk(&path, out)?;
            }
        } else if !(name.ends_with(".pyc") || name.ends_with(".pyo")) {
            out.push(path);
        }
    }
    Ok(())
}

/// `base/a/b.py` → `a/b.py`, refusing names a wheel cannot carry.
fn relative_slash_path(base: &Path, path: &Path) -> Result<String> {
    let rel = path
        .strip_prefix(base)
        .with_context(|| format!("{} is not under {}", path.display(), base.display()))?;
    let mut parts = Vec::new();
    for c in rel.components() {
        let Some(s) = c.as_os_str().to_str() else {
            bail!("{} has a file name that is not UTF-8", path.display());
        };
        parts.push(s.to_string());
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_files_skip_bytecode_and_keep_subpackages() {
        let cfg = Config::load().unwrap();
        let files = collect_package_files(&cfg).unwrap();
        let names: Vec<&str> = files.iter().map(|e| e.path.as_str()).collect();
        assert!(names.contains(&"mcp_sidecar/__init__.py"), "{names:?}");
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("mcp_sidecar/_pyinstaller/")),
            "{names:?}"
        );
        assert!(names
            .iter()
            .all(|n| !n.contains("__pycache__") && !n.ends_with(".pyc")));
        assert!(!names.contains(&"mcp_sidecar/_native/mcp-sidecar"));
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
}
