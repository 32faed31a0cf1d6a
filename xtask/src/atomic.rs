//! The one way anything is written into `dist/`: a temp file beside the target, then a rename,
//! so an interrupted run never leaves a partial file under the final name.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Prefix of in-flight files; `remove_stale_temps` clears leftovers from a killed run.
pub const TEMP_PREFIX: &str = ".tmp-";

fn temp_path_for(path: &Path) -> Result<PathBuf> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent directory", path.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    Ok(dir.join(format!(
        "{TEMP_PREFIX}{}-{}",
        std::process::id(),
        name.to_string_lossy()
    )))
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |f| f.write_all(bytes).map_err(Into::into))
}

/// Runs `fill` on a temp file beside `path` and renames it into place only if `fill` succeeds.
pub fn write_with(path: &Path, fill: impl FnOnce(&mut fs::File) -> Result<()>) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = temp_path_for(path)?;
    let result = (|| {
        let mut file =
            fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        fill(&mut file).with_context(|| format!("writing {}", path.display()))?;
        file.sync_all()
            .with_context(|| format!("flushing {}", tmp.display()))?;
        fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Deletes temp files a killed run left in `dir` (never anything else).
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(0);
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            fs::remove_file(entry.path())
                .with_context(|| format!("removing {}", entry.path().display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        crate::util::test_scratch("atomic", name)
    }

    #[test]
    fn failed_fill_leaves_nothing() {
        let dir = scratch("fail");
        let target = dir.join("out.whl");
        let err = write_with(&target, |f| {
            f.write_all(b"half")?;
            anyhow::bail!("interrupted")
        });
        assert!(err.is_err());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn success_replaces_and_stale_temps_are_cleared() {
        let dir = scratch("ok");
        let target = dir.join("SHA256SUMS");
        write(&target, b"one").unwrap();
        write(&target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        fs::write(dir.join(format!("{TEMP_PREFIX}1-x.whl")), b"partial").unwrap();
        assert_eq!(remove_stale_temps(&dir).unwrap(), 1);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    }
}
