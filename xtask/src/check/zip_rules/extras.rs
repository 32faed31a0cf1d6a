//! Extra fields: the ZIP64 sizes they replace, Unicode-path names, duplicates.

use std::collections::HashSet;

use super::super::finding::{finding_at, Finding, Kind};
use super::names::show;
use super::{le16, le64};

const EXTRA_ZIP64: u16 = 0x0001;
const EXTRA_UNICODE_PATH: u16 = 0x7075;

/// Values the ZIP64 extra field replaces, in the order the spec stores them.
pub(super) fn apply_zip64(
    extra: &[u8],
    size: &mut u64,
    csize: &mut u64,
    offset: Option<&mut u64>,
) -> bool {
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
pub(super) fn walk_extras<'a>(
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
            out.push(finding_at(
                name,
                Kind::ZipMalformed,
                format!("truncated extra field in the {where_}"),
                "well-formed extra fields",
            ));
            break;
        };
        let start = at + 4;
        let Some(data) = extra.get(start..start + usize::from(size)) else {
            out.push(finding_at(
                name,
                Kind::ZipMalformed,
                format!("extra field {id:#06x} in the {where_} runs past its block"),
                "well-formed extra fields",
            ));
            break;
        };
        if !seen.insert(id) && matches!(id, EXTRA_ZIP64 | EXTRA_UNICODE_PATH) {
            out.push(finding_at(
                name,
                Kind::ZipMalformed,
                format!("extra field {id:#06x} appears twice in the {where_}"),
                "each ZIP64 / Unicode-path extra at most once",
            ));
        }
        match id {
            EXTRA_ZIP64 => zip64 = Some(data),
            EXTRA_UNICODE_PATH => {
                let unicode = data.get(5..).unwrap_or_default();
                if unicode.iter().any(|&b| b < 0x20 || b == 0x7f) {
                    out.push(finding_at(
                        name,
                        Kind::ZipControlChar,
                        format!(
                            "Unicode-path extra in the {where_} holds a control character: \"{}\"",
                            show(unicode)
                        ),
                        "printable member names",
                    ));
                }
                if std::str::from_utf8(unicode).is_err() {
                    out.push(finding_at(
                        name,
                        Kind::ZipNameEncoding,
                        format!("Unicode-path extra in the {where_} is not UTF-8"),
                        "UTF-8 member names",
                    ));
                }
            }
            _ => {}
        }
        at = start + usize::from(size);
    }
    zip64
}
