//! The liveops command line: the server, admin commands that work on the data
//! directory or database directly, and API client commands.

// Every `println!` and `print!` in this crate writes through
// `output::stdout`: when the reader has gone away (`liveops … | head`), the
// program ends quietly with success, as ripgrep does, rather than panicking.
macro_rules! println {
    () => {
        $crate::output::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

macro_rules! print {
    ($($arg:tt)*) => {
        $crate::output::stdout(format_args!($($arg)*))
    };
}

mod admin;
mod analytics;
mod cli;
mod client;
mod cohorts;
mod configuration;
mod dashboards;
mod docs;
mod errors;
mod feedback;
mod improvement;
mod insights;
mod manual;
mod oncall;
mod output;
mod performance;
mod releases;
mod retention;
mod revenue;
mod reviews;
mod scaling;
mod security;
mod sourcemaps;
mod support;

use std::ffi::OsString;

use clap::Parser;

pub use cli::Cli;

/// A failure that sets the exit status: 1 for a verdict the command's
/// output already explains (breaking changes found), 2 for input it could
/// not use. Other errors exit 1 after `error: …`.
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    /// What to print as `error: …`, if the output has not said it.
    pub error: Option<anyhow::Error>,
}

impl Exit {
    pub fn verdict() -> anyhow::Error {
        anyhow::Error::new(Exit {
            code: 1,
            error: None,
        })
    }

    pub fn bad_input(error: anyhow::Error) -> anyhow::Error {
        anyhow::Error::new(Exit {
            code: 2,
            error: Some(error),
        })
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error {
            Some(e) => write!(f, "{e:#}"),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

impl std::error::Error for Exit {}

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
