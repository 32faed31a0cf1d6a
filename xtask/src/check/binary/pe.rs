//! PE against a win tag: the machine and PE32/PE32+ the tag names; every import, delay-loaded
//! ones too, a Windows DLL, the Python runtime (extension modules) or bundled beside the module
//! or in a `<name>.libs/` directory. The sidecar must also be a console exe, stripped.

use goblin::pe::header::{COFF_MACHINE_ARM64, COFF_MACHINE_X86, COFF_MACHINE_X86_64};
use goblin::pe::options::ParseOptions;
use goblin::pe::subsystem::{IMAGE_SUBSYSTEM_WINDOWS_CUI, IMAGE_SUBSYSTEM_WINDOWS_GUI};
use goblin::pe::PE;

use super::policy::is_system_dll;
use super::{arch_finding, unmet_dependency, Checked, Where};
use crate::check::finding::{finding, Kind};
use crate::util::le32;
use crate::wheel::{Arch, BinaryExpectation};

fn machine(arch: Arch) -> Option<(u16, bool)> {
    // (machine, PE32+)
    match arch {
        Arch::X86_64 => Some((COFF_MACHINE_X86_64, true)),
        Arch::Aarch64 => Some((COFF_MACHINE_ARM64, true)),
        Arch::X86 => Some((COFF_MACHINE_X86, false)),
        _ => None,
    }
}

pub(super) fn check(pe: &PE<'_>, bytes: &[u8], exp: &BinaryExpectation, at: &Where<'_>) -> Checked {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let found = pe.header.coff_header.machine;
    let arch = match found {
        COFF_MACHINE_X86_64 => "AMD64".to_string(),
        COFF_MACHINE_ARM64 => "ARM64".to_string(),
        COFF_MACHINE_X86 => "i386".to_string(),
        m => format!("machine {m:#06x}"),
    };
    if machine(exp.arches[0]) != Some((found, pe.is_64)) {
        let kind = if pe.is_64 { "PE32+" } else { "PE32" };
        out.push(arch_finding(&format!("{arch} ({kind})"), exp));
    }
    if at.sidecar {
        sidecar_shape(pe, &mut out);
    }
    let delayed = delay_imports(pe, bytes);
    for dll in pe
        .libraries
        .iter()
        .copied()
        .chain(delayed.iter().map(String::as_str))
    {
        if !(is_system_dll(dll) || at.python_runtime(dll) || at.dll_bundled(dll)) {
            out.push(unmet_dependency(
                Kind::PeImportNotSystem,
                format!("imports {dll}, which is neither part of Windows nor bundled beside the module or in a <name>.libs directory"),
                "DLLs of Windows (link the C runtime statically: +crt-static)",
            ));
        }
    }
    if !pe.libraries.is_empty() {
        notes.push(format!("imports {}", pe.libraries.join(" ")));
    }
    if !delayed.is_empty() {
        notes.push(format!("delay-loads {}", delayed.join(" ")));
    }
    crate::check::authenticode::check(bytes, &mut out, &mut notes);
    Checked {
        findings: out,
        arch,
        notes,
    }
}

/// The sidecar's own rules: a console exe without symbols.
fn sidecar_shape(pe: &PE<'_>, out: &mut Vec<crate::check::finding::Finding>) {
    if pe.is_lib {
        out.push(finding(
            Kind::BinaryFormat,
            "the PE file is a DLL",
            "an .exe",
        ));
    }
    let subsystem = pe
        .header
        .optional_header
        .map(|oh| oh.windows_fields.subsystem);
    // A DLL's subsystem means nothing; the format finding above covers it.
    if subsystem != Some(IMAGE_SUBSYSTEM_WINDOWS_CUI) && !pe.is_lib {
        let what = match subsystem {
            Some(IMAGE_SUBSYSTEM_WINDOWS_GUI) => {
                "the Windows GUI subsystem (2): it would open no console and lose stdout"
                    .to_string()
            }
            Some(s) => format!("subsystem {s}"),
            None => "no optional header".to_string(),
        };
        out.push(finding(
            Kind::PeSubsystem,
            format!("built for {what}"),
            "the console subsystem (IMAGE_SUBSYSTEM_WINDOWS_CUI, 3)",
        ));
    }
    let coff = &pe.header.coff_header;
    let mut what = Vec::new();
    if coff.pointer_to_symbol_table != 0 || coff.number_of_symbol_table != 0 {
        what.push(format!(
            "a COFF symbol table ({} symbols)",
            coff.number_of_symbol_table
        ));
    }
    for section in &pe.sections {
        let name = section.name().unwrap_or("");
        if name.starts_with(".debug") {
            what.push(format!("section {name}"));
        }
    }
    if !what.is_empty() {
        out.push(finding(
            Kind::PeNotStripped,
            format!("not stripped: {}", what.join(", ")),
            "a stripped exe (no COFF symbols, no .debug sections)",
        ));
    }
}

/// The DLL names of the delay-load directory (data directory 13; goblin does not read it):
/// 32-byte descriptors whose second word is the name's RVA, ended by an all-zero one.
fn delay_imports(pe: &PE<'_>, bytes: &[u8]) -> Vec<String> {
    let Some(oh) = pe.header.optional_header else {
        return Vec::new();
    };
    let Some(dir) = oh.data_directories.get_delay_import_descriptor() else {
        return Vec::new();
    };
    let align = oh.windows_fields.file_alignment;
    let opts = ParseOptions::default();
    let offset =
        |rva: u32| goblin::pe::utils::find_offset(rva as usize, &pe.sections, align, &opts);
    let Some(start) = offset(dir.virtual_address) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    // A hostile directory size cannot make this loop longer than the file.
    for i in 0..(dir.size as usize / 32).min(bytes.len() / 32) {
        let at = start + i * 32;
        let Some(name_rva) = le32(bytes, at + 4) else {
            break;
        };
        if name_rva == 0 {
            break;
        }
        let Some(name) = offset(name_rva)
            .and_then(|o| bytes.get(o..))
            .and_then(|b| b.split(|&c| c == 0).next())
            .filter(|n| !n.is_empty() && n.len() < 256)
        else {
            continue;
        };
        names.push(String::from_utf8_lossy(name).into_owned());
    }
    names
}
