//! Retrying a backend's transient failures, as a wrapper around any [`Backend`].
//!
//! A call that fails with [`BackendErrorKind::Transient`] (a connection failure, a timeout, a
//! server asking to slow down) is tried again after a pause that grows with decorrelated jitter:
//! each pause is drawn at random between the base and three times the previous pause, at most the
//! cap, so that many clients that failed together do not come back together. A store's own hint
//! (`Retry-After`, [`BackendError::retry_after`]) lengthens the pause, up to the cap. Other kinds
//! are returned at once: retrying a wrong password or a refused delete only delays the message.
//!
//! Writes can be retried because files are named by the hash of their contents: a write tried
//! again after its answer was lost writes the same bytes. Before a write is tried again, and when
//! a retried write is refused (a server that does not overwrite, such as an append-only one), the
//! file is looked up: if it is there with the size written, an earlier try got through and the
//! write counts as done.

pub use super::policy::RetryPolicy;
use super::{
    Availability, Backend, BackendError, BackendErrorKind, FileType, ObjectLock, Placement,
    RangeReader, RestoreRequest, RestoreRequested, Result,
};
use bytes::Bytes;
use std::time::{Duration, SystemTime};

/// A backend whose transient failures are retried ([`RetryPolicy`]).
pub struct Retrying<B> {
    inner: B,
    policy: RetryPolicy,
}

impl<B: Backend> Retrying<B> {
    /// `inner`, retried by `policy`.
    pub fn new(inner: B, policy: RetryPolicy) -> Self {
        Retrying { inner, policy }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// Sends a write of `len` bytes with `send` until it succeeds, fails for good, or the tries
    /// run out, counting an earlier try whose answer was lost as done.
    fn write_retried(
        &self,
        t: FileType,
        name: &str,
        len: u64,
        send: impl Fn() -> Result<()>,
    ) -> Result<()> {
        // Whether an earlier try got through with its answer lost: the file is there with the
        // size written (its name is its content's hash, so it holds these bytes).
        let landed = || {
            let there = matches!(self.inner.stat(t, name), Ok(Some(size)) if size == len);
            if there {
                log::info!(
                    "{} {name} in {}: an earlier try got through (its answer was lost)",
                    t.describe(),
                    self.inner.location()
                );
            }
            there
        };
        self.run(|tries| {
            // Not sent again: a server that does not overwrite refuses it, and may do so before
            // reading the body, which the client can see as a cut connection.
            if tries > 1 && landed() {
                return Ok(());
            }
            match send() {
                Err(e)
                    if tries > 1
                        && matches!(
                            e.kind(),
                            BackendErrorKind::Permanent | BackendErrorKind::Denied
                        )
                        && landed() =>
                {
                    Ok(())
                }
                r => r,
            }
        })
    }

    /// Runs `op` (given the number of the try, from 1) until it succeeds, fails with a kind other
    /// than `Transient`, or the tries run out.
    fn run<T>(&self, mut op: impl FnMut(u32) -> Result<T>) -> Result<T> {
        let mut pause = self.policy.base;
        let mut tries = 0;
        loop {
            tries += 1;
            match op(tries) {
                Err(e)
                    if e.kind() == BackendErrorKind::Transient && tries < self.policy.max_tries =>
                {
                    pause = self.policy.next_pause(pause, e.retry_after());
                    log::warn!(
                        "{}; trying again in {:.1} s (try {} of {})",
                        describe(&e),
                        pause.as_secs_f64(),
                        tries + 1,
                        self.policy.max_tries
                    );
                    std::thread::sleep(pause);
                }
                Err(e) if e.kind() == BackendErrorKind::Transient && tries > 1 => {
                    let message = format!("{} (gave up after {tries} tries)", describe(&e));
                    return Err(BackendError::new(
                        BackendErrorKind::Transient,
                        e.file_type(),
                        e.name(),
                        message,
                    ));
                }
                r => return r,
            }
        }
    }
}

/// An error with its causes, for a message.
fn describe(e: &BackendError) -> String {
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

impl<B: Backend> Backend for Retrying<B> {
    fn location(&self) -> String {
        self.inner.location()
    }

    fn create(&self) -> Result<()> {
        self.run(|_| self.inner.create())
    }

    fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        self.run(|_| self.inner.list(t))
    }

    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        self.run(|_| self.inner.read(t, name))
    }

    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.run(|_| self.inner.read_range(t, name, offset, len))
    }

    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.run(|_| self.inner.read_range_into(t, name, offset, len, buf))
    }

    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.write_retried(t, name, data.len() as u64, || {
            self.inner.write(t, name, data)
        })
    }

    fn create_file(&self, t: FileType, name: &str, data: &[u8]) -> Result<bool> {
        let mut retried = false;
        let created = self.run(|tries| {
            retried = tries > 1;
            self.inner.create_file(t, name, data)
        })?;
        if created || !retried {
            return Ok(created);
        }
        // A retry found the file: if it holds these bytes, an earlier try got through with its
        // answer lost. The read is retried too; a failed read is an error, not "someone else's".
        Ok(self.read(t, name)? == data)
    }

    fn write_owned(
        &self,
        t: FileType,
        name: &str,
        data: Bytes,
        placement: Placement,
    ) -> Result<()> {
        let len = data.len() as u64;
        // Each try sends the same buffer: a clone of `Bytes` shares it.
        self.write_retried(t, name, len, || {
            self.inner.write_owned(t, name, data.clone(), placement)
        })
    }

    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        self.run(|_| self.inner.delete(t, name))
    }

    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>> {
        self.run(|_| self.inner.stat(t, name))
    }

    fn modified(&self, t: FileType, name: &str) -> Result<Option<SystemTime>> {
        self.run(|_| self.inner.modified(t, name))
    }

    fn parallel_writes(&self) -> usize {
        self.inner.parallel_writes()
    }
    fn read_span(&self) -> u64 {
        self.inner.read_span()
    }
    fn read_range_stream(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> Result<RangeReader<'_>> {
        let first = self.run(|_| self.inner.read_range_stream(t, name, offset, len))?;
        Ok(Box::new(super::resume::Resuming::new(
            &self.inner,
            &self.policy,
            (t, name),
            (offset, len),
            first,
        )))
    }
    fn read_streams(&self) -> usize {
        self.inner.read_streams()
    }
    fn deletes_allowed(&self) -> Result<bool> {
        self.run(|_| self.inner.deletes_allowed())
    }

    fn remove_leftovers(&self, older_than: Duration) -> Result<(usize, u64)> {
        self.run(|_| self.inner.remove_leftovers(older_than))
    }

    fn availability(&self, t: FileType, name: &str) -> Result<Availability> {
        self.run(|_| self.inner.availability(t, name))
    }

    fn set_object_lock(&self, lock: Option<ObjectLock>) -> Result<()> {
        self.inner.set_object_lock(lock)
    }

    fn retained_until(&self, t: FileType, name: &str) -> Result<Option<SystemTime>> {
        self.run(|_| self.inner.retained_until(t, name))
    }

    /// Setting the same date again does no harm, so a lost answer is simply sent again.
    fn extend_retention(&self, t: FileType, name: &str, until: SystemTime) -> Result<()> {
        self.run(|_| self.inner.extend_retention(t, name, until))
    }

    /// Asking again is harmless (a restore under way or done is answered as such), so a lost
    /// answer is simply asked again.
    fn request_restore(
        &self,
        t: FileType,
        name: &str,
        request: &RestoreRequest,
    ) -> Result<RestoreRequested> {
        self.run(|_| self.inner.request_restore(t, name, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// A store that fails its next `fails` calls with `kind`, then works (in memory). It never
    /// overwrites: a write of an existing file is `Permanent`, as on an append-only server.
    struct Flaky {
        fails: Mutex<u32>,
        kind: BackendErrorKind,
        /// Writes store the file and then fail (an answer lost on the way back).
        lose_answers: bool,
        calls: Mutex<u32>,
        files: Mutex<HashMap<String, Vec<u8>>>,
        hint: Option<Duration>,
        /// `stat` answers "no such file" this many more times, whatever there is.
        stat_misses: Mutex<u32>,
    }

    impl Flaky {
        fn new(fails: u32, kind: BackendErrorKind) -> Self {
            Flaky {
                fails: Mutex::new(fails),
                kind,
                lose_answers: false,
                calls: Mutex::new(0),
                files: Mutex::new(HashMap::new()),
                hint: None,
                stat_misses: Mutex::new(0),
            }
        }

        fn calls(&self) -> u32 {
            *self.calls.lock().unwrap()
        }

        fn fault(&self, t: FileType) -> Result<()> {
            *self.calls.lock().unwrap() += 1;
            let mut fails = self.fails.lock().unwrap();
            if *fails == 0 {
                return Ok(());
            }
            *fails -= 1;
            let e = BackendError::new(self.kind, t, None, "injected");
            Err(match self.hint {
                Some(h) => e.with_retry_after(h),
                None => e,
            })
        }
    }

    impl Backend for Flaky {
        fn location(&self) -> String {
            "flaky".into()
        }
        fn create(&self) -> Result<()> {
            self.fault(FileType::Config)
        }
        fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
            self.fault(t)?;
            let files = self.files.lock().unwrap();
            Ok(files
                .iter()
                .map(|(n, d)| (n.clone(), d.len() as u64))
                .collect())
        }
        fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
            self.fault(t)?;
            let files = self.files.lock().unwrap();
            files
                .get(name)
                .cloned()
                .ok_or_else(|| BackendError::new(BackendErrorKind::NotFound, t, Some(name), "gone"))
        }
        fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
            let d = self.read(t, name)?;
            Ok(d[offset as usize..(offset + len) as usize].to_vec())
        }
        fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
            if self.files.lock().unwrap().contains_key(name) {
                *self.calls.lock().unwrap() += 1;
                return Err(BackendError::new(
                    BackendErrorKind::Denied,
                    t,
                    Some(name),
                    "HTTP 403 Forbidden",
                ));
            }
            if self.lose_answers {
                self.files
                    .lock()
                    .unwrap()
                    .insert(name.to_string(), data.to_vec());
                return self.fault(t);
            }
            self.fault(t)?;
            self.files
                .lock()
                .unwrap()
                .insert(name.to_string(), data.to_vec());
            Ok(())
        }
        fn delete(&self, t: FileType, name: &str) -> Result<()> {
            self.fault(t)?;
            self.files.lock().unwrap().remove(name);
            Ok(())
        }
        fn stat(&self, _: FileType, name: &str) -> Result<Option<u64>> {
            let mut misses = self.stat_misses.lock().unwrap();
            if *misses > 0 {
                *misses -= 1;
                return Ok(None);
            }
            let files = self.files.lock().unwrap();
            Ok(files.get(name).map(|d| d.len() as u64))
        }
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(4),
            max_tries: 5,
        }
    }

    #[test]
    fn transient_failures_are_retried_until_they_pass() {
        let r = Retrying::new(Flaky::new(3, BackendErrorKind::Transient), quick());
        r.write(FileType::Index, "ab", b"data").unwrap();
        assert_eq!(r.inner().calls(), 4);
        assert_eq!(r.read(FileType::Index, "ab").unwrap(), b"data");
        assert_eq!(r.inner().calls(), 5);
    }

    #[test]
    fn the_tries_run_out() {
        let r = Retrying::new(Flaky::new(100, BackendErrorKind::Transient), quick());
        let e = r.list(FileType::Snapshot).unwrap_err();
        assert_eq!(e.kind(), BackendErrorKind::Transient);
        assert!(e.to_string().contains("gave up after 5 tries"), "{e}");
        assert_eq!(r.inner().calls(), 5);
    }

    #[test]
    fn other_failures_are_not_retried() {
        for kind in [
            BackendErrorKind::Permanent,
            BackendErrorKind::NotFound,
            BackendErrorKind::Refused,
            BackendErrorKind::Denied,
        ] {
            let r = Retrying::new(Flaky::new(3, kind), quick());
            assert_eq!(r.delete(FileType::Lock, "ab").unwrap_err().kind(), kind);
            assert_eq!(r.inner().calls(), 1, "{kind:?}");
        }
    }

    #[test]
    fn a_write_whose_answer_was_lost_is_not_sent_again() {
        let mut flaky = Flaky::new(1, BackendErrorKind::Transient);
        flaky.lose_answers = true;
        let r = Retrying::new(flaky, quick());
        r.write(FileType::Pack, "ab", b"data").unwrap();
        // The retry found the file there with the size written and sent nothing.
        assert_eq!(r.inner().calls(), 1);
        // A first write of an existing name is not retried and not excused.
        let e = r.write(FileType::Pack, "ab", b"other").unwrap_err();
        assert_eq!(e.kind(), BackendErrorKind::Denied);
        assert_eq!(r.inner().calls(), 2);
    }

    #[test]
    fn a_create_whose_answer_was_lost_is_done_and_a_foreign_file_is_not() {
        let mut flaky = Flaky::new(1, BackendErrorKind::Transient);
        flaky.lose_answers = true;
        let r = Retrying::new(flaky, quick());
        assert!(r.create_file(FileType::Config, "config", b"mine").unwrap());
        // A first try that finds someone else's file creates nothing.
        assert!(!r.create_file(FileType::Config, "config", b"other").unwrap());
        assert_eq!(r.read(FileType::Config, "config").unwrap(), b"mine");
    }

    #[test]
    fn a_failed_read_back_of_a_lost_create_is_retried_not_taken_for_a_foreign_file() {
        // The create's answer is lost, and the read that checks the file fails once too.
        let mut flaky = Flaky::new(2, BackendErrorKind::Transient);
        flaky.lose_answers = true;
        let r = Retrying::new(flaky, quick());
        assert!(r.create_file(FileType::Config, "config", b"mine").unwrap());
    }

    #[test]
    fn owned_writes_are_retried_and_excused_as_borrowed_ones_are() {
        let r = Retrying::new(Flaky::new(2, BackendErrorKind::Transient), quick());
        r.write_owned(
            FileType::Pack,
            "cd",
            Bytes::from_static(b"data"),
            Placement::Cold,
        )
        .unwrap();
        assert_eq!(r.inner().calls(), 3);
        assert_eq!(r.read(FileType::Pack, "cd").unwrap(), b"data");
        let mut flaky = Flaky::new(1, BackendErrorKind::Transient);
        flaky.lose_answers = true;
        let r = Retrying::new(flaky, quick());
        r.write_owned(
            FileType::Pack,
            "ab",
            Bytes::from_static(b"data"),
            Placement::Cold,
        )
        .unwrap();
        assert_eq!(r.inner().calls(), 1);
    }

    #[test]
    fn a_retried_write_refused_because_the_first_got_through_is_done() {
        // The look-up before the retry misses the file (a store slow to show it), the retried
        // write is refused, and the look-up after the refusal finds it.
        let mut flaky = Flaky::new(1, BackendErrorKind::Transient);
        flaky.lose_answers = true;
        flaky.stat_misses = Mutex::new(1);
        let r = Retrying::new(flaky, quick());
        r.write(FileType::Pack, "ab", b"data").unwrap();
        assert_eq!(r.inner().calls(), 2);
        // Not when the file there has another size.
        let mut flaky = Flaky::new(1, BackendErrorKind::Transient);
        flaky.lose_answers = true;
        let r = Retrying::new(flaky, quick());
        r.inner()
            .files
            .lock()
            .unwrap()
            .insert("cd".into(), b"longer".to_vec());
        assert!(r.write(FileType::Pack, "cd", b"data").is_err());
    }

    #[test]
    fn pauses_grow_with_jitter_within_bounds_and_honour_hints() {
        let p = RetryPolicy::default();
        let mut pause = p.base;
        for _ in 0..50 {
            let next = p.next_pause(pause, None);
            assert!(
                next >= p.base && next <= p.cap && next <= pause * 3,
                "{next:?}"
            );
            pause = next;
        }
        let hinted = p.next_pause(p.base, Some(Duration::from_secs(7)));
        assert_eq!(hinted, Duration::from_secs(7));
        let capped = p.next_pause(p.base, Some(Duration::from_secs(3600)));
        assert_eq!(capped, p.cap);
        // With a hint, a retried call still passes.
        let mut flaky = Flaky::new(2, BackendErrorKind::Transient);
        flaky.hint = Some(Duration::from_millis(2));
        let r = Retrying::new(flaky, quick());
        r.create().unwrap();
        assert_eq!(r.inner().calls(), 3);
    }
}
