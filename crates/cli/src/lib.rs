//! The liveops command line: the server, admin commands that work on the data
//! directory or database directly, and API client commands.

mod admin;
mod analytics;
mod cli;
mod client;
mod output;
mod performance;
mod releases;
mod support;

use std::ffi::OsString;

use clap::Parser;

pub use cli::Cli;

/// Parses `args` and runs the command they name.
pub async fn run<I, T>(args: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // --help and --version print and succeed; usage errors exit 2 as clap's do.
            let code = e.exit_code();
            let _ = e.print();
            std::process::exit(code);
        }
    };
    cli::dispatch(cli).await
}
