//! The binary's own list of the crates compiled into it, in cargo-auditable's format: zlib-compressed
//! JSON (`auditable-serde`'s `VersionInfo`) in a section named `.dep-v0` (ELF and PE) or
//! `__DATA,.dep-v0` (Mach-O). Read back with goblin and compared with the wheel's SBOM.
//!
//! The comparison: cargo-auditable marks a package `build` when only build scripts and proc
//! macros use it (they run on the build machine and leave no code in the binary) and `runtime`
//! otherwise, root included. The SBOM lists the crates compiled into the binary. So the SBOM's
//! crates (`pkg:cargo/` components, by name and version) must equal the list's runtime packages:
//! a runtime package the SBOM lacks, or an SBOM crate the list lacks or marks build-only, is a
//! finding. Build-only packages need not be in the SBOM. One known mislabel is allowed for: a
//! runtime package the SBOM names with scope `excluded` (a proc macro cargo-auditable ≤ 0.7.7
//! took for a library because it has more than one cargo target, or a crate only such a macro uses).

use std::collections::BTreeSet;
use std::io::Read;

use auditable_serde::{DependencyKind, VersionInfo};
use cyclonedx_bom::models::component::Scope;
use cyclonedx_bom::prelude::Bom;
use goblin::mach::Mach;
use goblin::Object;

use super::finding::{finding_at, Finding, Kind};

/// The section name in every format (8 bytes fit a PE section name).
const SECTION: &str = ".dep-v0";
/// cargo-auditable's own cap on the inflated JSON: a hostile binary cannot make us allocate more.
const MAX_JSON: u64 = 8 << 20;

/// A crate by name and version, as both documents spell it.
pub type CrateId = (String, String);

/// What the binary says about itself.
#[derive(Debug)]
pub enum DepList {
    /// No `.dep-v0` section (or a format that has none, such as a fat Mach-O).
    Absent,
    Invalid(String),
    Found(VersionInfo),
}

impl DepList {
    pub fn read(binary: &[u8]) -> DepList {
        // goblin parses untrusted input: a panic is a malformed binary, reported elsewhere.
        let section = std::panic::catch_unwind(|| section(binary)).unwrap_or(None);
        let Some(compressed) = section else {
            return DepList::Absent;
        };
        match decode(compressed) {
            Ok(info) => DepList::Found(info),
            Err(why) => DepList::Invalid(why),
        }
    }
}

/// The runtime packages of a list.
pub fn runtime_crates(info: &VersionInfo) -> BTreeSet<CrateId> {
    info.packages
        .iter()
        .filter(|p| p.kind == DependencyKind::Runtime)
        .map(|p| (p.name.clone(), p.version.to_string()))
        .collect()
}

pub(crate) fn section(b: &[u8]) -> Option<&[u8]> {
    let range = |offset: u64, size: u64| {
        let start = usize::try_from(offset).ok()?;
        b.get(start..start.checked_add(usize::try_from(size).ok()?)?)
    };
    match Object::parse(b).ok()? {
        Object::Elf(elf) => elf
            .section_headers
            .iter()
            .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(SECTION))
            .and_then(|s| range(s.sh_offset, s.sh_size)),
        Object::PE(pe) => pe
            .sections
            .iter()
            .find(|s| s.name().ok() == Some(SECTION))
            .and_then(|s| {
                // Raw data is padded to the file alignment; the virtual size is the content's.
                let size = s.virtual_size.min(s.size_of_raw_data);
                range(s.pointer_to_raw_data.into(), size.into())
            }),
        Object::Mach(Mach::Binary(macho)) => macho
            .segments
            .iter()
            .flat_map(|seg| seg.sections().unwrap_or_default())
            .find(|(s, _)| s.segname().ok() == Some("__DATA") && s.name().ok() == Some(SECTION))
            .and_then(|(s, _)| range(s.offset.into(), s.size)),
        _ => None,
    }
}

fn decode(compressed: &[u8]) -> Result<VersionInfo, String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("the {SECTION} section does not inflate (zlib): {e}"))?;
    if json.len() as u64 > MAX_JSON {
        return Err(format!("the {SECTION} JSON exceeds {MAX_JSON} bytes"));
    }
    serde_json::from_slice(&json)
        .map_err(|e| format!("the {SECTION} JSON is not a cargo-auditable dependency list: {e}"))
}

/// For the report: how many crates the binary's list names (nothing when it has none).
pub(super) fn note(binary: &[u8]) -> Option<String> {
    match DepList::read(binary) {
        DepList::Found(info) => Some(format!(
            "dependency list: {} crates ({} runtime)",
            info.packages.len(),
            runtime_crates(&info).len()
        )),
        DepList::Invalid(_) => Some("dependency list unreadable".into()),
        DepList::Absent => None,
    }
}

/// The crates an SBOM says are compiled into the binary (`pkg:cargo/` components not excluded).
pub fn sbom_crates(bom: &Bom) -> BTreeSet<CrateId> {
    sbom_cargo_components(bom, false)
}

/// The crates an SBOM names as build-time only (scope `excluded`: proc macros and what only they use).
fn sbom_build_only(bom: &Bom) -> BTreeSet<CrateId> {
    sbom_cargo_components(bom, true)
}

fn sbom_cargo_components(bom: &Bom, excluded: bool) -> BTreeSet<CrateId> {
    bom.components
        .iter()
        .flat_map(|c| c.0.iter())
        .filter(|c| {
            c.purl
                .as_ref()
                .is_some_and(|p| p.to_string().starts_with("pkg:cargo/"))
        })
        .filter(|c| matches!(c.scope, Some(Scope::Excluded)) == excluded)
        .filter_map(|c| Some((c.name.to_string(), c.version.as_ref()?.to_string())))
        .collect()
}

/// Reads the list from the binary at `member` and, when the SBOM parsed, compares the two.
pub(super) fn check(
    member: &str,
    binary: &[u8],
    sbom: Option<(&str, &Bom)>,
    out: &mut Vec<Finding>,
) {
    let info = match DepList::read(binary) {
        DepList::Found(info) => info,
        DepList::Absent => {
            return out.push(finding_at(
                member,
                Kind::DepListMissing,
                format!("no {SECTION} section: the binary does not say which crates it contains"),
                "a cargo-auditable dependency list (.dep-v0), which `cargo xtask dist` embeds",
            ))
        }
        DepList::Invalid(why) => {
            return out.push(finding_at(
                member,
                Kind::DepListInvalid,
                why,
                "zlib-compressed cargo-auditable JSON",
            ))
        }
    };
    let Some((sbom_path, bom)) = sbom else {
        return;
    };
    let listed = runtime_crates(&info);
    let described = sbom_crates(bom);
    let show = |set: BTreeSet<&CrateId>| {
        set.iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unlisted: BTreeSet<&CrateId> = described.difference(&listed).collect();
    if !unlisted.is_empty() {
        out.push(finding_at(
            sbom_path,
            Kind::DepListSbomMismatch,
            format!(
                "the SBOM names crates the binary's dependency list does not name as runtime: {}",
                show(unlisted)
            ),
            format!("the runtime packages of {member}'s {SECTION} list, no more"),
        ));
    }
    // cargo-auditable (up to 0.7.7) lists proc macros that have more than one cargo target, and
    // what only they use, as runtime; the SBOM names those as excluded, so they are no mismatch.
    let build_only = sbom_build_only(bom);
    let undescribed: BTreeSet<&CrateId> = listed
        .difference(&described)
        .filter(|c| !build_only.contains(*c))
        .collect();
    if !undescribed.is_empty() {
        out.push(finding_at(
            sbom_path,
            Kind::DepListSbomMismatch,
            format!(
                "the binary's dependency list names runtime crates the SBOM does not: {}",
                show(undescribed)
            ),
            format!("every runtime package of {member}'s {SECTION} list"),
        ));
    }
}

/// Fixture support: zlib-compressed list JSON and the C that puts it in a `.dep-v0` section.
#[cfg(test)]
pub(crate) mod fixture {
    use std::io::Write;

    /// The list of the fixture SBOM's crates: the sidecar (root) over itoa, plus a build-only
    /// proc macro the SBOM rightly leaves out.
    pub fn json(version: &str) -> String {
        format!(
            r#"{{"packages":[{{"name":"mcp-sidecar","version":"{version}","source":"local","dependencies":[1,2],"root":true}},{{"name":"itoa","version":"1.0.15","source":"crates.io"}},{{"name":"serde_derive","version":"1.0.228","source":"crates.io","kind":"build"}}]}}"#
        )
    }

    pub fn compress(json: &str) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(json.as_bytes()).expect("zlib into memory");
        z.finish().expect("zlib into memory")
    }

    /// `binary` with its embedded list's bytes overwritten: a section that no longer inflates.
    pub fn corrupt(binary: Vec<u8>) -> Vec<u8> {
        let list = compress(&json(crate::check::fixtures::VERSION));
        crate::check::fixtures::replace_bytes(binary, &list[..16], &[0xa5; 16])
    }

    /// `source` with a `.dep-v0` section holding `compressed`, for a zig `target` triple (`retain`:
    /// lld garbage-collects an unreferenced ELF section otherwise).
    pub fn c_source(source: &str, target: &str, compressed: &[u8]) -> String {
        let section = if target.contains("macos") {
            "__DATA,.dep-v0"
        } else {
            ".dep-v0"
        };
        let bytes: Vec<String> = compressed.iter().map(|b| b.to_string()).collect();
        format!(
            "{source}__attribute__((used, retain, section(\"{section}\"))) \
             static const unsigned char dep_v0[] = {{{}}};\n",
            bytes.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::finding::Kind;
    use crate::check::fixtures;

    #[test]
    fn the_list_reads_back_from_elf_pe_and_macho_fixtures() {
        for name in ["linux-ok", "win-ok", "mac-x64-ok", "mac-arm64-ok"] {
            let DepList::Found(info) = DepList::read(&fixtures::binary(name)) else {
                panic!("{name}: no dependency list read back");
            };
            let crates: Vec<String> = runtime_crates(&info)
                .into_iter()
                .map(|(n, v)| format!("{n}@{v}"))
                .collect();
            assert_eq!(crates, ["itoa@1.0.15", "mcp-sidecar@0.1.0"], "{name}");
        }
    }

    /// The fixture wheel for win_amd64 with an SBOM over `crates` (name, version) instead.
    fn kinds_with_sbom(crates: &[(&str, &str)]) -> Vec<Kind> {
        kinds_with_sbom_and_excluded(crates, &[])
    }

    /// The same, with `excluded` (name, version) named as build-time only.
    fn kinds_with_sbom_and_excluded(
        crates: &[(&str, &str)],
        excluded: &[(&str, &str)],
    ) -> Vec<Kind> {
        let subject = crate::sbom::Subject {
            name: "mcp-sidecar".into(),
            version: fixtures::VERSION.into(),
            license: None,
            binary_purl: format!("pkg:cargo/mcp-sidecar@{}", fixtures::VERSION),
        };
        let crates: Vec<crate::sbom::Crate> = crates
            .iter()
            .map(|c| (c, false))
            .chain(excluded.iter().map(|c| (c, true)))
            .map(|((name, version), build_only)| crate::sbom::Crate {
                name: name.to_string(),
                version: version.to_string(),
                license: None,
                sha256: None,
                deps: Vec::new(),
                build_only,
            })
            .collect();
        let mut spec = fixtures::Spec::platform("win_amd64", fixtures::binary("win-ok"));
        let path = format!("{}/sboms/mcp-sidecar.cdx.json", fixtures::dist_info());
        spec.set(&path, crate::sbom::document(&subject, &crates).unwrap());
        crate::check::check_wheel_bytes(&spec.file_name, &spec.build())
            .into_iter()
            .map(|f| f.kind)
            .collect()
    }

    #[test]
    fn the_sbom_must_name_exactly_the_runtime_crates_build_only_ones_may_be_left_out() {
        let runtime = [("mcp-sidecar", "0.1.0"), ("itoa", "1.0.15")];
        assert_eq!(kinds_with_sbom(&runtime), []);
        let mismatch = [Kind::DepListSbomMismatch];
        // A runtime crate of the list the SBOM lacks.
        assert_eq!(kinds_with_sbom(&runtime[..1]), mismatch);
        // A crate the binary does not contain, and one it names only as build-only.
        assert_eq!(
            kinds_with_sbom(&[runtime[0], runtime[1], ("libc", "0.2.1")]),
            mismatch
        );
        assert_eq!(
            kinds_with_sbom(&[runtime[0], runtime[1], ("serde_derive", "1.0.228")]),
            mismatch
        );
        // Same name, other version: wrong both ways, one finding per direction.
        assert_eq!(
            kinds_with_sbom(&[runtime[0], ("itoa", "1.0.14")]),
            [Kind::DepListSbomMismatch; 2]
        );
    }

    #[test]
    fn a_runtime_crate_the_sbom_names_as_build_time_only_is_cargo_auditables_mislabel_not_a_miss() {
        let root = [("mcp-sidecar", "0.1.0")];
        // itoa stands for a proc macro with a test target, which cargo-auditable calls runtime.
        assert_eq!(
            kinds_with_sbom_and_excluded(&root, &[("itoa", "1.0.15")]),
            []
        );
        // Excluded at another version is still a miss, and so is an excluded crate left out.
        assert_eq!(
            kinds_with_sbom_and_excluded(&root, &[("itoa", "1.0.14")]),
            [Kind::DepListSbomMismatch]
        );
        // A crate the SBOM calls runtime must not also be excused by an excluded twin.
        assert_eq!(
            kinds_with_sbom_and_excluded(
                &[root[0], ("itoa", "1.0.15")],
                &[("serde_derive", "1.0.228")]
            ),
            []
        );
    }

    #[test]
    fn a_binary_without_the_section_reads_as_absent_and_garbage_as_invalid() {
        let plain = fixtures::replace_bytes(fixtures::binary("linux-ok"), b".dep-v0", b".dep-xx");
        assert!(matches!(DepList::read(&plain), DepList::Absent));
        assert!(matches!(DepList::read(b"not a binary"), DepList::Absent));
        assert!(decode(b"\x78\x9cgarbage").is_err());
        let no_version = fixture::compress(r#"{"packages":[{"name":"itoa"}]}"#);
        assert!(decode(&no_version).is_err());
    }
}
