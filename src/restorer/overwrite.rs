//! `--overwrite`: which files already in the target a restore keeps as they are.

use super::{Overwrite, Run};
use std::os::fd::BorrowedFd;
use std::sync::atomic::Ordering;

impl Run<'_> {
    /// Whether `--overwrite` keeps the file already at item `i`'s name (and marks it kept).
    pub(super) fn keep_existing(&self, parent: BorrowedFd<'_>, i: usize) -> bool {
        let it = &self.items[i];
        if self.opts.overwrite == Overwrite::Always {
            return false;
        }
        let Ok(st) = rustix::fs::statat(parent, it.name(), rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
        else {
            return false;
        };
        let is_file =
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile;
        #[allow(clippy::unnecessary_cast)]
        let mtime = (st.st_mtime as i64, st.st_mtime_nsec as u32);
        let keep = is_file
            && self
                .opts
                .overwrite
                .keeps(st.st_size as u64, mtime, &it.node);
        if keep {
            self.states[i].skipped.store(true, Ordering::Relaxed);
        }
        keep
    }
}
