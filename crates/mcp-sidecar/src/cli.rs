//! Command-line flags. The token is deliberately not among them (environment only).

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
    /// Host IPC endpoint: unix:PATH or tcp:127.0.0.1:PORT
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

    /// Log level for stderr: off, error, warn, info, debug, trace
    #[arg(long, value_name = "LEVEL", default_value = "warn")]
    pub log_level: LevelFilter,
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
