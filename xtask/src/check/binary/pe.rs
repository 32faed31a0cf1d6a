//! PE against win_amd64: AMD64 PE32+, an exe for the console subsystem, imports only DLLs that
//! ship with Windows, stripped.

use goblin::pe::header::{COFF_MACHINE_ARM64, COFF_MACHINE_X86, COFF_MACHINE_X86_64};
use goblin::pe::subsystem::{IMAGE_SUBSYSTEM_WINDOWS_CUI, IMAGE_SUBSYSTEM_WINDOWS_GUI};
use goblin::pe::PE;

use super::{arch_finding, Checked};
use crate::check::finding::{finding, Kind};
use crate::wheel::{Arch, BinaryExpectation};

/// DLLs every supported Windows (10+) ships, lower-case. msvcrt.dll is here on purpose: it is an
/// OS component on every Windows and Rust's windows-gnu std links it. Not here, on purpose:
/// vcruntime140*.dll / msvcp140.dll (the VC++ redistributable), libgcc_s_*.dll,
/// libwinpthread-1.dll and libstdc++-6.dll (MinGW runtimes): link the C runtime statically.
pub const WINDOWS_SYSTEM_DLLS: &[&str] = &[
    "kernel32.dll",
    "kernelbase.dll",
    "ntdll.dll",
    "advapi32.dll",
    "user32.dll",
    "gdi32.dll",
    "shell32.dll",
    "shlwapi.dll",
    "ole32.dll",
    "oleaut32.dll",
    "ws2_32.dll",
    "mswsock.dll",
    "iphlpapi.dll",
    "bcrypt.dll",
    "bcryptprimitives.dll",
    "ncrypt.dll",
    "crypt32.dll",
    "secur32.dll",
    "userenv.dll",
    "dbghelp.dll",
    "psapi.dll",
    "version.dll",
    "winmm.dll",
    "rpcrt4.dll",
    "synchronization.dll",
    "ucrtbase.dll",
    "msvcrt.dll",
];

/// `api-ms-win-*` API sets (the UCRT's `api-ms-win-crt-*` among them) resolve to system DLLs.
pub fn is_system_dll(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("api-ms-win-") || WINDOWS_SYSTEM_DLLS.contains(&lower.as_str())
}

pub(super) fn check(pe: &PE<'_>, bytes: &[u8], exp: &BinaryExpectation) -> Checked {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let machine = pe.header.coff_header.machine;
    let arch = match machine {
        COFF_MACHINE_X86_64 => "AMD64".to_string(),
        COFF_MACHINE_ARM64 => "ARM64".to_string(),
        COFF_MACHINE_X86 => "i386".to_string(),
        m => format!("machine {m:#06x}"),
    };
    let want = match exp.arch {
        Arch::X86_64 => COFF_MACHINE_X86_64,
        Arch::Aarch64 => COFF_MACHINE_ARM64,
    };
    if machine != want || !pe.is_64 {
        let kind = if pe.is_64 { "PE32+" } else { "PE32" };
        out.push(arch_finding(&format!("{arch} ({kind})"), exp));
    }
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
    for dll in &pe.libraries {
        if !is_system_dll(dll) {
            out.push(finding(
                Kind::PeImportNotSystem,
                format!("imports {dll}, which is not part of Windows"),
                "imports only system DLLs (link the C runtime statically: +crt-static)",
            ));
        }
    }
    if !pe.libraries.is_empty() {
        notes.push(format!("imports {}", pe.libraries.join(" ")));
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
    crate::check::authenticode::check(bytes, &mut out, &mut notes);
    Checked {
        findings: out,
        arch,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::is_system_dll;

    #[test]
    fn runtimes_that_ship_beside_an_exe_are_not_system_dlls() {
        for dll in [
            "KERNEL32.dll",
            "api-ms-win-crt-runtime-l1-1-0.dll",
            "ucrtbase.dll",
            "msvcrt.dll",
        ] {
            assert!(is_system_dll(dll), "{dll}");
        }
        for dll in [
            "libgcc_s_seh-1.dll",
            "libwinpthread-1.dll",
            "libstdc++-6.dll",
            "vcruntime140.dll",
            "vcruntime140_1.dll",
            "msvcp140.dll",
        ] {
            assert!(!is_system_dll(dll), "{dll}");
        }
    }
}
