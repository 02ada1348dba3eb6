//! The `roster` binary: parse the command line, set up logging, and hand off to `server::cli`. Kept thin so that
//! tests drive the same code through `server::startup::Application`.
use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    server::telemetry::init();
    let cli = server::config::Cli::parse();
    match server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line on stderr, for scripts and people alike.
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}
