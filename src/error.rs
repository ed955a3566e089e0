//! Errors the command line maps to specific exit codes. Everything else is an `anyhow` chain with context.

/// Exit codes (documented in README.md).
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const PARTIAL_BACKUP: i32 = 3;
    pub const NO_REPOSITORY: i32 = 10;
    /// The repository is locked by another process (as restic's 11).
    pub const LOCKED: i32 = 11;
    pub const WRONG_PASSWORD: i32 = 12;
    /// The repository is damaged in a way no command here can work around (no config beside other
    /// repository files, no readable key file).
    pub const DAMAGED: i32 = 13;
    /// The command was interrupted by SIGINT or SIGTERM (128 + the signal, as shells report).
    pub const INTERRUPTED_INT: i32 = 130;
    pub const INTERRUPTED_TERM: i32 = 143;
}

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error(
        "no repository at {0} (run `backstock init` first, or check --repo / BACKSTOCK_REPOSITORY)"
    )]
    NotFound(String),
    #[error("wrong password: no key file in {0} opens with it")]
    WrongPassword(String),
    #[error("{0}")]
    Damaged(String),
}

impl RepoError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RepoError::NotFound(_) => exit::NO_REPOSITORY,
            RepoError::WrongPassword(_) => exit::WRONG_PASSWORD,
            RepoError::Damaged(_) => exit::DAMAGED,
        }
    }
}

/// The exit code for an error chain: a `RepoError` or a lock conflict anywhere in it decides,
/// otherwise 1.
pub fn exit_code_for(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| {
            e.downcast_ref::<RepoError>()
                .map(RepoError::exit_code)
                .or_else(|| {
                    e.downcast_ref::<crate::repository::lock::LockedError>()
                        .map(|_| exit::LOCKED)
                })
        })
        .unwrap_or(exit::ERROR)
}
