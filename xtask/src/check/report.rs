//! How findings leave the program: one line per finding plus a summary, or `--json`.

use std::collections::BTreeMap;
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

/// Findings of one kind per file printed before the rest is counted (`--json` lists all).
pub const MAX_PER_KIND: usize = 20;

/// Text from a file (names, RECORD lines, library names) as the terminal may show it: control
/// characters (ESC among them) become visible escapes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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

    /// Clean means no findings at all, warnings included (what `dist` demands of its own output).
    pub fn is_clean(&self) -> bool {
        self.findings().next().is_none()
    }

    /// What `check` exits 0 on: no error, and with `--strict` no warning either.
    pub fn passes(&self, strict: bool) -> bool {
        self.count(Severity::Error) == 0 && !(strict && self.count(Severity::Warning) > 0)
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
        for a in &self.artifacts {
            let mut per_kind: BTreeMap<Kind, usize> = BTreeMap::new();
            for f in &a.findings {
                let n = per_kind.entry(f.kind).or_default();
                *n += 1;
                if *n > MAX_PER_KIND {
                    continue;
                }
                let severity = f.severity.label();
                let member = f
                    .member
                    .as_deref()
                    .map(|m| format!("!{}", escape(m)))
                    .unwrap_or_default();
                writeln!(
                    w,
                    "{severity}[{}] {}{member}: {}; expected {}",
                    f.kind,
                    escape(&f.file.display().to_string()),
                    escape(&f.message),
                    escape(&f.expected)
                )?;
            }
            for (kind, n) in per_kind.iter().filter(|(_, n)| **n > MAX_PER_KIND) {
                writeln!(
                    w,
                    "note: {} more [{kind}] finding(s) in {} not shown (--json lists all)",
                    n - MAX_PER_KIND,
                    escape(&a.file.display().to_string())
                )?;
            }
        }
        for a in &self.artifacts {
            let status = match a.findings.iter().map(|f| f.severity).max() {
                None => "ok  ",
                Some(Severity::Warning) => "warn",
                Some(Severity::Error) => "FAIL",
            };
            let mut line = format!(
                "{status} {} ({})",
                escape(&a.file.display().to_string()),
                crate::util::human_size(a.size)
            );
            for b in &a.binaries {
                let member = b
                    .member
                    .as_deref()
                    .map(|m| format!("{}: ", escape(m)))
                    .unwrap_or_default();
                let notes = if b.notes.is_empty() {
                    String::new()
                } else {
                    escape(&format!(", {}", b.notes.join(", ")))
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
