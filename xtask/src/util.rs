//! The one home of small generic helpers, each a thin layer over a well-kept crate: sizes for
//! people (`humansize`), /bin/sh quoting (`shlex`), PATH lookup (`which`), glob matching
//! (`globset`), the layout of a virtual environment, and bounded byte reads. Nothing project-specific lives here.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// `2 KiB`, `4.5 MiB`: binary units, at most one decimal.
pub fn human_size(bytes: u64) -> String {
    let format = humansize::FormatSizeOptions::from(humansize::BINARY).decimal_places(1);
    humansize::format_size(bytes, format)
}

/// Quotes a word for /bin/sh (unchanged when it needs no quoting).
pub fn shell_quote(word: &str) -> String {
    // try_quote fails only on NUL, which no shell word can carry; show it escaped instead.
    shlex::try_quote(word)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| format!("'{}'", word.escape_default()))
}

/// This xtask's own binary, for suites that run it the way a user does. A `cargo test` of the
/// xtask re-links `target/debug/xtask` (dev-dependency features differ), which unlinks the file
/// the running binary came from; so the first call copies it aside and later calls return the copy.
pub fn self_exe() -> Result<PathBuf> {
    static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(path) = COPY.get() {
        return Ok(path.clone());
    }
    let running = std::env::current_exe().context("locating the running xtask")?;
    let dir = crate::project_root().join("target/xtask/self");
    // Earlier runs' copies are dead weight (tens of MB each); one that is still running keeps its inode.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let copy = dir.join(format!(
        "xtask-{}{}",
        std::process::id(),
        std::env::consts::EXE_SUFFIX
    ));
    std::fs::copy(&running, &copy)
        .with_context(|| format!("copying {} to {}", running.display(), copy.display()))?;
    Ok(COPY.get_or_init(|| copy).clone())
}

// Bounded integer reads for the hand-parsed formats (zip records, Mach-O code signatures):
// `None` past the end, never a panic, whatever the offset.
pub fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
pub fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
pub fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}
pub fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
pub fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The first executable called `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    which::which(name).ok()
}

/// A glob (`*`, `?`, `[..]`, `**`) compiled once; `/` is matched only by `**`.
#[derive(Debug, Clone)]
pub struct Glob(globset::GlobMatcher);

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob> {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .with_context(|| format!("`{pattern}` is not a glob pattern"))?;
        Ok(Glob(glob.compile_matcher()))
    }

    pub fn is_match(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

/// A console script or interpreter inside the venv at `venv` (`bin/` or `Scripts\*.exe`).
pub fn venv_bin(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{name}.exe"))
    } else {
        venv.join("bin").join(name)
    }
}

/// The venv's Python interpreter.
pub fn venv_python(venv: &Path) -> PathBuf {
    venv_bin(venv, "python")
}

/// An empty folder for one unit test, `xtask-<area>-<name>-<pid>` under the temp dir.
#[cfg(test)]
pub fn test_scratch(area: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-{area}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(4 * 1024 * 1024 + 512 * 1024), "4.5 MiB");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(100), "100 B");
    }

    #[test]
    fn quoted_words_split_back_to_themselves() {
        for word in ["plain", "a b", "it's", "$HOME", "", "ünï"] {
            let quoted = shell_quote(word);
            assert_eq!(shlex::split(&quoted).unwrap(), [word], "{quoted}");
        }
        assert_eq!(shell_quote("plain"), "plain");
    }

    #[test]
    fn which_finds_sh_and_not_nonsense() {
        #[cfg(unix)]
        assert!(which("sh").is_some());
        assert!(which("definitely-not-a-command-xtask").is_none());
    }

    #[test]
    fn globs_match_names_and_do_not_panic_on_unicode() {
        let g = Glob::new("LICEN[CS]E*").unwrap();
        assert!(g.is_match("LICENSE") && g.is_match("LICENCE.txt"));
        assert!(!g.is_match("COPYING"));
        assert!(Glob::new("a*b*c").unwrap().is_match("aXXbYYc"));
        assert!(Glob::new("*.whl").unwrap().is_match("ñame-é.whl"));
        assert!(!Glob::new("*.whl").unwrap().is_match("dir/a.whl"));
        assert!(Glob::new("**/a.whl").unwrap().is_match("dir/a.whl"));
        assert!(Glob::new("a[").is_err());
    }

    #[test]
    fn venv_layout() {
        let p = venv_python(Path::new("v"));
        assert!(p.starts_with("v") && p.to_string_lossy().contains("python"));
    }
}
