//! Line framing: one JSON message per `\n`-terminated line, with a hard size cap.

use std::io;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Largest accepted message, newline excluded (docs/ipc-protocol.md).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("message exceeds the {limit}-byte line limit")]
    TooLong { limit: usize },
    #[error("IPC read failed: {0}")]
    Io(#[from] io::Error),
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message is not valid UTF-8 (byte {valid_up_to})")]
    InvalidUtf8 { valid_up_to: usize },
    #[error("message is not valid JSON: {0}")]
    InvalidJson(String),
}

/// Reads lines without ever holding more than `limit + 1` bytes of one line.
pub struct LineReader<R> {
    inner: BufReader<R>,
    limit: usize,
    line: Vec<u8>,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_limit(inner, MAX_LINE_BYTES)
    }

    pub fn with_limit(inner: R, limit: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(64 * 1024, inner),
            limit,
            line: Vec::new(),
        }
    }

    /// The next line without its `\n` (or `\r\n`); `None` at end of stream.
    ///
    /// After `TooLong` the stream position is mid-line: the caller must close the connection.
    pub async fn next_line(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        self.line.clear();
        // One extra byte of room for a trailing `\r` that is stripped below.
        let room = self.limit.saturating_add(1);
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                if !self.line.is_empty() {
                    tracing::debug!(bytes = self.line.len(), "dropping unterminated line at EOF");
                }
                return Ok(None);
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let take = newline.unwrap_or(available.len());
            if self.line.len() + take > room {
                return Err(FrameError::TooLong { limit: self.limit });
            }
            self.line.extend_from_slice(&available[..take]);
            match newline {
                Some(at) => {
                    self.inner.consume(at + 1);
                    if self.line.last() == Some(&b'\r') {
                        self.line.pop();
                    }
                    if self.line.len() > self.limit {
                        return Err(FrameError::TooLong { limit: self.limit });
                    }
                    return Ok(Some(std::mem::take(&mut self.line)));
                }
                None => self.inner.consume(take),
            }
        }
    }
}

/// Parses one line into JSON, telling bad UTF-8 apart from bad JSON.
pub fn decode(line: &[u8]) -> Result<Value, DecodeError> {
    let text = std::str::from_utf8(line).map_err(|e| DecodeError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    serde_json::from_str(text).map_err(|e| DecodeError::InvalidJson(e.to_string()))
}

/// Serializes one message as a compact line; JSON escapes every raw newline.
pub fn encode(message: &Value) -> Vec<u8> {
    let mut line = message.to_string().into_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use serde_json::json;
    use tokio::io::ReadBuf;

    use super::*;

    async fn lines(input: &[u8], limit: usize) -> Vec<Result<Option<Vec<u8>>, String>> {
        let mut reader = LineReader::with_limit(input, limit);
        let mut out = Vec::new();
        loop {
            let next = reader.next_line().await.map_err(|e| e.to_string());
            let done = !matches!(next, Ok(Some(_)));
            out.push(next);
            if done {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn splits_lines_and_strips_crlf() {
        let got = lines(b"{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n", 100).await;
        assert_eq!(
            got,
            vec![
                Ok(Some(b"{\"a\":1}".to_vec())),
                Ok(Some(b"{\"b\":2}".to_vec())),
                Ok(Some(b"".to_vec())),
                Ok(Some(b"{\"c\":3}".to_vec())),
                Ok(None),
            ]
        );
    }

    #[tokio::test]
    async fn drops_unterminated_tail_at_eof() {
        assert_eq!(
            lines(b"{\"a\":1}\n{\"b\"", 100).await,
            vec![Ok(Some(b"{\"a\":1}".to_vec())), Ok(None)]
        );
    }

    #[tokio::test]
    async fn small_limit_is_exact() {
        // 8 bytes is exactly the limit, with or without CR; 9 is one too many.
        let ok = lines(b"12345678\n12345678\r\n", 8).await;
        assert_eq!(
            ok,
            vec![
                Ok(Some(b"12345678".to_vec())),
                Ok(Some(b"12345678".to_vec())),
                Ok(None)
            ]
        );
        let too_long = lines(b"123456789\n", 8).await;
        assert_eq!(
            too_long,
            vec![Err("message exceeds the 8-byte line limit".into())]
        );
        let too_long_cr = lines(b"123456789\r\n", 8).await;
        assert!(too_long_cr[0].is_err());
    }

    #[tokio::test]
    async fn real_cap_accepts_exactly_16_mib() {
        let mut input = vec![b'x'; MAX_LINE_BYTES];
        input.push(b'\n');
        let mut reader = LineReader::new(&input[..]);
        let line = reader.next_line().await.unwrap().unwrap();
        assert_eq!(line.len(), MAX_LINE_BYTES);
    }

    #[tokio::test]
    async fn real_cap_refuses_16_mib_plus_one() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 1];
        input.push(b'\n');
        let mut reader = LineReader::new(&input[..]);
        assert!(matches!(
            reader.next_line().await,
            Err(FrameError::TooLong {
                limit: MAX_LINE_BYTES
            })
        ));
    }

    /// An endless stream of `x` that counts how much was pulled from it.
    struct Endless(Arc<AtomicUsize>);

    impl AsyncRead for Endless {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = buf.remaining();
            buf.put_slice(&vec![b'x'; n]);
            self.0.fetch_add(n, Ordering::SeqCst);
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn refuses_an_endless_line_without_buffering_it() {
        let pulled = Arc::new(AtomicUsize::new(0));
        let mut reader = LineReader::with_limit(Endless(pulled.clone()), 1000);
        let err = reader.next_line().await.unwrap_err();
        assert!(matches!(err, FrameError::TooLong { limit: 1000 }));
        // Stops after one buffer fill past the limit instead of reading forever.
        assert!(pulled.load(Ordering::SeqCst) <= 1001 + 64 * 1024);
        assert!(reader.line.capacity() <= 64 * 1024 + 1001);
    }

    #[test]
    fn decode_sorts_utf8_from_json_errors() {
        assert_eq!(decode(b"{\"a\":[1]}"), Ok(json!({"a":[1]})));
        assert_eq!(
            decode(b"{\"a\":\"\xff\"}"),
            Err(DecodeError::InvalidUtf8 { valid_up_to: 6 })
        );
        assert!(matches!(
            decode(b"{\"a\":"),
            Err(DecodeError::InvalidJson(_))
        ));
        assert!(matches!(decode(b""), Err(DecodeError::InvalidJson(_))));
    }

    #[test]
    fn encode_is_one_line() {
        let line = encode(&json!({"text": "two\nlines"}));
        assert_eq!(line, b"{\"text\":\"two\\nlines\"}\n");
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
    }
}
