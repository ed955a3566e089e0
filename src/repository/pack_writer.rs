//! A background thread that writes finished packs, so the threads that chunk, hash, compress and
//! seal never wait on storage. The queue has no slots: a pack is handed over only when the writer
//! is free, so at most one pack is being written while the others are being filled, which bounds
//! memory.

use crate::backend::{Backend, FileType};
use crate::error::err;
use crate::error::{Context, Error, Result};
use crate::format::blob_entry::BlobEntry;
use crate::format::index::PackRecord;
use crate::ids::PackId;
use crossbeam_channel::{bounded, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::sync::unpoisoned;

enum Job {
    Pack {
        id: PackId,
        bytes: Vec<u8>,
        entries: Vec<BlobEntry>,
    },
    /// Answered once every pack queued before it is written.
    Flush(Sender<()>),
}

#[derive(Default)]
struct Shared {
    records: Vec<PackRecord>,
    /// Buffers of written packs, for the next packs (a fresh pack-sized buffer for every pack fragments
    /// the heap and grows the resident set well past the packs in flight).
    spare: Vec<Vec<u8>>,
    /// The first write that failed (or panicked); every later call reports it.
    error: Option<Arc<Error>>,
}

pub struct PackWriter {
    tx: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Mutex<Shared>>,
}

impl PackWriter {
    pub fn new(backend: Arc<dyn Backend>) -> Result<Self> {
        let (tx, rx) = bounded::<Job>(0);
        let shared = Arc::new(Mutex::new(Shared::default()));
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("pack-writer".into())
            .spawn(move || {
                for job in rx {
                    match job {
                        Job::Pack { id, bytes, entries } => {
                            let failed = unpoisoned(&sh).error.is_some();
                            let res = if failed {
                                Ok(())
                            } else {
                                write_pack(backend.as_ref(), id, &bytes, &entries)
                            };
                            let mut s = unpoisoned(&sh);
                            match res {
                                Ok(()) if !failed => s.records.push(PackRecord {
                                    id,
                                    size: bytes.len() as u32,
                                    blobs: entries,
                                }),
                                Ok(()) => {}
                                Err(e) => s.error = Some(Arc::new(e)),
                            }
                            // One buffer per open pack type is all that is ever reused at once.
                            if s.spare.len() < 2 {
                                let mut bytes = bytes;
                                bytes.clear();
                                s.spare.push(bytes);
                            }
                        }
                        Job::Flush(reply) => {
                            let _ = reply.send(());
                        }
                    }
                }
            })
            .context("starting the pack writer thread")?;
        Ok(PackWriter {
            tx: Some(tx),
            thread: Some(thread),
            shared,
        })
    }

    /// The first failure, if a write failed: its kind, its message and its causes.
    fn check(&self) -> Result<()> {
        match &unpoisoned(&self.shared).error {
            Some(e) => Err(Error::wrap(e.kind(), Arc::clone(e))),
            None => Ok(()),
        }
    }

    /// Queues a finished pack; blocks while the queue is full. Reports an earlier write's failure.
    pub fn write(&self, id: PackId, bytes: Vec<u8>, entries: Vec<BlobEntry>) -> Result<()> {
        self.check()?;
        self.tx
            .as_ref()
            .and_then(|tx| tx.send(Job::Pack { id, bytes, entries }).ok())
            .ok_or_else(stopped)
    }

    /// A buffer from a written pack, if one is free.
    pub fn spare_buffer(&self) -> Option<Vec<u8>> {
        unpoisoned(&self.shared).spare.pop()
    }

    /// Waits until every queued pack is written; returns their records (emptying the list).
    pub fn flush(&self) -> Result<Vec<PackRecord>> {
        let answered = self.tx.as_ref().is_some_and(|tx| {
            let (rtx, rrx) = bounded(1);
            tx.send(Job::Flush(rtx)).is_ok() && rrx.recv().is_ok()
        });
        self.check()?;
        // A writer that is gone without a recorded failure may have lost queued packs.
        if !answered {
            return Err(stopped());
        }
        Ok(std::mem::take(&mut unpoisoned(&self.shared).records))
    }
}

impl Drop for PackWriter {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has written what is queued.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::warn!("the pack writer thread panicked");
            }
        }
    }
}

/// The writer thread ended early: it panicked outside a backend write.
fn stopped() -> Error {
    err!(Other, "the pack writer thread has stopped")
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
    bytes: &[u8],
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
    let write = || backend.write_placed(FileType::Pack, &id.to_hex(), bytes, placement);
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
}
