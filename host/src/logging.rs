//! Logs: `tracing` to stderr, human-readable on a terminal (colours) or in files, one JSON
//! object a line with `--log-format json`. The level: `--log-level`, else `FERROBEAM_LOG`, else
//! `RUST_LOG`, else `info` (any `tracing` filter: `debug`, `ferrobeam::reload=debug,info`).
//! Device log lines have target `device` and carry the fields `device`, `generation` and
//! `library`.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event (coloured on a terminal).
    #[default]
    Human,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (`message` and the
    /// event's fields).
    Json,
}

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The level is not a valid filter.
    #[error("invalid log level `{0}`: {1}")]
    BadLevel(String, String),
}

/// The filter: `flag`, else `FERROBEAM_LOG`, else `RUST_LOG`, else `info`.
pub fn filter(flag: Option<&str>) -> Result<EnvFilter, LogError> {
    let spec = flag
        .map(str::to_owned)
        .or_else(|| std::env::var("FERROBEAM_LOG").ok())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "info".to_owned());
    EnvFilter::try_new(&spec).map_err(|e| LogError::BadLevel(spec, e.to_string()))
}

/// Installs the global subscriber. Call once, first thing.
pub fn init(format: LogFormat, level: Option<&str>) -> Result<(), LogError> {
    let filter = filter(level)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_and_bad_levels_are_errors() {
        assert!(filter(Some("debug")).is_ok());
        assert!(filter(Some("ferrobeam::reload=debug,info")).is_ok());
        assert!(matches!(
            filter(Some("info,[[[")),
            Err(LogError::BadLevel(..))
        ));
    }
}
