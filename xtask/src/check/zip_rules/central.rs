//! The central directory: every entry, its name, flags, method, extras and comment.

use std::collections::HashMap;

use super::super::finding::{finding, finding_at, Finding, Kind};
use super::eocd::Eocd;
use super::extras::{apply_zip64, walk_extras};
use super::names::{check_name, show};
use super::{le16, le32, Entry, FLAG_DATA_DESCRIPTOR, FLAG_ENCRYPTED, SIG_CENTRAL};

const CENTRAL_LEN: usize = 46;

pub(super) fn read(bytes: &[u8], eocd: &Eocd, out: &mut Vec<Finding>) -> Vec<(Entry, Vec<u8>)> {
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
                out.push(finding_at(
                    &name,
                    Kind::ZipMalformed,
                    "ZIP64 extra field is too short for the values it replaces",
                    "a complete ZIP64 extra field",
                ));
            }
            (entry.size, entry.compressed_size, entry.local_offset) = (size, csize, off);
        }
        if comment_len > 0 {
            let c = &bytes[next - comment_len..next];
            out.push(finding_at(
                &name,
                Kind::ZipComment,
                format!("member comment of {comment_len} bytes: \"{}\"", show(c)),
                "no member comments",
            ));
        }
        if f16(34) != 0 {
            out.push(finding_at(
                &name,
                Kind::ZipUnsupported,
                format!("member starts on disk {}", f16(34)),
                "a single-file archive",
            ));
        }
        if entry.flags & FLAG_ENCRYPTED != 0 {
            out.push(finding_at(
                &name,
                Kind::ZipUnsupported,
                "member is encrypted",
                "no encryption",
            ));
        }
        if !matches!(entry.method, 0 | 8) {
            out.push(finding_at(
                &name,
                Kind::ZipUnsupported,
                format!("compression method {}", entry.method),
                "stored (0) or deflate (8)",
            ));
        }
        if entry.flags & FLAG_DATA_DESCRIPTOR != 0 {
            out.push(finding_at(
                &name,
                Kind::ZipDataDescriptor,
                "member uses a data descriptor (flag bit 3 set)",
                "CRC and sizes in the local header, no data descriptor",
            ));
        }
        if entry.is_symlink() {
            out.push(finding_at(
                &name,
                Kind::ZipSymlink,
                format!(
                    "member is a symbolic link (mode {:o})",
                    entry.unix_mode().unwrap_or(0)
                ),
                "regular files only",
            ));
        }
        if let Some(first) = seen.insert(raw_name.clone(), entries.len()) {
            out.push(finding_at(
                &name,
                Kind::ZipDuplicateName,
                format!(
                    "central-directory entries {first} and {} are both named \"{}\"",
                    entries.len(),
                    show(&raw_name)
                ),
                "unique member names",
            ));
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
