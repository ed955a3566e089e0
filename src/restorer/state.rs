//! What the restore knows about each entry while it runs.

use super::handles::Ident;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

#[derive(Default)]
pub(super) struct EntryState {
    /// The inode the restore created (or, for a directory, found and took over). Every later open
    /// must find this inode at the entry's path; unset when the entry could not be made.
    pub ident: OnceLock<Ident>,
    /// Blob writes a file still waits for.
    pub remaining: AtomicUsize,
    /// The first reason a file's content is incomplete.
    pub failure: OnceLock<String>,
    /// Not made on purpose (a socket; a device node without the privilege); a warning says why.
    pub skipped: AtomicBool,
}

impl EntryState {
    /// Records why the file is incomplete; the first reason is kept.
    pub fn fail(&self, why: String) {
        let _ = self.failure.set(why);
    }

    pub fn failed(&self) -> bool {
        self.failure.get().is_some()
    }

    /// Whether the entry exists as the restore made it and, for a file, holds all its content.
    pub fn complete(&self) -> bool {
        self.ident.get().is_some() && !self.failed() && self.remaining.load(Ordering::Acquire) == 0
    }
}
