//! MCP over Streamable HTTP.

pub mod guard;
pub mod server;
