//! Platform tags: every spelling the package index accepts, parsed once into a typed value that
//! also knows what binary it promises. Printing a tag gives back the exact spelling it was read from.

use std::fmt;

/// A CPU architecture. Each OS family spells it its own way in tags (see `SPELLINGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    X86,
    X86_64,
    Aarch64,
    Armv6l,
    Armv7l,
    Ppc,
    Ppc64,
    Ppc64le,
    S390x,
    Riscv64,
}

impl Arch {
    pub const ALL: [Arch; 10] = [
        Arch::X86,
        Arch::X86_64,
        Arch::Aarch64,
        Arch::Armv6l,
        Arch::Armv7l,
        Arch::Ppc,
        Arch::Ppc64,
        Arch::Ppc64le,
        Arch::S390x,
        Arch::Riscv64,
    ];

    /// Rust's name for the architecture, as in the first part of a target triple.
    pub fn triple_name(self) -> &'static str {
        match self {
            Arch::X86 => "i686",
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Armv6l => "arm",
            Arch::Armv7l => "armv7",
            Arch::Ppc => "powerpc",
            Arch::Ppc64 => "powerpc64",
            Arch::Ppc64le => "powerpc64le",
            Arch::S390x => "s390x",
            Arch::Riscv64 => "riscv64gc",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Macos,
    Windows,
    Ios,
    Android,
}

/// How each tag family spells an architecture; parsing and printing both read this one table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Linux,
    Macos,
    Windows,
    Ios,
    Android,
}

const SPELLINGS: &[(Family, &str, Arch)] = &[
    (Family::Linux, "x86_64", Arch::X86_64),
    (Family::Linux, "i686", Arch::X86),
    (Family::Linux, "aarch64", Arch::Aarch64),
    (Family::Linux, "armv6l", Arch::Armv6l),
    (Family::Linux, "armv7l", Arch::Armv7l),
    (Family::Linux, "ppc64", Arch::Ppc64),
    (Family::Linux, "ppc64le", Arch::Ppc64le),
    (Family::Linux, "s390x", Arch::S390x),
    (Family::Linux, "riscv64", Arch::Riscv64),
    (Family::Macos, "x86_64", Arch::X86_64),
    (Family::Macos, "arm64", Arch::Aarch64),
    (Family::Macos, "i386", Arch::X86),
    (Family::Macos, "ppc", Arch::Ppc),
    (Family::Macos, "ppc64", Arch::Ppc64),
    (Family::Windows, "win_amd64", Arch::X86_64),
    (Family::Windows, "win_arm64", Arch::Aarch64),
    (Family::Windows, "win32", Arch::X86),
    (Family::Ios, "arm64", Arch::Aarch64),
    (Family::Ios, "x86_64", Arch::X86_64),
    (Family::Android, "arm64_v8a", Arch::Aarch64),
    (Family::Android, "armeabi_v7a", Arch::Armv7l),
    (Family::Android, "x86_64", Arch::X86_64),
    (Family::Android, "x86", Arch::X86),
];

fn arch_of(family: Family, spelling: &str) -> Option<Arch> {
    SPELLINGS
        .iter()
        .find(|(f, s, _)| *f == family && *s == spelling)
        .map(|(_, _, a)| *a)
}

fn spelling(family: Family, arch: Arch) -> &'static str {
    SPELLINGS
        .iter()
        .find(|(f, _, a)| *f == family && *a == arch)
        .map_or("unknown", |(_, s, _)| s)
}

/// The architectures the manylinux and musllinux policies define (PEP 600, PEP 656).
const POLICY_ARCHES: &[Arch] = &[
    Arch::X86_64,
    Arch::X86,
    Arch::Aarch64,
    Arch::Armv7l,
    Arch::Ppc64,
    Arch::Ppc64le,
    Arch::S390x,
    Arch::Riscv64,
];

/// A multi-architecture macOS spelling; each names the slices its binaries must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FatArch {
    Universal2,
    Universal,
    Intel,
    Fat,
    Fat3,
    Fat32,
    Fat64,
}

const FAT_SPELLINGS: &[(&str, FatArch, &[Arch])] = &[
    (
        "universal2",
        FatArch::Universal2,
        &[Arch::X86_64, Arch::Aarch64],
    ),
    (
        "universal",
        FatArch::Universal,
        &[Arch::X86, Arch::Ppc, Arch::Ppc64, Arch::X86_64],
    ),
    ("intel", FatArch::Intel, &[Arch::X86, Arch::X86_64]),
    ("fat", FatArch::Fat, &[Arch::X86, Arch::Ppc]),
    ("fat3", FatArch::Fat3, &[Arch::X86, Arch::Ppc, Arch::X86_64]),
    ("fat32", FatArch::Fat32, &[Arch::X86, Arch::Ppc]),
    ("fat64", FatArch::Fat64, &[Arch::X86_64, Arch::Ppc64]),
];

impl FatArch {
    fn entry(self) -> &'static (&'static str, FatArch, &'static [Arch]) {
        FAT_SPELLINGS
            .iter()
            .find(|(_, f, _)| *f == self)
            .expect("every FatArch has a spelling")
    }

    /// The slices a binary under this tag must contain.
    pub fn slices(self) -> &'static [Arch] {
        self.entry().2
    }
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
    #[error("platform tag `{0}` is not one the package index defines (manylinux, musllinux, macosx, win, ios, android, linux)")]
    Unknown(String),
    #[error("version `{0}` is not of the form MAJOR.MINOR (two numbers, e.g. 2.17)")]
    BadVersion(String),
}

/// The PEP 513/571/599 aliases and the glibc each stands for.
const LEGACY_MANYLINUX: &[(&str, Version2)] = &[
    ("manylinux1", Version2::new(2, 5)),
    ("manylinux2010", Version2::new(2, 12)),
    ("manylinux2014", Version2::new(2, 17)),
];

/// One platform tag, e.g. `manylinux_2_17_x86_64`, `manylinux2014_x86_64`, `macosx_11_0_arm64`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PlatformTag {
    /// PEP 600 `manylinux_X_Y_ARCH`; `legacy` records the alias spelling (`manylinux2014`), which
    /// exists only for glibc 2.5, 2.12 and 2.17.
    Manylinux {
        glibc: Version2,
        arch: Arch,
        legacy: bool,
    },
    /// PEP 656 `musllinux_X_Y_ARCH`.
    Musllinux {
        musl: Version2,
        arch: Arch,
    },
    Macos {
        version: Version2,
        arch: Arch,
    },
    /// `macosx_X_Y_universal2` and the older multi-architecture spellings.
    MacosFat {
        version: Version2,
        fat: FatArch,
    },
    /// `win32`, `win_amd64`, `win_arm64`.
    Windows {
        arch: Arch,
    },
    /// PEP 730 `ios_X_Y_ARCH_iphoneos` / `_iphonesimulator`.
    Ios {
        version: Version2,
        arch: Arch,
        simulator: bool,
    },
    /// PEP 738 `android_API_ABI`.
    Android {
        api: u32,
        arch: Arch,
    },
    /// `linux_ARCH`: parseable, but the index refuses it except on 32-bit ARM.
    Linux {
        arch: Arch,
    },
}

/// A canonical decimal (no sign, no leading zero), so that every parsed tag prints back as read.
fn number(s: &str) -> Option<u32> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// `X_Y_REST` → (X.Y, REST).
fn version_and_rest(s: &str) -> Option<(Version2, &str)> {
    let mut parts = s.splitn(3, '_');
    let (major, minor, rest) = (parts.next()?, parts.next()?, parts.next()?);
    Some((Version2::new(number(major)?, number(minor)?), rest))
}

impl PlatformTag {
    pub fn parse(tag: &str) -> Result<Self, TagError> {
        Self::parse_known(tag).ok_or_else(|| TagError::Unknown(tag.to_string()))
    }

    fn parse_known(tag: &str) -> Option<Self> {
        if let Some(arch) = arch_of(Family::Windows, tag) {
            return Some(PlatformTag::Windows { arch });
        }
        let (prefix, rest) = tag.split_once('_')?;
        if let Some((_, glibc)) = LEGACY_MANYLINUX.iter().find(|(p, _)| *p == prefix) {
            let arch = arch_of(Family::Linux, rest)?;
            return Some(PlatformTag::Manylinux {
                glibc: *glibc,
                arch,
                legacy: true,
            });
        }
        Some(match prefix {
            "linux" => PlatformTag::Linux {
                arch: arch_of(Family::Linux, rest)?,
            },
            "manylinux" => {
                let (glibc, arch) = version_and_rest(rest)?;
                let arch = arch_of(Family::Linux, arch)?;
                PlatformTag::Manylinux {
                    glibc,
                    arch,
                    legacy: false,
                }
            }
            "musllinux" => {
                let (musl, arch) = version_and_rest(rest)?;
                PlatformTag::Musllinux {
                    musl,
                    arch: arch_of(Family::Linux, arch)?,
                }
            }
            "macosx" => {
                let (version, arch) = version_and_rest(rest)?;
                match FAT_SPELLINGS.iter().find(|(s, _, _)| *s == arch) {
                    Some((_, fat, _)) => PlatformTag::MacosFat { version, fat: *fat },
                    None => PlatformTag::Macos {
                        version,
                        arch: arch_of(Family::Macos, arch)?,
                    },
                }
            }
            "ios" => {
                let (version, rest) = version_and_rest(rest)?;
                let (arch, sdk) = rest.rsplit_once('_')?;
                let arch = arch_of(Family::Ios, arch)?;
                let simulator = match sdk {
                    "iphonesimulator" => true,
                    // There is no x86_64 iPhone: only the simulator runs that slice.
                    "iphoneos" if arch == Arch::Aarch64 => false,
                    _ => return None,
                };
                PlatformTag::Ios {
                    version,
                    arch,
                    simulator,
                }
            }
            "android" => {
                let (api, abi) = rest.split_once('_')?;
                PlatformTag::Android {
                    api: number(api)?,
                    arch: arch_of(Family::Android, abi)?,
                }
            }
            _ => return None,
        })
    }

    pub fn os(&self) -> Os {
        match self {
            PlatformTag::Manylinux { .. }
            | PlatformTag::Musllinux { .. }
            | PlatformTag::Linux { .. } => Os::Linux,
            PlatformTag::Macos { .. } | PlatformTag::MacosFat { .. } => Os::Macos,
            PlatformTag::Windows { .. } => Os::Windows,
            PlatformTag::Ios { .. } => Os::Ios,
            PlatformTag::Android { .. } => Os::Android,
        }
    }

    /// Every architecture a binary under this tag must carry: one, or each slice of a fat tag.
    pub fn arches(&self) -> &'static [Arch] {
        match self {
            PlatformTag::MacosFat { fat, .. } => fat.slices(),
            PlatformTag::Manylinux { arch, .. }
            | PlatformTag::Musllinux { arch, .. }
            | PlatformTag::Macos { arch, .. }
            | PlatformTag::Windows { arch }
            | PlatformTag::Ios { arch, .. }
            | PlatformTag::Android { arch, .. }
            | PlatformTag::Linux { arch } => std::slice::from_ref(static_arch(*arch)),
        }
    }

    /// The architecture of a thin tag; for a fat tag, its first slice.
    pub fn arch(&self) -> Arch {
        self.arches()[0]
    }

    /// Why PyPI would refuse this tag on upload, if it would.
    pub fn pypi_refusal(&self) -> Option<String> {
        let arch_refused = |allowed: &[Arch], arch: &Arch| {
            (!allowed.contains(arch)).then(|| {
                format!(
                    "platform tag `{self}` is not accepted by PyPI: no such policy for {}",
                    spelling(Family::Linux, *arch)
                )
            })
        };
        match self {
            PlatformTag::Linux {
                arch: Arch::Armv6l | Arch::Armv7l,
            } => None,
            PlatformTag::Linux { arch } => Some(format!(
                "platform tag `{self}` is not accepted by PyPI; use manylinux_2_17_{}",
                spelling(Family::Linux, *arch)
            )),
            PlatformTag::Manylinux {
                glibc,
                arch,
                legacy: true,
            } if *glibc < Version2::new(2, 17) => arch_refused(&[Arch::X86_64, Arch::X86], arch),
            PlatformTag::Manylinux {
                arch, legacy: true, ..
            } => arch_refused(&POLICY_ARCHES[..7], arch),
            PlatformTag::Manylinux { arch, .. } | PlatformTag::Musllinux { arch, .. } => {
                arch_refused(POLICY_ARCHES, arch)
            }
            PlatformTag::Macos { version, .. } | PlatformTag::MacosFat { version, .. }
                if version.major >= 11 && version.minor != 0 =>
            {
                let arch = self.to_string();
                let arch = arch.splitn(4, '_').nth(3).unwrap_or_default();
                Some(format!(
                    "platform tag `{self}` is not accepted by PyPI: macOS 11 and later tags must have minor 0 (macosx_{}_0_{arch})",
                    version.major
                ))
            }
            _ => None,
        }
    }

    /// What a binary carried under this tag must look like.
    pub fn expectation(&self) -> BinaryExpectation {
        let format = match self.os() {
            Os::Linux | Os::Android => BinaryFormat::Elf,
            Os::Macos | Os::Ios => BinaryFormat::MachO,
            Os::Windows => BinaryFormat::Pe,
        };
        let (max_glibc, max_macos) = match self {
            PlatformTag::Manylinux { glibc, .. } => (Some(*glibc), None),
            PlatformTag::Macos { version, .. } | PlatformTag::MacosFat { version, .. } => {
                (None, Some(*version))
            }
            _ => (None, None),
        };
        let arches = self.arches().to_vec();
        BinaryExpectation {
            format,
            // macOS kills arm64 code that is unsigned or whose signature does not match.
            needs_code_signature: self.os() == Os::Macos && arches.contains(&Arch::Aarch64),
            arches,
            max_glibc,
            musl: matches!(self, PlatformTag::Musllinux { .. }),
            android: self.os() == Os::Android,
            max_macos,
            exe_suffix: if format == BinaryFormat::Pe {
                ".exe"
            } else {
                ""
            },
        }
    }
}

/// A `'static` home for one architecture, so thin and fat tags both answer with a slice.
fn static_arch(arch: Arch) -> &'static Arch {
    SPELLINGS
        .iter()
        .map(|(_, _, a)| a)
        .find(|a| **a == arch)
        .expect("every Arch has a spelling")
}

impl fmt::Display for PlatformTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let linux = |arch: &Arch| spelling(Family::Linux, *arch);
        match self {
            PlatformTag::Manylinux {
                glibc,
                arch,
                legacy,
            } => match LEGACY_MANYLINUX.iter().find(|(_, v)| *legacy && v == glibc) {
                Some((alias, _)) => write!(f, "{alias}_{}", linux(arch)),
                None => write!(
                    f,
                    "manylinux_{}_{}_{}",
                    glibc.major,
                    glibc.minor,
                    linux(arch)
                ),
            },
            PlatformTag::Musllinux { musl, arch } => {
                write!(f, "musllinux_{}_{}_{}", musl.major, musl.minor, linux(arch))
            }
            PlatformTag::Macos { version, arch } => {
                write!(
                    f,
                    "macosx_{}_{}_{}",
                    version.major,
                    version.minor,
                    spelling(Family::Macos, *arch)
                )
            }
            PlatformTag::MacosFat { version, fat } => {
                write!(
                    f,
                    "macosx_{}_{}_{}",
                    version.major,
                    version.minor,
                    fat.entry().0
                )
            }
            PlatformTag::Windows { arch } => f.write_str(spelling(Family::Windows, *arch)),
            PlatformTag::Ios {
                version,
                arch,
                simulator,
            } => write!(
                f,
                "ios_{}_{}_{}_{}",
                version.major,
                version.minor,
                spelling(Family::Ios, *arch),
                if *simulator {
                    "iphonesimulator"
                } else {
                    "iphoneos"
                }
            ),
            PlatformTag::Android { api, arch } => {
                write!(f, "android_{api}_{}", spelling(Family::Android, *arch))
            }
            PlatformTag::Linux { arch } => write!(f, "linux_{}", linux(arch)),
        }
    }
}

/// The facts `cargo xtask check` enforces on the binary a tag carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BinaryExpectation {
    pub format: BinaryFormat,
    /// Every slice the binary must contain (one unless the tag is fat).
    pub arches: Vec<Arch>,
    /// Newest `GLIBC_x.y` symbol version the ELF may need.
    pub max_glibc: Option<Version2>,
    /// musllinux: no glibc at all, and musl's loader when dynamic.
    pub musl: bool,
    /// Android: Bionic's libraries, no glibc symbol versions.
    pub android: bool,
    /// Newest minimum macOS (minos) the Mach-O may declare.
    pub max_macos: Option<Version2>,
    pub needs_code_signature: bool,
    pub exe_suffix: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling family the index accepts (and `linux_*`, which it mostly refuses).
    pub(crate) const SPELLED: &[&str] = &[
        "manylinux1_x86_64",
        "manylinux1_i686",
        "manylinux2010_x86_64",
        "manylinux2010_i686",
        "manylinux2014_x86_64",
        "manylinux2014_i686",
        "manylinux2014_aarch64",
        "manylinux2014_armv7l",
        "manylinux2014_ppc64",
        "manylinux2014_ppc64le",
        "manylinux2014_s390x",
        "manylinux_2_17_x86_64",
        "manylinux_2_5_i686",
        "manylinux_2_28_aarch64",
        "manylinux_2_31_armv7l",
        "manylinux_2_17_ppc64le",
        "manylinux_2_17_s390x",
        "manylinux_2_39_riscv64",
        "musllinux_1_1_x86_64",
        "musllinux_1_2_aarch64",
        "musllinux_1_2_i686",
        "musllinux_1_2_armv7l",
        "musllinux_1_2_ppc64le",
        "musllinux_1_2_s390x",
        "musllinux_1_2_riscv64",
        "macosx_10_9_x86_64",
        "macosx_11_0_arm64",
        "macosx_10_9_universal2",
        "macosx_10_6_intel",
        "macosx_10_4_fat",
        "macosx_10_5_fat3",
        "macosx_10_5_fat32",
        "macosx_10_5_fat64",
        "macosx_10_5_universal",
        "macosx_10_4_i386",
        "macosx_10_4_ppc",
        "macosx_10_5_ppc64",
        "win32",
        "win_amd64",
        "win_arm64",
        "ios_13_0_arm64_iphoneos",
        "ios_13_0_arm64_iphonesimulator",
        "ios_12_0_x86_64_iphonesimulator",
        "android_21_arm64_v8a",
        "android_21_armeabi_v7a",
        "android_24_x86",
        "android_21_x86_64",
        "linux_x86_64",
        "linux_armv7l",
        "linux_armv6l",
    ];

    #[test]
    fn every_spelling_round_trips_and_the_index_takes_it() {
        for tag in SPELLED {
            let parsed = PlatformTag::parse(tag).unwrap_or_else(|e| panic!("{tag}: {e}"));
            assert_eq!(parsed.to_string(), *tag);
            let refused = parsed.pypi_refusal();
            assert_eq!(
                refused.is_some(),
                *tag == "linux_x86_64",
                "{tag}: {refused:?}"
            );
        }
    }

    #[test]
    fn aliases_are_their_floors() {
        for (alias, pep600) in [
            ("manylinux1_x86_64", "manylinux_2_5_x86_64"),
            ("manylinux2010_i686", "manylinux_2_12_i686"),
            ("manylinux2014_aarch64", "manylinux_2_17_aarch64"),
        ] {
            let (a, b) = (
                PlatformTag::parse(alias).unwrap(),
                PlatformTag::parse(pep600).unwrap(),
            );
            assert_eq!(a.expectation(), b.expectation());
            assert_eq!(b.to_string(), pep600);
        }
        let floor = |t: &str| PlatformTag::parse(t).unwrap().expectation().max_glibc;
        assert_eq!(floor("manylinux2010_x86_64"), Some(Version2::new(2, 12)));
        assert_eq!(floor("manylinux1_i686"), Some(Version2::new(2, 5)));
    }

    #[test]
    fn fat_tags_want_every_slice() {
        let uni = PlatformTag::parse("macosx_10_9_universal2")
            .unwrap()
            .expectation();
        assert_eq!(uni.arches, [Arch::X86_64, Arch::Aarch64]);
        assert!(uni.needs_code_signature);
        let intel = PlatformTag::parse("macosx_10_6_intel")
            .unwrap()
            .expectation();
        assert_eq!(intel.arches, [Arch::X86, Arch::X86_64]);
        assert!(!intel.needs_code_signature);
    }

    #[test]
    fn pypi_refusals_name_the_fix() {
        let refusal = |t: &str| PlatformTag::parse(t).unwrap().pypi_refusal();
        assert!(refusal("linux_x86_64")
            .unwrap()
            .contains("manylinux_2_17_x86_64"));
        assert!(refusal("macosx_11_1_arm64")
            .unwrap()
            .contains("macosx_11_0_arm64"));
        assert!(refusal("macosx_12_3_universal2")
            .unwrap()
            .contains("macosx_12_0_universal2"));
        assert!(refusal("manylinux1_aarch64").is_some());
        assert!(refusal("manylinux2014_riscv64").is_some());
        assert!(refusal("manylinux_2_17_armv6l").is_some());
        assert!(refusal("macosx_10_12_x86_64").is_none());
    }

    #[test]
    fn expectations_follow_the_tag() {
        let exp = |t: &str| PlatformTag::parse(t).unwrap().expectation();
        let arm = exp("macosx_11_0_arm64");
        assert_eq!(arm.format, BinaryFormat::MachO);
        assert!(arm.needs_code_signature);
        assert_eq!(arm.max_macos, Some(Version2::new(11, 0)));
        let win = exp("win32");
        assert_eq!(
            (win.format, win.exe_suffix, win.arches[0]),
            (BinaryFormat::Pe, ".exe", Arch::X86)
        );
        let musl = exp("musllinux_1_2_x86_64");
        assert!(musl.musl && musl.max_glibc.is_none());
        assert_eq!(exp("android_21_arm64_v8a").format, BinaryFormat::Elf);
        assert_eq!(exp("ios_13_0_arm64_iphoneos").format, BinaryFormat::MachO);
        assert!(!exp("ios_13_0_arm64_iphoneos").needs_code_signature);
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
            "win_ia32",
            "win",
            "macosx_x_0_arm64",
            "macosx_11_0_aarch64",
            "macosx_10_09_x86_64",
            "manylinux_+2_17_x86_64",
            "manylinux_2_17_sparc",
            "manylinux2014",
            "manylinux3_x86_64",
            "musllinux_1_x86_64",
            "macosx_11",
            "ios_13_0_x86_64_iphoneos",
            "ios_13_0_arm64",
            "android_21_arm64",
            "android_x_x86",
            "linux_i386",
        ] {
            assert!(PlatformTag::parse(tag).is_err(), "{tag}");
        }
    }
}
