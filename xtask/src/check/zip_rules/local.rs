//! Local headers against the central directory, and every byte of the file accounted for.

use std::ops::Range;

use super::super::finding::{finding, finding_at, Finding, Kind};
use super::eocd::Eocd;
use super::extras::{apply_zip64, walk_extras};
use super::names::{check_name, show};
use super::{le16, le32, Entry, FLAG_DATA_DESCRIPTOR, LOCAL_LEN, SIG_CENTRAL, SIG_LOCAL};

const SIG_DATA_DESCRIPTOR: u32 = 0x0807_4b50;

/// Reads the local header, compares it with the central directory and returns the byte span
/// the member occupies (header, data and any data descriptor).
pub(super) fn read(
    bytes: &[u8],
    entry: &mut Entry,
    cd_name: &[u8],
    eocd: &Eocd,
    out: &mut Vec<Finding>,
) -> Option<Range<usize>> {
    let name = entry.name.clone();
    let malformed = |what: String| {
        finding_at(
            &name,
            Kind::ZipMalformed,
            what,
            "a local header where the central directory points",
        )
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
    let (Some(local_name), Some(extra)) = (
        bytes.get(lo + LOCAL_LEN..lo + LOCAL_LEN + name_len),
        bytes.get(lo + LOCAL_LEN + name_len..data_start),
    ) else {
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
        out.push(finding_at(
            &name,
            Kind::ZipDataDescriptor,
            "local header announces a data descriptor (flag bit 3)",
            "CRC and sizes in the local header, no data descriptor",
        ));
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
        out.push(finding_at(
            &name,
            Kind::ZipHeaderMismatch,
            format!("local header vs central directory: {}", diffs.join(", ")),
            "identical name, flags, method, CRC-32 and sizes in both headers",
        ));
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
pub(super) fn check_coverage(
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
            out.push(finding_at(
                name.as_str(),
                Kind::ZipMalformed,
                format!(
                    "member overlaps \"{}\" (starts at {start}, before {cursor})",
                    previous.unwrap_or("?")
                ),
                "members that do not share bytes",
            ));
        }
        cursor = cursor.max(*end);
        previous = Some(name.as_str());
    }
    if cursor < cd_offset {
        gap(cursor, cd_offset, out);
    }
}
