//! METADATA: format version, Name and Version as the file name says, Requires-Python, and a long
//! description twine accepts.

use super::super::finding::{finding_at, Finding, Kind};
use super::super::headers::{description_finding, header, parse_headers, shown};
use super::Wheel;
use crate::wheel::{DistName, Version, Version2};

impl Wheel<'_, '_> {
    pub(super) fn metadata(&self, dist_info: &str, out: &mut Vec<Finding>) {
        let path = format!("{dist_info}METADATA");
        let Some(text) = self.required_text(&path, out) else {
            return;
        };
        let (headers, body) = parse_headers(&text);
        let format = header(&headers, "Metadata-Version");
        let parsed = format.and_then(|v| Version2::parse(v).ok());
        if parsed.is_none_or(|v| v < Version2::new(2, 1)) {
            out.push(finding_at(
                &path,
                Kind::MetadataFormat,
                format!("Metadata-Version is {}", shown(format)),
                "Metadata-Version 2.1 or later",
            ));
        }
        if let Some(filename) = self.filename {
            let name = header(&headers, "Name");
            if name.and_then(|n| DistName::parse(n).ok()).as_ref() != Some(&filename.name) {
                out.push(finding_at(
                    &path,
                    Kind::MetadataName,
                    format!("Name is {}", shown(name)),
                    format!(
                        "a name that normalizes to `{}` (the file name's)",
                        filename.name
                    ),
                ));
            }
            let version = header(&headers, "Version");
            if version.and_then(|v| Version::parse(v).ok()).as_ref() != Some(&filename.version) {
                out.push(finding_at(
                    &path,
                    Kind::MetadataVersion,
                    format!("Version is {}", shown(version)),
                    format!("Version: {} (the file name's)", filename.version),
                ));
            }
        }
        if header(&headers, "Requires-Python").is_none_or(|v| v.trim().is_empty()) {
            out.push(finding_at(
                &path,
                Kind::MetadataRequiresPython,
                "no Requires-Python",
                "Requires-Python (e.g. >=3.7) so pip never installs on an unsupported Python",
            ));
        }
        if let Some(f) = description_finding(&headers, &body) {
            out.push(f.member(&path));
        }
    }
}
