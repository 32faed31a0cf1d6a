//! Wheel file names (PEP 427 / binary distribution format), parsed once at the edge.

use std::fmt;

use super::tag::{PlatformTag, TagError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilenameError {
    #[error("`{0}` is not a wheel file name: it must end in .whl")]
    NotAWheel(String),
    #[error(
        "`{0}` is not a wheel file name: expected NAME-VERSION(-BUILD)?-PYTHON-ABI-PLATFORM.whl"
    )]
    BadShape(String),
    #[error("wheel `{file}`: {source}")]
    Tag { file: String, source: TagError },
}

/// `mcp_sidecar-0.1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl`, as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFilename {
    /// Distribution name as written in the file name (normalized: `_` for `-`).
    pub name: String,
    pub version: String,
    pub build: Option<String>,
    pub python_tags: Vec<String>,
    pub abi_tags: Vec<String>,
    /// The platform part, one entry per dotted alternative, as written.
    pub platform_tags: Vec<String>,
}

impl WheelFilename {
    pub fn parse(file_name: &str) -> Result<Self, FilenameError> {
        let stem = file_name
            .strip_suffix(".whl")
            .ok_or_else(|| FilenameError::NotAWheel(file_name.to_string()))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let bad = || FilenameError::BadShape(file_name.to_string());
        let (name, version, build, py, abi, plat) = match parts.as_slice() {
            [n, v, p, a, pl] => (*n, *v, None, *p, *a, *pl),
            [n, v, b, p, a, pl] => (*n, *v, Some(b.to_string()), *p, *a, *pl),
            _ => return Err(bad()),
        };
        if [name, version, py, abi, plat].iter().any(|s| s.is_empty()) {
            return Err(bad());
        }
        let split = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        Ok(WheelFilename {
            name: name.to_string(),
            version: version.to_string(),
            build,
            python_tags: split(py),
            abi_tags: split(abi),
            platform_tags: split(plat),
        })
    }

    pub fn new(name: &str, version: &str, platform_tags: &[String]) -> Self {
        WheelFilename {
            name: normalize_dist_name(name),
            version: version.to_string(),
            build: None,
            python_tags: vec!["py3".to_string()],
            abi_tags: vec!["none".to_string()],
            platform_tags: platform_tags.to_vec(),
        }
    }

    /// Each platform alternative as a typed tag; fails on the first unknown one.
    pub fn platforms(&self) -> Result<Vec<PlatformTag>, FilenameError> {
        self.platform_tags
            .iter()
            .map(|t| {
                PlatformTag::parse(t).map_err(|source| FilenameError::Tag {
                    file: self.to_string(),
                    source,
                })
            })
            .collect()
    }

    /// True for `any`: a pure wheel that carries no binary.
    pub fn is_pure(&self) -> bool {
        self.platform_tags == ["any"]
    }

    /// The expanded tag triples, as `Tag:` lines in WHEEL list them (`py3-none-win_amd64`).
    pub fn expanded_tags(&self) -> Vec<String> {
        let mut out = Vec::new();
        for py in &self.python_tags {
            for abi in &self.abi_tags {
                for plat in &self.platform_tags {
                    out.push(format!("{py}-{abi}-{plat}"));
                }
            }
        }
        out
    }

    /// `mcp_sidecar-0.1.0.dist-info`
    pub fn dist_info_dir(&self) -> String {
        format!("{}-{}.dist-info", self.name, self.version)
    }
}

impl fmt::Display for WheelFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.name, self.version)?;
        if let Some(b) = &self.build {
            write!(f, "-{b}")?;
        }
        write!(
            f,
            "-{}-{}-{}.whl",
            self.python_tags.join("."),
            self.abi_tags.join("."),
            self.platform_tags.join(".")
        )
    }
}

/// The wheel-filename form of a distribution name: `mcp-sidecar` → `mcp_sidecar` (PEP 503 + PEP 427).
pub fn normalize_dist_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('_');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str = "mcp_sidecar-0.1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";

    #[test]
    fn parses_and_prints_back() {
        let w = WheelFilename::parse(LINUX).unwrap();
        assert_eq!(w.name, "mcp_sidecar");
        assert_eq!(w.version, "0.1.0");
        assert_eq!(w.platform_tags.len(), 2);
        assert_eq!(w.to_string(), LINUX);
        assert_eq!(w.dist_info_dir(), "mcp_sidecar-0.1.0.dist-info");
        assert_eq!(
            w.expanded_tags(),
            [
                "py3-none-manylinux_2_17_x86_64",
                "py3-none-manylinux2014_x86_64"
            ]
        );
    }

    #[test]
    fn build_tag_and_errors() {
        let w = WheelFilename::parse("a-1-7-py3-none-any.whl").unwrap();
        assert_eq!(w.build.as_deref(), Some("7"));
        assert!(w.is_pure());
        assert!(matches!(
            WheelFilename::parse("a-1.tar.gz"),
            Err(FilenameError::NotAWheel(_))
        ));
        assert!(matches!(
            WheelFilename::parse("a-1-py3.whl"),
            Err(FilenameError::BadShape(_))
        ));
        let err = WheelFilename::parse("a-1-py3-none-solaris_sparc.whl")
            .unwrap()
            .platforms()
            .unwrap_err();
        assert!(err.to_string().contains("solaris_sparc"));
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize_dist_name("MCP-Sidecar"), "mcp_sidecar");
        assert_eq!(normalize_dist_name("a.-_b"), "a_b");
    }
}
