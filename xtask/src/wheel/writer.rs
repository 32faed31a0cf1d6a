//! The deterministic wheel writer: sorted entries (dist-info last, RECORD last), one fixed
//! timestamp, fixed modes, deflate, no data descriptors. Same inputs, same bytes.

use std::collections::BTreeSet;
use std::io::{Cursor, Write};

use anyhow::{bail, Context, Result};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::record::{self, RecordEntry};

/// Regular files are rw-r--r--; the sidecar binary is rwxr-xr-x (pip keeps the x bit).
const FILE_MODE: u32 = 0o644;
const EXEC_MODE: u32 = 0o755;

/// One file inside the wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `/`-separated path inside the archive.
    pub path: String,
    pub bytes: Vec<u8>,
    pub executable: bool,
}

impl Entry {
    pub fn file(path: impl Into<String>, bytes: Vec<u8>) -> Entry {
        Entry {
            path: path.into(),
            bytes,
            executable: false,
        }
    }
}

/// Packs `payload` (package files) then `dist_info` files (names relative to the dist-info
/// folder), appends RECORD, and returns the archive bytes.
pub fn write_wheel(
    payload: Vec<Entry>,
    dist_info_dir: &str,
    dist_info: Vec<Entry>,
    mtime: DateTime,
) -> Result<Vec<u8>> {
    let mut payload = payload;
    payload.sort_by(|a, b| a.path.cmp(&b.path));
    let mut meta: Vec<Entry> = dist_info
        .into_iter()
        .map(|e| Entry {
            path: format!("{dist_info_dir}/{}", e.path),
            ..e
        })
        .collect();
    meta.sort_by(|a, b| a.path.cmp(&b.path));
    let record_path = format!("{dist_info_dir}/RECORD");
    let mut entries = payload;
    entries.extend(meta);
    validate_names(&entries, dist_info_dir, &record_path)?;
    let mut rows: Vec<RecordEntry> = entries
        .iter()
        .map(|e| RecordEntry::for_file(&e.path, &e.bytes))
        .collect();
    rows.push(RecordEntry::unhashed(&record_path));
    let record = record::write(&rows);
    entries.push(Entry::file(record_path, record.into_bytes()));

    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for entry in &entries {
        let mode = if entry.executable {
            EXEC_MODE
        } else {
            FILE_MODE
        };
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .system(System::Unix)
            .unix_permissions(mode)
            .last_modified_time(mtime)
            .large_file(false);
        zip.start_file(entry.path.as_str(), options)
            .with_context(|| format!("adding {} to the wheel", entry.path))?;
        zip.write_all(&entry.bytes)
            .with_context(|| format!("compressing {}", entry.path))?;
    }
    let cursor = zip.finish().context("finishing the wheel archive")?;
    Ok(cursor.into_inner())
}

/// The names PyPI and pip accept: relative, `/`-separated, no `..`, no control characters,
/// unique, and only the dist-info folder beside the payload's own top-level names.
fn validate_names(entries: &[Entry], dist_info_dir: &str, record_path: &str) -> Result<()> {
    let mut seen = BTreeSet::new();
    for e in entries {
        let p = &e.path;
        if p.is_empty()
            || p.starts_with('/')
            || p.contains('\\')
            || p.chars().any(char::is_control)
            || p.split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
        {
            bail!(
                "wheel entry name `{}` is not a clean relative path",
                p.escape_debug()
            );
        }
        if p == record_path {
            bail!("`{p}` is written by the wheel writer itself");
        }
        if !seen.insert(p.as_str()) {
            bail!("wheel entry `{p}` appears twice");
        }
        let top = p.split('/').next().unwrap_or_default();
        if top.ends_with(".dist-info") && top != dist_info_dir {
            bail!("wheel entry `{p}` is in a foreign .dist-info folder (expected {dist_info_dir})");
        }
    }
    Ok(())
}

/// The zip timestamp for a Unix time, clamped to what a zip can hold (1980-01-01 … 2107-12-31).
pub fn zip_time(epoch: i64) -> DateTime {
    const MIN: i64 = 315_532_800; // 1980-01-01T00:00:00Z
    const MAX: i64 = 4_354_819_198; // 2107-12-31T23:59:58Z
    let t = epoch.clamp(MIN, MAX);
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // In range by the clamp above, so the conversions and the constructor cannot fail.
    DateTime::from_date_and_time(
        u16::try_from(y).unwrap_or(1980),
        m,
        d,
        (secs / 3600) as u8,
        (secs % 3600 / 60) as u8,
        (secs % 60) as u8,
    )
    .unwrap_or_default()
}

/// Howard Hinnant's days-since-epoch → (year, month, day), proleptic Gregorian, UTC.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn sample(mtime: DateTime) -> Vec<u8> {
        write_wheel(
            vec![
                Entry::file("pkg/b.py", b"b = 1\n".to_vec()),
                Entry {
                    path: "pkg/_native/tool".into(),
                    bytes: vec![0x7f, b'E', b'L', b'F'],
                    executable: true,
                },
                Entry::file("pkg/__init__.py", Vec::new()),
            ],
            "pkg-1.0.dist-info",
            vec![
                Entry::file("WHEEL", b"Wheel-Version: 1.0\n".to_vec()),
                Entry::file("METADATA", b"Name: pkg\n".to_vec()),
            ],
            mtime,
        )
        .unwrap()
    }

    #[test]
    fn entries_are_sorted_with_record_last_and_modes_fixed() {
        let bytes = sample(zip_time(1_700_000_000));
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut in_order = Vec::new();
        for i in 0..archive.len() {
            let f = archive.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mode = f.unix_mode().unwrap();
            if name.ends_with("tool") {
                assert_eq!(mode, 0o100755);
            } else {
                assert_eq!(mode, 0o100644, "{name}");
            }
            in_order.push(name);
            assert_eq!(f.compression(), CompressionMethod::Deflated);
        }
        assert_eq!(
            in_order,
            [
                "pkg/__init__.py",
                "pkg/_native/tool",
                "pkg/b.py",
                "pkg-1.0.dist-info/METADATA",
                "pkg-1.0.dist-info/WHEEL",
                "pkg-1.0.dist-info/RECORD",
            ]
        );
        let mut record = String::new();
        archive
            .by_name("pkg-1.0.dist-info/RECORD")
            .unwrap()
            .read_to_string(&mut record)
            .unwrap();
        assert_eq!(record.lines().count(), 6);
        assert!(record.contains("pkg/_native/tool,sha256="));
        assert!(record.ends_with("pkg-1.0.dist-info/RECORD,,\n"));
    }

    #[test]
    fn same_inputs_same_bytes() {
        assert_eq!(
            sample(zip_time(1_700_000_000)),
            sample(zip_time(1_700_000_000))
        );
        assert_ne!(
            sample(zip_time(1_700_000_000)),
            sample(zip_time(1_800_000_000))
        );
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "/abs",
            "a/../b",
            "a\\b",
            "a//b",
            "x\u{7}y",
            "other-1.dist-info/X",
        ] {
            let err = write_wheel(
                vec![Entry::file(bad, vec![])],
                "pkg-1.0.dist-info",
                vec![],
                zip_time(0),
            );
            assert!(err.is_err(), "{bad}");
        }
        let dup = vec![Entry::file("a", vec![]), Entry::file("a", vec![1])];
        assert!(write_wheel(dup, "p-1.dist-info", vec![], zip_time(0)).is_err());
    }

    #[test]
    fn timestamps_convert_and_clamp() {
        let t = zip_time(1_700_000_000); // 2023-11-14T22:13:20Z
        assert_eq!((t.year(), t.month(), t.day()), (2023, 11, 14));
        assert_eq!((t.hour(), t.minute(), t.second()), (22, 13, 20));
        let early = zip_time(0);
        assert_eq!((early.year(), early.month(), early.day()), (1980, 1, 1));
        let leap = zip_time(951_782_400); // 2000-02-29
        assert_eq!((leap.year(), leap.month(), leap.day()), (2000, 2, 29));
        assert_eq!(zip_time(i64::MAX).year(), 2107);
    }
}
