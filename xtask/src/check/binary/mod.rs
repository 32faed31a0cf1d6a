//! Rule 4: a binary against the tag it ships under. `Object::parse` once, then one small checker
//! per format, each returning findings as data.

mod elf;
mod macho;
mod pe;

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

/// What a per-format checker returns.
struct Checked {
    findings: Vec<Finding>,
    arch: String,
    notes: Vec<String>,
}

pub fn check(bytes: &[u8], exp: &BinaryExpectation) -> (Vec<Finding>, Option<BinaryFacts>) {
    // goblin is a parser of untrusted input: a panic in it must become a finding, not a crash.
    match catch_unwind(AssertUnwindSafe(|| check_object(bytes, exp))) {
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

fn check_object(bytes: &[u8], exp: &BinaryExpectation) -> (Vec<Finding>, Option<BinaryFacts>) {
    let object = match Object::parse(bytes) {
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
        Object::Mach(Mach::Fat(_)) => (None, "universal (fat) Mach-O"),
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
        Object::Elf(elf) => elf::check(elf, exp),
        Object::Mach(Mach::Binary(macho)) => macho::check(macho, bytes, exp),
        Object::PE(pe) => pe::check(pe, bytes, exp),
        _ => return (Vec::new(), Some(facts)),
    };
    facts.arch = checked.arch;
    facts.notes = checked.notes;
    facts.notes.extend(super::dep_list::note(bytes));
    (checked.findings, Some(facts))
}

fn expected_format(exp: &BinaryExpectation) -> String {
    let (format, arch) = describe(exp.format, exp.arch);
    format!("a {format} {arch} executable")
}

fn describe(format: BinaryFormat, arch: Arch) -> (&'static str, &'static str) {
    let f = match format {
        BinaryFormat::Elf => "ELF",
        BinaryFormat::MachO => "Mach-O",
        BinaryFormat::Pe => "PE32+",
    };
    let a = match (format, arch) {
        (BinaryFormat::Pe, Arch::X86_64) => "AMD64",
        (BinaryFormat::MachO, Arch::Aarch64) => "arm64",
        (_, a) => a.triple_name(),
    };
    (f, a)
}

/// The arch mismatch finding every checker shares.
fn arch_finding(found: &str, exp: &BinaryExpectation) -> Finding {
    let (_, want) = describe(exp.format, exp.arch);
    finding(
        Kind::BinaryArch,
        format!("the binary is built for {found}"),
        format!("{want}, as the tag says"),
    )
}
