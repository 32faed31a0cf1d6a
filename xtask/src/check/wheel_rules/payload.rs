//! Rule 3, for wheels of the configured distribution: exactly one executable regular file under
//! `<package>/<native-dir>/`, named for the platform (`natives` checks its bytes).

use super::super::finding::{finding, finding_at, Finding, Kind};
use super::super::zip_rules::{Entry, S_IFREG};
use super::super::Payload;
use super::Wheel;

impl Wheel<'_, '_> {
    pub(super) fn payload(&self, out: &mut Vec<Finding>) {
        let Payload {
            python_package,
            native_dir,
            binary: binary_name,
            ..
        } = self.payload;
        let native_dir = native_dir.as_str();
        let natives: Vec<&Entry> = self
            .archive
            .entries
            .iter()
            .filter(|e| !e.is_dir() && e.name.split('/').nth(1) == Some(native_dir))
            .collect();
        let Some(filename) = self.filename else {
            return;
        };
        if filename.is_pure() {
            for e in &natives {
                out.push(finding_at(
                    &e.name,
                    Kind::PayloadExtraFile,
                    format!("a pure (any) wheel carries {}", e.name),
                    "no native binary in a py3-none-any wheel",
                ));
            }
            return;
        }
        let suffix = filename
            .platforms()
            .first()
            .map(|t| t.expectation().exe_suffix)
            .unwrap_or("");
        let want_dir = format!("{python_package}/{native_dir}/");
        let want_name = format!("{binary_name}{suffix}");
        let Some(&entry) = natives.first() else {
            out.push(finding(
                Kind::PayloadMissingBinary,
                format!("no file under <package>/{native_dir}/"),
                format!("exactly one binary at {want_dir}{want_name}"),
            ));
            return;
        };
        for extra in &natives[1..] {
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
