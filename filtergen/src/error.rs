//! Errors as values, each knowing its exit code (see README "Exit codes").

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A profile that does not parse or validate: `file:line:column: message`.
    #[error("{file}:{line}:{column}: {message}")]
    Profile { file: PathBuf, line: usize, column: usize, message: String },

    /// A profile problem without a position (missing file, include cycle).
    #[error("{file}: {message}")]
    ProfileFile { file: PathBuf, message: String },

    /// Bad command-line use or input that is not a profile.
    #[error("{0}")]
    Usage(String),

    /// A rule that cannot be expressed in the requested output.
    #[error("{0}")]
    NoEquivalent(String),

    /// A generated filter that the real compiler rejected.
    #[error("{0}")]
    CompileFailed(String),

    /// An external tool (tshark, tcpdump) missing or failing.
    #[error("{tool}: {reason}")]
    Tool { tool: String, reason: String },

    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    #[error("template: {0}")]
    Template(String),
}

impl Error {
    /// 1 for findings and failed compiles, 2 for usage and input errors.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NoEquivalent(_) | Error::CompileFailed(_) => 1,
            _ => 2,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}
