//! Rule 1: the zip structure, read at the byte level (the zip crate hides exactly what PyPI
//! refuses). Walks the EOCD (and ZIP64 EOCD), every central-directory entry and every local
//! header, and accounts for every byte of the file. Mirrors warehouse's `validate_zipfile`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::ops::Range;

use super::finding::{finding, Finding, Kind};

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_EOCD64: u32 = 0x0606_4b50;
const SIG_EOCD64_LOCATOR: u32 = 0x0706_4b50;
const SIG_DATA_DESCRIPTOR: u32 = 0x0807_4b50;
const EOCD_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
const FLAG_ENCRYPTED: u16 = 1 << 0;
const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
const EXTRA_ZIP64: u16 = 0x0001;
const EXTRA_UNICODE_PATH: u16 = 0x7075;
const S_IFMT: u32 = 0o170_000;
pub const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
/// Members above this are refused rather than inflated (a wheel member is a few MB at most).
const MAX_MEMBER_SIZE: u64 = 1 << 30;

pub(crate) fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
pub(crate) fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
pub(crate) fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// One member, as the central directory describes it (and as far as its local header agrees).
#[derive(Debug, Clone)]
pub struct Entry {
    /// The central-directory name (lossy UTF-8; `ZipNameEncoding` reports when lossy).
    pub name: String,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub version_made_by: u16,
    pub external_attr: u32,
    pub local_offset: u64,
    /// The member's stored bytes, when its local header could be read and they are in bounds.
    data: Option<Range<usize>>,
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }

    /// The Unix mode from `external_attr`, when the archive was made on Unix (made-by host 3).
    pub fn unix_mode(&self) -> Option<u32> {
        (self.version_made_by >> 8 == 3).then_some(self.external_attr >> 16)
    }

    pub fn is_symlink(&self) -> bool {
        self.unix_mode().is_some_and(|m| m & S_IFMT == S_IFLNK)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("its data is out of bounds or its local header is unreadable")]
    NoData,
    #[error("it is encrypted")]
    Encrypted,
    #[error("compression method {0} is not stored (0) or deflate (8)")]
    Method(u16),
    #[error("its declared size {0} is larger than any wheel member should be")]
    TooLarge(u64),
    #[error("it does not inflate: {0}")]
    Inflate(String),
    #[error("it holds {actual} bytes, the central directory says {declared}")]
    Size { declared: u64, actual: u64 },
    #[error("its CRC-32 is {actual:#010x}, the central directory says {declared:#010x}")]
    Crc { declared: u32, actual: u32 },
}

/// A parsed archive: the entries plus the bytes to read them from.
pub struct Archive<'a> {
    bytes: &'a [u8],
    pub entries: Vec<Entry>,
}

impl Archive<'_> {
    /// The member's uncompressed content, checked against its declared size and CRC-32.
    pub fn read(&self, entry: &Entry) -> Result<Vec<u8>, ReadError> {
        if entry.flags & FLAG_ENCRYPTED != 0 {
            return Err(ReadError::Encrypted);
        }
        if entry.size > MAX_MEMBER_SIZE {
            return Err(ReadError::TooLarge(entry.size));
        }
        let raw = entry
            .data
            .clone()
            .and_then(|r| self.bytes.get(r))
            .ok_or(ReadError::NoData)?;
        let content = match entry.method {
            0 => raw.to_vec(),
            8 => {
                // Reads at most one byte past the declared size: enough to notice a lie, no bomb.
                let limit = entry.size.saturating_add(1);
                let mut out = Vec::with_capacity(entry.size.min(64 << 20) as usize);
                flate2::read::DeflateDecoder::new(raw)
                    .take(limit)
                    .read_to_end(&mut out)
                    .map_err(|e| ReadError::Inflate(e.to_string()))?;
                out
            }
            m => return Err(ReadError::Method(m)),
        };
        if content.len() as u64 != entry.size {
            return Err(ReadError::Size {
                declared: entry.size,
                actual: content.len() as u64,
            });
        }
        let mut crc = flate2::Crc::new();
        crc.update(&content);
        if crc.sum() != entry.crc32 {
            return Err(ReadError::Crc {
                declared: entry.crc32,
                actual: crc.sum(),
            });
        }
        Ok(content)
    }
}

/// `name` as it should appear in a message: escaped, so control characters are visible.
fn show(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    let escaped = format!("{s:?}");
    escaped
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map(str::to_string)
        .unwrap_or(escaped)
}

struct Eocd {
    offset: usize,
    entries: u64,
    cd_size: u64,
    cd_offset: u64,
    /// Where the central directory must end: the EOCD, or the ZIP64 EOCD record.
    cd_end_limit: usize,
}

/// Parses the archive and reports every structural defect. `None` when nothing can be read.
pub fn parse(bytes: &[u8]) -> (Option<Archive<'_>>, Vec<Finding>) {
    let mut out = Vec::new();
    let Some(eocd) = find_eocd(bytes, &mut out) else {
        return (None, out);
    };
    let entries = read_central_directory(bytes, &eocd, &mut out);
    let mut archive = Archive {
        bytes,
        entries: Vec::with_capacity(entries.len()),
    };
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    for (entry, raw_name) in entries {
        let mut entry = entry;
        if let Some(span) = read_local_header(bytes, &mut entry, &raw_name, &eocd, &mut out) {
            spans.push((span.start, span.end, entry.name.clone()));
        }
        archive.entries.push(entry);
    }
    check_coverage(bytes, &mut spans, eocd.cd_offset, &mut out);
    (Some(archive), out)
}

fn find_eocd(bytes: &[u8], out: &mut Vec<Finding>) -> Option<Eocd> {
    let len = bytes.len();
    if len < EOCD_LEN {
        out.push(finding(
            Kind::ZipUnreadable,
            format!("{len} bytes is too short to be a zip archive"),
            "a zip archive ending in an end-of-central-directory record",
        ));
        return None;
    }
    // The EOCD comment is at most 65535 bytes, so the record starts within that window.
    let lowest = len.saturating_sub(EOCD_LEN + usize::from(u16::MAX));
    let mut exact = None;
    let mut loose = None;
    for pos in (lowest..=len - EOCD_LEN).rev() {
        if le32(bytes, pos) != Some(SIG_EOCD) {
            continue;
        }
        let comment_len = usize::from(le16(bytes, pos + 20).unwrap_or(0));
        let end = pos + EOCD_LEN + comment_len;
        if end == len {
            exact = Some(pos);
            break;
        }
        if end < len && loose.is_none() {
            loose = Some(pos);
        }
    }
    let Some(pos) = exact.or(loose) else {
        out.push(finding(
            Kind::ZipUnreadable,
            "no end-of-central-directory record in the last 64 KiB",
            "a zip archive ending in an end-of-central-directory record",
        ));
        return None;
    };
    let field16 = |at: usize| le16(bytes, pos + at).unwrap_or(0);
    let field32 = |at: usize| le32(bytes, pos + at).unwrap_or(0);
    let comment_len = usize::from(field16(20));
    let end = pos + EOCD_LEN + comment_len;
    if end < len {
        out.push(finding(
            Kind::ZipTrailingData,
            format!(
                "{} bytes after the end-of-central-directory record",
                len - end
            ),
            "the archive to end with its end-of-central-directory record",
        ));
    }
    if comment_len > 0 {
        let comment = bytes.get(pos + EOCD_LEN..end).unwrap_or_default();
        out.push(finding(
            Kind::ZipComment,
            format!(
                "archive comment of {comment_len} bytes: \"{}\"",
                show(comment)
            ),
            "no archive comment",
        ));
    }
    if field16(4) != 0 || field16(6) != 0 {
        out.push(finding(
            Kind::ZipUnsupported,
            format!(
                "multi-disk archive (disk {}, central directory on disk {})",
                field16(4),
                field16(6)
            ),
            "a single-file archive",
        ));
    }
    if field16(8) != field16(10) {
        out.push(finding(
            Kind::ZipMalformed,
            format!(
                "end-of-central-directory says {} entries on this disk but {} in total",
                field16(8),
                field16(10)
            ),
            "equal entry counts",
        ));
    }
    let mut eocd = Eocd {
        offset: pos,
        entries: u64::from(field16(10)),
        cd_size: u64::from(field32(12)),
        cd_offset: u64::from(field32(16)),
        cd_end_limit: pos,
    };
    let locator = pos.checked_sub(20);
    let has_locator = locator.is_some_and(|l| le32(bytes, l) == Some(SIG_EOCD64_LOCATOR));
    if has_locator {
        read_zip64_eocd(bytes, locator.unwrap_or(0), &mut eocd, out);
    } else if field16(10) == u16::MAX || field32(12) == u32::MAX || field32(16) == u32::MAX {
        out.push(finding(
            Kind::ZipMalformed,
            "end-of-central-directory holds ZIP64 placeholders but there is no ZIP64 locator",
            "a ZIP64 end-of-central-directory locator before the record",
        ));
    }
    Some(eocd)
}

fn read_zip64_eocd(bytes: &[u8], locator: usize, eocd: &mut Eocd, out: &mut Vec<Finding>) {
    let malformed = |what: String| {
        finding(
            Kind::ZipMalformed,
            what,
            "a ZIP64 end-of-central-directory record the locator points at",
        )
    };
    let Some(rec) = le64(bytes, locator + 8).and_then(|o| usize::try_from(o).ok()) else {
        out.push(malformed("unreadable ZIP64 locator".into()));
        return;
    };
    if le32(bytes, rec) != Some(SIG_EOCD64) {
        out.push(malformed(format!(
            "no ZIP64 end-of-central-directory at offset {rec}"
        )));
        return;
    }
    let (Some(size), Some(on_disk), Some(total), Some(cd_size), Some(cd_offset)) = (
        le64(bytes, rec + 4),
        le64(bytes, rec + 24),
        le64(bytes, rec + 32),
        le64(bytes, rec + 40),
        le64(bytes, rec + 48),
    ) else {
        out.push(malformed(format!(
            "truncated ZIP64 end-of-central-directory at offset {rec}"
        )));
        return;
    };
    if on_disk != total {
        out.push(malformed(format!(
            "ZIP64 record says {on_disk} entries on this disk but {total} in total"
        )));
    }
    // The record (12 + size bytes) must end exactly where the locator starts.
    let end = size.checked_add(12).and_then(|s| s.checked_add(rec as u64));
    if end != Some(locator as u64) {
        out.push(malformed(format!(
            "ZIP64 record at {rec} of size {size} does not end at the locator ({locator})"
        )));
    }
    eocd.entries = total;
    eocd.cd_size = cd_size;
    eocd.cd_offset = cd_offset;
    eocd.cd_end_limit = rec;
}

/// Values the ZIP64 extra field replaces, in the order the spec stores them.
fn apply_zip64(extra: &[u8], size: &mut u64, csize: &mut u64, offset: Option<&mut u64>) -> bool {
    let mut at = 0;
    let mut take = |field: &mut u64| -> bool {
        if *field == u64::from(u32::MAX) {
            match le64(extra, at) {
                Some(v) => {
                    *field = v;
                    at += 8;
                }
                None => return false,
            }
        }
        true
    };
    let mut ok = take(size) && take(csize);
    if let Some(offset) = offset {
        ok = ok && take(offset);
    }
    ok
}

/// Walks an extra-field block; returns the ZIP64 payload and reports malformed or duplicated extras.
fn walk_extras<'a>(
    extra: &'a [u8],
    name: &str,
    where_: &str,
    out: &mut Vec<Finding>,
) -> Option<&'a [u8]> {
    let mut at = 0;
    let mut seen = HashSet::new();
    let mut zip64 = None;
    while at < extra.len() {
        let (Some(id), Some(size)) = (le16(extra, at), le16(extra, at + 2)) else {
            out.push(
                finding(
                    Kind::ZipMalformed,
                    format!("truncated extra field in the {where_}"),
                    "well-formed extra fields",
                )
                .member(name),
            );
            break;
        };
        let start = at + 4;
        let Some(data) = extra.get(start..start + usize::from(size)) else {
            out.push(
                finding(
                    Kind::ZipMalformed,
                    format!("extra field {id:#06x} in the {where_} runs past its block"),
                    "well-formed extra fields",
                )
                .member(name),
            );
            break;
        };
        if !seen.insert(id) && matches!(id, EXTRA_ZIP64 | EXTRA_UNICODE_PATH) {
            out.push(
                finding(
                    Kind::ZipMalformed,
                    format!("extra field {id:#06x} appears twice in the {where_}"),
                    "each ZIP64 / Unicode-path extra at most once",
                )
                .member(name),
            );
        }
        match id {
            EXTRA_ZIP64 => zip64 = Some(data),
            EXTRA_UNICODE_PATH => {
                let unicode = data.get(5..).unwrap_or_default();
                if unicode.iter().any(|&b| b < 0x20 || b == 0x7f) {
                    out.push(
                        finding(
                            Kind::ZipControlChar,
                            format!(
                                "Unicode-path extra in the {where_} holds a control character: \"{}\"",
                                show(unicode)
                            ),
                            "printable member names",
                        )
                        .member(name),
                    );
                }
                if std::str::from_utf8(unicode).is_err() {
                    out.push(
                        finding(
                            Kind::ZipNameEncoding,
                            format!("Unicode-path extra in the {where_} is not UTF-8"),
                            "UTF-8 member names",
                        )
                        .member(name),
                    );
                }
            }
            _ => {}
        }
        at = start + usize::from(size);
    }
    zip64
}

fn check_name(raw: &[u8], name: &str, out: &mut Vec<Finding>) {
    if raw.iter().any(|&b| b < 0x20 || b == 0x7f) {
        out.push(
            finding(
                Kind::ZipControlChar,
                format!("member name \"{}\" contains a control character", show(raw)),
                "printable member names (no bytes 0x00-0x1f or 0x7f)",
            )
            .member(name),
        );
    }
    if std::str::from_utf8(raw).is_err() {
        out.push(
            finding(
                Kind::ZipNameEncoding,
                format!("member name \"{}\" is not valid UTF-8", show(raw)),
                "UTF-8 member names",
            )
            .member(name),
        );
    }
    if let Some(why) = unsafe_path(name) {
        out.push(
            finding(
                Kind::ZipUnsafePath,
                format!("member path \"{}\" {why}", show(raw)),
                "a relative path with `/` separators and no `..`",
            )
            .member(name),
        );
    }
}

/// Why a member path could escape the install directory, if it could.
pub fn unsafe_path(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if name.is_empty() {
        Some("is empty")
    } else if name.starts_with('/') {
        Some("is absolute")
    } else if name.contains('\\') {
        Some("contains a backslash")
    } else if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        Some("starts with a drive letter")
    } else if name.split('/').any(|c| c == "..") {
        Some("has a `..` component")
    } else {
        None
    }
}

fn read_central_directory(
    bytes: &[u8],
    eocd: &Eocd,
    out: &mut Vec<Finding>,
) -> Vec<(Entry, Vec<u8>)> {
    let mut entries = Vec::new();
    let start = usize::try_from(eocd.cd_offset).ok();
    let end = eocd
        .cd_offset
        .checked_add(eocd.cd_size)
        .and_then(|e| usize::try_from(e).ok());
    let (Some(start), Some(end)) = (start, end) else {
        out.push(finding(
            Kind::ZipMalformed,
            format!(
                "central directory offset {} + size {} overflows",
                eocd.cd_offset, eocd.cd_size
            ),
            "a central directory inside the file",
        ));
        return entries;
    };
    if end > eocd.cd_end_limit {
        out.push(finding(
            Kind::ZipMalformed,
            format!(
                "central directory {start}..{end} runs past the end-of-central-directory record at {}",
                eocd.cd_end_limit
            ),
            "a central directory that ends where the end-of-central-directory record starts",
        ));
        return entries;
    }
    if end < eocd.cd_end_limit {
        out.push(finding(
            Kind::ZipGap,
            format!(
                "{} bytes between the central directory and the end-of-central-directory record",
                eocd.cd_end_limit - end
            ),
            "the end-of-central-directory record right after the central directory",
        ));
    }
    let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut at = start;
    let mut count: u64 = 0;
    while count < eocd.entries {
        if at + CENTRAL_LEN > end || le32(bytes, at) != Some(SIG_CENTRAL) {
            out.push(finding(
                Kind::ZipMalformed,
                format!(
                    "central directory holds {count} readable entries, the end record says {}",
                    eocd.entries
                ),
                "as many central-directory entries as the end record counts",
            ));
            return entries;
        }
        let f16 = |o: usize| le16(bytes, at + o).unwrap_or(0);
        let f32_ = |o: usize| le32(bytes, at + o).unwrap_or(0);
        let name_len = usize::from(f16(28));
        let extra_len = usize::from(f16(30));
        let comment_len = usize::from(f16(32));
        let name_start = at + CENTRAL_LEN;
        let next = name_start + name_len + extra_len + comment_len;
        if next > end {
            out.push(finding(
                Kind::ZipMalformed,
                format!("central-directory entry {count} runs past the central directory"),
                "entries inside the central directory",
            ));
            return entries;
        }
        let raw_name = bytes[name_start..name_start + name_len].to_vec();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        let extra = &bytes[name_start + name_len..name_start + name_len + extra_len];
        let mut entry = Entry {
            name: name.clone(),
            flags: f16(8),
            method: f16(10),
            crc32: f32_(16),
            compressed_size: u64::from(f32_(20)),
            size: u64::from(f32_(24)),
            version_made_by: f16(4),
            external_attr: f32_(38),
            local_offset: u64::from(f32_(42)),
            data: None,
        };
        check_name(&raw_name, &name, out);
        if let Some(z64) = walk_extras(extra, &name, "central directory", out) {
            let (mut size, mut csize, mut off) =
                (entry.size, entry.compressed_size, entry.local_offset);
            if !apply_zip64(z64, &mut size, &mut csize, Some(&mut off)) {
                out.push(
                    finding(
                        Kind::ZipMalformed,
                        "ZIP64 extra field is too short for the values it replaces",
                        "a complete ZIP64 extra field",
                    )
                    .member(&name),
                );
            }
            (entry.size, entry.compressed_size, entry.local_offset) = (size, csize, off);
        }
        if comment_len > 0 {
            let c = &bytes[next - comment_len..next];
            out.push(
                finding(
                    Kind::ZipComment,
                    format!("member comment of {comment_len} bytes: \"{}\"", show(c)),
                    "no member comments",
                )
                .member(&name),
            );
        }
        if f16(34) != 0 {
            out.push(
                finding(
                    Kind::ZipUnsupported,
                    format!("member starts on disk {}", f16(34)),
                    "a single-file archive",
                )
                .member(&name),
            );
        }
        if entry.flags & FLAG_ENCRYPTED != 0 {
            out.push(
                finding(Kind::ZipUnsupported, "member is encrypted", "no encryption").member(&name),
            );
        }
        if !matches!(entry.method, 0 | 8) {
            out.push(
                finding(
                    Kind::ZipUnsupported,
                    format!("compression method {}", entry.method),
                    "stored (0) or deflate (8)",
                )
                .member(&name),
            );
        }
        if entry.flags & FLAG_DATA_DESCRIPTOR != 0 {
            out.push(
                finding(
                    Kind::ZipDataDescriptor,
                    "member uses a data descriptor (flag bit 3 set)",
                    "CRC and sizes in the local header, no data descriptor",
                )
                .member(&name),
            );
        }
        if entry.is_symlink() {
            out.push(
                finding(
                    Kind::ZipSymlink,
                    format!(
                        "member is a symbolic link (mode {:o})",
                        entry.unix_mode().unwrap_or(0)
                    ),
                    "regular files only",
                )
                .member(&name),
            );
        }
        if let Some(first) = seen.insert(raw_name.clone(), entries.len()) {
            out.push(
                finding(
                    Kind::ZipDuplicateName,
                    format!(
                        "central-directory entries {first} and {} are both named \"{}\"",
                        entries.len(),
                        show(&raw_name)
                    ),
                    "unique member names",
                )
                .member(&name),
            );
        }
        entries.push((entry, raw_name));
        at = next;
        count += 1;
    }
    if at != end {
        out.push(finding(
            Kind::ZipMalformed,
            format!(
                "central directory is {} bytes by the end record but its {count} entries take {}",
                end - start,
                at - start
            ),
            "a central-directory size that matches its entries",
        ));
    }
    entries
}

/// Reads the local header, compares it with the central directory and returns the byte span
/// the member occupies (header, data and any data descriptor).
fn read_local_header(
    bytes: &[u8],
    entry: &mut Entry,
    cd_name: &[u8],
    eocd: &Eocd,
    out: &mut Vec<Finding>,
) -> Option<Range<usize>> {
    let name = entry.name.clone();
    let malformed = |what: String| {
        finding(
            Kind::ZipMalformed,
            what,
            "a local header where the central directory points",
        )
        .member(&name)
    };
    let Some(lo) = usize::try_from(entry.local_offset)
        .ok()
        .filter(|&o| o < bytes.len())
    else {
        out.push(malformed(format!(
            "local header offset {} is past the end of the file",
            entry.local_offset
        )));
        return None;
    };
    if le32(bytes, lo) != Some(SIG_LOCAL) || lo + LOCAL_LEN > bytes.len() {
        out.push(malformed(format!("no local header at offset {lo}")));
        return None;
    }
    let f16 = |o: usize| le16(bytes, lo + o).unwrap_or(0);
    let f32_ = |o: usize| le32(bytes, lo + o).unwrap_or(0);
    let name_len = usize::from(f16(26));
    let extra_len = usize::from(f16(28));
    let data_start = lo + LOCAL_LEN + name_len + extra_len;
    let Some(local_name) = bytes.get(lo + LOCAL_LEN..lo + LOCAL_LEN + name_len) else {
        out.push(malformed(format!(
            "local header at {lo} runs past the end of the file"
        )));
        return None;
    };
    let Some(extra) = bytes.get(lo + LOCAL_LEN + name_len..data_start) else {
        out.push(malformed(format!(
            "local header at {lo} runs past the end of the file"
        )));
        return None;
    };
    let flags = f16(6);
    let method = f16(8);
    let crc = f32_(14);
    let mut csize = u64::from(f32_(18));
    let mut size = u64::from(f32_(22));
    if local_name != cd_name {
        check_name(local_name, &name, out);
    }
    if let Some(z64) = walk_extras(extra, &name, "local header", out) {
        apply_zip64(z64, &mut size, &mut csize, None);
    }
    let mut diffs = Vec::new();
    if local_name != cd_name {
        diffs.push(format!(
            "name \"{}\" vs \"{}\"",
            show(local_name),
            show(cd_name)
        ));
    }
    if flags != entry.flags {
        diffs.push(format!("flags {flags:#06x} vs {:#06x}", entry.flags));
    }
    if method != entry.method {
        diffs.push(format!("method {method} vs {}", entry.method));
    }
    let descriptor = flags & FLAG_DATA_DESCRIPTOR != 0;
    if descriptor && entry.flags & FLAG_DATA_DESCRIPTOR == 0 {
        out.push(
            finding(
                Kind::ZipDataDescriptor,
                "local header announces a data descriptor (flag bit 3)",
                "CRC and sizes in the local header, no data descriptor",
            )
            .member(&name),
        );
    }
    // With a data descriptor the local CRC and sizes are legitimately zero: reported above.
    if !descriptor {
        if crc != entry.crc32 {
            diffs.push(format!("CRC-32 {crc:#010x} vs {:#010x}", entry.crc32));
        }
        if csize != entry.compressed_size {
            diffs.push(format!(
                "compressed size {csize} vs {}",
                entry.compressed_size
            ));
        }
        if size != entry.size {
            diffs.push(format!("size {size} vs {}", entry.size));
        }
    }
    if !diffs.is_empty() {
        out.push(
            finding(
                Kind::ZipHeaderMismatch,
                format!("local header vs central directory: {}", diffs.join(", ")),
                "identical name, flags, method, CRC-32 and sizes in both headers",
            )
            .member(&name),
        );
    }
    let cd_offset = usize::try_from(eocd.cd_offset).unwrap_or(usize::MAX);
    let data_end = usize::try_from(entry.compressed_size)
        .ok()
        .and_then(|c| data_start.checked_add(c));
    let Some(data_end) = data_end.filter(|&e| e <= cd_offset.min(eocd.offset)) else {
        out.push(malformed(format!(
            "data ({} bytes from offset {data_start}) runs into the central directory at {cd_offset}",
            entry.compressed_size
        )));
        return None;
    };
    entry.data = Some(data_start..data_end);
    let mut span_end = data_end;
    let next = le32(bytes, data_end);
    // A data descriptor follows the data unless the next record starts right there.
    if descriptor && !matches!(next, Some(SIG_LOCAL | SIG_CENTRAL)) && data_end != cd_offset {
        // Optional signature, CRC-32, then 4- or 8-byte sizes (8 for ZIP64 members).
        let sig = usize::from(next == Some(SIG_DATA_DESCRIPTOR)) * 4;
        let sizes = if entry.size >= u64::from(u32::MAX) {
            16
        } else {
            8
        };
        span_end = (data_end + sig + 4 + sizes).min(cd_offset);
    }
    Some(lo..span_end)
}

/// Every byte before the central directory must belong to exactly one member.
fn check_coverage(
    bytes: &[u8],
    spans: &mut [(usize, usize, String)],
    cd_offset: u64,
    out: &mut Vec<Finding>,
) {
    let cd_offset = usize::try_from(cd_offset)
        .unwrap_or(bytes.len())
        .min(bytes.len());
    spans.sort();
    let mut cursor = 0usize;
    let mut previous: Option<&str> = None;
    let gap = |from: usize, to: usize, out: &mut Vec<Finding>| {
        let hidden = (le32(bytes, from) == Some(SIG_LOCAL))
            .then(|| {
                let n = usize::from(le16(bytes, from + 26).unwrap_or(0));
                bytes.get(from + LOCAL_LEN..from + LOCAL_LEN + n).map(show)
            })
            .flatten();
        let what = match hidden {
            Some(n) => format!(
                "{} bytes at offset {from} hold a local header for \"{n}\" that the central directory does not list",
                to - from
            ),
            None if from == 0 => format!("{to} bytes before the first member"),
            None => format!("{} bytes at offset {from} belong to no member", to - from),
        };
        out.push(finding(
            Kind::ZipGap,
            what,
            "members laid out back to back from offset 0 up to the central directory",
        ));
    };
    for (start, end, name) in spans.iter() {
        if *start > cursor {
            gap(cursor, *start, out);
        } else if *start < cursor {
            out.push(
                finding(
                    Kind::ZipMalformed,
                    format!(
                        "member overlaps \"{}\" (starts at {start}, before {cursor})",
                        previous.unwrap_or("?")
                    ),
                    "members that do not share bytes",
                )
                .member(name.as_str()),
            );
        }
        cursor = cursor.max(*end);
        previous = Some(name.as_str());
    }
    if cursor < cd_offset {
        gap(cursor, cd_offset, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths() {
        for (p, bad) in [
            ("a/b.py", false),
            ("a/..b/c", false),
            ("/etc/passwd", true),
            ("a/../../b", true),
            ("..", true),
            ("C:/x", true),
            ("a\\b", true),
            ("", true),
        ] {
            assert_eq!(unsafe_path(p).is_some(), bad, "{p}");
        }
    }

    #[test]
    fn empty_and_tiny_inputs_do_not_parse() {
        for input in [&b""[..], b"PK", b"PK\x05\x06"] {
            let (archive, findings) = parse(input);
            assert!(archive.is_none());
            assert_eq!(findings[0].kind, Kind::ZipUnreadable);
        }
    }

    #[test]
    fn empty_archive_is_clean() {
        let mut eocd = vec![0x50, 0x4b, 0x05, 0x06];
        eocd.extend([0; 18]);
        let (archive, findings) = parse(&eocd);
        assert!(archive.unwrap().entries.is_empty());
        assert!(findings.is_empty(), "{findings:?}");
    }
}
