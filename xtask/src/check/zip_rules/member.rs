//! A member's content, streamed once: inflated chunk by chunk into its SHA-256, CRC-32 and size,
//! checked against what the central directory declares. Only the members the caller asks to keep
//! (metadata, native code: `keep` sees the first bytes) are ever whole in memory.

use std::io::Read;

use sha2::{Digest, Sha256};

use super::{Archive, Entry, FLAG_ENCRYPTED};
use crate::wheel::RecordHash;

/// Members above this are refused rather than inflated (a wheel member is a few MB at most).
const MAX_MEMBER_SIZE: u64 = 1 << 30;
/// How many leading bytes `keep` is shown: enough for every executable magic.
pub const HEAD_LEN: usize = 8;

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

/// What one pass over a member measured.
#[derive(Debug, Clone)]
pub struct Scanned {
    pub hash: RecordHash,
    pub size: u64,
    /// The whole content, when `keep` asked for it.
    pub content: Option<Vec<u8>>,
}

impl Archive<'_> {
    /// Streams the member once; `keep(head)` decides, on its first `HEAD_LEN` bytes, whether the
    /// content is also returned whole.
    pub fn scan(&self, entry: &Entry, keep: impl Fn(&[u8]) -> bool) -> Result<Scanned, ReadError> {
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
        // Reads at most one byte past the declared size: enough to notice a lie, no bomb.
        let limit = entry.size.saturating_add(1);
        let mut reader: Box<dyn Read + '_> = match entry.method {
            0 => Box::new(raw.take(limit)),
            8 => Box::new(flate2::read::DeflateDecoder::new(raw).take(limit)),
            m => return Err(ReadError::Method(m)),
        };
        let (mut sha, mut crc, mut size) = (Sha256::new(), flate2::Crc::new(), 0u64);
        let mut head = Vec::with_capacity(HEAD_LEN);
        let mut kept: Option<Option<Vec<u8>>> = None;
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| ReadError::Inflate(e.to_string()))?;
            let chunk = &buf[..n];
            if kept.is_none() {
                let take = (HEAD_LEN - head.len()).min(n);
                head.extend_from_slice(&chunk[..take]);
                if head.len() == HEAD_LEN || n == 0 {
                    kept = Some(keep(&head).then(|| {
                        let mut v = Vec::with_capacity(entry.size.min(64 << 20) as usize);
                        v.extend_from_slice(&head);
                        v
                    }));
                    let rest = &chunk[take..];
                    if let Some(Some(v)) = kept.as_mut() {
                        v.extend_from_slice(rest);
                    }
                }
            } else if let Some(Some(v)) = kept.as_mut() {
                v.extend_from_slice(chunk);
            }
            if n == 0 {
                break;
            }
            sha.update(chunk);
            crc.update(chunk);
            size += n as u64;
        }
        if size != entry.size {
            return Err(ReadError::Size {
                declared: entry.size,
                actual: size,
            });
        }
        if crc.sum() != entry.crc32 {
            return Err(ReadError::Crc {
                declared: entry.crc32,
                actual: crc.sum(),
            });
        }
        Ok(Scanned {
            hash: RecordHash::from_digest(sha.finalize().into()),
            size,
            content: kept.flatten(),
        })
    }
}
