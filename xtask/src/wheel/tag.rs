//! Platform tags: parsed once into a typed value that also knows what binary it promises.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The spelling wheel tags use (`arm64` on macOS, `amd64` on Windows).
    fn tag_spelling(self, os: Os) -> &'static str {
        match (self, os) {
            (Arch::X86_64, Os::Windows) => "amd64",
            (Arch::Aarch64, Os::Windows | Os::Macos) => "arm64",
            (Arch::X86_64, _) => "x86_64",
            (Arch::Aarch64, _) => "aarch64",
        }
    }

    /// Rust's name for the architecture, as in the first part of a target triple.
    pub fn triple_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Macos,
    Windows,
}

/// The executable format a tag's binary must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum BinaryFormat {
    Elf,
    MachO,
    Pe,
}

/// A `major.minor` version (glibc, macOS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version2 {
    pub major: u32,
    pub minor: u32,
}

impl Version2 {
    pub const fn new(major: u32, minor: u32) -> Self {
        Version2 { major, minor }
    }

    /// Reads a version found in a binary: `2.17`, `11` (minor 0) or `2.2.5` (patch ignored).
    pub fn parse(s: &str) -> Result<Self, TagError> {
        let mut parts = s.trim().split('.');
        let num = |p: Option<&str>| -> Result<u32, TagError> {
            p.unwrap_or("0")
                .parse()
                .map_err(|_| TagError::BadVersion(s.to_string()))
        };
        let major = num(parts.next())?;
        let minor = num(parts.next())?;
        Ok(Version2 { major, minor })
    }

    /// Parses exactly `MAJOR.MINOR` (`2.17`, `11.0`), as configuration must spell it.
    pub fn parse_exact(s: &str) -> Result<Self, TagError> {
        let bad = || TagError::BadVersion(s.to_string());
        let (major, minor) = s.split_once('.').ok_or_else(bad)?;
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return Err(bad());
        }
        Ok(Version2 {
            major: major.parse().map_err(|_| bad())?,
            minor: minor.parse().map_err(|_| bad())?,
        })
    }
}

impl fmt::Display for Version2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl serde::Serialize for Version2 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Version2 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Version2::parse_exact(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("platform tag `{0}` is not one this project understands (expected manylinux_X_Y_ARCH, macosx_X_Y_ARCH, win_amd64 or win_arm64)")]
    Unknown(String),
    #[error("version `{0}` is not of the form MAJOR.MINOR (two numbers, e.g. 2.17)")]
    BadVersion(String),
}

/// One platform tag, e.g. `manylinux_2_17_x86_64`, `manylinux2014_x86_64`, `macosx_11_0_arm64`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PlatformTag {
    /// PEP 600 `manylinux_X_Y_ARCH`; `legacy` records the PEP 599 alias spelling (`manylinux2014`).
    Manylinux {
        glibc: Version2,
        arch: Arch,
        legacy: bool,
    },
    Macos {
        version: Version2,
        arch: Arch,
    },
    Windows {
        arch: Arch,
    },
    /// `linux_ARCH`: parseable, but PyPI refuses it.
    Linux {
        arch: Arch,
    },
}

impl PlatformTag {
    pub fn parse(tag: &str) -> Result<Self, TagError> {
        let unknown = || TagError::Unknown(tag.to_string());
        if let Some(arch) = tag.strip_prefix("win_") {
            let arch = match arch {
                "amd64" => Arch::X86_64,
                "arm64" => Arch::Aarch64,
                _ => return Err(unknown()),
            };
            return Ok(PlatformTag::Windows { arch });
        }
        if let Some(arch) = tag.strip_prefix("linux_") {
            return Ok(PlatformTag::Linux {
                arch: parse_arch(arch).ok_or_else(unknown)?,
            });
        }
        if let Some(rest) = tag.strip_prefix("manylinux2014_") {
            return Ok(PlatformTag::Manylinux {
                glibc: Version2::new(2, 17),
                arch: parse_arch(rest).ok_or_else(unknown)?,
                legacy: true,
            });
        }
        let (os, rest) = if let Some(rest) = tag.strip_prefix("manylinux_") {
            (Os::Linux, rest)
        } else if let Some(rest) = tag.strip_prefix("macosx_") {
            (Os::Macos, rest)
        } else {
            return Err(unknown());
        };
        // `X_Y_ARCH`, where ARCH itself may contain `_` (x86_64).
        let mut parts = rest.splitn(3, '_');
        let (Some(major), Some(minor), Some(arch)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(unknown());
        };
        let version = Version2 {
            major: major.parse().map_err(|_| unknown())?,
            minor: minor.parse().map_err(|_| unknown())?,
        };
        let arch = parse_arch(arch).ok_or_else(unknown)?;
        Ok(match os {
            Os::Linux => PlatformTag::Manylinux {
                glibc: version,
                arch,
                legacy: false,
            },
            _ => PlatformTag::Macos { version, arch },
        })
    }

    pub fn os(&self) -> Os {
        match self {
            PlatformTag::Manylinux { .. } | PlatformTag::Linux { .. } => Os::Linux,
            PlatformTag::Macos { .. } => Os::Macos,
            PlatformTag::Windows { .. } => Os::Windows,
        }
    }

    pub fn arch(&self) -> Arch {
        match self {
            PlatformTag::Manylinux { arch, .. }
            | PlatformTag::Macos { arch, .. }
            | PlatformTag::Windows { arch }
            | PlatformTag::Linux { arch } => *arch,
        }
    }

    /// Why PyPI would refuse this tag on upload, if it would.
    pub fn pypi_refusal(&self) -> Option<String> {
        match self {
            PlatformTag::Linux { arch } => Some(format!(
                "platform tag `{self}` is not accepted by PyPI; use manylinux_2_17_{}",
                arch.tag_spelling(Os::Linux)
            )),
            PlatformTag::Macos { version, arch } if version.major >= 11 && version.minor != 0 => {
                Some(format!(
                    "platform tag `{self}` is not accepted by PyPI: macOS 11 and later tags must have minor 0 (macosx_{}_0_{})",
                    version.major,
                    arch.tag_spelling(Os::Macos)
                ))
            }
            _ => None,
        }
    }

    /// What a binary carried under this tag must look like.
    pub fn expectation(&self) -> BinaryExpectation {
        let (format, max_glibc, max_macos) = match self {
            PlatformTag::Manylinux { glibc, .. } => (BinaryFormat::Elf, Some(*glibc), None),
            PlatformTag::Linux { .. } => (BinaryFormat::Elf, None, None),
            PlatformTag::Macos { version, .. } => (BinaryFormat::MachO, None, Some(*version)),
            PlatformTag::Windows { .. } => (BinaryFormat::Pe, None, None),
        };
        BinaryExpectation {
            format,
            arch: self.arch(),
            max_glibc,
            max_macos,
            // macOS kills arm64 code that is unsigned or whose signature does not match.
            needs_code_signature: format == BinaryFormat::MachO && self.arch() == Arch::Aarch64,
            exe_suffix: if format == BinaryFormat::Pe {
                ".exe"
            } else {
                ""
            },
        }
    }
}

fn parse_arch(s: &str) -> Option<Arch> {
    match s {
        "x86_64" | "amd64" => Some(Arch::X86_64),
        "aarch64" | "arm64" => Some(Arch::Aarch64),
        _ => None,
    }
}

impl fmt::Display for PlatformTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlatformTag::Manylinux {
                glibc,
                arch,
                legacy: true,
            } if *glibc == Version2::new(2, 17) => {
                write!(f, "manylinux2014_{}", arch.tag_spelling(Os::Linux))
            }
            PlatformTag::Manylinux { glibc, arch, .. } => write!(
                f,
                "manylinux_{}_{}_{}",
                glibc.major,
                glibc.minor,
                arch.tag_spelling(Os::Linux)
            ),
            PlatformTag::Macos { version, arch } => write!(
                f,
                "macosx_{}_{}_{}",
                version.major,
                version.minor,
                arch.tag_spelling(Os::Macos)
            ),
            PlatformTag::Windows { arch } => write!(f, "win_{}", arch.tag_spelling(Os::Windows)),
            PlatformTag::Linux { arch } => write!(f, "linux_{}", arch.tag_spelling(Os::Linux)),
        }
    }
}

/// The facts `cargo xtask check` enforces on the binary a tag carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BinaryExpectation {
    pub format: BinaryFormat,
    pub arch: Arch,
    /// Newest `GLIBC_x.y` symbol version the ELF may need.
    pub max_glibc: Option<Version2>,
    /// Newest minimum macOS (minos) the Mach-O may declare.
    pub max_macos: Option<Version2>,
    pub needs_code_signature: bool,
    pub exe_suffix: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_release_tag() {
        for tag in [
            "manylinux_2_17_x86_64",
            "manylinux2014_x86_64",
            "macosx_10_12_x86_64",
            "macosx_11_0_arm64",
            "win_amd64",
            "linux_x86_64",
        ] {
            assert_eq!(PlatformTag::parse(tag).unwrap().to_string(), tag);
        }
    }

    #[test]
    fn legacy_alias_is_the_same_floor() {
        let a = PlatformTag::parse("manylinux2014_x86_64").unwrap();
        let b = PlatformTag::parse("manylinux_2_17_x86_64").unwrap();
        assert_eq!(a.expectation(), b.expectation());
        assert_eq!(a.expectation().max_glibc, Some(Version2::new(2, 17)));
    }

    #[test]
    fn pypi_refusals_name_the_fix() {
        let linux = PlatformTag::parse("linux_x86_64").unwrap();
        assert!(linux
            .pypi_refusal()
            .unwrap()
            .contains("manylinux_2_17_x86_64"));
        let mac = PlatformTag::parse("macosx_11_1_arm64").unwrap();
        assert!(mac.pypi_refusal().unwrap().contains("macosx_11_0_arm64"));
        assert!(PlatformTag::parse("macosx_10_12_x86_64")
            .unwrap()
            .pypi_refusal()
            .is_none());
    }

    #[test]
    fn expectations_follow_the_tag() {
        let arm = PlatformTag::parse("macosx_11_0_arm64")
            .unwrap()
            .expectation();
        assert_eq!(arm.format, BinaryFormat::MachO);
        assert!(arm.needs_code_signature);
        assert_eq!(arm.max_macos, Some(Version2::new(11, 0)));
        let win = PlatformTag::parse("win_amd64").unwrap().expectation();
        assert_eq!((win.format, win.exe_suffix), (BinaryFormat::Pe, ".exe"));
    }

    #[test]
    fn version2_is_exactly_major_minor() {
        assert_eq!(Version2::parse_exact("2.17").unwrap(), Version2::new(2, 17));
        assert_eq!(Version2::parse_exact("11.0").unwrap().to_string(), "11.0");
        for bad in ["2.17.1", "11", "", "2.", ".1", "a.b", "2.1x", " 2.17"] {
            assert!(Version2::parse_exact(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Version2::parse("2.2.5").unwrap(), Version2::new(2, 2));
    }

    #[test]
    fn rejects_garbage() {
        for tag in [
            "",
            "any",
            "win32",
            "macosx_x_0_arm64",
            "manylinux_2_17_sparc",
            "macosx_11",
        ] {
            assert!(PlatformTag::parse(tag).is_err(), "{tag}");
        }
    }
}
