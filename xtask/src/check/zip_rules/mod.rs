//! Rule 1: the zip structure, read at the byte level (the zip crate hides exactly what PyPI
//! refuses). Walks the EOCD (and ZIP64 EOCD), every central-directory entry and every local
//! header, and accounts for every byte of the file. Mirrors warehouse's `validate_zipfile`.
//! One step per file: `eocd` (end records), `central` (central directory), `extras` (extra
//! fields), `local` (local headers, byte coverage), `names` (member names), `member` (content).

mod central;
mod eocd;
mod extras;
mod local;
mod member;
mod names;

use std::ops::Range;

use super::finding::Finding;
use crate::util::{le16, le32, le64};

pub use member::{ReadError, Scanned};
pub use names::unsafe_path;

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const LOCAL_LEN: usize = 30;
const FLAG_ENCRYPTED: u16 = 1 << 0;
const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
const S_IFMT: u32 = 0o170_000;
pub const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

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

/// A parsed archive: the entries plus the bytes to read them from.
pub struct Archive<'a> {
    bytes: &'a [u8],
    pub entries: Vec<Entry>,
}

/// Parses the archive and reports every structural defect. `None` when nothing can be read.
pub fn parse(bytes: &[u8]) -> (Option<Archive<'_>>, Vec<Finding>) {
    let mut out = Vec::new();
    let Some(eocd) = eocd::find(bytes, &mut out) else {
        return (None, out);
    };
    let entries = central::read(bytes, &eocd, &mut out);
    let mut archive = Archive {
        bytes,
        entries: Vec::with_capacity(entries.len()),
    };
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    for (entry, raw_name) in entries {
        let mut entry = entry;
        if let Some(span) = local::read(bytes, &mut entry, &raw_name, &eocd, &mut out) {
            spans.push((span.start, span.end, entry.name.clone()));
        }
        archive.entries.push(entry);
    }
    local::check_coverage(bytes, &mut spans, eocd.cd_offset, &mut out);
    (Some(archive), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::finding::Kind;

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
