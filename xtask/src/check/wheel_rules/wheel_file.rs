//! The WHEEL file: Wheel-Version 1.x, Root-Is-Purelib for the wheel's kind, Tag lines equal to
//! the file name's expanded tags.

use std::collections::BTreeSet;

use super::super::finding::{finding_at, Finding, Kind};
use super::super::headers::{header, parse_headers, shown};
use super::Wheel;

impl Wheel<'_, '_> {
    pub(super) fn wheel_file(&self, dist_info: &str, out: &mut Vec<Finding>) {
        let path = format!("{dist_info}WHEEL");
        let Some(text) = self.required_text(&path, out) else {
            return;
        };
        let (headers, _) = parse_headers(&text);
        let version = header(&headers, "Wheel-Version");
        if version.is_none_or(|v| v.split('.').next() != Some("1")) {
            out.push(finding_at(
                &path,
                Kind::WheelVersion,
                format!("Wheel-Version is {}", shown(version)),
                "Wheel-Version: 1.0",
            ));
        }
        let purelib = header(&headers, "Root-Is-Purelib").map(str::to_ascii_lowercase);
        let want = if self.is_platform() { "false" } else { "true" };
        if self.filename.is_some() && purelib.as_deref() != Some(want) {
            let kind = if self.is_platform() {
                "a platform"
            } else {
                "a pure"
            };
            out.push(finding_at(
                &path,
                Kind::WheelRootIsPurelib,
                format!(
                    "Root-Is-Purelib is {} in {kind} wheel",
                    shown(purelib.as_deref())
                ),
                format!("Root-Is-Purelib: {want}"),
            ));
        }
        if let Some(filename) = self.filename {
            let tags: Vec<&str> = headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("Tag"))
                .map(|(_, v)| v.as_str())
                .collect();
            let expected = filename.expanded_tags();
            let have: BTreeSet<&str> = tags.iter().copied().collect();
            let want: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
            if have != want || have.len() != tags.len() {
                let missing: Vec<&str> = want.difference(&have).copied().collect();
                let extra: Vec<&str> = have.difference(&want).copied().collect();
                let mut what = Vec::new();
                if !missing.is_empty() {
                    what.push(format!("missing {}", missing.join(", ")));
                }
                if !extra.is_empty() {
                    what.push(format!("not in the file name: {}", extra.join(", ")));
                }
                if have.len() != tags.len() {
                    what.push("a Tag line repeated".into());
                }
                out.push(finding_at(
                    &path,
                    Kind::WheelTagMismatch,
                    format!("Tag lines differ from the file name: {}", what.join("; ")),
                    format!("exactly: {}", expected.join(", ")),
                ));
            }
        }
    }
}
