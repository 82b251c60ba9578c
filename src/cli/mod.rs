//! The `drctl` command line: argument parsing, logging, and one function per command.

mod args;
mod commands;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;

use crate::exit::ExitStatus;

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);

    if !(cli.time_scale.is_finite() && cli.time_scale >= 1.0) {
        eprintln!("error: invalid time scale {}: it must be a number of at least 1", cli.time_scale);
        return ExitStatus::InvalidInput.into();
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitStatus::Internal.into();
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(status) => status.into(),
        Err(error) => {
            eprintln!("error: {error}");
            error.status().into()
        }
    }
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match cli.log_format {
        args::LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).try_init(),
        args::LogFormat::Text => builder.try_init(),
    };
    if let Err(error) = result {
        eprintln!("warning: logging is not available: {error}");
    }
}
