//! `mcp-sidecar`: an MCP server that a host process starts and feeds tools over IPC.

mod app;
mod cli;
mod errors;
mod http;
mod ipc;
mod mcp_handler;
mod memory;
mod parent_watch;
mod session_registry;
mod tool_call;
mod tools;

use std::sync::Arc;

use clap::Parser;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use crate::cli::{Cli, TOKEN_ENV};
use crate::errors::{ExitCode, SidecarError};

fn main() {
    let code = run();
    // Exit without dropping the runtime: a blocking stdin read would otherwise hold us up.
    std::process::exit(code as i32);
}

fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // clap's own code for usage errors is 2, which means "auth refused" here.
            return if error.use_stderr() {
                ExitCode::Internal
            } else {
                ExitCode::Clean
            };
        }
    };
    init_logging(cli.log_level);
    memory::configure_allocator();
    let token = match std::env::var(TOKEN_ENV) {
        Ok(token) if !token.is_empty() => Arc::<str>::from(token),
        _ => return fail(&SidecarError::MissingToken),
    };
    if cli.transport == cli::Transport::Http
        && !cli.allow_non_loopback
        && !http::guard::is_loopback_host(&cli.host)
    {
        return fail(&SidecarError::NonLoopbackHost(cli.host.clone()));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return fail(&SidecarError::Internal(format!(
                "cannot start the runtime: {e}"
            )))
        }
    };
    match runtime.block_on(app::run(cli, token)) {
        Ok(code) => code,
        Err(error) => fail(&error),
    }
}

/// Fatal errors always reach stderr, whatever --log-level says.
fn fail(error: &SidecarError) -> ExitCode {
    eprintln!("mcp-sidecar: error: {error}");
    error.exit_code()
}

fn init_logging(level: LevelFilter) {
    // Our own logs at the chosen level; dependencies (rmcp is chatty at info) at most warn.
    let filter = Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), level)
        .with_default(level.min(LevelFilter::WARN));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .with(filter)
        .init();
}
