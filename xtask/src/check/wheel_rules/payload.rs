//! Rule 3: exactly one executable regular file under `<package>/<native-dir>/`, named for the
//! platform; then rule 4 on its bytes against every tag the file name promises.

use std::collections::BTreeSet;

use super::super::binary;
use super::super::finding::{finding, finding_at, Finding, Kind};
use super::super::zip_rules::{Entry, S_IFREG};
use super::super::Payload;
use super::{Wheel, WheelSummary};
use crate::wheel::BinaryExpectation;

impl Wheel<'_, '_> {
    /// Rule 3, then rule 4 on the binary it finds.
    pub(super) fn payload(&self, out: &mut Vec<Finding>, summary: &mut WheelSummary) {
        let Payload {
            python_package,
            native_dir,
            binary: binary_name,
        } = self.payload;
        let native_dir = native_dir.as_str();
        let natives: Vec<(usize, &Entry)> = self
            .archive
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.is_dir() && e.name.split('/').nth(1) == Some(native_dir))
            .collect();
        let Some(filename) = self.filename else {
            return;
        };
        if filename.is_pure() {
            for (_, e) in &natives {
                out.push(finding_at(
                    &e.name,
                    Kind::PayloadExtraFile,
                    format!("a pure (any) wheel carries {}", e.name),
                    "no native binary in a py3-none-any wheel",
                ));
            }
            return;
        }
        let mut expectations: Vec<BinaryExpectation> = Vec::new();
        for e in filename.platforms().iter().map(|t| t.expectation()) {
            if !expectations.contains(&e) {
                expectations.push(e);
            }
        }
        let suffix = expectations.first().map(|e| e.exe_suffix).unwrap_or("");
        let want_dir = format!("{python_package}/{native_dir}/");
        let want_name = format!("{binary_name}{suffix}");
        let Some(&(index, entry)) = natives.first() else {
            out.push(finding(
                Kind::PayloadMissingBinary,
                format!("no file under <package>/{native_dir}/"),
                format!("exactly one binary at {want_dir}{want_name}"),
            ));
            return;
        };
        for (_, extra) in &natives[1..] {
            out.push(finding_at(
                &extra.name,
                Kind::PayloadExtraFile,
                format!(
                    "second file under {native_dir}/ (the first is {})",
                    entry.name
                ),
                format!("exactly one binary under {want_dir}"),
            ));
        }
        if !entry.name.starts_with(&want_dir) {
            out.push(finding_at(
                &entry.name,
                Kind::PayloadMissingBinary,
                format!("the binary is at {}, outside the package", entry.name),
                format!("{want_dir}{want_name}"),
            ));
        }
        self.payload_mode(entry, out);
        let base = entry.name.rsplit('/').next().unwrap_or_default();
        if base != want_name {
            out.push(finding_at(
                &entry.name,
                Kind::PayloadWrongName,
                format!("binary is named {base}"),
                format!("{want_name} for this platform (the config's binary)"),
            ));
        }
        let Some(bytes) = self.contents.get(index).and_then(|c| c.as_deref()) else {
            return;
        };
        let mut seen = BTreeSet::new();
        for exp in &expectations {
            let (findings, facts) = binary::check(bytes, exp);
            for f in findings {
                // Alias tags (manylinux_2_17 + manylinux2014) expect the same facts: report once.
                if seen.insert((f.kind, f.message.clone())) {
                    out.push(f.member(&entry.name));
                }
            }
            if let Some(mut facts) = facts {
                facts.member = Some(entry.name.clone());
                if !summary.binaries.iter().any(|b| b.member == facts.member) {
                    summary.binaries.push(facts);
                }
            }
        }
    }

    fn payload_mode(&self, entry: &Entry, out: &mut Vec<Finding>) {
        let Some(mode) = entry.unix_mode() else {
            out.push(finding_at(
                &entry.name,
                Kind::PayloadNotExecutable,
                format!(
                    "no Unix mode: the entry was made by host {} (external_attr {:#010x})",
                    entry.version_made_by >> 8,
                    entry.external_attr
                ),
                "made by Unix (3) with mode 0o100755 in external_attr",
            ));
            return;
        };
        let kind = mode & 0o170_000;
        // Writers that leave the type bits at 0 mean "regular file".
        if kind != 0 && kind != S_IFREG {
            out.push(finding_at(
                &entry.name,
                Kind::PayloadNotRegular,
                format!("binary has file type {kind:#o} (mode {mode:#o})"),
                "a regular file (0o100000)",
            ));
        }
        if mode & 0o111 == 0 {
            out.push(finding_at(
                &entry.name,
                Kind::PayloadNotExecutable,
                format!("binary has mode {mode:#o}, no executable bit"),
                "mode 0o100755 so pip installs it executable",
            ));
        }
    }
}
