//! File contents: read each pack segment once, decrypt and verify its blobs in place, and write
//! each blob at its offsets in every file that holds it, through handles checked to be the files
//! the restore created.

use super::handles::TargetDir;
use super::plan::{self, PlannedBlob};
use super::state::EntryState;
use super::{Item, RestoreProgress};
use crate::error::err;
use crate::ids::PackId;
use crate::repository::Repository;
use rustix::fs::OFlags;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;

/// Scratch space each restoring thread keeps: the pack range it read, and the aligned buffer for
/// direct writes.
struct Buffers {
    read: Vec<u8>,
    bounce: Vec<u8>,
}

impl Buffers {
    const fn new() -> Self {
        Buffers {
            read: Vec::new(),
            bounce: Vec::new(),
        }
    }
}

/// Blobs at least this large are written with direct I/O where the file system allows: it skips
/// the copy into the page cache, the largest CPU cost of a restore (see docs/benchmarks.md).
const DIRECT_WRITE_MIN: usize = 64 << 10;

/// What the writers share.
pub(super) struct Writer<'a> {
    pub repo: &'a Repository,
    pub target: &'a TargetDir,
    pub items: &'a [Item],
    pub states: &'a [EntryState],
    pub progress: &'a RestoreProgress,
}

/// Writes the content of every file the plan holds blobs for. Failures are recorded in the
/// files' states.
pub(super) fn write_all(w: &Writer<'_>, packs: &[(PackId, Vec<PlannedBlob>)]) {
    // Packs are read in segments of at most the store's read span (a few MiB from a directory, a
    // whole pack from a remote store; a larger blob is a segment of its own) by twice as many
    // threads as cores, so that while one thread waits for its read or write another has work for
    // the core; each thread reuses its buffers for every segment (fresh buffers per segment
    // fragment the heap and grow the RSS).
    thread_local! {
        static BUFS: std::cell::RefCell<Buffers> = const { std::cell::RefCell::new(Buffers::new()) };
    }
    let segments = plan::segments(packs, w.repo.backend().read_span());
    let work = || {
        use rayon::prelude::*;
        segments.par_iter().for_each(|(pack, blobs)| {
            BUFS.with_borrow_mut(|buf| restore_segment(w, pack, blobs, buf))
        })
    };
    match rayon::ThreadPoolBuilder::new()
        .num_threads(2 * rayon::current_num_threads())
        .build()
    {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

fn restore_segment(w: &Writer<'_>, pack: &PackId, blobs: &[PlannedBlob], bufs: &mut Buffers) {
    let data = &mut bufs.read;
    let start = blobs
        .iter()
        .map(|b| b.entry.offset as u64)
        .min()
        .unwrap_or(0);
    let end = blobs.iter().map(|b| b.entry.end()).max().unwrap_or(0);
    let read = w.repo.backend().read_range_into(
        crate::backend::FileType::Pack,
        &pack.to_hex(),
        start,
        end - start,
        data,
    );
    if let Err(e) = read {
        // Through the library's error, so that the cause (the system's words) is shown too.
        let why = format!("reading pack {pack}: {:#}", crate::error::Error::from(e));
        for t in blobs.iter().flat_map(|b| &b.targets) {
            w.states[t.item].fail(why.clone());
        }
        return;
    }
    // The file last written, kept open while the next blobs go to it too.
    let mut open: Option<(usize, File)> = None;
    for b in blobs {
        let off = (b.entry.offset as u64 - start) as usize;
        let sealed = data
            .get_mut(off..off + b.entry.stored_len as usize)
            .ok_or_else(|| err!(Corrupt, "pack {pack} is shorter than its index says"));
        let plain = match sealed.and_then(|sealed| w.repo.open_blob_in_place(&b.entry, sealed)) {
            Ok(p) => p,
            Err(e) => {
                let why = format!("{e:#} (in pack {pack})");
                for t in &b.targets {
                    w.states[t.item].fail(why.clone());
                }
                continue;
            }
        };
        for t in &b.targets {
            let st = &w.states[t.item];
            let Some(&ident) = st.ident.get() else {
                continue;
            };
            if st.failed() {
                continue;
            }
            let it = &w.items[t.item];
            if open.as_ref().is_none_or(|(i, _)| *i != t.item) {
                open = None;
                match w
                    .target
                    .open_checked(&it.rel, OFlags::WRONLY | OFlags::NONBLOCK, ident)
                {
                    Ok(fd) => open = Some((t.item, File::from(fd))),
                    Err(e) => {
                        st.fail(format!("{e:#}"));
                        continue;
                    }
                }
            }
            let Some((_, f)) = &open else { continue };
            match write_blob(f, t.offset, &plain, &mut bufs.bounce) {
                Ok(()) => {
                    st.remaining.fetch_sub(1, Ordering::AcqRel);
                    w.progress
                        .bytes
                        .fetch_add(plain.len() as u64, Ordering::Relaxed);
                }
                Err(e) => st.fail(format!("writing {}: {e}", w.target.show(&it.rel).display())),
            }
        }
    }
}

/// Writes one blob's plaintext at `offset` of `f`.
fn write_blob(f: &File, offset: u64, plain: &[u8], bounce: &mut Vec<u8>) -> std::io::Result<()> {
    if plain.len() >= DIRECT_WRITE_MIN && crate::direct_io::write_at(f, offset, plain, bounce)? {
        return Ok(());
    }
    f.write_all_at(plain, offset)
}
