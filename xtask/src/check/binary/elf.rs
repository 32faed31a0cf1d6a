//! ELF against a manylinux tag: architecture, newest GLIBC_x.y needed, DT_NEEDED allow-list,
//! no RPATH/RUNPATH, the standard interpreter, stripped.

use goblin::elf::header::{EM_AARCH64, EM_X86_64, ET_DYN, ET_EXEC, ET_REL};
use goblin::elf::section_header::SHT_SYMTAB;
use goblin::elf::Elf;

use super::{arch_finding, Checked};
use crate::check::finding::{finding, Finding, Kind};
use crate::wheel::{Arch, BinaryExpectation, Version2};

/// auditwheel's manylinux2014 (manylinux_2_17) `lib_whitelist`, plus the glibc loader, which
/// auditwheel treats as part of glibc. libcrypt.so.1 is deliberately absent: auditwheel's policy
/// leaves it out (libxcrypt changed its ABI) and would graft it into the wheel.
pub const MANYLINUX_ALLOWED: &[&str] = &[
    "libatomic.so.1",
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libm.so.6",
    "libanl.so.1",
    "libdl.so.2",
    "librt.so.1",
    "libc.so.6",
    "libnsl.so.1",
    "libutil.so.1",
    "libpthread.so.0",
    "libX11.so.6",
    "libXext.so.6",
    "libXrender.so.1",
    "libICE.so.6",
    "libSM.so.6",
    "libGL.so.1",
    "libgobject-2.0.so.0",
    "libgthread-2.0.so.0",
    "libglib-2.0.so.0",
    "libresolv.so.2",
    "libexpat.so.1",
    "libz.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
];

pub(super) fn check(elf: &Elf<'_>, exp: &BinaryExpectation) -> Checked {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let machine = elf.header.e_machine;
    let arch = match machine {
        EM_X86_64 => "x86_64".to_string(),
        EM_AARCH64 => "aarch64".to_string(),
        m => format!("e_machine {m}"),
    };
    let want = match exp.arches[0] {
        Arch::X86_64 => EM_X86_64,
        Arch::Aarch64 => EM_AARCH64,
        _ => u16::MAX,
    };
    if machine != want || !elf.is_64 || !elf.little_endian {
        let bits = if elf.is_64 { "64-bit" } else { "32-bit" };
        out.push(arch_finding(&format!("{arch} ({bits})"), exp));
    }
    let e_type = elf.header.e_type;
    if e_type != ET_EXEC && !(e_type == ET_DYN && elf.interpreter.is_some()) {
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
    glibc(elf, exp, &mut out, &mut notes);
    for lib in &elf.libraries {
        if !MANYLINUX_ALLOWED.contains(lib) {
            out.push(finding(
                Kind::ElfNeededNotAllowed,
                format!("DT_NEEDED {lib} is not on the manylinux allow-list"),
                "only libraries every manylinux system has (libc.so.6, libm.so.6, libgcc_s.so.1, …)",
            ));
        }
    }
    if !elf.libraries.is_empty() {
        notes.push(format!("needs {}", elf.libraries.join(" ")));
    }
    for (tag, paths) in [("DT_RPATH", &elf.rpaths), ("DT_RUNPATH", &elf.runpaths)] {
        if !paths.is_empty() {
            out.push(finding(
                Kind::ElfRpath,
                format!("{tag} {}", paths.join(":")),
                "no RPATH/RUNPATH: the binary must not look for libraries beside itself",
            ));
        }
    }
    // On the wrong architecture the loader differs too: the arch finding says it all.
    if let Some(interp) = elf.interpreter.filter(|_| machine == want) {
        let want = match exp.arches[0] {
            Arch::X86_64 => "/lib64/ld-linux-x86-64.so.2",
            _ => "/lib/ld-linux-aarch64.so.1",
        };
        if interp != want {
            out.push(finding(
                Kind::ElfInterpreter,
                format!("PT_INTERP is {interp}"),
                want,
            ));
        }
    }
    stripped(elf, &mut out);
    Checked {
        findings: out,
        arch,
        notes,
    }
}

fn glibc(elf: &Elf<'_>, exp: &BinaryExpectation, out: &mut Vec<Finding>, notes: &mut Vec<String>) {
    let mut newest: Option<(Version2, String)> = None;
    let mut unparseable = Vec::new();
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            for aux in need.iter() {
                let Some(name) = elf.dynstrtab.get_at(aux.vna_name) else {
                    continue;
                };
                let Some(version) = name.strip_prefix("GLIBC_") else {
                    continue;
                };
                match Version2::parse(version) {
                    Ok(v) if newest.as_ref().is_none_or(|(n, _)| v > *n) => {
                        newest = Some((v, name.to_string()))
                    }
                    Ok(_) => {}
                    Err(_) => unparseable.push(name.to_string()),
                }
            }
        }
    }
    if let Some((v, _)) = &newest {
        notes.push(format!("GLIBC {v}"));
    }
    let Some(floor) = exp.max_glibc else {
        return;
    };
    if let Some((v, name)) = newest.filter(|(v, _)| *v > floor) {
        out.push(finding(
            Kind::ElfGlibcTooNew,
            format!("needs {name} (GLIBC {v}), newer than the tag's floor {floor}"),
            format!("no symbol version newer than GLIBC_{floor}: build against glibc {floor}"),
        ));
    }
    for name in unparseable {
        out.push(finding(
            Kind::ElfGlibcTooNew,
            format!("needs {name}, which no manylinux policy allows"),
            format!("only GLIBC_x.y versions up to {floor}"),
        ));
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
