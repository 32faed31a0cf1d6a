//! The corpus: good inputs that must pass clean and broken ones (generated here, never
//! committed) that must each produce exactly their own finding kinds.

use std::collections::BTreeSet;

use super::finding::Kind;
use super::fixtures::*;
use super::{check_binary_bytes, check_sdist_bytes, check_wheel_bytes};
use crate::macho_sign::{self, SignError};

const LINUX: &str = "manylinux_2_17_x86_64.manylinux2014_x86_64";
const MANYLINUX: &str = "manylinux_2_17_x86_64";
const MAC_X64: &str = "macosx_10_12_x86_64";
const MAC_ARM: &str = "macosx_11_0_arm64";
const WIN: &str = "win_amd64";

pub enum Input {
    Wheel(String, Vec<u8>),
    Sdist(String, Vec<u8>),
    Binary(Vec<u8>, &'static str),
}

fn wheel(spec: &Spec) -> Input {
    Input::Wheel(spec.file_name.clone(), spec.build())
}

fn wheel_bytes(spec: &Spec, bytes: Vec<u8>) -> Input {
    Input::Wheel(spec.file_name.clone(), bytes)
}

fn sdist_input(members: &[TarMember]) -> Input {
    Input::Sdist(SDIST.to_string(), sdist(members))
}

pub fn findings(input: &Input) -> Vec<super::finding::Finding> {
    match input {
        Input::Wheel(name, bytes) => check_wheel_bytes(name, bytes),
        Input::Sdist(name, bytes) => check_sdist_bytes(name, bytes),
        Input::Binary(bytes, tag) => check_binary_bytes(bytes, tag),
    }
}

fn assert_kinds(case: &str, input: Input, expected: &[Kind]) {
    let found = findings(&input);
    let kinds: BTreeSet<Kind> = found.iter().map(|f| f.kind).collect();
    let want: BTreeSet<Kind> = expected.iter().copied().collect();
    let shown: Vec<String> = found
        .iter()
        .map(|f| {
            format!(
                "  {} {}: {}; expected {}",
                f.kind,
                f.member.as_deref().unwrap_or("-"),
                f.message,
                f.expected
            )
        })
        .collect();
    assert_eq!(
        kinds,
        want,
        "case {case}: findings were\n{}",
        shown.join("\n")
    );
    for f in &found {
        assert!(
            !f.message.is_empty() && !f.expected.is_empty(),
            "{case}: empty text in {f:?}"
        );
    }
}

// Good inputs -------------------------------------------------------------------------------

fn linux_spec() -> Spec {
    Spec::platform(LINUX, binary("linux-ok"))
}
fn mac_x64_spec() -> Spec {
    Spec::platform(MAC_X64, binary("mac-x64-ok"))
}
fn mac_arm_spec() -> Spec {
    Spec::platform(MAC_ARM, binary("mac-arm64-ok"))
}
fn win_spec() -> Spec {
    Spec::platform(WIN, binary("win-ok"))
}
fn linux_good() -> Vec<u8> {
    linux_spec().build()
}

const INIT: &str = "mcp_sidecar/__init__.py";
const LOCATE: &str = "mcp_sidecar/_locate.py";
const BINARY: &str = "mcp_sidecar/_native/mcp-sidecar";

fn sbom_member(binary: &str) -> String {
    format!("{}/sboms/{binary}.cdx.json", dist_info())
}

fn metadata_path() -> String {
    format!("{}/METADATA", dist_info())
}
fn wheel_path() -> String {
    format!("{}/WHEEL", dist_info())
}

fn with_metadata(edit: impl Fn(String) -> String) -> Input {
    let mut s = linux_spec();
    s.set(&metadata_path(), edit(metadata_text()));
    wheel(&s)
}

fn with_wheel_file(text: String) -> Input {
    let mut s = linux_spec();
    s.set(&wheel_path(), text);
    wheel(&s)
}

fn linux_tags() -> Vec<String> {
    LINUX.split('.').map(|p| format!("py3-none-{p}")).collect()
}

fn with_record(edit: impl Fn(String) -> String) -> Input {
    let mut s = linux_spec();
    s.record = Some(edit(s.record_text()));
    wheel(&s)
}

/// Two members with the same content, so one can take the other's name at the byte level.
fn twin_spec() -> Spec {
    let mut s = linux_spec();
    s.set("mcp_sidecar/a.py", "x = 1\n");
    s.set("mcp_sidecar/b.py", "x = 1\n");
    s
}

fn sdist_with(edit: impl Fn(&mut Vec<TarMember>)) -> Input {
    let mut m = good_sdist_members();
    edit(&mut m);
    sdist_input(&m)
}

macro_rules! corpus {
    ($($name:ident: $input:expr => [$($kind:ident),* $(,)?];)*) => {
        $(
            #[test]
            fn $name() {
                assert_kinds(stringify!($name), $input, &[$(Kind::$kind),*]);
            }
        )*

        /// Every case's expected kinds, for the coverage test below.
        const CORPUS: &[(&str, &[Kind])] = &[$((stringify!($name), &[$(Kind::$kind),*]),)*];
    };
}

corpus! {
    // Good inputs pass clean.
    good_linux_wheel: wheel(&linux_spec()) => [];
    good_mac_x64_wheel: wheel(&mac_x64_spec()) => [];
    good_mac_arm64_wheel: wheel(&mac_arm_spec()) => [];
    good_windows_wheel: wheel(&win_spec()) => [];
    good_pure_wheel: wheel(&Spec::pure()) => [];
    good_stored_wheel: wheel(&Spec { method: zip::CompressionMethod::Stored, ..linux_spec() }) => [];
    good_linux_binary: Input::Binary(binary("linux-ok"), MANYLINUX) => [];
    good_mac_arm64_binary: Input::Binary(binary("mac-arm64-ok"), MAC_ARM) => [];
    good_sdist: sdist_input(&good_sdist_members()) => [];

    // 1. Zip structure.
    zip_unreadable: wheel_bytes(&linux_spec(), linux_good()[..100].to_vec()) => [ZipUnreadable];
    zip_data_descriptor: wheel_bytes(&linux_spec(), zip_set_flags(linux_good(), INIT, 1 << 3)) => [ZipDataDescriptor];
    zip_duplicate_name: {
        let mut s = twin_spec();
        s.record = Some(s.record_text().lines().filter(|l| !l.starts_with("mcp_sidecar/b.py")).map(|l| format!("{l}\n")).collect());
        wheel_bytes(&s, zip_rename(s.build(), "mcp_sidecar/b.py", b"mcp_sidecar/a.py"))
    } => [ZipDuplicateName];
    zip_header_mismatch: wheel_bytes(&linux_spec(), zip_poke_local(linux_good(), INIT, 14, 0xdead_beef)) => [ZipHeaderMismatch];
    // Two members declare 3 GiB each: over the budget, nothing but the metadata is inflated.
    zip_too_large: {
        let big = zip_declare_size(zip_declare_size(linux_good(), INIT, 3 << 30), LOCATE, 3 << 30);
        wheel_bytes(&linux_spec(), big)
    } => [ZipTooLarge];
    zip_comment_on_archive: wheel_bytes(&linux_spec(), zip_archive_comment(linux_good(), b"built by hand")) => [ZipComment];
    zip_member_comment: {
        let mut s = linux_spec();
        s.comments.push((INIT.into(), "hello".into()));
        wheel(&s)
    } => [ZipComment];
    zip_trailing_data: {
        let mut b = linux_good();
        b.extend_from_slice(b"appended");
        wheel_bytes(&linux_spec(), b)
    } => [ZipTrailingData];
    zip_gap: wheel_bytes(&linux_spec(), zip_insert_before_cd(linux_good(), b"\0\0\0\0padding")) => [ZipGap];
    zip_hidden_local_entry: wheel_bytes(&linux_spec(), zip_insert_before_cd(linux_good(), &hidden_local_entry("mcp_sidecar/evil.py", b"import os\n"))) => [ZipGap];
    zip_control_char: {
        let mut s = linux_spec();
        s.set("mcp_sidecar/bad\u{1}name.py", "");
        wheel(&s)
    } => [ZipControlChar];
    zip_name_encoding: {
        let mut s = linux_spec();
        s.set("mcp_sidecar/cafe.py", "");
        s.record = Some(s.record_text().replace("cafe.py", "caf\u{fffd}.py"));
        wheel_bytes(&s, zip_rename(s.build(), "mcp_sidecar/cafe.py", b"mcp_sidecar/caf\xff.py"))
    } => [ZipNameEncoding];
    zip_dotdot_path: {
        let mut s = linux_spec();
        s.set("../escape.py", "");
        wheel(&s)
    } => [ZipUnsafePath];
    zip_absolute_path: {
        let mut s = linux_spec();
        s.set("/etc/escape.py", "");
        wheel(&s)
    } => [ZipUnsafePath];
    zip_symlink: {
        let mut s = linux_spec();
        s.set("mcp_sidecar/link.py", "__init__.py");
        s.set_mode("mcp_sidecar/link.py", 0o120_777);
        wheel(&s)
    } => [ZipSymlink];
    zip_encrypted: wheel_bytes(&linux_spec(), zip_set_flags(linux_good(), INIT, 1)) => [ZipUnsupported];
    zip_bzip2_method: wheel_bytes(&linux_spec(), zip_set_method(linux_good(), INIT, 12)) => [ZipUnsupported];
    zip_crc_mismatch: {
        let s = Spec { method: zip::CompressionMethod::Stored, ..linux_spec() };
        wheel_bytes(&s, zip_corrupt_data(s.build(), LOCATE))
    } => [ZipCorruptData];
    zip_entry_count: {
        let b = linux_good();
        let n = layout(&b).entries.len() as u16;
        wheel_bytes(&linux_spec(), zip_set_total_entries(b, n + 1))
    } => [ZipMalformed];
    zip_overlapping_entries: wheel_bytes(&linux_spec(), zip_point_at(linux_good(), LOCATE, INIT)) => [ZipHeaderMismatch, ZipMalformed, ZipGap, ZipCorruptData];

    // 2. Wheel metadata.
    wheel_filename: Spec { file_name: "mcp_sidecar-0.1.0.whl".into(), ..linux_spec() }.build_input() => [WheelFilename];
    wheel_platform_unknown: {
        let mut s = linux_spec();
        s.file_name = format!("{NAME}-{VERSION}-py3-none-solaris_sparc.whl");
        s.set(&wheel_path(), wheel_text(&["py3-none-solaris_sparc".into()], false));
        wheel(&s)
    } => [WheelPlatformUnknown];
    wheel_platform_linux_refused: wheel(&Spec::platform("linux_x86_64", binary("linux-ok"))) => [WheelPlatformRefused];
    wheel_platform_macos_minor_refused: wheel(&Spec::platform("macosx_11_1_arm64", binary("mac-arm64-ok"))) => [WheelPlatformRefused];
    wheel_dist_info_misnamed: {
        let mut s = linux_spec();
        s.set_dist_info("mcp_sidecar-0.2.0.dist-info");
        wheel(&s)
    } => [WheelDistInfo];
    wheel_missing_wheel_file: {
        let mut s = linux_spec();
        s.remove(&wheel_path());
        wheel(&s)
    } => [WheelMissingFile];
    wheel_version_2: with_wheel_file(wheel_text(&linux_tags(), false).replace("Wheel-Version: 1.0", "Wheel-Version: 2.0")) => [WheelVersion];
    wheel_root_is_purelib: with_wheel_file(wheel_text(&linux_tags(), true)) => [WheelRootIsPurelib];
    wheel_tag_mismatch: with_wheel_file(wheel_text(&linux_tags()[..1], false)) => [WheelTagMismatch];
    metadata_format_old: with_metadata(|m| m.replace("Metadata-Version: 2.1", "Metadata-Version: 1.2")) => [MetadataFormat];
    metadata_name: with_metadata(|m| m.replace("Name: mcp-sidecar", "Name: mcp-server")) => [MetadataName];
    metadata_version: with_metadata(|m| m.replace("Version: 0.1.0", "Version: 0.2.0")) => [MetadataVersion];
    metadata_requires_python: with_metadata(|m| m.replace("Requires-Python: >=3.7\n", "")) => [MetadataRequiresPython];
    metadata_description_type: with_metadata(|m| m.replace("Description-Content-Type: text/markdown\n", "")) => [MetadataDescription];
    metadata_description_missing: with_metadata(|m| m.replace("\n# mcp-sidecar\n", "")) => [MetadataDescription];
    record_malformed_row: {
        let mut s = linux_spec();
        s.record_extra.push("just-one-field".into());
        wheel(&s)
    } => [RecordMalformed];
    record_missing_entry: with_record(|r| r.lines().filter(|l| !l.starts_with(LOCATE)).map(|l| format!("{l}\n")).collect()) => [RecordMissingEntry];
    record_extra_entry: {
        let mut s = linux_spec();
        s.record_extra.push(format!("mcp_sidecar/gone.py,{},3", record_hash(b"abc")));
        wheel(&s)
    } => [RecordExtraEntry];
    record_hash_mismatch: with_record(|r| {
        let good = record_hash(b"__version__ = \"0.1.0\"\n");
        r.replace(&good, &record_hash(b"tampered"))
    }) => [RecordHashMismatch];
    record_size_mismatch: with_record(|r| {
        let good = format!("{},22", record_hash(b"__version__ = \"0.1.0\"\n"));
        r.replace(&good, &good.replace(",22", ",23"))
    }) => [RecordSizeMismatch];
    record_md5_hash: with_record(|r| {
        let good = record_hash(b"__version__ = \"0.1.0\"\n");
        r.replace(&good, "md5=1B2M2Y8AsgTpgAmY7PhCfg")
    }) => [RecordBadHash];
    record_padded_hash: with_record(|r| {
        let good = record_hash(b"__version__ = \"0.1.0\"\n");
        r.replace(&good, &format!("{good}="))
    }) => [RecordBadHash];
    record_self_hash: with_record(|r| r.replace("RECORD,,", "RECORD,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0")) => [RecordSelfHash];

    // 3. Payload.
    payload_missing_binary: {
        let mut s = linux_spec();
        let b = s.binary_path();
        s.remove(&b);
        wheel(&s)
    } => [PayloadMissingBinary];
    payload_two_binaries: {
        let mut s = linux_spec();
        s.set("mcp_sidecar/_native/helper", "#!/bin/sh\n");
        s.set_mode("mcp_sidecar/_native/helper", 0o100_755);
        wheel(&s)
    } => [PayloadExtraFile];
    payload_in_pure_wheel: {
        let mut s = Spec::pure();
        s.set("mcp_sidecar/_native/mcp-sidecar", binary("linux-ok"));
        wheel(&s)
    } => [PayloadExtraFile];
    payload_not_executable: {
        let mut s = linux_spec();
        let b = s.binary_path();
        s.set_mode(&b, 0o100_644);
        wheel(&s)
    } => [PayloadNotExecutable];
    payload_not_regular: {
        let mut s = linux_spec();
        let b = s.binary_path();
        s.set_mode(&b, 0o010_755);
        wheel(&s)
    } => [PayloadNotRegular];
    payload_exe_without_suffix: {
        let mut s = win_spec();
        s.rename("mcp_sidecar/_native/mcp-sidecar.exe", "mcp_sidecar/_native/mcp-sidecar");
        wheel(&s)
    } => [PayloadWrongName];
    payload_outside_package: {
        let mut s = linux_spec();
        s.rename("mcp_sidecar/_native/mcp-sidecar", "other_pkg/_native/mcp-sidecar");
        wheel(&s)
    } => [PayloadMissingBinary];

    // 4. Binary vs tag (bare, and in a wheel).
    binary_unparseable: Input::Binary(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0".to_vec(), MANYLINUX) => [BinaryUnparseable];
    binary_pe_under_linux_tag: Input::Binary(binary("win-ok"), MANYLINUX) => [BinaryFormat];
    binary_fat_macho: Input::Binary(macho_fat(&binary("mac-arm64-ok")), MAC_ARM) => [];
    binary_fat_missing_slice: Input::Binary(macho_fat(&binary("mac-arm64-ok")), "macosx_11_0_universal2") => [BinaryArch];
    binary_thin_in_universal2: Input::Binary(binary("mac-x64-ok"), "macosx_10_12_universal2") => [BinaryArch];
    elf_glibc_on_musl: Input::Binary(binary("linux-ok"), "musllinux_1_2_x86_64") => [ElfGlibcOnMusl, ElfInterpreter];
    elf_cxx_too_new: Input::Binary(replace_bytes(binary("linux-ok"), b"GLIBC_2.2.5", b"GCC_99.0.00"), MANYLINUX) => [ElfCxxTooNew];
    binary_shared_library: Input::Binary(binary("linux-so"), MANYLINUX) => [BinaryFormat];
    binary_dll: Input::Binary(binary("win-dll"), WIN) => [BinaryFormat];
    binary_elf_arch: Input::Binary(binary("linux-arm64"), MANYLINUX) => [BinaryArch];
    binary_macho_arch: Input::Binary(binary("mac-arm64-ok"), "macosx_11_0_x86_64") => [BinaryArch];
    binary_pe_arch: Input::Binary(binary("win-arm64"), WIN) => [BinaryArch];
    elf_glibc_too_new: Input::Binary(binary("linux-glibc234"), MANYLINUX) => [ElfGlibcTooNew];
    elf_glibc_too_new_in_wheel: wheel(&Spec::platform(LINUX, binary("linux-glibc234"))) => [ElfGlibcTooNew];
    elf_needed_not_allowed: Input::Binary(binary("linux-needs-lib"), MANYLINUX) => [ElfNeededNotAllowed];
    elf_rpath: Input::Binary(binary("linux-rpath"), MANYLINUX) => [ElfRpath];
    elf_interpreter: Input::Binary(replace_bytes(binary("linux-ok"), b"/lib64/ld-linux", b"/opt64/ld-linux"), MANYLINUX) => [ElfInterpreter];
    elf_not_stripped: Input::Binary(binary("linux-unstripped"), MANYLINUX) => [ElfNotStripped];
    macho_no_minos: Input::Binary(macho_drop_minos(binary("mac-x64-ok")), MAC_X64) => [MachoNoMinos];
    macho_minos_15: Input::Binary(binary("mac-x64-15"), MAC_X64) => [MachoMinosTooNew];
    macho_x64_minos_11_in_10_12_wheel: wheel(&Spec::platform(MAC_X64, binary("mac-x64-11"))) => [MachoMinosTooNew];
    macho_arm64_minos_10_12: Input::Binary(resign(&macho_set_minos(binary("mac-arm64-ok"), 10, 12)), MAC_ARM) => [MachoArm64LegacyMinos];
    macho_arm64_version_min_command: Input::Binary(resign(&macho_to_version_min(binary("mac-arm64-ok"), 10, 12)), MAC_ARM) => [MachoArm64LegacyMinos];
    macho_dylib_not_system: Input::Binary(binary("mac-x64-dylib"), MAC_X64) => [MachoDylibNotSystem];
    macho_arm64_unsigned: Input::Binary(macho_unsign(binary("mac-arm64-ok")), MAC_ARM) => [MachoSignatureMissing];
    macho_arm64_page_corrupted: Input::Binary(macho_corrupt_code(binary("mac-arm64-ok")), MAC_ARM) => [MachoSignatureInvalid];
    macho_arm64_page_corrupted_in_wheel: wheel(&Spec::platform(MAC_ARM, macho_corrupt_code(binary("mac-arm64-ok")))) => [MachoSignatureInvalid];
    macho_arm64_corrupted_then_resigned: Input::Binary(resign(&macho_corrupt_code(binary("mac-arm64-ok"))), MAC_ARM) => [];
    macho_not_stripped: Input::Binary(binary("mac-x64-unstripped"), MAC_X64) => [MachoNotStripped];
    pe_gui_subsystem: Input::Binary(pe_set_subsystem(binary("win-ok"), 2), WIN) => [PeSubsystem];
    pe_import_not_system: Input::Binary(binary("win-needs-dll"), WIN) => [PeImportNotSystem];
    pe_not_stripped: Input::Binary(pe_add_symbols(binary("win-ok")), WIN) => [PeNotStripped];

    // sdists.
    sdist_unreadable: Input::Sdist(SDIST.into(), b"this is not gzip".to_vec()) => [SdistUnreadable];
    sdist_filename: {
        let members: Vec<TarMember> = good_sdist_members().into_iter().map(|mut m| {
            m.path = String::from_utf8(m.path).unwrap().replace("mcp_sidecar-0.1.0", "MCP_Sidecar-0.1.0").into_bytes();
            m
        }).collect();
        Input::Sdist("MCP_Sidecar-0.1.0.tar.gz".into(), sdist(&members))
    } => [SdistFilename];
    sdist_member_outside_root: sdist_with(|m| m.push(tar_file("elsewhere/notes.txt", "hi"))) => [SdistRoot];
    sdist_missing_cargo_toml: sdist_with(|m| m.retain(|t| !t.path.ends_with(b"/Cargo.toml"))) => [SdistMissingFile];
    sdist_dotdot_member: sdist_with(|m| m.push(tar_file("mcp_sidecar-0.1.0/../escape.txt", "x"))) => [SdistUnsafePath];
    sdist_symlink_member: sdist_with(|m| m.push(TarMember {
        path: b"mcp_sidecar-0.1.0/passwd".to_vec(),
        content: Vec::new(),
        kind: tar::EntryType::Symlink,
        link: Some("/etc/passwd"),
    })) => [SdistLink];
    sdist_pkg_info_without_description: sdist_with(|m| m[0] = tar_file("mcp_sidecar-0.1.0/PKG-INFO", &pkg_info().replace("\n# mcp-sidecar\n", ""))) => [MetadataDescription];
    sbom_missing: {
        let mut s = linux_spec();
        s.remove(&sbom_member("mcp-sidecar"));
        wheel(&s)
    } => [SbomMissing];
    sbom_invalid: {
        let mut s = mac_arm_spec();
        s.set(&sbom_member("mcp-sidecar"), "{\"bomFormat\": \"CycloneDX\"}");
        wheel(&s)
    } => [SbomInvalid];
    pe_signature_invalid: Input::Binary(super::authenticode::with_bogus_signature(&binary("win-ok")), WIN) => [PeSignatureInvalid];
    dep_list_missing: {
        let mut s = linux_spec();
        let path = s.binary_path();
        s.set(&path, replace_bytes(binary("linux-ok"), b".dep-v0", b".dep-xx"));
        wheel(&s)
    } => [DepListMissing];
    dep_list_invalid: {
        let mut s = mac_arm_spec();
        let path = s.binary_path();
        s.set(&path, resign(&super::dep_list::fixture::corrupt(binary("mac-arm64-ok"))));
        wheel(&s)
    } => [DepListInvalid];
    dep_list_sbom_mismatch: {
        let mut s = linux_spec();
        let sbom = String::from_utf8(sbom()).unwrap().replace("1.0.15", "1.0.16");
        s.set(&sbom_member("mcp-sidecar"), sbom);
        wheel(&s)
    } => [DepListSbomMismatch];
    sdist_pkg_info_version: sdist_with(|m| m[0] = tar_file("mcp_sidecar-0.1.0/PKG-INFO", &pkg_info().replace("0.1.0", "0.2.0"))) => [SdistMetadata];
}

impl Spec {
    fn build_input(&self) -> Input {
        wheel(self)
    }
}

#[test]
fn corpus_covers_every_finding_kind() {
    let covered: BTreeSet<Kind> = CORPUS.iter().flat_map(|(_, k)| k.iter().copied()).collect();
    let missing: Vec<&str> = Kind::ALL
        .iter()
        .filter(|k| !covered.contains(k))
        .map(|k| k.code())
        .collect();
    assert!(missing.is_empty(), "no corpus case produces: {missing:?}");
    let defects = CORPUS.iter().filter(|(_, k)| !k.is_empty()).count();
    assert!(defects >= 25, "only {defects} defect cases");
}

// Code signatures ---------------------------------------------------------------------------

#[test]
fn zig_arm64_signature_verifies() {
    let info = macho_sign::verify(&binary("mac-arm64-ok")).expect("zig signs arm64 ad hoc");
    assert!(info.adhoc && info.linker_signed, "{info:?}");
    assert_eq!(info.hash_type, macho_sign::HashType::Sha256);
}

#[test]
fn one_flipped_byte_breaks_the_signature_and_resigning_fixes_it() {
    let corrupted = macho_corrupt_code(binary("mac-arm64-ok"));
    match macho_sign::verify(&corrupted) {
        Err(SignError::PageHashMismatch { count: 1, .. }) => {}
        other => panic!("expected one bad page, got {other:?}"),
    }
    let fixed = macho_sign::resign_adhoc(&corrupted, "mcp-sidecar").unwrap();
    let info = macho_sign::verify(&fixed).unwrap();
    assert_eq!(info.identifier, "mcp-sidecar");
    assert_eq!(info.page_size, 4096);
    assert!(info.adhoc && info.linker_signed && !info.has_cms);
}

#[test]
fn resigning_is_idempotent_and_matches_zig_page_hashes() {
    let zig = binary("mac-arm64-ok");
    let once = macho_sign::resign_adhoc(&zig, "a.out").unwrap();
    let twice = macho_sign::resign_adhoc(&once, "a.out").unwrap();
    assert_eq!(once, twice);
    // zig hashes 16 KiB pages; re-signing with the same page size keeps every hash but the
    // first page's (the header records the new signature size).
    let same_pages =
        super::super::macho_sign::resign_adhoc_with_page_shift(&zig, "a.out", 14).unwrap();
    let a = macho_sign::verify(&zig).unwrap();
    let b = macho_sign::verify(&same_pages).unwrap();
    assert_eq!((a.pages, a.page_size), (b.pages, b.page_size));
    assert_eq!(a.code_limit, b.code_limit);
}

#[test]
fn signing_an_unsigned_binary_adds_the_load_command() {
    for unsigned in [binary("mac-x64-ok"), macho_unsign(binary("mac-arm64-ok"))] {
        assert_eq!(
            macho_sign::verify(&unsigned),
            Err(SignError::NoCodeSignature)
        );
        let signed = macho_sign::resign_adhoc(&unsigned, "mcp-sidecar").unwrap();
        macho_sign::verify(&signed).unwrap();
    }
    let arm = resign(&macho_unsign(binary("mac-arm64-ok")));
    assert!(check_binary_bytes(&arm, MAC_ARM).is_empty());
}

// The payload layout comes from the config ---------------------------------------------------

/// The kinds a wheel gets when checked against a layout other than this repository's.
fn kinds_with(package: &str, native_dir: &str, binary: &str, spec: &Spec) -> BTreeSet<Kind> {
    let payload = super::Payload {
        python_package: package.into(),
        distribution: super::fixtures::payload().distribution,
        native_dir: native_dir.into(),
        binary: binary.into(),
    };
    let found = super::wheel_rules::check(&spec.file_name, &spec.build(), &payload).0;
    found.iter().map(|f| f.kind).collect()
}

#[test]
fn the_native_dir_and_binary_name_come_from_the_payload() {
    let mut moved = linux_spec();
    moved.rename(BINARY, "mcp_sidecar/bin/mcp-sidecar");
    for (package, dir, binary, spec, want) in [
        (
            NAME,
            "bin",
            "mcp-sidecar",
            linux_spec(),
            Some(Kind::PayloadMissingBinary),
        ),
        (NAME, "bin", "mcp-sidecar", moved, None),
        (
            NAME,
            "_native",
            "other-tool",
            {
                // The SBOM is named after the binary too.
                let mut s = win_spec();
                s.rename(&sbom_member("mcp-sidecar"), &sbom_member("other-tool"));
                s
            },
            Some(Kind::PayloadWrongName),
        ),
        (
            "other_pkg",
            "_native",
            "mcp-sidecar",
            linux_spec(),
            Some(Kind::PayloadMissingBinary),
        ),
    ] {
        let found = kinds_with(package, dir, binary, &spec);
        assert_eq!(
            found,
            want.into_iter().collect(),
            "{package}/{dir}/{binary}"
        );
    }
}

/// Another distribution's wheel gets no layout rules (and no SBOM rule): its native code is
/// still checked against its tags, wherever it is.
#[test]
fn layout_rules_are_only_for_the_configured_distribution() {
    let foreign = super::Payload {
        distribution: crate::wheel::DistName::parse("someone-else").unwrap(),
        ..payload()
    };
    let kinds = |spec: &Spec| -> BTreeSet<Kind> {
        let found = super::wheel_rules::check(&spec.file_name, &spec.build(), &foreign).0;
        found.iter().map(|f| f.kind).collect()
    };
    let mut elsewhere = linux_spec();
    elsewhere.rename(BINARY, "mcp_sidecar-0.1.0.data/scripts/mcp-sidecar");
    elsewhere.remove(&sbom_member("mcp-sidecar"));
    assert_eq!(kinds(&elsewhere), BTreeSet::new());
    let ours = super::wheel_rules::check(&elsewhere.file_name, &elsewhere.build(), &payload()).0;
    assert!(ours.iter().any(|f| f.kind == Kind::PayloadMissingBinary));
    let wrong_arch = Spec::platform("manylinux_2_17_aarch64", binary("linux-ok"));
    assert_eq!(kinds(&wrong_arch), BTreeSet::from([Kind::BinaryArch]));
}

/// Warnings fail only `check --strict`; errors always.
#[test]
fn strict_makes_warnings_fail() {
    let mut s = linux_spec();
    s.set(
        &metadata_path(),
        metadata_text().replace("Requires-Python: >=3.7\n", ""),
    );
    let findings = check_wheel_bytes(&s.file_name, &s.build());
    assert_eq!(
        findings.iter().map(|f| f.kind).collect::<Vec<_>>(),
        [Kind::MetadataRequiresPython]
    );
    let report = |findings| super::Report {
        artifacts: vec![super::Checked {
            file: "x.whl".into(),
            kind: super::FileKind::Wheel,
            size: 0,
            binaries: Vec::new(),
            findings,
        }],
    };
    let warned = report(findings);
    assert!(warned.passes(false) && !warned.passes(true) && !warned.is_clean());
    let broken = report(check_wheel_bytes(&s.file_name, b"not a zip"));
    assert!(!broken.passes(false));
}

#[test]
fn the_payload_is_the_configs() {
    let cfg = crate::config::Config::load().unwrap();
    let p = super::Payload::of(&cfg);
    assert_eq!(
        (
            p.python_package.as_str(),
            p.native_dir.as_str(),
            p.binary.as_str()
        ),
        (
            cfg.dist.python_package.as_str(),
            cfg.dist.native_dir.as_str(),
            cfg.dist.binary.as_str()
        )
    );
    assert_eq!(p, payload(), "the fixtures follow this repository's layout");
}

// The command-line surface ------------------------------------------------------------------

fn scratch(name: &str) -> std::path::PathBuf {
    crate::util::test_scratch("check", name)
}

#[test]
fn check_paths_walks_a_directory_and_reports_per_file() {
    let dir = scratch("dir");
    let good = linux_spec();
    std::fs::write(dir.join(&good.file_name), good.build()).unwrap();
    let bad = mac_arm_spec();
    std::fs::write(
        dir.join(&bad.file_name),
        zip_archive_comment(bad.build(), b"x"),
    )
    .unwrap();
    std::fs::write(dir.join(SDIST), sdist(&good_sdist_members())).unwrap();
    std::fs::write(dir.join("SHA256SUMS"), "ignored\n").unwrap();
    let report = super::check_paths(std::slice::from_ref(&dir), None, &payload()).unwrap();
    assert_eq!(report.artifacts.len(), 3);
    assert!(!report.is_clean());
    let findings: Vec<_> = report.findings().collect();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, Kind::ZipComment);
    assert_eq!(findings[0].file, dir.join(&bad.file_name));
    let mut text = Vec::new();
    report.write_human(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("error[zip-comment]"), "{text}");
    assert!(text.contains("GLIBC 2."), "{text}");
    let mut json = Vec::new();
    report.write_json(&mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    // One shape: each artifact carries its own findings array, nothing at the top level.
    assert!(v.get("findings").is_none(), "{v}");
    for a in v["artifacts"].as_array().unwrap() {
        let fs = a["findings"].as_array().unwrap();
        if a["file"] == dir.join(&bad.file_name).to_str().unwrap() {
            assert_eq!(fs.len(), 1, "{a}");
            assert_eq!(fs[0]["kind"], "zip-comment");
            assert_eq!(fs[0]["rule"], "zip");
            assert_eq!(fs[0]["file"], a["file"]);
        } else {
            assert!(fs.is_empty(), "{a}");
        }
    }
    assert_eq!(v["clean"], false);
    assert_eq!(v["errors"], 1);
}

#[test]
fn usage_errors_name_the_file() {
    let dir = scratch("usage");
    let missing = dir.join("nope.whl");
    let err = super::check_paths(std::slice::from_ref(&missing), None, &payload()).unwrap_err();
    assert!(err.to_string().contains("nope.whl"), "{err}");
    let bare = dir.join("mcp-sidecar");
    std::fs::write(&bare, binary("linux-ok")).unwrap();
    let err = super::check_paths(std::slice::from_ref(&bare), None, &payload()).unwrap_err();
    assert!(err.to_string().contains("--expect-tag"), "{err}");
    let empty = scratch("empty");
    let err = super::check_paths(&[empty], None, &payload()).unwrap_err();
    assert!(err.to_string().contains("no wheels"), "{err}");
    let err =
        super::check_paths(std::slice::from_ref(&bare), Some("win_ia64"), &payload()).unwrap_err();
    assert!(err.to_string().contains("win_ia64"), "{err}");
    let report = super::check_paths(&[bare], Some(MANYLINUX), &payload()).unwrap();
    assert!(report.is_clean(), "{:?}", report.artifacts);
}

/// Writes the good corpus wheels and sdist to target/check-fixtures/sample-dist/, to try the
/// `check` suite and bench without a real `cargo xtask dist`:
/// `cargo test -p xtask write_sample_dist -- --ignored`, then
/// `MCP_SIDECAR_CHECK_DIST=target/check-fixtures/sample-dist cargo xtask test --only check`.
#[test]
#[ignore]
fn write_sample_dist() {
    let dir = crate::project_root().join("target/check-fixtures/sample-dist");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for spec in [linux_spec(), mac_x64_spec(), mac_arm_spec(), win_spec()] {
        std::fs::write(dir.join(&spec.file_name), spec.build()).unwrap();
    }
    std::fs::write(dir.join(SDIST), sdist(&good_sdist_members())).unwrap();
    eprintln!("wrote {}", dir.display());
}

/// Regression (found by check::fuzz): an LC_SYMTAB claiming 2^32-1 symbols made goblin's symbol
/// iterator spin for minutes. The check must stay fast and just see no symbols.
#[test]
fn huge_nsyms_is_fast() {
    let mut b = binary("mac-x64-ok");
    let (at, _, _) = *macho_commands(&b)
        .iter()
        .find(|c| c.1 == goblin::mach::load_command::LC_SYMTAB)
        .expect("LC_SYMTAB");
    b[at + 12..at + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    let start = std::time::Instant::now();
    let found = check_binary_bytes(&b, MAC_X64);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(found.is_empty(), "{found:?}");
}
