//! The host ⇄ sidecar channel (docs/ipc-protocol.md).

pub mod client;
pub mod endpoint;
pub mod framing;
pub mod protocol;
