//! Distribution file names, parsed once at the edge: wheels (PEP 427 / binary distribution
//! format) and sdists (`NAME-VERSION.tar.gz`). Printing them gives the canonical spelling.

use std::fmt;

use super::name::{BuildTag, DistName, NameError, Version};
use super::tag::{PlatformTag, TagError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilenameError {
    #[error("`{0}` is not a wheel file name: it must end in .whl")]
    NotAWheel(String),
    #[error("`{0}` is not an sdist file name: expected NAME-VERSION.tar.gz")]
    NotAnSdist(String),
    #[error(
        "`{0}` is not a wheel file name: expected NAME-VERSION(-BUILD)?-PYTHON-ABI-PLATFORM.whl"
    )]
    BadShape(String),
    #[error("`{file}`: {source}")]
    Name { file: String, source: NameError },
    #[error("wheel `{file}`: {source}")]
    Tag { file: String, source: TagError },
}

/// The platform part of a wheel name: `any`, or one or more binary platforms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Platforms {
    Any,
    Binary(Vec<PlatformTag>),
}

impl Platforms {
    /// The binary platforms (none for `any`).
    pub fn tags(&self) -> &[PlatformTag] {
        match self {
            Platforms::Any => &[],
            Platforms::Binary(tags) => tags,
        }
    }
}

impl serde::Serialize for Platforms {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Platforms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Platforms::Any => f.write_str("any"),
            Platforms::Binary(tags) => write_dotted(f, tags),
        }
    }
}

/// The compressed tag set of a wheel name: `py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelTags {
    pub python: Vec<String>,
    pub abi: Vec<String>,
    pub platform: Platforms,
}

impl fmt::Display for WheelTags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_dotted(f, &self.python)?;
        f.write_str("-")?;
        write_dotted(f, &self.abi)?;
        write!(f, "-{}", self.platform)
    }
}

fn write_dotted<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(".")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// `mcp_sidecar-0.1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl`, as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFilename {
    pub name: DistName,
    pub version: Version,
    pub build: Option<BuildTag>,
    pub tags: WheelTags,
}

impl WheelFilename {
    pub fn parse(file_name: &str) -> Result<Self, FilenameError> {
        let stem = file_name
            .strip_suffix(".whl")
            .ok_or_else(|| FilenameError::NotAWheel(file_name.to_string()))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build, py, abi, plat) = match parts.as_slice() {
            [n, v, p, a, pl] => (*n, *v, None, *p, *a, *pl),
            [n, v, b, p, a, pl] => (*n, *v, Some(*b), *p, *a, *pl),
            _ => return Err(FilenameError::BadShape(file_name.to_string())),
        };
        let dotted = |s: &str| -> Result<Vec<String>, FilenameError> {
            let items: Vec<String> = s.split('.').map(str::to_string).collect();
            if items.iter().any(String::is_empty) {
                return Err(FilenameError::BadShape(file_name.to_string()));
            }
            Ok(items)
        };
        let named = |source| FilenameError::Name {
            file: file_name.to_string(),
            source,
        };
        let platform = if plat == "any" {
            Platforms::Any
        } else {
            let tags = dotted(plat)?
                .iter()
                .map(|t| PlatformTag::parse(t))
                .collect::<Result<_, _>>()
                .map_err(|source| FilenameError::Tag {
                    file: file_name.to_string(),
                    source,
                })?;
            Platforms::Binary(tags)
        };
        Ok(WheelFilename {
            name: DistName::parse(name).map_err(named)?,
            version: Version::parse(version).map_err(named)?,
            build: build.map(BuildTag::parse).transpose().map_err(named)?,
            tags: WheelTags {
                python: dotted(py)?,
                abi: dotted(abi)?,
                platform,
            },
        })
    }

    /// A `py3-none-PLATFORM` wheel: pure Python plus one native binary, no ABI ties.
    pub fn new(name: &DistName, version: &Version, platform: Vec<PlatformTag>) -> Self {
        WheelFilename {
            name: name.clone(),
            version: version.clone(),
            build: None,
            tags: WheelTags {
                python: vec!["py3".to_string()],
                abi: vec!["none".to_string()],
                platform: Platforms::Binary(platform),
            },
        }
    }

    /// The binary platforms this wheel promises (empty for a pure wheel).
    pub fn platforms(&self) -> &[PlatformTag] {
        self.tags.platform.tags()
    }

    /// True for `any`: a pure wheel that carries no binary.
    pub fn is_pure(&self) -> bool {
        self.tags.platform == Platforms::Any
    }

    /// The expanded tag triples, as `Tag:` lines in WHEEL list them (`py3-none-win_amd64`).
    pub fn expanded_tags(&self) -> Vec<String> {
        let platforms: Vec<String> = match &self.tags.platform {
            Platforms::Any => vec!["any".to_string()],
            Platforms::Binary(tags) => tags.iter().map(ToString::to_string).collect(),
        };
        let mut out = Vec::new();
        for py in &self.tags.python {
            for abi in &self.tags.abi {
                for plat in &platforms {
                    out.push(format!("{py}-{abi}-{plat}"));
                }
            }
        }
        out
    }

    /// `mcp_sidecar-0.1.0.dist-info`
    pub fn dist_info_dir(&self) -> String {
        format!("{}-{}.dist-info", self.name.file_form(), self.version)
    }
}

impl fmt::Display for WheelFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.name.file_form(), self.version)?;
        if let Some(b) = &self.build {
            write!(f, "-{b}")?;
        }
        write!(f, "-{}.whl", self.tags)
    }
}

impl serde::Serialize for WheelFilename {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `mcp_sidecar-0.1.0.tar.gz`, as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdistFilename {
    pub name: DistName,
    pub version: Version,
}

impl SdistFilename {
    pub fn parse(file_name: &str) -> Result<Self, FilenameError> {
        let not = || FilenameError::NotAnSdist(file_name.to_string());
        let stem = file_name.strip_suffix(".tar.gz").ok_or_else(not)?;
        let (name, version) = stem.rsplit_once('-').ok_or_else(not)?;
        let named = |source| FilenameError::Name {
            file: file_name.to_string(),
            source,
        };
        Ok(SdistFilename {
            name: DistName::parse(name).map_err(named)?,
            version: Version::parse(version).map_err(named)?,
        })
    }
}

impl fmt::Display for SdistFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}.tar.gz", self.name.file_form(), self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str = "mcp_sidecar-0.1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";

    #[test]
    fn parses_and_prints_back() {
        let w = WheelFilename::parse(LINUX).unwrap();
        assert_eq!(w.name.file_form(), "mcp_sidecar");
        assert_eq!(w.version.to_string(), "0.1.0");
        assert_eq!(w.platforms().len(), 2);
        assert_eq!(w.to_string(), LINUX);
        assert_eq!(
            w.tags.platform.to_string(),
            "manylinux_2_17_x86_64.manylinux2014_x86_64"
        );
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
        assert_eq!(w.build.as_ref().map(|b| b.number), Some(7));
        assert!(w.is_pure());
        assert_eq!(w.to_string(), "a-1-7-py3-none-any.whl");
        assert!(matches!(
            WheelFilename::parse("a-1.tar.gz"),
            Err(FilenameError::NotAWheel(_))
        ));
        assert!(matches!(
            WheelFilename::parse("a-1-py3.whl"),
            Err(FilenameError::BadShape(_))
        ));
        assert!(matches!(
            WheelFilename::parse("a-1-x7-py3-none-any.whl"),
            Err(FilenameError::Name { .. })
        ));
        let err = WheelFilename::parse("a-1-py3-none-solaris_sparc.whl").unwrap_err();
        assert!(matches!(err, FilenameError::Tag { .. }));
        assert!(err.to_string().contains("solaris_sparc"));
    }

    #[test]
    fn a_semver_prerelease_is_named_in_pep440_form() {
        let name = DistName::parse("mcp-sidecar").unwrap();
        let version = Version::parse("1.0.0-beta.1").unwrap();
        let tag = PlatformTag::parse("win_amd64").unwrap();
        let wheel = WheelFilename::new(&name, &version, vec![tag]);
        assert_eq!(
            wheel.to_string(),
            "mcp_sidecar-1.0.0b1-py3-none-win_amd64.whl"
        );
        assert_eq!(WheelFilename::parse(&wheel.to_string()).unwrap(), wheel);
        let sdist = SdistFilename { name, version };
        assert_eq!(sdist.to_string(), "mcp_sidecar-1.0.0b1.tar.gz");
        assert_eq!(SdistFilename::parse(&sdist.to_string()).unwrap(), sdist);
    }

    #[test]
    fn sdist_names_parse() {
        let s = SdistFilename::parse("mcp_sidecar-0.1.0.tar.gz").unwrap();
        assert_eq!(s.name.normalized(), "mcp-sidecar");
        assert!(SdistFilename::parse("mcp_sidecar.tar.gz").is_err());
        assert!(SdistFilename::parse("mcp_sidecar-0.1.0.zip").is_err());
        assert!(SdistFilename::parse("mcp_sidecar-x.tar.gz").is_err());
    }
}
