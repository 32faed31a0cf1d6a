//! How findings leave the program: one line per finding plus a summary, or `--json`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::binary::BinaryFacts;
use super::finding::{Finding, Kind, Severity};

/// Which rules a file gets, by its extension alone: a misnamed wheel is still checked as a wheel
/// (and reported), and a bare binary is no release artifact, so this is not `artifact::ArtifactKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Wheel,
    Sdist,
    Binary,
}

impl FileKind {
    pub fn of(path: &Path) -> FileKind {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".whl") {
            FileKind::Wheel
        } else if name.ends_with(".tar.gz") {
            FileKind::Sdist
        } else {
            FileKind::Binary
        }
    }
}

/// One checked file, what was measured in it and what is wrong with it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    pub file: PathBuf,
    pub kind: FileKind,
    pub size: u64,
    pub binaries: Vec<BinaryFacts>,
    pub findings: Vec<Finding>,
}

/// `--json`: `{clean, errors, warnings, artifacts: [{file, kind, size, binaries, findings: [Finding]}]}`,
/// each finding `{severity, kind, rule, file, member, message, expected}`.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub artifacts: Vec<Checked>,
}

impl Report {
    /// Every finding, file by file.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.artifacts.iter().flat_map(|a| &a.findings)
    }

    /// Clean means no findings at all: warnings fail the check too.
    pub fn is_clean(&self) -> bool {
        self.findings().next().is_none()
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings().filter(|f| f.severity == severity).count()
    }

    /// Human lines (`error[code] file!member: what; expected …`) and a summary, or JSON.
    pub fn print(&self, json: bool) -> io::Result<()> {
        let stdout = io::stdout();
        let mut w = stdout.lock();
        if json {
            self.write_json(&mut w)
        } else {
            self.write_human(&mut w)
        }
    }

    pub fn write_json(&self, w: &mut impl Write) -> io::Result<()> {
        let value = serde_json::json!({
            "clean": self.is_clean(),
            "errors": self.count(Severity::Error),
            "warnings": self.count(Severity::Warning),
            "artifacts": self.artifacts,
        });
        serde_json::to_writer_pretty(&mut *w, &value)?;
        writeln!(w)
    }

    pub fn write_human(&self, w: &mut impl Write) -> io::Result<()> {
        for f in self.findings() {
            let severity = f.severity.label();
            let member = f
                .member
                .as_deref()
                .map(|m| format!("!{m}"))
                .unwrap_or_default();
            writeln!(
                w,
                "{severity}[{}] {}{member}: {}; expected {}",
                f.kind,
                f.file.display(),
                f.message,
                f.expected
            )?;
        }
        for a in &self.artifacts {
            let status = if a.findings.is_empty() {
                "ok  "
            } else {
                "FAIL"
            };
            let mut line = format!(
                "{status} {} ({})",
                a.file.display(),
                crate::util::human_size(a.size)
            );
            for b in &a.binaries {
                let member = b
                    .member
                    .as_deref()
                    .map(|m| format!("{m}: "))
                    .unwrap_or_default();
                let notes = if b.notes.is_empty() {
                    String::new()
                } else {
                    format!(", {}", b.notes.join(", "))
                };
                line.push_str(&format!(
                    "\n       {member}{} {} {}{notes}",
                    b.format,
                    b.arch,
                    crate::util::human_size(b.size)
                ));
            }
            writeln!(w, "{line}")?;
        }
        let count = |kind: FileKind| self.artifacts.iter().filter(|a| a.kind == kind).count();
        writeln!(
            w,
            "checked {} wheel(s), {} sdist(s), {} bare binary(ies): {} error(s), {} warning(s)",
            count(FileKind::Wheel),
            count(FileKind::Sdist),
            count(FileKind::Binary),
            self.count(Severity::Error),
            self.count(Severity::Warning)
        )
    }
}

/// `--list-kinds`: every finding kind with its rule, severity and meaning.
pub fn write_kinds(w: &mut impl Write, json: bool) -> io::Result<()> {
    if json {
        let kinds: Vec<_> = Kind::ALL
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kind": k.code(),
                    "rule": k.rule(),
                    "severity": k.severity(),
                    "about": k.about(),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *w, &kinds)?;
        return writeln!(w);
    }
    for k in Kind::ALL {
        let rule = serde_json::to_value(k.rule()).unwrap_or_default();
        let severity = k.severity().label();
        writeln!(
            w,
            "{:<26} {:<8} {:<7} {}",
            k.code(),
            rule.as_str().unwrap_or(""),
            severity,
            k.about()
        )?;
    }
    Ok(())
}
