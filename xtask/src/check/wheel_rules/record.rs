//! RECORD: one well-formed row per member, each hash and size matching the member's bytes.

use std::collections::BTreeMap;

use super::super::finding::{finding_at, Finding, Kind};
use super::Wheel;
use crate::wheel::metadata::record_hash;

impl Wheel<'_, '_> {
    pub(super) fn record(&self, dist_info: &str, out: &mut Vec<Finding>) {
        let record_path = format!("{dist_info}RECORD");
        let Some(text) = self.required_text(&record_path, out) else {
            return;
        };
        let mut rows: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let fields = match parse_csv_line(line) {
                Some(f) if f.len() == 3 => f,
                _ => {
                    out.push(finding_at(
                        &record_path,
                        Kind::RecordMalformed,
                        format!(
                            "line {}: \"{}\" is not path,hash,size",
                            n + 1,
                            line.escape_debug()
                        ),
                        "three CSV fields per row",
                    ));
                    continue;
                }
            };
            let [path, hash, size]: [String; 3] = match fields.try_into() {
                Ok(f) => f,
                Err(_) => continue,
            };
            if rows.contains_key(&path) {
                out.push(finding_at(
                    &record_path,
                    Kind::RecordMalformed,
                    format!("line {}: {path} is listed twice", n + 1),
                    "each file listed once",
                ));
                continue;
            }
            rows.insert(path, (hash, size));
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
            let detail = self.contents[i]
                .as_deref()
                .map(|c| format!("{},{}", record_hash(c), c.len()))
                .unwrap_or_default();
            out.push(finding_at(
                &entry.name,
                Kind::RecordMissingEntry,
                format!("{} is in the wheel but not in RECORD", entry.name),
                format!("a RECORD row {},{detail}", entry.name),
            ));
        }
        for (path, (hash, size)) in &rows {
            if *path == record_path {
                if !hash.is_empty() || !size.is_empty() {
                    out.push(finding_at(
                        &record_path,
                        Kind::RecordSelfHash,
                        format!("RECORD's own row is `{path},{hash},{size}`"),
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
            let Some(content) = self.contents[i].as_deref() else {
                continue;
            };
            self.record_row(path, hash, size, content, out);
        }
    }

    fn record_row(
        &self,
        path: &str,
        hash: &str,
        size: &str,
        content: &[u8],
        out: &mut Vec<Finding>,
    ) {
        let expected = record_hash(content);
        let well_formed = hash
            .strip_prefix("sha256=")
            .is_some_and(|d| d.len() == 43 && d.bytes().all(is_urlsafe_b64));
        if !well_formed {
            out.push(finding_at(
                path,
                Kind::RecordBadHash,
                format!("hash `{hash}` is not sha256=<43 urlsafe base64 characters, no padding>"),
                expected,
            ));
        } else if hash != expected {
            out.push(finding_at(
                path,
                Kind::RecordHashMismatch,
                format!("RECORD says {hash}, the member hashes to {expected}"),
                expected,
            ));
        }
        match size.parse::<u64>() {
            Ok(n) if n == content.len() as u64 => {}
            Ok(n) => out.push(finding_at(
                path,
                Kind::RecordSizeMismatch,
                format!("RECORD says {n} bytes, the member has {}", content.len()),
                content.len().to_string(),
            )),
            Err(_) => out.push(finding_at(
                path,
                Kind::RecordMalformed,
                format!("size `{size}` is not a number"),
                content.len().to_string(),
            )),
        }
    }
}

/// One CSV row as RECORD writers produce it (fields may be double-quoted, `""` escapes a quote).
fn parse_csv_line(line: &str) -> Option<Vec<String>> {
    let line = line.trim_end_matches('\r');
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => {}
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

fn is_urlsafe_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows() {
        assert_eq!(
            parse_csv_line("a/b.py,sha256=x,12").unwrap(),
            ["a/b.py", "sha256=x", "12"]
        );
        assert_eq!(
            parse_csv_line("\"a,\"\"b\"\".py\",,").unwrap(),
            ["a,\"b\".py", "", ""]
        );
        assert!(parse_csv_line("\"unterminated,,").is_none());
        assert!(parse_csv_line("a\"b,,").is_none());
    }
}
