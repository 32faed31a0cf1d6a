//! The `--ipc` endpoint: parsed once at the edge, then connected.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use tokio::io::{AsyncRead, AsyncWrite};

/// Where the host listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:/path/ipc.sock` (POSIX only at connect time).
    Unix(PathBuf),
    /// `tcp:127.0.0.1:PORT` — loopback only.
    Tcp(SocketAddr),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("IPC endpoint `{0}` must start with `unix:` or `tcp:`")]
    UnknownScheme(String),
    #[error("IPC endpoint `{0}` has an empty socket path")]
    EmptyPath(String),
    #[error("IPC endpoint `{0}` is not `tcp:HOST:PORT` with a numeric loopback address")]
    BadTcpAddress(String),
    #[error("IPC endpoint `{0}` is not a loopback address; the sidecar only connects to 127.0.0.1 or ::1")]
    NonLoopback(String),
    #[error("IPC endpoint `{0}` has port 0")]
    ZeroPort(String),
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if let Some(path) = raw.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(EndpointError::EmptyPath(raw.to_owned()));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        let Some(addr) = raw.strip_prefix("tcp:") else {
            return Err(EndpointError::UnknownScheme(raw.to_owned()));
        };
        let addr = parse_tcp(addr).ok_or_else(|| EndpointError::BadTcpAddress(raw.to_owned()))?;
        if !addr.ip().is_loopback() {
            return Err(EndpointError::NonLoopback(raw.to_owned()));
        }
        if addr.port() == 0 {
            return Err(EndpointError::ZeroPort(raw.to_owned()));
        }
        Ok(Endpoint::Tcp(addr))
    }
}

// `localhost:PORT` is accepted as 127.0.0.1 so no resolver can redirect the IPC elsewhere.
fn parse_tcp(addr: &str) -> Option<SocketAddr> {
    if let Ok(addr) = addr.parse::<SocketAddr>() {
        return Some(addr);
    }
    let (host, port) = addr.rsplit_once(':')?;
    if !host.eq_ignore_ascii_case("localhost") {
        return None;
    }
    let port = port.parse().ok()?;
    Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            Endpoint::Tcp(addr) => write!(f, "tcp:{addr}"),
        }
    }
}

pub type BoxedReader = Box<dyn AsyncRead + Send + Unpin>;
pub type BoxedWriter = Box<dyn AsyncWrite + Send + Unpin>;

impl Endpoint {
    /// Connects and splits the stream into independently owned halves.
    pub async fn connect(&self) -> io::Result<(BoxedReader, BoxedWriter)> {
        match self {
            Endpoint::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(addr).await?;
                // Requests are small and latency-bound; never wait for Nagle.
                stream.set_nodelay(true)?;
                let (read, write) = stream.into_split();
                Ok((Box::new(read), Box::new(write)))
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path).await?;
                let (read, write) = stream.into_split();
                Ok((Box::new(read), Box::new(write)))
            }
            #[cfg(not(unix))]
            Endpoint::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "unix: IPC endpoints are not supported on this platform; use tcp:127.0.0.1:PORT",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_paths() {
        assert_eq!(
            "unix:/tmp/x/ipc.sock".parse::<Endpoint>(),
            Ok(Endpoint::Unix(PathBuf::from("/tmp/x/ipc.sock")))
        );
        assert_eq!(
            "unix:".parse::<Endpoint>(),
            Err(EndpointError::EmptyPath("unix:".into()))
        );
    }

    #[test]
    fn parses_loopback_tcp() {
        assert_eq!(
            "tcp:127.0.0.1:4242".parse::<Endpoint>(),
            Ok(Endpoint::Tcp("127.0.0.1:4242".parse().unwrap()))
        );
        assert_eq!(
            "tcp:[::1]:4242".parse::<Endpoint>(),
            Ok(Endpoint::Tcp("[::1]:4242".parse().unwrap()))
        );
        assert_eq!(
            "tcp:localhost:4242".parse::<Endpoint>(),
            Ok(Endpoint::Tcp("127.0.0.1:4242".parse().unwrap()))
        );
    }

    #[test]
    fn refuses_non_loopback_tcp() {
        for raw in ["tcp:0.0.0.0:4242", "tcp:10.1.2.3:4242", "tcp:[::]:4242"] {
            assert_eq!(
                raw.parse::<Endpoint>(),
                Err(EndpointError::NonLoopback(raw.into())),
                "{raw}"
            );
        }
    }

    #[test]
    fn refuses_malformed_endpoints() {
        assert!(matches!(
            "tcp:example.com:80".parse::<Endpoint>(),
            Err(EndpointError::BadTcpAddress(_))
        ));
        assert!(matches!(
            "tcp:127.0.0.1".parse::<Endpoint>(),
            Err(EndpointError::BadTcpAddress(_))
        ));
        assert!(matches!(
            "tcp:127.0.0.1:0".parse::<Endpoint>(),
            Err(EndpointError::ZeroPort(_))
        ));
        assert!(matches!(
            "/tmp/ipc.sock".parse::<Endpoint>(),
            Err(EndpointError::UnknownScheme(_))
        ));
    }

    #[test]
    fn displays_round_trip() {
        for raw in ["unix:/a/b.sock", "tcp:127.0.0.1:9"] {
            assert_eq!(raw.parse::<Endpoint>().unwrap().to_string(), raw);
        }
    }
}
