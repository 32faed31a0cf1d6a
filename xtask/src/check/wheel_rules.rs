//! Rules 2 and 3: the wheel's name, metadata files, RECORD and payload, then (rule 4) its one
//! binary against every platform tag the file name promises.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::binary::{self, BinaryFacts};
use super::finding::{finding, Finding, Kind};
use super::zip_rules::{self, Archive, Entry, ReadError, S_IFREG};
use crate::wheel::record::{self, RowError};
use crate::wheel::{
    BinaryExpectation, DistName, FilenameError, PlatformTag, RecordEntry, RecordHash, Version,
    Version2, WheelFilename,
};

/// What the caller gets besides findings: the binaries found and how they measured up.
#[derive(Debug, Default)]
pub struct WheelSummary {
    pub binaries: Vec<BinaryFacts>,
}

pub fn check(file_name: &str, bytes: &[u8]) -> (Vec<Finding>, WheelSummary) {
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
    let platforms = filename
        .as_ref()
        .map(|f| platform_tags(f, &mut out))
        .unwrap_or_default();
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
        platforms: &platforms,
    };
    if let Some(dist_info) = wheel.dist_info(&mut out) {
        wheel.wheel_file(&dist_info, &mut out);
        wheel.metadata(&dist_info, &mut out);
        wheel.record(&dist_info, &mut out);
    }
    wheel.payload(&mut out, &mut summary);
    (out, summary)
}

/// Reports the platform alternatives PyPI would refuse.
fn platform_tags(filename: &WheelFilename, out: &mut Vec<Finding>) -> Vec<PlatformTag> {
    for tag in filename.platforms() {
        if let Some(why) = tag.pypi_refusal() {
            out.push(finding(
                Kind::WheelPlatformRefused,
                why,
                "a tag PyPI accepts (manylinux_*, macosx_X_Y with Y=0 for X>=11, win_*)",
            ));
        }
    }
    filename.platforms().to_vec()
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
                out.push(
                    finding(
                        Kind::ZipCorruptData,
                        format!("member cannot be read: {err}"),
                        "a member that inflates to its declared size and CRC-32",
                    )
                    .member(&e.name),
                );
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
    platforms: &'w [PlatformTag],
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
            out.push(
                finding(
                    Kind::WheelMissingFile,
                    format!("{path} is missing"),
                    format!("{path} in the wheel"),
                )
                .member(path),
            );
            return None;
        }
        // Unreadable content was reported as zip-corrupt-data already.
        self.content(path)
            .map(|c| String::from_utf8_lossy(c).into_owned())
    }

    fn wheel_file(&self, dist_info: &str, out: &mut Vec<Finding>) {
        let path = format!("{dist_info}WHEEL");
        let Some(text) = self.required_text(&path, out) else {
            return;
        };
        let (headers, _) = parse_headers(&text);
        let version = header(&headers, "Wheel-Version");
        if version.is_none_or(|v| v.split('.').next() != Some("1")) {
            out.push(
                finding(
                    Kind::WheelVersion,
                    format!("Wheel-Version is {}", shown(version)),
                    "Wheel-Version: 1.0",
                )
                .member(&path),
            );
        }
        let purelib = header(&headers, "Root-Is-Purelib").map(str::to_ascii_lowercase);
        let want = if self.is_platform() { "false" } else { "true" };
        if self.filename.is_some() && purelib.as_deref() != Some(want) {
            let kind = if self.is_platform() {
                "a platform"
            } else {
                "a pure"
            };
            out.push(
                finding(
                    Kind::WheelRootIsPurelib,
                    format!(
                        "Root-Is-Purelib is {} in {kind} wheel",
                        shown(purelib.as_deref())
                    ),
                    format!("Root-Is-Purelib: {want}"),
                )
                .member(&path),
            );
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
                out.push(
                    finding(
                        Kind::WheelTagMismatch,
                        format!("Tag lines differ from the file name: {}", what.join("; ")),
                        format!("exactly: {}", expected.join(", ")),
                    )
                    .member(&path),
                );
            }
        }
    }

    fn metadata(&self, dist_info: &str, out: &mut Vec<Finding>) {
        let path = format!("{dist_info}METADATA");
        let Some(text) = self.required_text(&path, out) else {
            return;
        };
        let (headers, body) = parse_headers(&text);
        let format = header(&headers, "Metadata-Version");
        let parsed = format.and_then(|v| Version2::parse(v).ok());
        if parsed.is_none_or(|v| v < Version2::new(2, 1)) {
            out.push(
                finding(
                    Kind::MetadataFormat,
                    format!("Metadata-Version is {}", shown(format)),
                    "Metadata-Version 2.1 or later",
                )
                .member(&path),
            );
        }
        if let Some(filename) = self.filename {
            let name = header(&headers, "Name");
            if name.and_then(|n| DistName::parse(n).ok()).as_ref() != Some(&filename.name) {
                out.push(
                    finding(
                        Kind::MetadataName,
                        format!("Name is {}", shown(name)),
                        format!(
                            "a name that normalizes to `{}` (the file name's)",
                            filename.name
                        ),
                    )
                    .member(&path),
                );
            }
            let version = header(&headers, "Version");
            if version.and_then(|v| Version::parse(v).ok()).as_ref() != Some(&filename.version) {
                out.push(
                    finding(
                        Kind::MetadataVersion,
                        format!("Version is {}", shown(version)),
                        format!("Version: {} (the file name's)", filename.version),
                    )
                    .member(&path),
                );
            }
        }
        if header(&headers, "Requires-Python").is_none_or(|v| v.trim().is_empty()) {
            out.push(
                finding(
                    Kind::MetadataRequiresPython,
                    "no Requires-Python",
                    "Requires-Python (e.g. >=3.7) so pip never installs on an unsupported Python",
                )
                .member(&path),
            );
        }
        if let Some(f) = description_finding(&headers, &body) {
            out.push(f.member(&path));
        }
    }

    fn record(&self, dist_info: &str, out: &mut Vec<Finding>) {
        let record_path = format!("{dist_info}RECORD");
        let Some(text) = self.required_text(&record_path, out) else {
            return;
        };
        let mut rows: BTreeMap<String, Result<RecordEntry, RowError>> = BTreeMap::new();
        for parsed in record::parse(&text) {
            let (Some(path), row) = (parsed.path, parsed.row.clone()) else {
                let why = parsed.row.err().map(|e| e.to_string()).unwrap_or_default();
                out.push(
                    finding(
                        Kind::RecordMalformed,
                        format!("line {}: {why}", parsed.line),
                        "three CSV fields per row",
                    )
                    .member(&record_path),
                );
                continue;
            };
            if rows.contains_key(&path) {
                out.push(
                    finding(
                        Kind::RecordMalformed,
                        format!("line {}: {path} is listed twice", parsed.line),
                        "each file listed once",
                    )
                    .member(&record_path),
                );
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
            let detail = self.contents[i]
                .as_deref()
                .map(|c| format!("{},{}", record_hash(c), c.len()))
                .unwrap_or_default();
            out.push(
                finding(
                    Kind::RecordMissingEntry,
                    format!("{} is in the wheel but not in RECORD", entry.name),
                    format!("a RECORD row {},{detail}", entry.name),
                )
                .member(&entry.name),
            );
        }
        for (path, row) in &rows {
            if *path == record_path {
                let unhashed = row
                    .as_ref()
                    .is_ok_and(|r| r.hash.is_none() && r.size.is_none());
                if !unhashed {
                    out.push(
                        finding(
                            Kind::RecordSelfHash,
                            format!("RECORD's own row is not `{path},,`"),
                            format!("`{path},,` (RECORD cannot hash itself)"),
                        )
                        .member(&record_path),
                    );
                }
                continue;
            }
            let Some(&i) = self.index.get(path.as_str()) else {
                out.push(
                    finding(
                        Kind::RecordExtraEntry,
                        format!("RECORD lists {path}, which the wheel does not contain"),
                        "RECORD rows only for files in the wheel",
                    )
                    .member(&record_path),
                );
                continue;
            };
            if self.archive.entries[i].is_dir() {
                continue;
            }
            let Some(content) = self.contents[i].as_deref() else {
                continue;
            };
            record_row(path, row, content, out);
        }
    }
}

/// One RECORD row against the member it names.
fn record_row(
    path: &str,
    row: &Result<RecordEntry, RowError>,
    content: &[u8],
    out: &mut Vec<Finding>,
) {
    let expected = RecordHash::of(content);
    let row = match row {
        Ok(row) => row,
        Err(e @ RowError::Hash(_)) => {
            out.push(
                finding(Kind::RecordBadHash, e.to_string(), expected.to_string()).member(path),
            );
            return;
        }
        Err(e) => {
            let fix = content.len().to_string();
            out.push(finding(Kind::RecordMalformed, e.to_string(), fix).member(path));
            return;
        }
    };
    match row.hash {
        Some(hash) if hash == expected => {}
        Some(hash) => out.push(
            finding(
                Kind::RecordHashMismatch,
                format!("RECORD says {hash}, the member hashes to {expected}"),
                expected.to_string(),
            )
            .member(path),
        ),
        None => {
            out.push(finding(Kind::RecordBadHash, "no hash", expected.to_string()).member(path))
        }
    }
    match row.size {
        Some(n) if n == content.len() as u64 => {}
        Some(n) => out.push(
            finding(
                Kind::RecordSizeMismatch,
                format!("RECORD says {n} bytes, the member has {}", content.len()),
                content.len().to_string(),
            )
            .member(path),
        ),
        None => out.push(
            finding(Kind::RecordMalformed, "no size", content.len().to_string()).member(path),
        ),
    }
}

impl Wheel<'_, '_> {
    /// Rule 3, then rule 4 on the binary it finds.
    fn payload(&self, out: &mut Vec<Finding>, summary: &mut WheelSummary) {
        let natives: Vec<(usize, &Entry)> = self
            .archive
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.is_dir() && e.name.split('/').nth(1) == Some("_native"))
            .collect();
        let Some(filename) = self.filename else {
            return;
        };
        if filename.is_pure() {
            for (_, e) in &natives {
                out.push(
                    finding(
                        Kind::PayloadExtraFile,
                        format!("a pure (any) wheel carries {}", e.name),
                        "no native binary in a py3-none-any wheel",
                    )
                    .member(&e.name),
                );
            }
            return;
        }
        let expectations: Vec<BinaryExpectation> =
            self.platforms.iter().fold(Vec::new(), |mut acc, t| {
                let e = t.expectation();
                if !acc.contains(&e) {
                    acc.push(e);
                }
                acc
            });
        let suffix = expectations.first().map(|e| e.exe_suffix).unwrap_or("");
        let want_dir = format!("{}/_native/", filename.name);
        let Some(&(index, entry)) = natives.first() else {
            out.push(finding(
                Kind::PayloadMissingBinary,
                "no file under <package>/_native/",
                format!("exactly one binary at {want_dir}<binary>{suffix}"),
            ));
            return;
        };
        for (_, extra) in &natives[1..] {
            out.push(
                finding(
                    Kind::PayloadExtraFile,
                    format!("second file under _native/ (the first is {})", entry.name),
                    format!("exactly one binary under {want_dir}"),
                )
                .member(&extra.name),
            );
        }
        if !entry.name.starts_with(&want_dir) {
            out.push(
                finding(
                    Kind::PayloadMissingBinary,
                    format!("the binary is at {}, outside the package", entry.name),
                    format!("{want_dir}<binary>{suffix}"),
                )
                .member(&entry.name),
            );
        }
        self.payload_mode(entry, out);
        let base = entry.name.rsplit('/').next().unwrap_or_default();
        let has_exe = base.to_ascii_lowercase().ends_with(".exe");
        if has_exe != (suffix == ".exe") {
            let want = if suffix == ".exe" {
                format!("{base}.exe")
            } else {
                base.trim_end_matches(".exe").to_string()
            };
            out.push(
                finding(
                    Kind::PayloadWrongName,
                    format!("binary is named {base}"),
                    format!("{want} for this platform"),
                )
                .member(&entry.name),
            );
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
            out.push(
                finding(
                    Kind::PayloadNotExecutable,
                    format!(
                        "no Unix mode: the entry was made by host {} (external_attr {:#010x})",
                        entry.version_made_by >> 8,
                        entry.external_attr
                    ),
                    "made by Unix (3) with mode 0o100755 in external_attr",
                )
                .member(&entry.name),
            );
            return;
        };
        let kind = mode & 0o170_000;
        // Writers that leave the type bits at 0 mean "regular file".
        if kind != 0 && kind != S_IFREG {
            out.push(
                finding(
                    Kind::PayloadNotRegular,
                    format!("binary has file type {kind:#o} (mode {mode:#o})"),
                    "a regular file (0o100000)",
                )
                .member(&entry.name),
            );
        }
        if mode & 0o111 == 0 {
            out.push(
                finding(
                    Kind::PayloadNotExecutable,
                    format!("binary has mode {mode:#o}, no executable bit"),
                    "mode 0o100755 so pip installs it executable",
                )
                .member(&entry.name),
            );
        }
    }
}

/// What `twine check --strict` refuses in METADATA / PKG-INFO: no long description, or one
/// without a content type (twine then guesses reStructuredText and warns).
pub fn description_finding(headers: &[(String, String)], body: &str) -> Option<Finding> {
    let has_body = !body.trim().is_empty()
        || header(headers, "Description").is_some_and(|d| !d.trim().is_empty());
    let has_type = header(headers, "Description-Content-Type").is_some();
    let what = match (has_body, has_type) {
        (true, true) => return None,
        (false, false) => "no long description and no Description-Content-Type",
        (false, true) => "no long description (the body after the headers is empty)",
        (true, false) => "a long description but no Description-Content-Type",
    };
    Some(finding(
        Kind::MetadataDescription,
        what,
        "the README as the body with Description-Content-Type: text/markdown (twine check --strict)",
    ))
}

fn shown(v: Option<&str>) -> String {
    v.map(|v| format!("`{v}`"))
        .unwrap_or_else(|| "missing".into())
}

pub fn header<'h>(headers: &'h [(String, String)], key: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// RFC 822-style headers (WHEEL, METADATA, PKG-INFO) and the body after the first blank line.
pub fn parse_headers(text: &str) -> (Vec<(String, String)>, String) {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut lines = text.split_inclusive('\n');
    for line in lines.by_ref() {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (headers, lines.collect())
}

/// `sha256=<urlsafe base64 without padding>`, the RECORD hash form.
pub fn record_hash(content: &[u8]) -> String {
    RecordHash::of(content).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_body() {
        let (h, body) = parse_headers("Name: x\nSummary: a\n  b\n\nbody\ntext\n");
        assert_eq!(h[0], ("Name".into(), "x".into()));
        assert_eq!(h[1].1, "a\nb");
        assert_eq!(body, "body\ntext\n");
    }
}
