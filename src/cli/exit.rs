//! Exit codes (documented in README.md), and the one place that picks them for an error.

use backstock::error::{Error, ErrorKind};
use backstock::shopify;

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
/// The storage refuses the operation: deleting on a server in append-only mode, a missing
/// permission.
pub const REFUSED: i32 = 14;
/// Data the command needs is in an archive storage class (S3 Glacier, Deep Archive): its restore
/// was requested (or is under way) and is not done; running the command again continues.
pub const ARCHIVED: i32 = 15;
/// The storage cannot do what the repository asks of it (object lock on a store or bucket
/// without it).
pub const UNSUPPORTED: i32 = 16;
/// The store refused the access token or a scope it needs (`shopify` commands).
pub const STORE_REFUSED: i32 = 20;
/// The store failed, kept throttling, or answered outside its API (`shopify` commands); nothing
/// of the run was kept.
pub const STORE_FAILED: i32 = 21;
/// The command was interrupted by SIGINT or SIGTERM (128 + the signal, as shells report).
pub const INTERRUPTED_INT: i32 = 130;
pub const INTERRUPTED_TERM: i32 = 143;

fn for_kind(kind: ErrorKind) -> Option<i32> {
    match kind {
        ErrorKind::NoRepository => Some(NO_REPOSITORY),
        ErrorKind::WrongPassword => Some(WRONG_PASSWORD),
        ErrorKind::Damaged => Some(DAMAGED),
        ErrorKind::Locked => Some(LOCKED),
        ErrorKind::Refused => Some(REFUSED),
        ErrorKind::Archived => Some(ARCHIVED),
        ErrorKind::Unsupported => Some(UNSUPPORTED),
        _ => None,
    }
}

/// The exit code for an error chain: the first engine error with a kind that has its own code
/// decides, otherwise 1.
pub fn code_for(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| {
            e.downcast_ref::<Error>()
                .and_then(|e| for_kind(e.kind()))
                .or_else(|| e.downcast_ref::<shopify::Error>().and_then(for_store))
        })
        .unwrap_or(ERROR)
}

fn for_store(e: &shopify::Error) -> Option<i32> {
    use shopify::Error as S;
    match e {
        S::AccessDenied { .. } | S::Unauthorized { .. } => Some(STORE_REFUSED),
        S::Unavailable { .. } | S::BulkFailed { .. } | S::Protocol { .. } | S::Refused { .. } => {
            Some(STORE_FAILED)
        }
        _ => None,
    }
}
