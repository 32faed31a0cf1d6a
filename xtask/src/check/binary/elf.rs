//! ELF against a manylinux, musllinux or Android tag: machine, class and byte order; the newest
//! GLIBC_/GLIBCXX_/CXXABI_/GCC_ version each system library is asked for; no glibc on musl; the
//! program interpreter; every DT_NEEDED provided or bundled. The sidecar must also be an
//! executable, without RPATH, stripped.

use goblin::elf::header::{
    EM_386, EM_AARCH64, EM_ARM, EM_PPC, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64, ET_DYN, ET_EXEC,
    ET_REL,
};
use goblin::elf::section_header::SHT_SYMTAB;
use goblin::elf::Elf;

use super::policy::{self, VERSIONED_PREFIXES};
use super::{arch_finding, unmet_dependency, Checked, Where};
use crate::check::finding::{finding, Finding, Kind};
use crate::wheel::{Arch, BinaryExpectation};

fn machine(arch: Arch) -> (u16, bool, bool) {
    // (e_machine, 64-bit, little-endian)
    match arch {
        Arch::X86_64 => (EM_X86_64, true, true),
        Arch::X86 => (EM_386, false, true),
        Arch::Aarch64 => (EM_AARCH64, true, true),
        Arch::Armv6l | Arch::Armv7l => (EM_ARM, false, true),
        Arch::Ppc => (EM_PPC, false, false),
        Arch::Ppc64 => (EM_PPC64, true, false),
        Arch::Ppc64le => (EM_PPC64, true, true),
        Arch::S390x => (EM_S390, true, false),
        Arch::Riscv64 => (EM_RISCV, true, true),
    }
}

pub(super) fn check(elf: &Elf<'_>, exp: &BinaryExpectation, at: &Where<'_>) -> Checked {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let found = (elf.header.e_machine, elf.is_64, elf.little_endian);
    let arch = match Arch::ALL.iter().find(|a| machine(**a) == found) {
        Some(a) => a.triple_name().to_string(),
        None => format!(
            "e_machine {} ({}-bit, {})",
            found.0,
            if found.1 { 64 } else { 32 },
            if found.2 {
                "little-endian"
            } else {
                "big-endian"
            }
        ),
    };
    let right_arch = machine(exp.arches[0]) == found;
    if !right_arch {
        out.push(arch_finding(&arch, exp));
    }
    let e_type = elf.header.e_type;
    if at.sidecar && e_type != ET_EXEC && !(e_type == ET_DYN && elf.interpreter.is_some()) {
        let what = match e_type {
            ET_DYN => "a shared library (ET_DYN without an interpreter)".to_string(),
            ET_REL => "a relocatable object".to_string(),
            t => format!("ELF type {t}"),
        };
        out.push(finding(
            Kind::BinaryFormat,
            format!("the ELF file is {what}"),
            "an executable (ET_EXEC or PIE)",
        ));
    }
    let android = exp.android;
    let mut unmet = Vec::new();
    for lib in &elf.libraries {
        let provided = policy::elf_system_lib(exp, lib);
        if exp.musl && lib.starts_with("libc.so.") {
            out.push(finding(
                Kind::ElfGlibcOnMusl,
                format!("DT_NEEDED {lib}: glibc, which a musl system does not have"),
                "no glibc dependency: link against musl (or statically)",
            ));
        } else if !(provided
            || at.python_runtime(lib)
            || at.elf_bundled(lib, &[&elf.runpaths[..], &elf.rpaths[..]].concat()))
        {
            unmet.push(*lib);
        }
    }
    for lib in unmet {
        out.push(unmet_dependency(
            Kind::ElfNeededNotAllowed,
            format!("DT_NEEDED {lib} is neither on the tag's policy nor bundled where RPATH/RUNPATH $ORIGIN points"),
            "libraries every system of the policy has (libc.so.6, libm.so.6, libgcc_s.so.1, …)",
        ));
    }
    if !elf.libraries.is_empty() {
        notes.push(format!("needs {}", elf.libraries.join(" ")));
    }
    if !android {
        symbol_versions(elf, exp, &mut out, &mut notes);
    }
    if at.sidecar {
        for (tag, paths) in [("DT_RPATH", &elf.rpaths), ("DT_RUNPATH", &elf.runpaths)] {
            if !paths.is_empty() {
                out.push(finding(
                    Kind::ElfRpath,
                    format!("{tag} {}", paths.join(":")),
                    "no RPATH/RUNPATH: the binary must not look for libraries beside itself",
                ));
            }
        }
    }
    // On the wrong architecture the loader differs too: the arch finding says it all.
    if let Some(interp) = elf.interpreter.filter(|_| right_arch && !android) {
        let want = policy::loader(exp.arches[0], exp.musl);
        if interp != want {
            out.push(finding(
                Kind::ElfInterpreter,
                format!("PT_INTERP is {interp}"),
                want,
            ));
        }
    }
    if at.sidecar {
        stripped(elf, &mut out);
    }
    Checked {
        findings: out,
        arch,
        notes,
    }
}

/// The newest version per prefix that the system's own libraries are asked for (versions a
/// bundled library answers are the bundle's business, as auditwheel sees it).
fn symbol_versions(
    elf: &Elf<'_>,
    exp: &BinaryExpectation,
    out: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    let mut newest: [Option<(Vec<u32>, String)>; 4] = Default::default();
    let mut named = Vec::new();
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            let file = elf.dynstrtab.get_at(need.vn_file).unwrap_or("");
            let glibc_on_musl = exp.musl && file.starts_with("libc.so.");
            if !(policy::elf_system_lib(exp, file) || glibc_on_musl) {
                continue;
            }
            for aux in need.iter() {
                let Some(name) = elf.dynstrtab.get_at(aux.vna_name) else {
                    continue;
                };
                let Some(i) = VERSIONED_PREFIXES.iter().position(|p| name.starts_with(p)) else {
                    continue;
                };
                let version = &name[VERSIONED_PREFIXES[i].len()..];
                match policy::version_key(version) {
                    Some(k) if newest[i].as_ref().is_none_or(|(n, _)| k > *n) => {
                        newest[i] = Some((k, name.to_string()))
                    }
                    Some(_) => {}
                    None => named.push(name.to_string()),
                }
            }
        }
    }
    if let Some((_, name)) = &newest[0] {
        notes.push(format!("GLIBC {}", &name["GLIBC_".len()..]));
    }
    if exp.musl {
        if let Some((_, name)) = &newest[0] {
            out.push(finding(
                Kind::ElfGlibcOnMusl,
                format!("needs {name}: a glibc symbol version, which musl does not provide"),
                "no glibc dependency: link against musl (or statically)",
            ));
        }
        return;
    }
    let Some(floor) = exp.max_glibc else {
        return;
    };
    let limits = policy::symbol_limits(floor, exp.arches[0]);
    for (i, found) in newest.iter().enumerate() {
        let (Some((key, name)), Some(limit)) = (found, &limits[i]) else {
            continue;
        };
        if policy::version_key(limit).is_some_and(|l| *key > l) {
            let kind = if i == 0 {
                Kind::ElfGlibcTooNew
            } else {
                Kind::ElfCxxTooNew
            };
            out.push(finding(
                kind,
                format!("needs {name}, newer than the manylinux_{}_{} policy's {}{limit}", floor.major, floor.minor, VERSIONED_PREFIXES[i]),
                format!("no {}x newer than {limit}: build against glibc {floor} and its toolchain (or bundle the library)", VERSIONED_PREFIXES[i]),
            ));
        }
    }
    for name in named {
        if !policy::named_version_allowed(&name, floor) {
            out.push(finding(
                Kind::ElfGlibcTooNew,
                format!(
                    "needs {name}, which the manylinux_{}_{} policy does not allow",
                    floor.major, floor.minor
                ),
                format!("only numbered versions up to the policy's (GLIBC_{floor})"),
            ));
        }
    }
}

fn stripped(elf: &Elf<'_>, out: &mut Vec<Finding>) {
    let mut found = Vec::new();
    for sh in &elf.section_headers {
        let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("");
        if sh.sh_type == SHT_SYMTAB || name.starts_with(".debug") || name.starts_with(".zdebug") {
            found.push(if name.is_empty() { "SHT_SYMTAB" } else { name });
        }
    }
    if !found.is_empty() {
        found.dedup();
        out.push(finding(
            Kind::ElfNotStripped,
            format!("symbol or debug sections: {}", found.join(" ")),
            "a stripped binary (no .symtab, no .debug_*)",
        ));
    }
}
