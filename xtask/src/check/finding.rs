//! Findings as data: every rule reports a `Kind` (a stable code), what is wrong and what is
//! expected. The caller decides how to print them (`report.rs`).

use std::fmt;
use std::path::PathBuf;

/// Which part of the contract a finding belongs to (the numbered rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// 1. Zip structure: what PyPI's upload validation refuses.
    Zip,
    /// 2. Wheel metadata: file name, WHEEL, METADATA, RECORD, platform tag.
    Metadata,
    /// 3. The one sidecar binary under `<package>/<native-dir>/`.
    Payload,
    /// 4. The binary against the tag it ships under.
    Binary,
    /// The source distribution.
    Sdist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// An opinion, not a refusal: the target OS and the index accept it. Fails `check --strict`.
    Warning,
    /// PyPI, pip or the target OS would refuse or break.
    Error,
}

impl Severity {
    /// `error` or `warning`, as the human lines and `--json` spell it.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! kinds {
    ($($variant:ident => $code:literal, $rule:ident, $severity:ident, $about:literal;)*) => {
        /// Every distinct defect the check can report. Tests match on these, not on message text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind { $($variant,)* }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            /// Stable kebab-case code, used in output and `--json`.
            pub fn code(self) -> &'static str {
                match self { $(Kind::$variant => $code,)* }
            }

            pub fn rule(self) -> Rule {
                match self { $(Kind::$variant => Rule::$rule,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Kind::$variant => Severity::$severity,)* }
            }

            /// One line on what the rule is (for `--explain`-style listings and docs).
            pub fn about(self) -> &'static str {
                match self { $(Kind::$variant => $about,)* }
            }
        }
    };
}

kinds! {
    ZipUnreadable => "zip-unreadable", Zip, Error, "not a zip archive: no end-of-central-directory record";
    ZipMalformed => "zip-malformed", Zip, Error, "inconsistent or out-of-bounds zip records (counts, sizes, offsets, overlaps, extras)";
    ZipDataDescriptor => "zip-data-descriptor", Zip, Error, "a member uses a data descriptor (general-purpose flag bit 3)";
    ZipDuplicateName => "zip-duplicate-name", Zip, Error, "two members share one name";
    ZipHeaderMismatch => "zip-header-mismatch", Zip, Error, "a local header disagrees with its central-directory entry (name, flags, method, CRC, sizes)";
    ZipComment => "zip-comment", Zip, Error, "an archive or member comment";
    ZipTrailingData => "zip-trailing-data", Zip, Error, "bytes after the end-of-central-directory record";
    ZipGap => "zip-gap", Zip, Error, "bytes that belong to no listed member (prepended data, hidden local entries)";
    ZipControlChar => "zip-control-char", Zip, Error, "a control character in a member name";
    ZipNameEncoding => "zip-name-encoding", Zip, Error, "a member name that is not UTF-8";
    ZipUnsafePath => "zip-unsafe-path", Zip, Error, "an absolute, `..`, drive-letter or backslash member path";
    ZipSymlink => "zip-symlink", Zip, Error, "a member stored as a symbolic link";
    ZipUnsupported => "zip-unsupported", Zip, Error, "encryption, multi-disk or a compression method other than stored/deflate";
    ZipCorruptData => "zip-corrupt-data", Zip, Error, "a member that does not inflate to its declared size and CRC-32";
    ZipTooLarge => "zip-too-large", Zip, Error, "members that declare more uncompressed bytes than the per-wheel budget (a zip bomb?)";

    WheelFilename => "wheel-filename", Metadata, Error, "the file name is not NAME-VERSION(-BUILD)-PY-ABI-PLATFORM.whl";
    WheelPlatformUnknown => "wheel-platform-unknown", Metadata, Error, "a platform tag the package index does not define";
    WheelPlatformRefused => "wheel-platform-refused", Metadata, Error, "a platform tag PyPI refuses (linux_* but 32-bit ARM, macOS 11+ with minor != 0, an arch the policy lacks)";
    WheelDistInfo => "wheel-dist-info", Metadata, Error, "no, or more than one, NAME-VERSION.dist-info directory";
    WheelMissingFile => "wheel-missing-file", Metadata, Error, "WHEEL, METADATA or RECORD is missing";
    WheelVersion => "wheel-version", Metadata, Error, "WHEEL has no Wheel-Version 1.x";
    WheelRootIsPurelib => "wheel-root-is-purelib", Metadata, Error, "Root-Is-Purelib does not match the wheel kind (false for platform wheels)";
    WheelTagMismatch => "wheel-tag-mismatch", Metadata, Error, "WHEEL Tag: lines differ from the file name's expanded tags";
    MetadataFormat => "metadata-format", Metadata, Error, "METADATA has no Metadata-Version 2.1 or later";
    MetadataName => "metadata-name", Metadata, Error, "METADATA Name differs from the file name (normalized)";
    MetadataVersion => "metadata-version", Metadata, Error, "METADATA Version differs from the file name";
    MetadataRequiresPython => "metadata-requires-python", Metadata, Warning, "METADATA has no Requires-Python";
    MetadataDescription => "metadata-description", Metadata, Warning, "METADATA or PKG-INFO without a long description or its Description-Content-Type (twine check --strict fails)";
    RecordMalformed => "record-malformed", Metadata, Error, "a RECORD row that is not path,hash,size CSV, or a path listed twice";
    RecordMissingEntry => "record-missing-entry", Metadata, Error, "a member RECORD does not list";
    RecordExtraEntry => "record-extra-entry", Metadata, Error, "a RECORD row for a file the wheel does not contain";
    RecordHashMismatch => "record-hash-mismatch", Metadata, Error, "a RECORD sha256 that does not match the member";
    RecordSizeMismatch => "record-size-mismatch", Metadata, Error, "a RECORD size that does not match the member";
    RecordBadHash => "record-bad-hash", Metadata, Error, "a RECORD hash that is not sha256=<urlsafe base64, no padding>";
    RecordSelfHash => "record-self-hash", Metadata, Error, "RECORD's own row carries a hash or size (both must be empty)";
    SbomMissing => "sbom-missing", Metadata, Error, "a platform wheel without <dist-info>/sboms/<binary>.cdx.json (PEP 770)";
    SbomInvalid => "sbom-invalid", Metadata, Error, "an SBOM that is not valid CycloneDX 1.5 JSON, or lacks the package, a crate's version or purl";

    PayloadMissingBinary => "payload-missing-binary", Payload, Error, "a platform wheel without its binary under <package>/<native-dir>/";
    PayloadExtraFile => "payload-extra-file", Payload, Error, "more than one file under <native-dir>/, or a binary in a pure wheel";
    PayloadNotExecutable => "payload-not-executable", Payload, Error, "the binary has no executable bit in its zip external attributes";
    PayloadNotRegular => "payload-not-regular", Payload, Error, "the binary is not stored as a regular file";
    PayloadWrongName => "payload-wrong-name", Payload, Error, "the binary is not named <binary>, plus .exe on Windows";

    BinaryUnparseable => "binary-unparseable", Binary, Error, "goblin cannot parse the binary";
    BinaryFormat => "binary-format", Binary, Error, "the executable format (ELF, Mach-O, PE; exe vs library) does not match the tag";
    BinaryArch => "binary-arch", Binary, Error, "the CPU architecture does not match the tag";
    ElfGlibcTooNew => "elf-glibc-too-new", Binary, Error, "a GLIBC_x.y symbol version newer than the manylinux floor";
    ElfCxxTooNew => "elf-cxx-too-new", Binary, Error, "a GLIBCXX_, CXXABI_ or GCC_ symbol version newer than the manylinux policy's";
    ElfGlibcOnMusl => "elf-glibc-on-musl", Binary, Error, "a musllinux binary that needs glibc (libc.so.6 or GLIBC_ versions)";
    ElfNeededNotAllowed => "elf-needed-not-allowed", Binary, Error, "a DT_NEEDED library neither on the tag's policy nor bundled where RPATH/RUNPATH $ORIGIN points";
    ElfRpath => "elf-rpath", Binary, Error, "DT_RPATH or DT_RUNPATH in the sidecar";
    ElfInterpreter => "elf-interpreter", Binary, Error, "a program interpreter other than the glibc (or musl) loader for the architecture";
    ElfNotStripped => "elf-not-stripped", Binary, Warning, "a .symtab or .debug_* section";
    MachoNoMinos => "macho-no-minos", Binary, Error, "neither LC_BUILD_VERSION nor LC_VERSION_MIN_MACOSX";
    MachoMinosTooNew => "macho-minos-too-new", Binary, Error, "minos newer than the tag's macOS version";
    MachoArm64LegacyMinos => "macho-arm64-legacy-minos", Binary, Error, "an arm64 binary with minos below 11.0 or an LC_VERSION_MIN_MACOSX command";
    MachoDylibNotSystem => "macho-dylib-not-system", Binary, Error, "a dylib neither in /usr/lib or /System nor bundled where @loader_path/@rpath point";
    MachoSignatureMissing => "macho-signature-missing", Binary, Error, "an arm64 binary without a code signature";
    MachoSignatureInvalid => "macho-signature-invalid", Binary, Error, "a code signature that is malformed or whose page hashes do not match";
    MachoNotStripped => "macho-not-stripped", Binary, Warning, "debug (__DWARF, stab) or local symbols";
    PeSubsystem => "pe-subsystem", Binary, Error, "a PE subsystem other than the console (CUI)";
    PeImportNotSystem => "pe-import-not-system", Binary, Error, "an imported (or delay-loaded) DLL neither part of Windows nor bundled";
    PeNotStripped => "pe-not-stripped", Binary, Warning, "a COFF symbol table or .debug sections";
    PeSignatureInvalid => "pe-signature-invalid", Binary, Error, "an Authenticode signature that is malformed or whose digest is not the file's image hash";
    DepListMissing => "dep-list-missing", Binary, Error, "the project's binary carries no cargo-auditable dependency list (.dep-v0)";
    DepListInvalid => "dep-list-invalid", Binary, Error, "a .dep-v0 section that is not zlib-compressed cargo-auditable JSON";
    DepListSbomMismatch => "dep-list-sbom-mismatch", Metadata, Error, "the SBOM and the binary's dependency list name different runtime crates";

    SdistUnreadable => "sdist-unreadable", Sdist, Error, "not a gzip-compressed tar archive";
    SdistFilename => "sdist-filename", Sdist, Error, "the file name is not NAME-VERSION.tar.gz";
    SdistRoot => "sdist-root", Sdist, Error, "a member outside the single NAME-VERSION/ root";
    SdistMissingFile => "sdist-missing-file", Sdist, Error, "PKG-INFO, pyproject.toml or Cargo.toml is missing from the root";
    SdistUnsafePath => "sdist-unsafe-path", Sdist, Error, "an absolute, `..` or control-character member path";
    SdistLink => "sdist-link", Sdist, Error, "a symlink, hard link or special-file member";
    SdistMetadata => "sdist-metadata", Sdist, Error, "PKG-INFO Name/Version differ from the file name";
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// One defect: where (file, member), what is wrong, what is expected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub kind: Kind,
    pub rule: Rule,
    /// The checked file, as the user named it (set by `check_paths`).
    pub file: PathBuf,
    /// The archive member, when the finding is about one.
    pub member: Option<String>,
    /// What is wrong, with the offending value.
    pub message: String,
    /// What is expected instead.
    pub expected: String,
}

impl Finding {
    pub fn member(mut self, member: impl Into<String>) -> Self {
        self.member = Some(member.into());
        self
    }
}

/// A finding about the whole file: what every rule module builds.
pub fn finding(kind: Kind, message: impl Into<String>, expected: impl Into<String>) -> Finding {
    Finding {
        severity: kind.severity(),
        kind,
        rule: kind.rule(),
        file: PathBuf::new(),
        member: None,
        message: message.into(),
        expected: expected.into(),
    }
}

/// A finding about one archive member.
pub fn finding_at(
    member: impl Into<String>,
    kind: Kind,
    message: impl Into<String>,
    expected: impl Into<String>,
) -> Finding {
    finding(kind, message, expected).member(member)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = HashSet::new();
        for kind in Kind::ALL {
            let code = kind.code();
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(
                code.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
                "{code}"
            );
            assert!(!kind.about().is_empty());
        }
    }
}
