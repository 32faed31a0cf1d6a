//! Rules 2 and 3: the wheel's name, metadata files, RECORD and payload, then (rule 4) its one
//! binary against every platform tag the file name promises. One file per job: `wheel_file`
//! (WHEEL), `metadata` (METADATA), `record` (RECORD), `payload` (the binary and its place).

mod metadata;
mod payload;
mod record;
mod wheel_file;

use std::collections::{BTreeSet, HashMap};

use super::binary::BinaryFacts;
use super::finding::{finding, finding_at, Finding, Kind};
use super::zip_rules::{self, Archive, ReadError};
use super::Payload;
use crate::wheel::{FilenameError, WheelFilename};

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
                "manylinux_2_17_x86_64, macosx_10_12_x86_64, macosx_11_0_arm64 or win_amd64",
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
    let contents = read_members(&archive, &mut out);
    let mut index = HashMap::new();
    for (i, e) in archive.entries.iter().enumerate() {
        index.entry(e.name.as_str()).or_insert(i);
    }
    let wheel = Wheel {
        archive: &archive,
        index,
        contents: &contents,
        filename: filename.as_ref(),
        payload,
    };
    if let Some(dist_info) = wheel.dist_info(&mut out) {
        wheel.wheel_file(&dist_info, &mut out);
        wheel.metadata(&dist_info, &mut out);
        wheel.record(&dist_info, &mut out);
        if wheel.is_platform() {
            let (present, content) = (
                |n: &str| wheel.index.contains_key(n),
                |n: &str| wheel.content(n),
            );
            super::sbom::check(&dist_info, payload, present, content, &mut out);
        }
    }
    wheel.payload(&mut out, &mut summary);
    (out, summary)
}

/// Reports the platform alternatives PyPI would refuse.
fn pypi_refusals(filename: &WheelFilename, out: &mut Vec<Finding>) {
    for why in filename.platforms().iter().filter_map(|t| t.pypi_refusal()) {
        out.push(finding(
            Kind::WheelPlatformRefused,
            why,
            "a tag PyPI accepts (manylinux_*, macosx_X_Y with Y=0 for X>=11, win_*)",
        ));
    }
}

/// Inflates every member once; a member that fails is reported and left out.
fn read_members(archive: &Archive<'_>, out: &mut Vec<Finding>) -> Vec<Option<Vec<u8>>> {
    archive
        .entries
        .iter()
        .map(|e| match archive.read(e) {
            // Encrypted or exotic members were reported as zip-unsupported already.
            Err(ReadError::Encrypted | ReadError::Method(_)) => None,
            Ok(c) => Some(c),
            Err(err) => {
                out.push(finding_at(
                    &e.name,
                    Kind::ZipCorruptData,
                    format!("member cannot be read: {err}"),
                    "a member that inflates to its declared size and CRC-32",
                ));
                None
            }
        })
        .collect()
}

struct Wheel<'w, 'a> {
    archive: &'w Archive<'a>,
    /// Member name → first entry with it (lookups stay linear on a hostile RECORD).
    index: HashMap<&'w str, usize>,
    contents: &'w [Option<Vec<u8>>],
    filename: Option<&'w WheelFilename>,
    payload: &'w Payload,
}

impl Wheel<'_, '_> {
    fn content(&self, name: &str) -> Option<&[u8]> {
        let i = *self.index.get(name)?;
        self.contents.get(i)?.as_deref()
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
