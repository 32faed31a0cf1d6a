//! The end-of-central-directory record (and its ZIP64 twin): where the central directory is.

use super::super::finding::{finding, Finding, Kind};
use super::names::show;
use super::{le16, le32, le64};

const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_EOCD64: u32 = 0x0606_4b50;
const SIG_EOCD64_LOCATOR: u32 = 0x0706_4b50;
const EOCD_LEN: usize = 22;

pub(super) struct Eocd {
    pub offset: usize,
    pub entries: u64,
    pub cd_size: u64,
    pub cd_offset: u64,
    /// Where the central directory must end: the EOCD, or the ZIP64 EOCD record.
    pub cd_end_limit: usize,
}

pub(super) fn find(bytes: &[u8], out: &mut Vec<Finding>) -> Option<Eocd> {
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
