//! A member's content: inflated once, checked against its declared size and CRC-32.

use std::io::Read;

use super::{Archive, Entry, FLAG_ENCRYPTED};

/// Members above this are refused rather than inflated (a wheel member is a few MB at most).
const MAX_MEMBER_SIZE: u64 = 1 << 30;

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
