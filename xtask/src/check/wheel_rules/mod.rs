//! Rules 2 and 3: the wheel's name, metadata files, RECORD and payload, then (rule 4) every
//! native file against every platform tag the file name promises. One file per job:
//! `wheel_file` (WHEEL), `metadata` (METADATA), `record` (RECORD), `payload` (this project's
//! layout), `natives` (native code, wherever it is). Members are streamed once each; only
//! metadata and native code is ever whole in memory, one native file at a time.

mod metadata;
mod natives;
mod payload;
mod record;
mod wheel_file;

use std::collections::{BTreeSet, HashMap};

use super::binary::BinaryFacts;
use super::finding::{finding, finding_at, Finding, Kind};
use super::zip_rules::{self, Archive, ReadError, Scanned};
use super::Payload;
use crate::wheel::{FilenameError, RecordHash, WheelFilename};

/// Inflated bytes one wheel may declare in all: past it the members are not inflated at all.
pub const DECOMPRESSION_BUDGET: u64 = 4 << 30;
/// Metadata files kept whole for the metadata rules; larger ones are only hashed.
const MAX_METADATA_FILE: u64 = 16 << 20;

/// What the caller gets besides findings: the binaries found and how they measured up.
#[derive(Debug, Default)]
pub struct WheelSummary {
    pub binaries: Vec<BinaryFacts>,
}

pub fn check(file_name: &str, bytes: &[u8], payload: &Payload) -> (Vec<Finding>, WheelSummary) {
    let mut out = Vec::new();
    let mut summary = WheelSummary::default();
    let filename = match WheelFilename::parse(file_name) {
        Ok(f) => Some(f),
        Err(e @ FilenameError::Tag { .. }) => {
            out.push(finding(
                Kind::WheelPlatformUnknown,
                e.to_string(),
                "a platform tag the index defines (manylinux, musllinux, macosx, win, ios, android)",
            ));
            None
        }
        Err(e) => {
            out.push(finding(
                Kind::WheelFilename,
                e.to_string(),
                "NAME-VERSION(-BUILD)?-PYTHON-ABI-PLATFORM.whl",
            ));
            None
        }
    };
    if let Some(f) = &filename {
        pypi_refusals(f, &mut out);
    }
    let (archive, zip_findings) = zip_rules::parse(bytes);
    out.extend(zip_findings);
    let Some(archive) = archive else {
        return (out, summary);
    };
    let mut index = HashMap::new();
    for (i, e) in archive.entries.iter().enumerate() {
        index.entry(e.name.as_str()).or_insert(i);
    }
    let mut wheel = Wheel {
        archive: &archive,
        index,
        scans: Vec::new(),
        filename: filename.as_ref(),
        payload,
    };
    let dist_info = wheel.dist_info(&mut out);
    wheel.scans = wheel.scan_members(dist_info.as_deref(), &mut out, &mut summary);
    if let Some(dist_info) = &dist_info {
        wheel.wheel_file(dist_info, &mut out);
        wheel.metadata(dist_info, &mut out);
        wheel.record(dist_info, &mut out);
        if wheel.is_ours() && wheel.is_platform() {
            let (present, content) = (
                |n: &str| wheel.index.contains_key(n),
                |n: &str| wheel.content(n),
            );
            super::sbom::check(dist_info, payload, present, content, &mut out);
        }
    }
    if wheel.is_ours() {
        wheel.payload(&mut out);
    }
    (out, summary)
}

/// Reports the platform alternatives PyPI would refuse.
fn pypi_refusals(filename: &WheelFilename, out: &mut Vec<Finding>) {
    for why in filename.platforms().iter().filter_map(|t| t.pypi_refusal()) {
        out.push(finding(
            Kind::WheelPlatformRefused,
            why,
            "a tag PyPI accepts (manylinux_*, musllinux_*, macosx_X_Y with Y=0 for X>=11, win*)",
        ));
    }
}

impl Wheel<'_, '_> {
    /// Streams every member once: hashes for RECORD, metadata kept, native code checked as it
    /// goes. Over the budget, only the metadata is inflated.
    fn scan_members(
        &self,
        dist_info: Option<&str>,
        out: &mut Vec<Finding>,
        summary: &mut WheelSummary,
    ) -> Vec<Option<Scanned>> {
        let declared: u64 = self
            .archive
            .entries
            .iter()
            .map(|e| e.size)
            .fold(0, u64::saturating_add);
        let over = declared > DECOMPRESSION_BUDGET;
        if over {
            out.push(finding(
                Kind::ZipTooLarge,
                format!("members declare {declared} bytes uncompressed, over the budget of {DECOMPRESSION_BUDGET}: their content is not checked"),
                "a wheel whose members inflate to less than the budget",
            ));
        }
        let natives = natives::Natives::new(self);
        self.archive
            .entries
            .iter()
            .map(|e| {
                let metadata =
                    dist_info.is_some_and(|d| e.name.starts_with(d)) && e.size <= MAX_METADATA_FILE;
                if e.is_dir() || (over && !metadata) {
                    return None;
                }
                let sidecar = natives.is_sidecar(&e.name);
                let keep = |head: &[u8]| metadata || sidecar || super::binary::is_native(head);
                match self.archive.scan(e, keep) {
                    // Encrypted or exotic members were reported as zip-unsupported already.
                    Err(ReadError::Encrypted | ReadError::Method(_)) => None,
                    Ok(mut scanned) => {
                        if !metadata {
                            if let Some(content) = &scanned.content {
                                natives.check(&e.name, content, out, summary);
                            }
                            // Only the sidecar's bytes stay: the SBOM rule reads its dependency list.
                            if !sidecar {
                                scanned.content = None;
                            }
                        }
                        Some(scanned)
                    }
                    Err(err) => {
                        out.push(finding_at(
                            &e.name,
                            Kind::ZipCorruptData,
                            format!("member cannot be read: {err}"),
                            "a member that inflates to its declared size and CRC-32",
                        ));
                        None
                    }
                }
            })
            .collect()
    }
}

struct Wheel<'w, 'a> {
    archive: &'w Archive<'a>,
    /// Member name → first entry with it (lookups stay linear on a hostile RECORD).
    index: HashMap<&'w str, usize>,
    /// What streaming each member measured (`None`: not read).
    scans: Vec<Option<Scanned>>,
    filename: Option<&'w WheelFilename>,
    payload: &'w Payload,
}

impl Wheel<'_, '_> {
    fn content(&self, name: &str) -> Option<&[u8]> {
        self.scanned(name)?.content.as_deref()
    }

    fn scanned(&self, name: &str) -> Option<&Scanned> {
        let i = *self.index.get(name)?;
        self.scans.get(i)?.as_ref()
    }

    /// A wheel of the configured distribution: this project's layout rules apply to it.
    fn is_ours(&self) -> bool {
        self.filename
            .is_some_and(|f| f.name == self.payload.distribution)
    }

    /// The hash and size RECORD must list for a member that was read.
    fn measured(&self, i: usize) -> Option<(RecordHash, u64)> {
        self.scans.get(i)?.as_ref().map(|s| (s.hash, s.size))
    }

    fn is_platform(&self) -> bool {
        self.filename.is_some_and(|f| !f.is_pure())
    }

    /// The `NAME-VERSION.dist-info/` prefix the metadata lives under.
    fn dist_info(&self, out: &mut Vec<Finding>) -> Option<String> {
        let found: BTreeSet<&str> = self
            .archive
            .entries
            .iter()
            .filter_map(|e| e.name.split('/').next())
            .filter(|top| top.ends_with(".dist-info"))
            .collect();
        let expected = self.filename.map(|f| f.dist_info_dir());
        let listing = || {
            found
                .iter()
                .map(|d| format!("{d}/"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(expected) = &expected {
            if found.contains(expected.as_str()) {
                if found.len() > 1 {
                    out.push(finding(
                        Kind::WheelDistInfo,
                        format!("more than one .dist-info directory: {}", listing()),
                        format!("only {expected}/"),
                    ));
                }
                return Some(format!("{expected}/"));
            }
        }
        if expected.is_none() && found.len() == 1 {
            // The file name did not parse (reported already): take the one there is.
            return found.iter().next().map(|d| format!("{d}/"));
        }
        let want = expected.unwrap_or_else(|| "NAME-VERSION.dist-info".into());
        match found.iter().next() {
            None => {
                out.push(finding(
                    Kind::WheelDistInfo,
                    "no .dist-info directory",
                    format!("{want}/ with WHEEL, METADATA and RECORD"),
                ));
                None
            }
            Some(first) => {
                out.push(finding(
                    Kind::WheelDistInfo,
                    format!("found {} instead", listing()),
                    format!("{want}/ (named after the file name)"),
                ));
                Some(format!("{first}/"))
            }
        }
    }

    fn required_text(&self, path: &str, out: &mut Vec<Finding>) -> Option<String> {
        if !self.index.contains_key(path) {
            out.push(finding_at(
                path,
                Kind::WheelMissingFile,
                format!("{path} is missing"),
                format!("{path} in the wheel"),
            ));
            return None;
        }
        // Unreadable content was reported as zip-corrupt-data already.
        self.content(path)
            .map(|c| String::from_utf8_lossy(c).into_owned())
    }
}
