//! Where two builds of one file part ways: the first member (wheel: zip entry; sdist: tar entry
//! after gunzip) whose bytes differ and the first differing offset inside it, else the first
//! differing offset of the container itself (headers, timestamps, order).

use std::fmt;
use std::io::{Cursor, Read};

use anyhow::{Context, Result};

/// A wheel or sdist holds at most this much once unpacked (guards a hostile file).
const MAX_UNPACKED: u64 = 1 << 30;

/// One member of an archive, in archive order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// The member's content, or why it does not unpack (a flipped byte breaks inflate or CRC).
    pub bytes: Result<Vec<u8>, String>,
    /// A zip member's stored (compressed) bytes, compared when either side does not unpack.
    pub stored: Vec<u8>,
}

impl Member {
    /// The first differing offset, in the content when both unpack, else in the stored bytes.
    fn differs_from(&self, other: &Member) -> Option<(u64, &'static str)> {
        match (&self.bytes, &other.bytes) {
            (Ok(a), Ok(b)) => first_offset(a, b).map(|at| (at, "bytes differ")),
            _ => first_offset(&self.stored, &other.stored).map(|at| {
                (
                    at,
                    "stored (compressed) bytes differ, one copy does not inflate",
                )
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Zip,
    TarGz,
    Plain,
}

impl Container {
    pub fn of(file: &str) -> Container {
        if file.ends_with(".whl") {
            Container::Zip
        } else if file.ends_with(".tar.gz") {
            Container::TarGz
        } else {
            Container::Plain
        }
    }
}

/// The first difference found, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The differing member; None when every member agrees (or the file is no archive).
    pub member: Option<String>,
    /// Byte offset of the first difference, inside `member` when there is one, else in the file.
    pub offset: u64,
    /// What kind of difference (`bytes differ`, `only in the release`, …).
    pub what: String,
    /// The first differing offset of the file itself.
    pub file_offset: u64,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.member {
            Some(m) => write!(
                f,
                "member {m}, offset {}: {} (file offset {})",
                self.offset, self.what, self.file_offset
            ),
            None => write!(f, "file offset {}: {}", self.offset, self.what),
        }
    }
}

/// The first offset at which `a` and `b` differ (the shorter length when one is a prefix).
pub fn first_offset(a: &[u8], b: &[u8]) -> Option<u64> {
    let at = a.iter().zip(b).position(|(x, y)| x != y);
    match at {
        Some(i) => Some(i as u64),
        None if a.len() != b.len() => Some(a.len().min(b.len()) as u64),
        None => None,
    }
}

/// Locates the first difference between the release's bytes and the rebuilt ones (None: same).
pub fn locate(container: Container, release: &[u8], rebuilt: &[u8]) -> Option<Difference> {
    let file_offset = first_offset(release, rebuilt)?;
    let whole = Difference {
        member: None,
        offset: file_offset,
        what: "bytes differ".into(),
        file_offset,
    };
    if container == Container::Plain {
        return Some(whole);
    }
    let (theirs, ours) = match (members(container, release), members(container, rebuilt)) {
        (Ok(theirs), Ok(ours)) => (theirs, ours),
        (Err(e), _) | (_, Err(e)) => {
            let what = format!("one of the two files does not unpack ({e:#})");
            return Some(Difference { what, ..whole });
        }
    };
    let in_member = |name: &str, offset: u64, what: &str| {
        Some(Difference {
            member: Some(name.to_string()),
            offset,
            what: what.to_string(),
            file_offset,
        })
    };
    for (i, expected) in theirs.iter().enumerate() {
        let Some(j) = ours.iter().position(|m| m.name == expected.name) else {
            return in_member(&expected.name, 0, "only in the release");
        };
        if let Some((offset, what)) = expected.differs_from(&ours[j]) {
            return in_member(&expected.name, offset, what);
        }
        if i != j {
            return in_member(
                &expected.name,
                0,
                "same bytes, another position in the archive",
            );
        }
    }
    let extra = ours
        .iter()
        .find(|m| !theirs.iter().any(|t| t.name == m.name));
    if let Some(extra) = extra {
        return in_member(&extra.name, 0, "only in the rebuilt file");
    }
    Some(Difference {
        what: "every member agrees; the archive's own bytes (headers, times, modes) differ".into(),
        ..whole
    })
}

/// Every member of a wheel (zip) or sdist (tar.gz) with its bytes, in archive order.
pub fn members(container: Container, bytes: &[u8]) -> Result<Vec<Member>> {
    match container {
        Container::Zip => zip_members(bytes),
        Container::TarGz => tar_members(bytes),
        Container::Plain => Ok(Vec::new()),
    }
}

fn zip_members(bytes: &[u8]) -> Result<Vec<Member>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).context("not a zip archive")?;
    let mut members = Vec::new();
    let mut budget = MAX_UNPACKED;
    for i in 0..archive.len() {
        let mut stored = Vec::new();
        let name = {
            let mut raw = archive.by_index_raw(i).context("reading a zip entry")?;
            let name = raw
                .name()
                .context("reading a zip entry's name")?
                .to_string();
            (&mut raw)
                .take(budget)
                .read_to_end(&mut stored)
                .with_context(|| format!("reading {name}"))?;
            name
        };
        let mut content = Vec::new();
        let bytes = archive
            .by_index(i)
            .map_err(|e| e.to_string())
            .and_then(|mut f| {
                (&mut f)
                    .take(budget)
                    .read_to_end(&mut content)
                    .map_err(|e| e.to_string())
            })
            .map(|_| content);
        budget = budget.saturating_sub(stored.len() as u64);
        members.push(Member {
            name,
            bytes,
            stored,
        });
    }
    Ok(members)
}

fn tar_members(bytes: &[u8]) -> Result<Vec<Member>> {
    let gz = flate2::read::GzDecoder::new(bytes).take(MAX_UNPACKED);
    let mut archive = tar::Archive::new(gz);
    let mut members = Vec::new();
    for entry in archive.entries().context("not a tar.gz archive")? {
        let mut entry = entry.context("reading a tar entry")?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {name}"))?;
        members.push(Member {
            name,
            bytes: Ok(bytes),
            stored: Vec::new(),
        });
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        for (name, bytes) in files {
            out.start_file(*name, options).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    fn tar_gz_of(files: &[(&str, &[u8])], mtime: u64) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(mtime);
            header.set_cksum();
            tar.append_data(&mut header, name, *bytes).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn first_offsets() {
        assert_eq!(first_offset(b"abc", b"abc"), None);
        assert_eq!(first_offset(b"abc", b"abd"), Some(2));
        assert_eq!(first_offset(b"ab", b"abc"), Some(2));
        assert_eq!(first_offset(b"", b"x"), Some(0));
    }

    #[test]
    fn zips_name_the_member_and_offset() {
        let a = zip_of(&[("pkg/a.py", b"same"), ("pkg/bin", b"0123456789")]);
        assert_eq!(locate(Container::Zip, &a, &a), None);
        let b = zip_of(&[("pkg/a.py", b"same"), ("pkg/bin", b"0123456X89")]);
        let d = locate(Container::Zip, &a, &b).unwrap();
        assert_eq!((d.member.as_deref(), d.offset), (Some("pkg/bin"), 7));
        assert_eq!(d.what, "bytes differ");
        assert!(
            d.to_string()
                .contains("member pkg/bin, offset 7: bytes differ (file offset"),
            "{d}"
        );

        let missing = zip_of(&[("pkg/a.py", b"same")]);
        let d = locate(Container::Zip, &a, &missing).unwrap();
        assert_eq!(
            (d.member.as_deref(), d.what.clone()),
            (Some("pkg/bin"), "only in the release".to_string())
        );
        let d = locate(Container::Zip, &missing, &a).unwrap();
        assert_eq!(
            (d.member.as_deref(), d.what.clone()),
            (Some("pkg/bin"), "only in the rebuilt file".to_string())
        );
        let swapped = zip_of(&[("pkg/bin", b"0123456789"), ("pkg/a.py", b"same")]);
        let d = locate(Container::Zip, &a, &swapped).unwrap();
        assert!(d.what.contains("another position"), "{d}");
    }

    #[test]
    fn a_flipped_byte_in_the_zip_itself_is_a_file_offset() {
        let a = zip_of(&[("x", b"data")]);
        let mut b = a.clone();
        // The local header's modification time: no member's bytes change.
        b[10] ^= 1;
        let d = locate(Container::Zip, &a, &b).unwrap();
        assert_eq!((d.member, d.offset), (None, 10));
        assert!(d.what.contains("every member agrees"), "{}", d.what);
    }

    #[test]
    fn tars_name_the_member_and_headers_count() {
        let a = tar_gz_of(
            &[
                ("p-1/PKG-INFO", b"Name: p"),
                ("p-1/src/lib.rs", b"fn a() {}"),
            ],
            0,
        );
        assert_eq!(locate(Container::TarGz, &a, &a), None);
        let b = tar_gz_of(
            &[
                ("p-1/PKG-INFO", b"Name: p"),
                ("p-1/src/lib.rs", b"fn b() {}"),
            ],
            0,
        );
        let d = locate(Container::TarGz, &a, &b).unwrap();
        assert_eq!((d.member.as_deref(), d.offset), (Some("p-1/src/lib.rs"), 3));
        let later = tar_gz_of(
            &[
                ("p-1/PKG-INFO", b"Name: p"),
                ("p-1/src/lib.rs", b"fn a() {}"),
            ],
            9,
        );
        let d = locate(Container::TarGz, &a, &later).unwrap();
        assert_eq!(d.member, None);
        assert!(d.what.contains("headers, times"), "{}", d.what);
    }

    #[test]
    fn a_member_that_no_longer_inflates_is_still_named() {
        let content: Vec<u8> = (0..4000u32)
            .flat_map(|i| (i * 7919).to_le_bytes())
            .collect();
        let a = zip_of(&[("a.txt", b"first"), ("pkg/bin", &content)]);
        let mut b = a.clone();
        // Inside pkg/bin's deflate stream: past its local header's name.
        let at = b.windows(7).position(|w| w == b"pkg/bin").unwrap() + 7 + 100;
        b[at] ^= 0x10;
        let d = locate(Container::Zip, &a, &b).unwrap();
        assert_eq!(d.member.as_deref(), Some("pkg/bin"), "{d}");
        assert_eq!(d.file_offset, at as u64);
    }

    #[test]
    fn garbage_is_reported_not_a_panic() {
        let d = locate(Container::Zip, b"PK not a zip", b"PK not a zap").unwrap();
        assert_eq!((d.member, d.offset), (None, 10));
        assert!(d.what.contains("does not unpack"), "{}", d.what);
        let d = locate(Container::Plain, b"abc", b"abd").unwrap();
        assert_eq!((d.member, d.offset), (None, 2));
    }
}
