//! Rule 4: native code against the tags it ships under. `Object::parse` once, then one small
//! checker per format, each returning findings as data. `policy` holds what each platform
//! provides, `deps` how a loader finds what the wheel bundles.

mod deps;
mod elf;
mod macho;
mod pe;
pub mod policy;

use std::panic::{catch_unwind, AssertUnwindSafe};

use goblin::mach::Mach;
use goblin::Object;

use super::finding::{finding, Finding, Kind};
use crate::wheel::{Arch, BinaryExpectation, BinaryFormat};

/// What was measured, for the report (`ELF x86_64, 4.1 MB, GLIBC 2.17`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BinaryFacts {
    /// The wheel member it came from; `None` for a bare binary.
    pub member: Option<String>,
    pub format: &'static str,
    pub arch: String,
    pub size: u64,
    /// Format-specific facts: newest GLIBC, minos, signature, imports…
    pub notes: Vec<String>,
}

/// Where a binary sits, and how strictly it is judged.
pub struct Where<'a> {
    /// Its member path in the wheel; `None` for a bare binary.
    pub member: Option<&'a str>,
    /// Whether the wheel has a member at this exact path.
    pub has: &'a dyn Fn(&str) -> bool,
    /// Whether directory `dir` holds a file of this name, ignoring ASCII case (Windows).
    pub has_nocase: &'a dyn Fn(&str, &str) -> bool,
    /// Top-level `<name>.libs` directories (delvewheel's DLL directories).
    pub libs_dirs: &'a [String],
    /// This project's own sidecar executable: also an executable, stripped, self-contained.
    pub sidecar: bool,
}

impl Where<'_> {
    /// A library the interpreter provides, and this is an extension module it imports.
    pub fn python_runtime(&self, lib: &str) -> bool {
        let extension = self.member.is_some_and(|m| {
            let m = m.to_ascii_lowercase();
            m.ends_with(".pyd") || (m.ends_with(".so") && !m.contains(".libs/"))
        });
        extension && policy::python_runtime(lib)
    }
}

/// A bare binary: the sidecar, alone.
pub fn bare() -> Where<'static> {
    Where {
        member: None,
        has: &|_| false,
        has_nocase: &|_, _| false,
        libs_dirs: &[],
        sidecar: true,
    }
}

/// Whether these first bytes start an ELF, Mach-O (thin or fat) or PE file.
pub fn is_native(head: &[u8]) -> bool {
    match head {
        [0x7f, b'E', b'L', b'F', ..] => true,
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => true,
        // A Java class file shares 0xcafebabe; its next word (the class version) is >= 45.
        [0xca, 0xfe, 0xba, 0xbe | 0xbf, a, b, c, d, ..] => {
            u32::from_be_bytes([*a, *b, *c, *d]) < 45
        }
        [b'M', b'Z', ..] => true,
        _ => false,
    }
}

/// What a per-format checker returns.
struct Checked {
    findings: Vec<Finding>,
    arch: String,
    notes: Vec<String>,
}

pub fn check(
    bytes: &[u8],
    exp: &BinaryExpectation,
    at: &Where<'_>,
) -> (Vec<Finding>, Option<BinaryFacts>) {
    // goblin is a parser of untrusted input: a panic in it must become a finding, not a crash.
    match catch_unwind(AssertUnwindSafe(|| check_object(bytes, exp, at))) {
        Ok(result) => result,
        Err(_) => (
            vec![finding(
                Kind::BinaryUnparseable,
                "goblin panicked while parsing the binary",
                expected_format(exp),
            )],
            None,
        ),
    }
}

fn check_object(
    bytes: &[u8],
    exp: &BinaryExpectation,
    at: &Where<'_>,
) -> (Vec<Finding>, Option<BinaryFacts>) {
    // `MZ` is a weak magic: outside the sidecar, a file that is not a PE image is just data.
    let parsed = Object::parse(bytes);
    if !at.sidecar && bytes.starts_with(b"MZ") && !matches!(parsed, Ok(Object::PE(_))) {
        return (Vec::new(), None);
    }
    let object = match parsed {
        Ok(o) => o,
        Err(e) => {
            return (
                vec![finding(
                    Kind::BinaryUnparseable,
                    format!("goblin cannot parse it: {e}"),
                    expected_format(exp),
                )],
                None,
            )
        }
    };
    let (format, name) = match &object {
        Object::Elf(_) => (Some(BinaryFormat::Elf), "ELF"),
        Object::Mach(Mach::Binary(_)) => (Some(BinaryFormat::MachO), "Mach-O"),
        Object::Mach(Mach::Fat(_)) => (Some(BinaryFormat::MachO), "universal Mach-O"),
        Object::PE(_) => (Some(BinaryFormat::Pe), "PE"),
        Object::TE(_) => (None, "TE image"),
        Object::COFF(_) => (None, "COFF object"),
        Object::Archive(_) => (None, "ar archive"),
        Object::Unknown(_) => (None, "unknown"),
        _ => (None, "unsupported"),
    };
    let mut facts = BinaryFacts {
        member: None,
        format: name,
        arch: "?".into(),
        size: bytes.len() as u64,
        notes: Vec::new(),
    };
    if format != Some(exp.format) {
        let what = match &object {
            Object::Unknown(magic) => format!("not an executable (magic {magic:#x})"),
            _ => format!("a {name} file"),
        };
        return (
            vec![finding(Kind::BinaryFormat, what, expected_format(exp))],
            Some(facts),
        );
    }
    let checked = match &object {
        Object::Elf(elf) => elf::check(elf, exp, at),
        Object::Mach(Mach::Binary(macho)) => macho::check(&[(macho, bytes)], exp, at),
        Object::Mach(Mach::Fat(fat)) => match macho::slices(fat, bytes) {
            Ok(slices) => {
                let refs: Vec<_> = slices.iter().map(|(m, b)| (m, *b)).collect();
                macho::check(&refs, exp, at)
            }
            Err(e) => {
                let f = finding(Kind::BinaryUnparseable, e, expected_format(exp));
                return (vec![f], Some(facts));
            }
        },
        Object::PE(pe) => pe::check(pe, bytes, exp, at),
        _ => return (Vec::new(), Some(facts)),
    };
    facts.arch = checked.arch;
    facts.notes = checked.notes;
    facts.notes.extend(super::dep_list::note(bytes));
    (checked.findings, Some(facts))
}

fn expected_format(exp: &BinaryExpectation) -> String {
    format!("{} {} code", format_name(exp.format), arch_names(exp))
}

fn format_name(format: BinaryFormat) -> &'static str {
    match format {
        BinaryFormat::Elf => "ELF",
        BinaryFormat::MachO => "Mach-O",
        BinaryFormat::Pe => "PE",
    }
}

/// The architectures a tag wants, as that format's tools name them (`AMD64`, `arm64`).
fn arch_names(exp: &BinaryExpectation) -> String {
    let names: Vec<&str> = exp
        .arches
        .iter()
        .map(|a| match (exp.format, a) {
            (BinaryFormat::Pe, Arch::X86_64) => "AMD64",
            (BinaryFormat::Pe, Arch::Aarch64) => "ARM64",
            (BinaryFormat::Pe, Arch::X86) => "i386",
            (BinaryFormat::MachO, Arch::Aarch64) => "arm64",
            (BinaryFormat::MachO, Arch::X86) => "i386",
            (_, a) => a.triple_name(),
        })
        .collect();
    names.join(" + ")
}

/// The arch mismatch finding every checker shares.
fn arch_finding(found: &str, exp: &BinaryExpectation) -> Finding {
    finding(
        Kind::BinaryArch,
        format!("the binary is built for {found}"),
        format!("{}, as the tag says", arch_names(exp)),
    )
}

/// The finding for a dependency the platform lacks and the wheel does not bundle.
fn unmet_dependency(kind: Kind, what: String, system: &str) -> Finding {
    finding(
        kind,
        what,
        format!("{system}, the Python runtime (extension modules), or a library the wheel bundles where the loader looks"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wheel::PlatformTag;

    #[test]
    fn mz_data_is_native_code_only_when_it_parses() {
        let exp = PlatformTag::parse("win_amd64").unwrap().expectation();
        let data = b"MZ, but a text file after all".to_vec();
        let member = Where {
            member: Some("pkg/notes.txt"),
            sidecar: false,
            ..bare()
        };
        assert!(is_native(&data));
        assert_eq!(check(&data, &exp, &member), (Vec::new(), None));
        let kinds: Vec<Kind> = check(&data, &exp, &bare())
            .0
            .iter()
            .map(|f| f.kind)
            .collect();
        assert_eq!(kinds, [Kind::BinaryUnparseable]);
        assert!(
            !is_native(b"\xca\xfe\xba\xbe\0\0\0\x34"),
            "a Java class file"
        );
        assert!(
            is_native(b"\xca\xfe\xba\xbe\0\0\0\x02"),
            "a universal Mach-O"
        );
    }
}
