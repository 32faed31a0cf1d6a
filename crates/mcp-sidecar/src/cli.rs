//! Command-line flags. The token is deliberately not among them (environment only).

use std::time::Duration;

use clap::{Parser, ValueEnum};
use tracing::level_filters::LevelFilter;

use crate::http::guard::Origin;
use crate::ipc::endpoint::Endpoint;

/// Environment variable that carries the IPC token (never argv: argv is world-readable).
pub const TOKEN_ENV: &str = "MCP_SIDECAR_TOKEN";

#[derive(Debug, Parser)]
#[command(
    name = "mcp-sidecar",
    version,
    about = "MCP server that forwards tool calls to its host process over local IPC",
    after_help = "The IPC token is read from the MCP_SIDECAR_TOKEN environment variable."
)]
pub struct Cli {
    /// Host IPC endpoint: unix:PATH, pipe:\\.\pipe\NAME (Windows) or tcp:127.0.0.1:PORT
    #[arg(long, value_name = "ENDPOINT")]
    pub ipc: Endpoint,

    /// Exit (code 3) within a second of this process exiting
    #[arg(long, value_name = "PID")]
    pub parent_pid: Option<u32>,

    /// Where MCP clients connect
    #[arg(long, value_enum, default_value_t = Transport::Http)]
    pub transport: Transport,

    /// HTTP bind address; loopback only unless --allow-non-loopback
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// HTTP port; 0 picks a free one (printed as `READY <port>`)
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Give up on a tool call after this many milliseconds
    #[arg(long, value_name = "MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub tool_timeout_ms: u64,

    /// Extra browser Origin to accept, e.g. https://app.example:8443 (repeatable)
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<Origin>,

    /// Require `Authorization: Bearer <token>` on every HTTP request
    #[arg(long)]
    pub require_auth: bool,

    /// Allow --host to be a non-loopback address (also turns off the Host header check)
    #[arg(long)]
    pub allow_non_loopback: bool,

    /// Most MCP sessions alive at once; at the cap the least recently used idle one is closed
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: u32,

    /// Close an MCP session unused for this long (e.g. 300s, 5m, 1500ms; bare number = seconds)
    #[arg(long, value_name = "DURATION", default_value = "300s", value_parser = parse_duration)]
    pub session_idle_timeout: Duration,

    /// Most HTTP connections open at once; further ones are closed at once
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Close a connection whose request head (or body) takes longer, or that idles this long
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// Log level for stderr: off, error, warn, info, debug, trace
    #[arg(long, value_name = "LEVEL", default_value = "warn")]
    pub log_level: LevelFilter,
}

/// Sized for the RSS goal (15 MB): ~53 kB per live session (rmcp's per-session tasks and
/// channels) on a 4.5 MB idle sidecar; 2,000 abandoned sessions peak at ~12.5 MB (release).
pub const DEFAULT_MAX_SESSIONS: u32 = 100;

/// `1500ms`, `300s`, `5m`, or a bare number of seconds; never zero.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration like 300s, 5m or 1500ms"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(amount),
        "" | "s" => Duration::from_secs(amount),
        "m" => Duration::from_secs(amount.saturating_mul(60)),
        _ => return Err(format!("`{raw}` has an unknown unit (use ms, s or m)")),
    };
    if duration.is_zero() {
        return Err("the duration must be more than zero".into());
    }
    Ok(duration)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// MCP Streamable HTTP at http://HOST:PORT/mcp
    Http,
    /// MCP on stdin/stdout; no READY line
    Stdio,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["mcp-sidecar", "--ipc", "tcp:127.0.0.1:9"]).unwrap();
        assert_eq!(cli.transport, Transport::Http);
        assert_eq!(cli.host, "127.0.0.1");
        assert_eq!(cli.port, 0);
        assert_eq!(cli.tool_timeout_ms, 30_000);
        assert_eq!(cli.log_level, LevelFilter::WARN);
        assert!(!cli.require_auth && !cli.allow_non_loopback);
        assert_eq!(cli.max_sessions, DEFAULT_MAX_SESSIONS);
        assert_eq!(cli.session_idle_timeout, Duration::from_secs(300));
        assert_eq!(cli.max_connections, 256);
        assert_eq!(cli.header_timeout, Duration::from_secs(10));
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("300s"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        for bad in ["", "s", "0s", "0", "1h", "-1s", "1.5s", "ten"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_values() {
        for args in [
            &["mcp-sidecar", "--ipc", "tcp:10.0.0.1:9"][..],
            &[
                "mcp-sidecar",
                "--ipc",
                "tcp:127.0.0.1:9",
                "--tool-timeout-ms",
                "0",
            ],
            &[
                "mcp-sidecar",
                "--ipc",
                "tcp:127.0.0.1:9",
                "--transport",
                "ws",
            ],
            &[
                "mcp-sidecar",
                "--ipc",
                "tcp:127.0.0.1:9",
                "--allowed-origin",
                "nope",
            ],
            &["mcp-sidecar", "--ipc", "tcp:127.0.0.1:9", "--token", "x"],
            &[
                "mcp-sidecar",
                "--ipc",
                "tcp:127.0.0.1:9",
                "--max-sessions",
                "0",
            ],
            &[
                "mcp-sidecar",
                "--ipc",
                "tcp:127.0.0.1:9",
                "--max-connections",
                "0",
            ],
            &[
                "mcp-sidecar",
                "--ipc",
                "tcp:127.0.0.1:9",
                "--session-idle-timeout",
                "0s",
            ],
            &[
                "mcp-sidecar",
                "--ipc",
                "tcp:127.0.0.1:9",
                "--header-timeout",
                "5h",
            ],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn repeats_allowed_origin() {
        let cli = Cli::try_parse_from([
            "mcp-sidecar",
            "--ipc",
            "unix:/tmp/s",
            "--allowed-origin",
            "https://a.example",
            "--allowed-origin",
            "http://b.example:8080",
        ])
        .unwrap();
        assert_eq!(cli.allowed_origins.len(), 2);
    }
}
