//! Everything that ends the process, each with its documented exit code.

use std::io;

/// Process exit codes (docs/ipc-protocol.md, "Sidecar lifetime and exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// `lifecycle.shutdown` answered (or the stdio MCP client hung up).
    Clean = 0,
    /// Bad CLI value, bind failure, anything unexpected.
    Internal = 1,
    /// The host refused `auth.hello`, or there was no token.
    Auth = 2,
    /// The IPC connection is gone or the parent process died.
    Lost = 3,
}

/// Why the sidecar stops.
#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    #[error("MCP_SIDECAR_TOKEN is not set or empty; the host must pass the IPC token in the environment")]
    MissingToken,
    #[error("the host refused authentication: {0}")]
    AuthRefused(String),
    #[error("refusing to bind non-loopback address `{0}`; pass --allow-non-loopback to allow it")]
    NonLoopbackHost(String),
    #[error("cannot bind HTTP on {addr}: {source}")]
    Bind { addr: String, source: io::Error },
    #[error("cannot connect to IPC endpoint `{endpoint}`: {source}")]
    Connect { endpoint: String, source: io::Error },
    #[error("IPC connection lost: {0}")]
    IpcLost(String),
    #[error("no answer from the host to `{0}` within {1} s")]
    HostSilent(&'static str, u64),
    #[error("the host speaks IPC protocol {0}; this sidecar speaks 1")]
    ProtocolMismatch(String),
    #[error("the host answered `{method}` with an error: {message}")]
    HostError {
        method: &'static str,
        message: String,
    },
    #[error("parent process {0} exited")]
    ParentDied(u32),
    #[error("{0}")]
    Internal(String),
}

impl SidecarError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            SidecarError::MissingToken | SidecarError::AuthRefused(_) => ExitCode::Auth,
            SidecarError::Connect { .. }
            | SidecarError::IpcLost(_)
            | SidecarError::HostSilent(..)
            | SidecarError::ParentDied(_) => ExitCode::Lost,
            SidecarError::NonLoopbackHost(_)
            | SidecarError::Bind { .. }
            | SidecarError::ProtocolMismatch(_)
            | SidecarError::HostError { .. }
            | SidecarError::Internal(_) => ExitCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_protocol_doc() {
        assert_eq!(SidecarError::MissingToken.exit_code() as i32, 2);
        assert_eq!(SidecarError::AuthRefused("x".into()).exit_code() as i32, 2);
        assert_eq!(SidecarError::IpcLost("eof".into()).exit_code() as i32, 3);
        assert_eq!(SidecarError::ParentDied(1).exit_code() as i32, 3);
        assert_eq!(
            SidecarError::NonLoopbackHost("0.0.0.0".into()).exit_code() as i32,
            1
        );
    }
}
