//! Entries beyond files, directories and symlinks: FIFOs and device nodes (made with `mknodat`),
//! sockets (recorded, never made), and hard links (files of one snapshot that shared an inode come
//! back as names of one file); and the metadata of entries that are not opened.

use super::create::{self, Made};
use super::handles::Ident;
use super::meta;
use super::{Item, RestoreError, Run};
use crate::error::{err, Error};
use crate::format::tree::NodeKind;
use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::io::Errno;
use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::Ordering;

/// Marks each selected file that shares device and inode (and content) with an earlier selected
/// file as a link to it. Files whose content differs (changed while the backup read them) are
/// restored on their own.
pub(super) fn link_hardlinks(items: &mut [Item]) {
    let mut first: HashMap<(u64, u64), usize> = HashMap::new();
    for i in 0..items.len() {
        let n = &items[i].node;
        if n.kind != NodeKind::File || n.links == 0 {
            continue;
        }
        match first.get(&(n.device, n.inode)) {
            Some(&leader)
                if items[leader].node.content == n.content && items[leader].node.size == n.size =>
            {
                items[i].link_to = Some(leader)
            }
            Some(_) => {}
            None => {
                first.insert((n.device, n.inode), i);
            }
        }
    }
}

impl Run<'_> {
    /// Makes the FIFOs and device nodes with their metadata; sockets are named as skipped, and so
    /// are device nodes when the restore may not make them.
    pub(super) fn make_specials(&self) {
        let pick = |it: &Item| {
            matches!(
                it.node.kind,
                NodeKind::Fifo | NodeKind::Socket | NodeKind::CharDevice | NodeKind::BlockDevice
            )
        };
        self.in_parents(pick, |parent, i| {
            let it = &self.items[i];
            let shown = self.target.show(&it.rel);
            if it.node.kind == NodeKind::Socket {
                self.states[i].skipped.store(true, Ordering::Relaxed);
                self.warn(RestoreError::at(
                    &it.snap_path,
                    err!(
                        Other,
                        "socket not made: a socket is made by the program that listens on it"
                    ),
                ));
                return;
            }
            let made = create::make_special(
                parent,
                it.name(),
                it.node.kind,
                it.node.rdev,
                &self.deleting(),
            );
            match made {
                Ok(Made::Ready { ident, .. }) => {
                    let _ = self.states[i].ident.set(ident);
                    self.entry_metadata(parent, i, ident);
                }
                Ok(Made::Conflict(kind)) => self.conflict(it, kind),
                Err(Errno::PERM) if it.node.kind.is_device() => {
                    self.states[i].skipped.store(true, Ordering::Relaxed);
                    self.warn(RestoreError::at(
                        &it.snap_path,
                        err!(
                            Other,
                            "{} not made: making device nodes needs root (CAP_MKNOD)",
                            it.node.kind.describe()
                        ),
                    ));
                }
                Err(e) => self.error(RestoreError::at(
                    &it.snap_path,
                    Error::from(e).context(format!(
                        "creating {} {}",
                        it.node.kind.describe(),
                        shown.display()
                    )),
                )),
            }
        });
    }

    /// Owner, extended attributes, mode and times of the symlink or special file `i`, just made
    /// in `parent` as `ident`.
    pub(super) fn entry_metadata(&self, parent: BorrowedFd<'_>, i: usize, ident: Ident) {
        let it = &self.items[i];
        let shown = self.target.show(&it.rel);
        let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let res = rfs::openat(parent, it.name(), flags, Mode::empty())
            .map_err(std::io::Error::from)
            .and_then(|fd| {
                if Ident::of(&fd)? != ident {
                    return Err(std::io::Error::other("it was replaced during the restore"));
                }
                meta::apply_at(parent, it.name(), fd.as_fd(), &it.node)
            });
        match res {
            Ok(refused) => self.refused_xattrs(&it.snap_path, refused),
            Err(e) => {
                let e = Error::from(e).context(format!("setting metadata of {}", shown.display()));
                self.states[i].fail(format!("{e:#}"));
                self.error(RestoreError::at(&it.snap_path, e));
            }
        }
    }

    /// Makes each hard link as another name of the file restored first, once that file is
    /// complete; a link whose file failed is not made, and says so.
    pub(super) fn make_hardlinks(&self) {
        self.in_parents(
            |it| it.link_to.is_some(),
            |parent, i| {
                let it = &self.items[i];
                let Some(l) = it.link_to else { return };
                let (leader, lst) = (&self.items[l], &self.states[l]);
                let shown = self.target.show(&it.rel);
                if lst.skipped.load(Ordering::Relaxed) {
                    // Its first name was kept as it was: this name is left as it is too.
                    self.states[i].skipped.store(true, Ordering::Relaxed);
                    return self.warn(RestoreError::at(
                        &it.snap_path,
                        err!(
                            Other,
                            "not linked to {}: that file was kept as it was (--overwrite)",
                            leader.snap_path
                        ),
                    ));
                }
                let ident = match lst.ident.get() {
                    Some(&ident) if lst.complete() => ident,
                    _ => {
                        return self.error(RestoreError::at(
                            &it.snap_path,
                            err!(
                                Other,
                                "{} not restored: it is a hard link of {}, which was not restored \
                                 completely",
                                shown.display(),
                                leader.snap_path
                            ),
                        ))
                    }
                };
                let res = self
                    .target
                    .open_checked(&leader.rel, OFlags::PATH, ident)
                    .and_then(|fd| {
                        create::make_hardlink(parent, it.name(), fd.as_fd(), &self.deleting())
                            .map_err(Error::from)
                    });
                match res {
                    Ok(Made::Ready { ident, .. }) => {
                        let _ = self.states[i].ident.set(ident);
                    }
                    Ok(Made::Conflict(kind)) => self.conflict(it, kind),
                    Err(e) => self.error(RestoreError::at(
                        &it.snap_path,
                        e.context(format!(
                            "linking {} to {}",
                            shown.display(),
                            self.target.show(&leader.rel).display()
                        )),
                    )),
                }
            },
        );
    }
}
