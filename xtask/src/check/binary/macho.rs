//! Mach-O (thin or universal) against a macosx tag: every slice the tag names is there; per
//! slice, minos no newer than the tag (arm64 Macs start at 11), the code signature's page hashes
//! (required on arm64), every dylib from the system or bundled where `@loader_path`/`@rpath`
//! point. The sidecar must also be an executable, stripped, with arm64's own minos.

use goblin::mach::cputype::{
    CPU_TYPE_ARM64, CPU_TYPE_I386, CPU_TYPE_POWERPC, CPU_TYPE_POWERPC64, CPU_TYPE_X86_64,
};
use goblin::mach::header::MH_EXECUTE;
use goblin::mach::load_command::{CommandVariant, PLATFORM_MACOS};
use goblin::mach::symbols::{N_EXT, N_SECT, N_STAB, N_TYPE};
use goblin::mach::{MachO, MultiArch, SingleArch};

use super::{arch_finding, unmet_dependency, Checked, Where};
use crate::check::finding::{finding, Finding, Kind};
use crate::macho_sign;
use crate::wheel::{Arch, BinaryExpectation, Version2};

/// Every arm64 Mac runs macOS 11 or later, and tools key arm64 binaries on LC_BUILD_VERSION.
const ARM64_FIRST_MACOS: Version2 = Version2::new(11, 0);

/// `xxxx.yy.zz` nibble-encoded version → major.minor.
fn decode(v: u32) -> Version2 {
    Version2::new(v >> 16, (v >> 8) & 0xff)
}

fn arch_of(cputype: u32) -> Option<Arch> {
    Some(match cputype {
        CPU_TYPE_X86_64 => Arch::X86_64,
        CPU_TYPE_ARM64 => Arch::Aarch64,
        CPU_TYPE_I386 => Arch::X86,
        CPU_TYPE_POWERPC => Arch::Ppc,
        CPU_TYPE_POWERPC64 => Arch::Ppc64,
        _ => return None,
    })
}

fn arch_name(cputype: u32) -> String {
    match arch_of(cputype) {
        Some(Arch::Aarch64) => "arm64".into(),
        Some(Arch::X86) => "i386".into(),
        Some(a) => a.triple_name().into(),
        None => format!("cputype {cputype:#x}"),
    }
}

/// The thin Mach-O files inside a universal one, each with its own bytes.
pub(super) fn slices<'a>(
    fat: &MultiArch<'a>,
    bytes: &'a [u8],
) -> Result<Vec<(MachO<'a>, &'a [u8])>, String> {
    let mut out = Vec::new();
    for (i, arch) in fat.iter_arches().enumerate() {
        let arch = arch.map_err(|e| format!("universal header: {e}"))?;
        let range =
            (arch.offset as usize)..(arch.offset as usize).saturating_add(arch.size as usize);
        let slice = bytes
            .get(range)
            .ok_or_else(|| format!("slice {i} lies outside the file"))?;
        match fat.get(i) {
            Ok(SingleArch::MachO(m)) => out.push((m, slice)),
            Ok(SingleArch::Archive(_)) => return Err(format!("slice {i} is an ar archive")),
            Err(e) => return Err(format!("slice {i}: {e}")),
        }
    }
    Ok(out)
}

pub(super) fn check(
    slices: &[(&MachO<'_>, &[u8])],
    exp: &BinaryExpectation,
    at: &Where<'_>,
) -> Checked {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let found: Vec<String> = slices
        .iter()
        .map(|(m, _)| arch_name(m.header.cputype))
        .collect();
    let arch = found.join(" + ");
    let has = |a: Arch| {
        slices
            .iter()
            .any(|(m, _)| arch_of(m.header.cputype) == Some(a))
    };
    if !exp.arches.iter().all(|a| has(*a)) {
        let thin = if slices.len() == 1 { " only" } else { "" };
        out.push(arch_finding(&format!("{arch}{thin}"), exp));
    }
    for (macho, bytes) in slices {
        let Some(slice_arch) = arch_of(macho.header.cputype).filter(|a| exp.arches.contains(a))
        else {
            continue;
        };
        let label = if slices.len() > 1 {
            format!("{} slice: ", arch_name(macho.header.cputype))
        } else {
            String::new()
        };
        let mut slice_out = Vec::new();
        check_slice(
            macho,
            bytes,
            slice_arch,
            exp,
            at,
            &mut slice_out,
            &mut notes,
        );
        out.extend(slice_out.into_iter().map(|mut f| {
            f.message = format!("{label}{}", f.message);
            f
        }));
    }
    Checked {
        findings: out,
        arch,
        notes,
    }
}

fn check_slice(
    macho: &MachO<'_>,
    bytes: &[u8],
    arch: Arch,
    exp: &BinaryExpectation,
    at: &Where<'_>,
    out: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    if at.sidecar && macho.header.filetype != MH_EXECUTE {
        out.push(finding(
            Kind::BinaryFormat,
            format!(
                "Mach-O file type {} is not MH_EXECUTE",
                macho.header.filetype
            ),
            "an executable (MH_EXECUTE)",
        ));
    }
    if exp.max_macos.is_some() {
        minos(macho, arch, exp, at, out, notes);
    }
    // libs[0] is goblin's placeholder for the binary itself.
    for lib in macho.libs.iter().skip(1) {
        let system = lib.starts_with("/usr/lib/") || lib.starts_with("/System/");
        if !(system || at.python_runtime(lib) || at.macho_bundled(lib, &macho.rpaths)) {
            out.push(unmet_dependency(
                Kind::MachoDylibNotSystem,
                format!("links {lib}, which is neither a system dylib nor bundled where @loader_path/@rpath point"),
                "dylibs from /usr/lib or /System",
            ));
        }
    }
    signature(bytes, arch, out, notes);
    if at.sidecar {
        stripped(macho, bytes, out);
    }
}

fn minos(
    macho: &MachO<'_>,
    arch: Arch,
    exp: &BinaryExpectation,
    at: &Where<'_>,
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
    notes.push(format!(
        "{} minos {version} ({command})",
        arch_name(macho.header.cputype)
    ));
    if let Some(tag) = exp.max_macos {
        // A `macosx_10_9_universal2` arm64 slice runs on 11+ only, where minos 11 is no limit.
        let max = if arch == Arch::Aarch64 {
            tag.max(ARM64_FIRST_MACOS)
        } else {
            tag
        };
        if version > max {
            out.push(finding(
                Kind::MachoMinosTooNew,
                format!("{command} minos {version} is newer than the tag's macOS {max}"),
                format!("minos <= {max}: build with MACOSX_DEPLOYMENT_TARGET={max}"),
            ));
        }
    }
    let legacy = version < ARM64_FIRST_MACOS || command == "LC_VERSION_MIN_MACOSX";
    if at.sidecar && arch == Arch::Aarch64 && legacy {
        out.push(finding(
            Kind::MachoArm64LegacyMinos,
            format!(
                "arm64 binary declares minos {version} with {command} (a shared MACOSX_DEPLOYMENT_TARGET leaked from the x86_64 build?)"
            ),
            "LC_BUILD_VERSION with minos 11.0 or later: build arm64 with its own MACOSX_DEPLOYMENT_TARGET=11.0",
        ));
    }
}

fn signature(bytes: &[u8], arch: Arch, out: &mut Vec<Finding>, notes: &mut Vec<String>) {
    match macho_sign::verify(bytes) {
        Ok(info) => notes.push(format!(
            "signed{} ({} pages of {} verified)",
            if info.adhoc { " ad hoc" } else { "" },
            info.pages,
            info.page_size
        )),
        // macOS kills arm64 code that is unsigned or whose signature does not match.
        Err(macho_sign::SignError::NoCodeSignature) => {
            if arch == Arch::Aarch64 {
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
