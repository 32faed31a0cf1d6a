//! RECORD: one well-formed row per member, each hash and size matching the member's bytes.
//! Rows are read with the wheel model's one RECORD reader (`wheel::record`).

use std::collections::BTreeMap;

use super::super::finding::{finding_at, Finding, Kind};
use super::Wheel;
use crate::wheel::record::{self, RowError};
use crate::wheel::{RecordEntry, RecordHash};

impl Wheel<'_, '_> {
    pub(super) fn record(&self, dist_info: &str, out: &mut Vec<Finding>) {
        let record_path = format!("{dist_info}RECORD");
        let Some(text) = self.required_text(&record_path, out) else {
            return;
        };
        let mut rows: BTreeMap<String, Result<RecordEntry, RowError>> = BTreeMap::new();
        for parsed in record::parse(&text) {
            let (Some(path), row) = (parsed.path, parsed.row.clone()) else {
                let why = parsed.row.err().map(|e| e.to_string()).unwrap_or_default();
                out.push(finding_at(
                    &record_path,
                    Kind::RecordMalformed,
                    format!("line {}: {why}", parsed.line),
                    "three CSV fields per row",
                ));
                continue;
            };
            if rows.contains_key(&path) {
                out.push(finding_at(
                    &record_path,
                    Kind::RecordMalformed,
                    format!("line {}: {path} is listed twice", parsed.line),
                    "each file listed once",
                ));
                continue;
            }
            rows.insert(path, row);
        }
        for (i, entry) in self.archive.entries.iter().enumerate() {
            if entry.is_dir() || rows.contains_key(&entry.name) {
                continue;
            }
            // Signatures of RECORD cannot list themselves.
            let unlisted_ok = [
                format!("{dist_info}RECORD.jws"),
                format!("{dist_info}RECORD.p7s"),
            ];
            if unlisted_ok.contains(&entry.name) {
                continue;
            }
            let detail = self
                .measured(i)
                .map(|(hash, size)| format!("{hash},{size}"))
                .unwrap_or_default();
            out.push(finding_at(
                &entry.name,
                Kind::RecordMissingEntry,
                format!("{} is in the wheel but not in RECORD", entry.name),
                format!("a RECORD row {},{detail}", entry.name),
            ));
        }
        for (path, row) in &rows {
            if *path == record_path {
                let unhashed = row
                    .as_ref()
                    .is_ok_and(|r| r.hash.is_none() && r.size.is_none());
                if !unhashed {
                    out.push(finding_at(
                        &record_path,
                        Kind::RecordSelfHash,
                        format!("RECORD's own row is not `{path},,`"),
                        format!("`{path},,` (RECORD cannot hash itself)"),
                    ));
                }
                continue;
            }
            let Some(&i) = self.index.get(path.as_str()) else {
                out.push(finding_at(
                    &record_path,
                    Kind::RecordExtraEntry,
                    format!("RECORD lists {path}, which the wheel does not contain"),
                    "RECORD rows only for files in the wheel",
                ));
                continue;
            };
            if self.archive.entries[i].is_dir() {
                continue;
            }
            let Some(measured) = self.measured(i) else {
                continue;
            };
            record_row(path, row, measured, out);
        }
    }
}

/// One RECORD row against the member it names.
fn record_row(
    path: &str,
    row: &Result<RecordEntry, RowError>,
    (expected, len): (RecordHash, u64),
    out: &mut Vec<Finding>,
) {
    let row = match row {
        Ok(row) => row,
        Err(e @ RowError::Hash(_)) => {
            out.push(finding_at(
                path,
                Kind::RecordBadHash,
                e.to_string(),
                expected.to_string(),
            ));
            return;
        }
        Err(e) => {
            let fix = len.to_string();
            out.push(finding_at(path, Kind::RecordMalformed, e.to_string(), fix));
            return;
        }
    };
    match row.hash {
        Some(hash) if hash == expected => {}
        Some(hash) => out.push(finding_at(
            path,
            Kind::RecordHashMismatch,
            format!("RECORD says {hash}, the member hashes to {expected}"),
            expected.to_string(),
        )),
        None => out.push(finding_at(
            path,
            Kind::RecordBadHash,
            "no hash",
            expected.to_string(),
        )),
    }
    match row.size {
        Some(n) if n == len => {}
        Some(n) => out.push(finding_at(
            path,
            Kind::RecordSizeMismatch,
            format!("RECORD says {n} bytes, the member has {len}"),
            len.to_string(),
        )),
        None => out.push(finding_at(
            path,
            Kind::RecordMalformed,
            "no size",
            len.to_string(),
        )),
    }
}
