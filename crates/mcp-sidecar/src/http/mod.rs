//! MCP over Streamable HTTP.

pub mod body;
pub mod guard;
pub mod server;
pub mod sessions;
