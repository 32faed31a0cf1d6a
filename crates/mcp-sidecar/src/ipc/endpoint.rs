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
    /// `pipe:\\.\pipe\NAME` — a local named pipe (Windows only at connect time).
    Pipe(String),
}

/// The only prefix a pipe name may have: the local machine's pipe namespace.
pub const LOCAL_PIPE_PREFIX: &str = r"\\.\pipe\";

/// How long to keep retrying while every instance of the host's pipe is taken.
#[cfg(windows)]
pub const PIPE_BUSY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("IPC endpoint `{0}` must start with `unix:`, `pipe:` or `tcp:`")]
    UnknownScheme(String),
    #[error("IPC endpoint `{0}` has an empty socket path")]
    EmptyPath(String),
    #[error("IPC endpoint `{0}` is not `tcp:HOST:PORT` with a numeric loopback address")]
    BadTcpAddress(String),
    #[error("IPC endpoint `{0}` is not a loopback address; the sidecar only connects to 127.0.0.1 or ::1")]
    NonLoopback(String),
    #[error("IPC endpoint `{0}` has port 0")]
    ZeroPort(String),
    #[error(r"IPC endpoint `{0}` is not a local pipe `pipe:\\.\pipe\NAME`")]
    BadPipeName(String),
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
        if let Some(name) = raw.strip_prefix("pipe:") {
            return parse_pipe(name)
                .map(Endpoint::Pipe)
                .ok_or_else(|| EndpointError::BadPipeName(raw.to_owned()));
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

/// `\\.\pipe\NAME` with a non-empty NAME free of further backslashes (no remote server,
/// no path tricks); the prefix is matched case-insensitively, as Windows does.
fn parse_pipe(name: &str) -> Option<String> {
    let prefix = name.get(..LOCAL_PIPE_PREFIX.len())?;
    let rest = &name[LOCAL_PIPE_PREFIX.len()..];
    let ok = prefix.eq_ignore_ascii_case(LOCAL_PIPE_PREFIX)
        && !rest.is_empty()
        && rest.len() <= 240
        && !rest.contains(['\\', '/'])
        && !rest.chars().any(char::is_control);
    ok.then(|| name.to_owned())
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
            Endpoint::Pipe(name) => write!(f, "pipe:{name}"),
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
                "unix: IPC endpoints are not supported on this platform; use pipe: or tcp:",
            )),
            #[cfg(windows)]
            Endpoint::Pipe(name) => {
                let pipe = connect_pipe(name).await?;
                let (read, write) = tokio::io::split(pipe);
                Ok((Box::new(read), Box::new(write)))
            }
            #[cfg(not(windows))]
            Endpoint::Pipe(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "pipe: IPC endpoints exist only on Windows; use unix: or tcp:",
            )),
        }
    }
}

/// Opens the host's pipe; while all its instances are taken (the host is between accepting
/// one client and listening again), retries until [`PIPE_BUSY_DEADLINE`].
#[cfg(windows)]
async fn connect_pipe(name: &str) -> io::Result<tokio::net::windows::named_pipe::NamedPipeClient> {
    use tokio::net::windows::named_pipe::ClientOptions;
    use windows_sys::Win32::Foundation::ERROR_PIPE_BUSY;

    let deadline = tokio::time::Instant::now() + PIPE_BUSY_DEADLINE;
    loop {
        // ClientOptions asks for SECURITY_IDENTIFICATION: the host cannot impersonate us.
        match ClientOptions::new().open(name) {
            Ok(client) => return Ok(client),
            Err(error)
                if error.raw_os_error() == Some(ERROR_PIPE_BUSY as i32)
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(error) => return Err(error),
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
    fn parses_local_pipes_only() {
        let name = r"\\.\pipe\mcp-sidecar-0123456789abcdef0123456789abcdef";
        assert_eq!(
            format!("pipe:{name}").parse::<Endpoint>(),
            Ok(Endpoint::Pipe(name.into()))
        );
        assert!(matches!(
            r"pipe:\\.\PIPE\x".parse::<Endpoint>(),
            Ok(Endpoint::Pipe(_))
        ));
        for raw in [
            "pipe:",
            r"pipe:\\.\pipe\",
            r"pipe:\\server\pipe\x",
            r"pipe:\\.\pipe\a\b",
            r"pipe:\\.\pipe\a/b",
            "pipe:\\\\.\\pipe\\a\nb",
            r"pipe:\\?\pipe\x",
            "pipe:x",
        ] {
            assert_eq!(
                raw.parse::<Endpoint>(),
                Err(EndpointError::BadPipeName(raw.into())),
                "{raw}"
            );
        }
    }

    #[cfg(not(windows))]
    #[tokio::test]
    async fn pipes_are_refused_off_windows() {
        let endpoint: Endpoint = r"pipe:\\.\pipe\x".parse().unwrap();
        let error = endpoint.connect().await.err().expect("unsupported");
        assert_eq!(error.kind(), io::ErrorKind::Unsupported);
    }

    #[test]
    fn displays_round_trip() {
        for raw in ["unix:/a/b.sock", "tcp:127.0.0.1:9", r"pipe:\\.\pipe\n"] {
            assert_eq!(raw.parse::<Endpoint>().unwrap().to_string(), raw);
        }
    }
}
