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
    /// Leave all-zero blobs unwritten (the files were made at their size, all holes).
    pub sparse: bool,
}

/// Writes the content of every file the plan holds blobs for. Failures are recorded in the
/// files' states.
pub(super) fn write_all(w: &Writer<'_>, packs: &[(PackId, Vec<PlannedBlob>)]) {
    // Packs are read in segments of at most the store's read span (a few MiB from a directory, a
    // whole pack from a remote store; a larger blob is a segment of its own). A directory's
    // segments are read whole by twice as many threads as cores, so that while one thread waits
    // for its read or write another has work for the core. A remote store's are streamed, a blob
    // at a time, by as many threads as the store serves streams well: the next blob arrives
    // while this one is decrypted and written, and each thread holds one blob, not a pack. Each
    // thread reuses its buffers for every segment (fresh buffers per segment fragment the heap
    // and grow the RSS).
    thread_local! {
        static BUFS: std::cell::RefCell<Buffers> = const { std::cell::RefCell::new(Buffers::new()) };
    }
    let backend = w.repo.backend();
    let segments = plan::segments(packs, backend.read_span());
    let streams = backend.read_streams();
    let work = || {
        use rayon::prelude::*;
        segments.par_iter().for_each(|(pack, blobs)| {
            BUFS.with_borrow_mut(|buf| {
                if streams > 0 {
                    stream_segment(w, pack, blobs, buf)
                } else {
                    read_segment(w, pack, blobs, buf)
                }
            })
        })
    };
    let threads = if streams > 0 {
        streams
    } else {
        2 * rayon::current_num_threads()
    };
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// The pack range a segment's blobs lie in.
fn span(blobs: &[PlannedBlob]) -> (u64, u64) {
    let start = blobs
        .iter()
        .map(|b| b.entry.offset as u64)
        .min()
        .unwrap_or(0);
    let end = blobs.iter().map(|b| b.entry.end()).max().unwrap_or(0);
    (start, end)
}

/// Records `why` as the failure of every file the blobs go to.
fn fail_all(w: &Writer<'_>, blobs: &[PlannedBlob], why: &str) {
    for t in blobs.iter().flat_map(|b| &b.targets) {
        w.states[t.item].fail(why.to_string());
    }
}

/// Reads a segment whole, then restores its blobs.
fn read_segment(w: &Writer<'_>, pack: &PackId, blobs: &[PlannedBlob], bufs: &mut Buffers) {
    let (start, end) = span(blobs);
    let read = w.repo.backend().read_range_into(
        crate::backend::FileType::Pack,
        &pack.to_hex(),
        start,
        end - start,
        &mut bufs.read,
    );
    if let Err(e) = read {
        // Through the library's error, so that the cause (the system's words) is shown too.
        let why = format!("reading pack {pack}: {:#}", crate::error::Error::from(e));
        return fail_all(w, blobs, &why);
    }
    // The file last written, kept open while the next blobs go to it too.
    let mut open: Option<(usize, File)> = None;
    for b in blobs {
        let off = (b.entry.offset as u64 - start) as usize;
        let sealed = bufs
            .read
            .get_mut(off..off + b.entry.stored_len as usize)
            .ok_or_else(|| err!(Corrupt, "pack {pack} is shorter than its index says"));
        restore_blob(w, pack, b, sealed, &mut open, &mut bufs.bounce);
    }
}

/// Streams a segment from the store and restores each blob as it has arrived whole. A failure
/// of the stream fails the files of the blobs not restored yet.
fn stream_segment(w: &Writer<'_>, pack: &PackId, blobs: &[PlannedBlob], bufs: &mut Buffers) {
    use std::io::Read;
    let (start, end) = span(blobs);
    let stream = w.repo.backend().read_range_stream(
        crate::backend::FileType::Pack,
        &pack.to_hex(),
        start,
        end - start,
    );
    let mut reader = match stream {
        Ok(r) => r,
        Err(e) => {
            let why = format!("reading pack {pack}: {:#}", crate::error::Error::from(e));
            return fail_all(w, blobs, &why);
        }
    };
    let mut pos = start;
    let mut open: Option<(usize, File)> = None;
    for (i, b) in blobs.iter().enumerate() {
        let off = b.entry.offset as u64;
        let len = b.entry.stored_len as usize;
        if off < pos {
            let why = format!("pack {pack}: its index has blobs that overlap");
            fail_all(w, std::slice::from_ref(b), &why);
            continue;
        }
        bufs.read.resize(len, 0);
        let got = std::io::copy(&mut (&mut reader).take(off - pos), &mut std::io::sink()).and_then(
            |skipped| match skipped == off - pos {
                true => reader.read_exact(&mut bufs.read),
                false => Err(std::io::ErrorKind::UnexpectedEof.into()),
            },
        );
        if let Err(e) = got {
            return fail_all(w, &blobs[i..], &stream_failure(pack, e));
        }
        pos = off + len as u64;
        restore_blob(w, pack, b, Ok(&mut bufs.read), &mut open, &mut bufs.bounce);
    }
}

/// The message for a stream of `pack` that failed: the store's error with its causes where it
/// was one.
fn stream_failure(pack: &PackId, e: std::io::Error) -> String {
    match e.downcast::<crate::backend::BackendError>() {
        Ok(b) => format!("reading pack {pack}: {:#}", crate::error::Error::from(b)),
        Err(e) => format!("reading pack {pack}: {e}"),
    }
}

/// Opens one blob in place and writes it to every file that holds it; `open` is the file last
/// written, kept open while the next blobs go to it too.
fn restore_blob(
    w: &Writer<'_>,
    pack: &PackId,
    b: &PlannedBlob,
    sealed: crate::error::Result<&mut [u8]>,
    open: &mut Option<(usize, File)>,
    bounce: &mut Vec<u8>,
) {
    let plain = match sealed.and_then(|sealed| w.repo.open_blob_in_place(&b.entry, sealed)) {
        Ok(p) => p,
        Err(e) => {
            return fail_all(
                w,
                std::slice::from_ref(b),
                &format!("{e:#} (in pack {pack})"),
            );
        }
    };
    let hole = w.sparse && is_zeros(&plain);
    for t in &b.targets {
        let st = &w.states[t.item];
        let Some(&ident) = st.ident.get() else {
            continue;
        };
        if st.failed() {
            continue;
        }
        let it = &w.items[t.item];
        if hole {
            st.remaining.fetch_sub(1, Ordering::AcqRel);
            w.progress
                .bytes
                .fetch_add(plain.len() as u64, Ordering::Relaxed);
            continue;
        }
        if open.as_ref().is_none_or(|(i, _)| *i != t.item) {
            *open = None;
            match w
                .target
                .open_checked(&it.rel, OFlags::WRONLY | OFlags::NONBLOCK, ident)
            {
                Ok(fd) => *open = Some((t.item, File::from(fd))),
                Err(e) => {
                    st.fail(format!("{e:#}"));
                    continue;
                }
            }
        }
        let Some((_, f)) = open.as_ref() else {
            continue;
        };
        match write_blob(f, t.offset, &plain, bounce) {
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

/// Whether `data` is all zeros (compared a word at a time).
fn is_zeros(data: &[u8]) -> bool {
    let (words, rest) = data.as_chunks::<8>();
    words.iter().all(|w| u64::from_ne_bytes(*w) == 0) && rest.iter().all(|&b| b == 0)
}

/// Writes one blob's plaintext at `offset` of `f`.
fn write_blob(f: &File, offset: u64, plain: &[u8], bounce: &mut Vec<u8>) -> std::io::Result<()> {
    if plain.len() >= DIRECT_WRITE_MIN && crate::direct_io::write_at(f, offset, plain, bounce)? {
        return Ok(());
    }
    f.write_all_at(plain, offset)
}
