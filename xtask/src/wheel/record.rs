//! RECORD (PEP 376 / binary distribution format): one row type, [`RecordEntry`], that the wheel
//! writer serializes and the checker parses back. Hashes are `sha256=<urlsafe base64, no pad>`.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A RECORD hash: the sha256 of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHash([u8; 32]);

impl RecordHash {
    pub fn of(bytes: &[u8]) -> RecordHash {
        RecordHash(Sha256::digest(bytes).into())
    }

    /// A SHA-256 computed elsewhere (streamed).
    pub fn from_digest(digest: [u8; 32]) -> RecordHash {
        RecordHash(digest)
    }

    /// `sha256=<43 urlsafe base64 characters>`; anything else (other algorithms too) is refused.
    pub fn parse(s: &str) -> Option<RecordHash> {
        let digest = s.strip_prefix("sha256=")?;
        if digest.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(digest).ok()?;
        Some(RecordHash(bytes.try_into().ok()?))
    }
}

impl fmt::Display for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256={}", URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// One RECORD row: a member's path, and its hash and size (both absent for RECORD itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    pub path: String,
    pub hash: Option<RecordHash>,
    pub size: Option<u64>,
}

impl RecordEntry {
    pub fn for_file(path: &str, bytes: &[u8]) -> RecordEntry {
        RecordEntry {
            path: path.to_string(),
            hash: Some(RecordHash::of(bytes)),
            size: Some(bytes.len() as u64),
        }
    }

    /// The row RECORD has for itself: `path,,`.
    pub fn unhashed(path: &str) -> RecordEntry {
        RecordEntry {
            path: path.to_string(),
            hash: None,
            size: None,
        }
    }
}

impl RecordEntry {
    fn fields(&self) -> [String; 3] {
        [
            self.path.clone(),
            self.hash.map(|h| h.to_string()).unwrap_or_default(),
            self.size.map(|n| n.to_string()).unwrap_or_default(),
        ]
    }
}

/// The RECORD file: one CSV row per entry, quoted only where needed (as Python's csv writes it).
pub fn write(entries: &[RecordEntry]) -> String {
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for e in entries {
        // Writing into memory cannot fail.
        let _ = out.write_record(e.fields());
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Why one RECORD line is not a row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("\"{}\" is not path,hash,size", .0.escape_debug())]
    Shape(String),
    #[error("hash `{0}` is not sha256=<43 urlsafe base64 characters, no padding>")]
    Hash(String),
    #[error("size `{0}` is not a number")]
    Size(String),
}

/// One line of RECORD as read: its number (from 1), the path when the CSV parsed, and the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRow {
    pub line: usize,
    pub path: Option<String>,
    pub row: Result<RecordEntry, RowError>,
}

/// Every non-blank line of a RECORD text, each read as Python's csv module (and so pip) reads a row.
pub fn parse(text: &str) -> Vec<ParsedRow> {
    let mut record = csv::StringRecord::new();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            // Without a quote a row is its commas (what csv reads too), and building a reader
            // per line dominated checking a wheel of thousands of files.
            if !line.contains('"') {
                let fields: Vec<&str> = line.split(',').collect();
                return ParsedRow {
                    line: n + 1,
                    path: (fields.len() == 3).then(|| fields[0].to_string()),
                    row: match fields[..] {
                        [path, hash, size] => row(path, hash, size),
                        _ => Err(RowError::Shape(line.to_string())),
                    },
                };
            }
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .buffer_capacity(line.len() + 1)
                .from_reader(line.as_bytes());
            let one_row = matches!(reader.read_record(&mut record), Ok(true))
                && record.len() == 3
                && matches!(reader.read_record(&mut csv::StringRecord::new()), Ok(false));
            ParsedRow {
                line: n + 1,
                path: one_row.then(|| record[0].to_string()),
                row: if one_row {
                    row(&record[0], &record[1], &record[2])
                } else {
                    Err(RowError::Shape(line.to_string()))
                },
            }
        })
        .collect()
}

fn row(path: &str, hash: &str, size: &str) -> Result<RecordEntry, RowError> {
    let hash = match hash {
        "" => None,
        h => Some(RecordHash::parse(h).ok_or_else(|| RowError::Hash(h.to_string()))?),
    };
    let size = match size {
        "" => None,
        s => Some(s.parse().map_err(|_| RowError::Size(s.to_string()))?),
    };
    Ok(RecordEntry {
        path: path.to_string(),
        hash,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_urlsafe_unpadded_sha256() {
        // sha256("") in PEP 376 form.
        let empty = "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";
        assert_eq!(RecordHash::of(b"").to_string(), empty);
        assert_eq!(RecordHash::parse(empty), Some(RecordHash::of(b"")));
        assert_eq!(RecordHash::parse(&format!("{empty}=")), None);
        assert_eq!(
            RecordHash::parse("md5=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"),
            None
        );
        assert_eq!(
            RecordHash::parse("sha256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"),
            None
        );
    }

    #[test]
    fn rows_round_trip_through_write_and_parse() {
        let rows = vec![
            RecordEntry::for_file("a.py", b"x"),
            RecordEntry::for_file("b,\"c\"", b""),
            RecordEntry::unhashed("d/RECORD"),
        ];
        let text = write(&rows);
        assert!(text.starts_with("a.py,sha256="));
        assert!(text.contains("\"b,\"\"c\"\"\",sha256=47DEQ"));
        assert!(text.ends_with("d/RECORD,,\n"));
        let back: Vec<RecordEntry> = parse(&text).into_iter().map(|r| r.row.unwrap()).collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn bad_lines_say_which_field() {
        let good = RecordHash::of(b"");
        let text = format!("a,{good},x\nb,sha256=short,1\n\none,two\n\"c,,\n");
        let rows = parse(&text);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].row, Err(RowError::Size("x".into())));
        assert_eq!(rows[0].path.as_deref(), Some("a"));
        assert_eq!(rows[1].row, Err(RowError::Hash("sha256=short".into())));
        assert_eq!((rows[2].line, rows[2].path.as_ref()), (4, None));
        assert_eq!(rows[2].row, Err(RowError::Shape("one,two".into())));
        // An unterminated quote swallows the rest of the file: one field, not a row.
        assert_eq!((rows[3].line, rows[3].path.as_ref()), (5, None));
    }
}
