//! Mach-O against a macosx tag: architecture, minos, system-only dylibs, the arm64 code
//! signature (page hashes verified, not just present), stripped.

use goblin::mach::cputype::{CPU_TYPE_ARM64, CPU_TYPE_X86_64};
use goblin::mach::header::MH_EXECUTE;
use goblin::mach::load_command::{CommandVariant, PLATFORM_MACOS};
use goblin::mach::symbols::{N_EXT, N_SECT, N_STAB, N_TYPE};
use goblin::mach::MachO;

use super::{arch_finding, Checked};
use crate::check::finding::{finding, Finding, Kind};
use crate::macho_sign;
use crate::wheel::{Arch, BinaryExpectation, Version2};

/// Every arm64 Mac runs macOS 11 or later, and tools key arm64 binaries on LC_BUILD_VERSION.
const ARM64_FIRST_MACOS: Version2 = Version2::new(11, 0);

/// `xxxx.yy.zz` nibble-encoded version → major.minor.
fn decode(v: u32) -> Version2 {
    Version2::new(v >> 16, (v >> 8) & 0xff)
}

pub(super) fn check(macho: &MachO<'_>, bytes: &[u8], exp: &BinaryExpectation) -> Checked {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let cputype = macho.header.cputype;
    let arch = match cputype {
        CPU_TYPE_X86_64 => "x86_64".to_string(),
        CPU_TYPE_ARM64 => "arm64".to_string(),
        c => format!("cputype {c:#x}"),
    };
    let want = match exp.arches[0] {
        Arch::X86_64 => CPU_TYPE_X86_64,
        Arch::Aarch64 => CPU_TYPE_ARM64,
        _ => u32::MAX,
    };
    if cputype != want {
        out.push(arch_finding(&arch, exp));
    }
    if macho.header.filetype != MH_EXECUTE {
        out.push(finding(
            Kind::BinaryFormat,
            format!(
                "Mach-O file type {} is not MH_EXECUTE",
                macho.header.filetype
            ),
            "an executable (MH_EXECUTE)",
        ));
    }
    minos(macho, cputype == CPU_TYPE_ARM64, exp, &mut out, &mut notes);
    for lib in macho.libs.iter().skip(1) {
        // libs[0] is goblin's placeholder for the binary itself.
        if !(lib.starts_with("/usr/lib/") || lib.starts_with("/System/")) {
            out.push(finding(
                Kind::MachoDylibNotSystem,
                format!("links {lib}"),
                "dylibs only from /usr/lib or /System (link everything else statically)",
            ));
        }
    }
    signature(bytes, exp, &mut out, &mut notes);
    stripped(macho, bytes, &mut out);
    Checked {
        findings: out,
        arch,
        notes,
    }
}

fn minos(
    macho: &MachO<'_>,
    is_arm64: bool,
    exp: &BinaryExpectation,
    out: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    let mut found: Option<(Version2, &str)> = None;
    for lc in &macho.load_commands {
        match &lc.command {
            CommandVariant::BuildVersion(bv) if bv.platform == PLATFORM_MACOS => {
                found = Some((decode(bv.minos), "LC_BUILD_VERSION"));
            }
            // LC_BUILD_VERSION wins when both are present.
            CommandVariant::VersionMinMacosx(v) if found.is_none() => {
                found = Some((decode(v.version), "LC_VERSION_MIN_MACOSX"));
            }
            _ => {}
        }
    }
    let Some((version, command)) = found else {
        out.push(finding(
            Kind::MachoNoMinos,
            "neither LC_BUILD_VERSION (macOS) nor LC_VERSION_MIN_MACOSX",
            "a minimum macOS version (set MACOSX_DEPLOYMENT_TARGET)",
        ));
        return;
    };
    notes.push(format!("minos {version} ({command})"));
    if let Some(max) = exp.max_macos {
        if version > max {
            out.push(finding(
                Kind::MachoMinosTooNew,
                format!("{command} minos {version} is newer than the tag's macOS {max}"),
                format!("minos <= {max}: build with MACOSX_DEPLOYMENT_TARGET={max}"),
            ));
        }
    }
    if is_arm64 && (version < ARM64_FIRST_MACOS || command == "LC_VERSION_MIN_MACOSX") {
        out.push(finding(
            Kind::MachoArm64LegacyMinos,
            format!(
                "arm64 binary declares minos {version} with {command} (a shared MACOSX_DEPLOYMENT_TARGET leaked from the x86_64 build?)"
            ),
            "LC_BUILD_VERSION with minos 11.0 or later: build arm64 with its own MACOSX_DEPLOYMENT_TARGET=11.0",
        ));
    }
}

fn signature(
    bytes: &[u8],
    exp: &BinaryExpectation,
    out: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    match macho_sign::verify(bytes) {
        Ok(info) => notes.push(format!(
            "signed{} ({} pages of {} verified)",
            if info.adhoc { " ad hoc" } else { "" },
            info.pages,
            info.page_size
        )),
        Err(macho_sign::SignError::NoCodeSignature) => {
            if exp.needs_code_signature {
                out.push(finding(
                    Kind::MachoSignatureMissing,
                    "no LC_CODE_SIGNATURE: macOS kills unsigned arm64 code",
                    "an (ad hoc) code signature: sign after the last edit (strip first, then sign)",
                ));
            }
        }
        // A broken signature is fatal on any architecture that has one.
        Err(e) => out.push(finding(
            Kind::MachoSignatureInvalid,
            e.to_string(),
            "a signature whose page hashes match the file: re-sign after the last edit",
        )),
    }
}

fn stripped(macho: &MachO<'_>, bytes: &[u8], out: &mut Vec<Finding>) {
    let mut what = Vec::new();
    for seg in macho.segments.iter() {
        let name = seg.name().unwrap_or("");
        if name == "__DWARF" {
            what.push("a __DWARF segment".to_string());
        }
        if let Ok(sections) = seg.sections() {
            for (section, _) in sections {
                let sname = section.name().unwrap_or("");
                if sname.starts_with("__debug_") {
                    what.push(format!("section {sname}"));
                }
            }
        }
    }
    let (mut stabs, mut locals) = (0usize, 0usize);
    for n_type in symbol_types(macho, bytes) {
        if n_type & N_STAB != 0 {
            stabs += 1;
        } else if n_type & N_EXT == 0 && n_type & N_TYPE == N_SECT {
            locals += 1;
        }
    }
    if stabs > 0 {
        what.push(format!("{stabs} debug (stab) symbols"));
    }
    if locals > 0 {
        what.push(format!("{locals} local symbols"));
    }
    if !what.is_empty() {
        what.dedup();
        out.push(finding(
            Kind::MachoNotStripped,
            format!("not stripped: {}", what.join(", ")),
            "a stripped binary (no __DWARF, no stab or local symbols)",
        ));
    }
}

/// `n_type` of every nlist in LC_SYMTAB, read straight from the bytes. goblin's symbol iterator
/// trusts `nsyms` (a fuzzed 0xffffffff spins for minutes) and reads every name; we need neither.
fn symbol_types<'a>(macho: &MachO<'_>, bytes: &'a [u8]) -> impl Iterator<Item = u8> + 'a {
    let entry = if macho.is_64 { 16 } else { 12 };
    let table = macho.load_commands.iter().find_map(|lc| match &lc.command {
        CommandVariant::Symtab(st) => Some((st.symoff as usize, st.nsyms as usize)),
        _ => None,
    });
    let symbols = table
        .and_then(|(off, n)| bytes.get(off..off.checked_add(n.checked_mul(entry)?)?))
        .unwrap_or_default();
    // n_type is the byte after the 4-byte n_strx.
    symbols.chunks_exact(entry).map(|nlist| nlist[4])
}
