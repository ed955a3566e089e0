//! Background threads that write finished packs, so the threads that chunk, hash, compress and
//! seal never wait on storage. There are as many as the backend serves writes well at once
//! ([`Backend::parallel_writes`]): one stall of a disk flush or of a network request then holds
//! up one pack, not the pipeline. The queue has no slots: a pack is handed over only when a writer
//! is free, so at most that many packs are being written while the others are being filled, which
//! bounds memory.

use crate::backend::{Backend, FileType};
use crate::error::err;
use crate::error::{Context, Error, Result};
use crate::format::blob_entry::BlobEntry;
use crate::format::index::PackRecord;
use crate::ids::PackId;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::sync::unpoisoned;

struct Job {
    id: PackId,
    bytes: Vec<u8>,
    entries: Vec<BlobEntry>,
}

#[derive(Default)]
struct Shared {
    records: Vec<PackRecord>,
    /// Packs handed to a writer and not yet written (or failed).
    in_flight: usize,
    /// Buffers of written packs, for the next packs (a fresh pack-sized buffer for every pack fragments
    /// the heap and grows the resident set well past the packs in flight). A buffer an HTTP
    /// client still holds a handle to when the write returns (it lets go of a request body a
    /// moment after the answer) waits here until it is ours alone.
    spare: Vec<bytes::Bytes>,
    /// The first write that failed (or panicked); every later call reports it.
    error: Option<Arc<Error>>,
}

struct State {
    shared: Mutex<Shared>,
    /// Signalled whenever a pack is done.
    done: Condvar,
}

pub struct PackWriter {
    tx: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
    state: Arc<State>,
}

impl PackWriter {
    /// A writer with as many threads as `backend` serves writes well at once.
    pub fn new(backend: Arc<dyn Backend>) -> Result<Self> {
        let threads = backend.parallel_writes().clamp(1, MAX_THREADS);
        Self::with_threads(backend, threads)
    }

    fn with_threads(backend: Arc<dyn Backend>, threads: usize) -> Result<Self> {
        let (tx, rx) = bounded::<Job>(0);
        let state = Arc::new(State {
            shared: Mutex::new(Shared::default()),
            done: Condvar::new(),
        });
        let mut writer = PackWriter {
            tx: Some(tx),
            threads: Vec::with_capacity(threads),
            state,
        };
        for i in 0..threads {
            let (rx, backend, state) = (rx.clone(), backend.clone(), writer.state.clone());
            let t = std::thread::Builder::new()
                .name(format!("pack-writer-{i}"))
                .spawn(move || run(rx, backend.as_ref(), &state))
                .context("starting a pack writer thread")?;
            writer.threads.push(t);
        }
        Ok(writer)
    }

    /// The first failure, if a write failed: its kind, its message and its causes.
    fn check(shared: &Shared) -> Result<()> {
        match &shared.error {
            Some(e) => Err(Error::wrap(e.kind(), Arc::clone(e))),
            None => Ok(()),
        }
    }

    /// Queues a finished pack; blocks while every writer is busy. Reports an earlier write's
    /// failure.
    pub fn write(&self, id: PackId, bytes: Vec<u8>, entries: Vec<BlobEntry>) -> Result<()> {
        {
            let mut s = unpoisoned(&self.state.shared);
            Self::check(&s)?;
            s.in_flight += 1;
        }
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(Job { id, bytes, entries }).is_ok());
        if !sent {
            unpoisoned(&self.state.shared).in_flight -= 1;
            return Err(stopped());
        }
        Ok(())
    }

    /// A buffer from a written pack, if one is free.
    pub fn spare_buffer(&self) -> Option<Vec<u8>> {
        let mut s = unpoisoned(&self.state.shared);
        let free = s.spare.iter().position(bytes::Bytes::is_unique)?;
        let mut buf = s.spare.swap_remove(free).try_into_mut().ok()?;
        buf.clear();
        Some(Vec::from(buf))
    }

    /// Waits until every queued pack is written; returns their records (emptying the list).
    pub fn flush(&self) -> Result<Vec<PackRecord>> {
        let mut s = unpoisoned(&self.state.shared);
        while s.in_flight > 0 {
            s = self
                .state
                .done
                .wait(s)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        Self::check(&s)?;
        Ok(std::mem::take(&mut s.records))
    }
}

/// The most writer threads a backend gets, whatever it asks for: each holds a pack in memory.
const MAX_THREADS: usize = 16;

/// Buffers of written packs kept for the next packs.
const SPARE_MAX: usize = 2;

/// One writer thread: writes packs until the queue closes. A panic while handling a pack is
/// recorded as that pack's failure, so the count of packs in flight stays right and a flush
/// reports it instead of waiting for ever.
fn run(rx: Receiver<Job>, backend: &dyn Backend, state: &State) {
    for job in rx {
        let id = job.id;
        let handled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(job, backend, state)));
        let mut s = unpoisoned(&state.shared);
        if handled.is_err() {
            s.error
                .get_or_insert_with(|| Arc::new(err!(Other, "the writer of pack {id} panicked")));
        }
        s.in_flight -= 1;
        drop(s);
        state.done.notify_all();
    }
}

/// Writes one pack unless an earlier one failed, and records the outcome.
fn handle(Job { id, bytes, entries }: Job, backend: &dyn Backend, state: &State) {
    let failed = unpoisoned(&state.shared).error.is_some();
    let size = bytes.len() as u32;
    let bytes = bytes::Bytes::from(bytes);
    let res = if failed {
        Ok(())
    } else {
        write_pack(backend, id, bytes.clone(), &entries)
    };
    let mut s = unpoisoned(&state.shared);
    match res {
        Ok(()) if !failed => s.records.push(PackRecord {
            id,
            size,
            blobs: entries,
        }),
        Ok(()) => {}
        Err(e) => {
            s.error.get_or_insert(Arc::new(e));
        }
    }
    // One buffer per open pack type is all that is ever reused at once, and one per writer may
    // still be held by the backend for a moment.
    if s.spare.len() < SPARE_MAX {
        s.spare.push(bytes);
    }
}

impl Drop for PackWriter {
    fn drop(&mut self) {
        // Closing the queue ends the threads once they have written what they hold.
        self.tx = None;
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                log::warn!("a pack writer thread panicked");
            }
        }
    }
}

/// The writer threads are gone: the queue is closed.
fn stopped() -> Error {
    err!(Other, "the pack writer threads have stopped")
}

/// Writes one pack. A backend that panics fails this write instead of ending the thread, so the
/// failure is reported like any other.
///
/// A pack holds blobs of one type (design.md §4), so its entries say what it is: a data pack is
/// read only to restore or verify file contents and may go to a cold storage class; a tree pack
/// (or an empty one) is read by every listing command and stays hot.
fn write_pack(
    backend: &dyn Backend,
    id: PackId,
    bytes: bytes::Bytes,
    entries: &[BlobEntry],
) -> Result<()> {
    let data = !entries.is_empty()
        && entries
            .iter()
            .all(|e| e.blob_type == crate::format::blob_entry::BlobType::Data);
    let placement = if data {
        crate::backend::Placement::Cold
    } else {
        crate::backend::Placement::Hot
    };
    let write = || backend.write_owned(FileType::Pack, &id.to_hex(), bytes, placement);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(write)) {
        Ok(r) => r.with_context(|| format!("writing pack {id}")),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(err!(
                Other,
                "writing pack {id}: the storage backend panicked: {what}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::hooked::Hooked;
    use crate::backend::LocalBackend;
    use crate::error::ErrorKind;

    #[test]
    fn a_panicking_write_is_an_error_not_a_silent_loss() {
        let dir = tempfile::tempdir().unwrap();
        // A store whose writes panic, as a buggy backend might.
        let backend = Arc::new(Hooked {
            inner: LocalBackend::new(dir.path().join("r")),
            write: Some(Box::new(|_, _| panic!("injected panic"))),
            delete: None,
        });
        let w = PackWriter::new(backend).unwrap();
        w.write(PackId([1; 32]), vec![0; 100], Vec::new()).unwrap();
        let err = w.flush().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Other);
        let text = format!("{err:#}");
        assert!(
            text.contains("panicked") && text.contains("injected panic"),
            "{text}"
        );
        // Every later call reports it too, and nothing was recorded as written.
        assert!(w.write(PackId([2; 32]), vec![0; 100], Vec::new()).is_err());
        assert!(w.flush().is_err());
    }

    /// Writes in progress now, and the most seen at once.
    type Gathered = Arc<(Mutex<(usize, usize)>, Condvar)>;

    /// A store whose writes each wait (up to 20 s) until `n` writes are in progress together, and
    /// that records the most it saw at once.
    fn gathering(dir: &std::path::Path, n: usize) -> (Arc<Hooked>, Gathered) {
        let seen = Arc::new((Mutex::new((0usize, 0usize)), Condvar::new()));
        let s = seen.clone();
        let backend = Arc::new(Hooked {
            inner: LocalBackend::new(dir.join("r")),
            write: Some(Box::new(move |_, _| {
                let (m, cv) = &*s;
                let mut g = m.lock().unwrap();
                g.0 += 1;
                g.1 = g.1.max(g.0);
                cv.notify_all();
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                while g.1 < n && std::time::Instant::now() < deadline {
                    g = cv
                        .wait_timeout(g, std::time::Duration::from_millis(50))
                        .unwrap()
                        .0;
                }
                g.0 -= 1;
                Ok(())
            })),
            delete: None,
        });
        (backend, seen)
    }

    #[test]
    fn packs_are_written_by_as_many_threads_at_once_as_asked_and_all_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let (backend, seen) = gathering(dir.path(), 3);
        let w = PackWriter::with_threads(backend, 3).unwrap();
        for i in 0..9u8 {
            w.write(PackId([i; 32]), vec![i; 10 + i as usize], Vec::new())
                .unwrap();
        }
        let mut records = w.flush().unwrap();
        assert_eq!(seen.0.lock().unwrap().1, 3, "writes in progress at once");
        records.sort_by_key(|r| r.id.0);
        let got: Vec<(u8, u32)> = records.iter().map(|r| (r.id.0[0], r.size)).collect();
        let want: Vec<(u8, u32)> = (0..9u8).map(|i| (i, 10 + i as u32)).collect();
        assert_eq!(got, want);
        // Flushed means emptied: a second flush has nothing more.
        assert!(w.flush().unwrap().is_empty());
    }

    #[test]
    fn one_failed_write_among_parallel_ones_fails_the_flush() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(Hooked {
            inner: LocalBackend::new(dir.path().join("r")),
            write: Some(Box::new(|_, name| {
                if name.starts_with("05") {
                    Err(crate::backend::BackendError::new(
                        crate::backend::BackendErrorKind::Permanent,
                        FileType::Pack,
                        Some(name),
                        "injected failure".to_string(),
                    ))
                } else {
                    Ok(())
                }
            })),
            delete: None,
        });
        let w = PackWriter::with_threads(backend, 4).unwrap();
        // Packs queued after the failure may be refused at once or skipped; either way the
        // flush fails and names the failure.
        for i in 0..12u8 {
            let _ = w.write(PackId([i; 32]), vec![i; 10], Vec::new());
        }
        let err = w.flush().unwrap_err();
        assert!(format!("{err:#}").contains("injected failure"), "{err:#}");
        assert!(w.flush().is_err());
    }

    #[test]
    fn every_wrapper_passes_on_how_many_writes_the_store_serves_at_once() {
        use crate::backend::{Counting, RetryPolicy, Retrying, Throttled};
        let local = LocalBackend::new("/nonexistent").with_parallel_writes(7);
        let wrapped = Retrying::new(
            Counting(Throttled::new(local, Some(1 << 20), None)),
            RetryPolicy::default(),
        );
        assert_eq!(wrapped.parallel_writes(), 7);
    }

    #[test]
    fn a_written_pack_s_buffer_comes_back_for_the_next_pack() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(LocalBackend::new(dir.path().join("r")));
        backend.create().unwrap();
        let w = PackWriter::with_threads(backend.clone(), 2).unwrap();
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(&[7u8; 1000]);
        let id = PackId(crate::ids::storage_hash(&buf));
        w.write(id, buf, Vec::new()).unwrap();
        let records = w.flush().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(
            backend.read(FileType::Pack, &id.to_hex()).unwrap(),
            vec![7u8; 1000]
        );
        let spare = w.spare_buffer().expect("the buffer came back");
        assert!(spare.is_empty() && spare.capacity() >= 1 << 20);
    }

    /// A store that keeps a handle to each body it was given, as an HTTP client does for a
    /// moment after the answer, until the test lets go.
    struct Holding {
        inner: LocalBackend,
        held: std::sync::Mutex<Vec<bytes::Bytes>>,
    }

    impl Backend for Holding {
        fn location(&self) -> String {
            self.inner.location()
        }
        fn create(&self) -> crate::backend::Result<()> {
            self.inner.create()
        }
        fn list(&self, t: FileType) -> crate::backend::Result<Vec<(String, u64)>> {
            self.inner.list(t)
        }
        fn read(&self, t: FileType, name: &str) -> crate::backend::Result<Vec<u8>> {
            self.inner.read(t, name)
        }
        fn read_range(
            &self,
            t: FileType,
            name: &str,
            offset: u64,
            len: u64,
        ) -> crate::backend::Result<Vec<u8>> {
            self.inner.read_range(t, name, offset, len)
        }
        fn write(&self, t: FileType, name: &str, data: &[u8]) -> crate::backend::Result<()> {
            self.inner.write(t, name, data)
        }
        fn write_owned(
            &self,
            t: FileType,
            name: &str,
            data: bytes::Bytes,
            _: crate::backend::Placement,
        ) -> crate::backend::Result<()> {
            self.inner.write(t, name, &data)?;
            self.held.lock().unwrap().push(data);
            Ok(())
        }
        fn delete(&self, t: FileType, name: &str) -> crate::backend::Result<()> {
            self.inner.delete(t, name)
        }
        fn stat(&self, t: FileType, name: &str) -> crate::backend::Result<Option<u64>> {
            self.inner.stat(t, name)
        }
    }

    #[test]
    fn a_buffer_the_store_still_holds_comes_back_once_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(Holding {
            inner: LocalBackend::new(dir.path().join("r")),
            held: std::sync::Mutex::new(Vec::new()),
        });
        backend.create().unwrap();
        let w = PackWriter::with_threads(backend.clone(), 1).unwrap();
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(&[9u8; 100]);
        let id = PackId(crate::ids::storage_hash(&buf));
        w.write(id, buf, Vec::new()).unwrap();
        w.flush().unwrap();
        assert!(w.spare_buffer().is_none(), "the store still holds it");
        backend.held.lock().unwrap().clear();
        let spare = w.spare_buffer().expect("the buffer came back");
        assert!(spare.is_empty() && spare.capacity() >= 1 << 20);
        assert!(w.spare_buffer().is_none());
    }
}
