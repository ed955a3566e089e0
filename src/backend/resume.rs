//! A range stream from a store that fails now and then: after a failure part way through (a cut
//! connection, a stalled or short body) it asks again for the rest of the range, from where it
//! stopped, pausing as the retry policy says. A restore that streams packs then gets through the
//! same faults as one that reads them whole, and never receives a byte twice or out of order.

use super::policy::RetryPolicy;
use super::{Backend, BackendError, BackendErrorKind, FileType, RangeReader};
use std::io::{self, Read};
use std::time::Duration;

pub(super) struct Resuming<'a> {
    store: &'a dyn Backend,
    policy: &'a RetryPolicy,
    t: FileType,
    name: String,
    offset: u64,
    len: u64,
    /// Bytes of the range handed to the caller so far.
    done: u64,
    reader: RangeReader<'a>,
    /// Tries so far, the opening one included.
    tries: u32,
    pause: Duration,
}

impl<'a> Resuming<'a> {
    /// A stream of `len` bytes at `offset`, starting with `reader` (the first try's).
    pub fn new(
        store: &'a dyn Backend,
        policy: &'a RetryPolicy,
        (t, name): (FileType, &str),
        (offset, len): (u64, u64),
        reader: RangeReader<'a>,
    ) -> Self {
        Resuming {
            store,
            policy,
            t,
            name: name.to_string(),
            offset,
            len,
            done: 0,
            reader,
            tries: 1,
            pause: policy.base,
        }
    }

    /// After the transient failure `e`, opens the rest of the range once a pause has passed; gives
    /// up with the last failure when the tries run out or a failure is not transient.
    fn resume(&mut self, mut e: io::Error) -> io::Result<()> {
        loop {
            if self.tries >= self.policy.max_tries {
                return Err(io::Error::other(BackendError::new(
                    BackendErrorKind::Transient,
                    self.t,
                    Some(&self.name),
                    format!("{e} (gave up after {} tries)", self.tries),
                )));
            }
            self.tries += 1;
            self.pause = self.policy.next_pause(self.pause, None);
            log::warn!(
                "{e}; reading the rest of the range again in {:.1} s (try {} of {})",
                self.pause.as_secs_f64(),
                self.tries,
                self.policy.max_tries
            );
            std::thread::sleep(self.pause);
            let (at, left) = (self.offset + self.done, self.len - self.done);
            match self.store.read_range_stream(self.t, &self.name, at, left) {
                Ok(r) => {
                    self.reader = r;
                    return Ok(());
                }
                Err(err) if err.kind() == BackendErrorKind::Transient => e = io::Error::other(err),
                Err(err) => return Err(io::Error::other(err)),
            }
        }
    }
}

impl Read for Resuming<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.reader.read(buf) {
                Ok(n) => {
                    self.done += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if !transient(&e) => return Err(e),
                Err(e) => self.resume(e)?,
            }
        }
    }
}

/// Whether a failure while a body arrives is worth another try: a store's error says so by its
/// kind; any other I/O error there is the network's.
fn transient(e: &io::Error) -> bool {
    match e.get_ref().and_then(|i| i.downcast_ref::<BackendError>()) {
        Some(b) => b.kind() == BackendErrorKind::Transient,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::super::retry::Retrying;
    use super::super::Result;
    use super::*;
    use std::sync::Mutex;

    /// A store of one file whose streams break after `cut_after` bytes, `breaks` times, with
    /// errors of kind `kind`; it records the ranges asked for.
    struct Breaking {
        data: Vec<u8>,
        cut_after: usize,
        breaks: Mutex<u32>,
        kind: BackendErrorKind,
        asked: Mutex<Vec<(u64, u64)>>,
    }

    struct Cut {
        data: Vec<u8>,
        pos: usize,
        cut_at: Option<usize>,
        kind: BackendErrorKind,
    }

    impl Read for Cut {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.cut_at == Some(self.pos) {
                return Err(io::Error::other(BackendError::new(
                    self.kind,
                    FileType::Pack,
                    Some("p"),
                    "connection reset".to_string(),
                )));
            }
            let end = self.cut_at.unwrap_or(self.data.len()).min(self.data.len());
            let n = buf.len().min(end - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Backend for Breaking {
        fn location(&self) -> String {
            "breaking".into()
        }
        fn create(&self) -> Result<()> {
            Ok(())
        }
        fn list(&self, _: FileType) -> Result<Vec<(String, u64)>> {
            Ok(Vec::new())
        }
        fn read(&self, _: FileType, _: &str) -> Result<Vec<u8>> {
            Ok(self.data.clone())
        }
        fn read_range(&self, _: FileType, _: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
            Ok(self.data[offset as usize..(offset + len) as usize].to_vec())
        }
        fn read_range_stream(
            &self,
            _: FileType,
            _: &str,
            offset: u64,
            len: u64,
        ) -> Result<RangeReader<'_>> {
            self.asked.lock().unwrap().push((offset, len));
            let mut breaks = self.breaks.lock().unwrap();
            let cut_at = (*breaks > 0).then_some(self.cut_after);
            *breaks = breaks.saturating_sub(1);
            Ok(Box::new(Cut {
                data: self.data[offset as usize..(offset + len) as usize].to_vec(),
                pos: 0,
                cut_at,
                kind: self.kind,
            }))
        }
        fn write(&self, _: FileType, _: &str, _: &[u8]) -> Result<()> {
            Ok(())
        }
        fn delete(&self, _: FileType, _: &str) -> Result<()> {
            Ok(())
        }
        fn stat(&self, _: FileType, _: &str) -> Result<Option<u64>> {
            Ok(Some(self.data.len() as u64))
        }
    }

    fn store(breaks: u32, kind: BackendErrorKind) -> Retrying<Breaking> {
        let policy = RetryPolicy {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
            max_tries: 4,
        };
        let data = (0..100u8).collect();
        Retrying::new(
            Breaking {
                data,
                cut_after: 7,
                breaks: Mutex::new(breaks),
                kind,
                asked: Mutex::new(Vec::new()),
            },
            policy,
        )
    }

    #[test]
    fn a_broken_stream_goes_on_from_where_it_stopped() {
        let s = store(3, BackendErrorKind::Transient);
        let mut got = Vec::new();
        let mut r = s.read_range_stream(FileType::Pack, "p", 10, 50).unwrap();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, (10..60u8).collect::<Vec<_>>());
        assert_eq!(
            *s.inner().asked.lock().unwrap(),
            vec![(10, 50), (17, 43), (24, 36), (31, 29)]
        );
    }

    #[test]
    fn a_stream_that_keeps_breaking_gives_up_and_a_permanent_failure_at_once() {
        let s = store(10, BackendErrorKind::Transient);
        let mut got = Vec::new();
        let mut r = s.read_range_stream(FileType::Pack, "p", 0, 50).unwrap();
        let e = r.read_to_end(&mut got).unwrap_err();
        assert!(e.to_string().contains("gave up after 4 tries"), "{e}");
        assert_eq!(got, (0..28u8).collect::<Vec<_>>());
        let s = store(1, BackendErrorKind::Permanent);
        let mut r = s.read_range_stream(FileType::Pack, "p", 0, 50).unwrap();
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        assert_eq!(s.inner().asked.lock().unwrap().len(), 1);
    }
}
