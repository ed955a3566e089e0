//! Upload and download rate limits (`--limit-upload`, `--limit-download`, in KiB/s as restic
//! takes them), as a wrapper around any backend. Each direction has one budget shared by all the
//! threads of the process that use the backend. A transfer of `n` bytes costs `n / rate` seconds of
//! it, and its caller waits until the budget has paid for it (before an upload, after a download),
//! so the average rate over any stretch longer than one transfer stays at the limit.

use super::{
    Availability, Backend, FileType, ObjectLock, Placement, RestoreRequest, RestoreRequested,
    Result,
};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// A byte budget that refills at `rate` bytes per second.
#[derive(Debug)]
pub struct Budget {
    rate: u64,
    /// When the bytes let through so far will have been paid for at `rate`.
    paid_until: Mutex<Option<Instant>>,
}

impl Budget {
    /// A budget of `rate` bytes per second (at least 1).
    pub fn new(rate: u64) -> Self {
        Budget {
            rate: rate.max(1),
            paid_until: Mutex::new(None),
        }
    }

    /// Takes `bytes` from the budget at `now`; returns how long the caller must wait before it
    /// goes on. Transfers that come slower than the rate never wait.
    pub fn take(&self, now: Instant, bytes: u64) -> Duration {
        let cost = Duration::from_secs_f64(bytes as f64 / self.rate as f64);
        let mut paid = crate::sync::unpoisoned(&self.paid_until);
        let start = paid.map_or(now, |p| p.max(now));
        let until = start + cost;
        *paid = Some(until);
        until.saturating_duration_since(now)
    }

    fn spend(&self, bytes: u64) {
        let wait = self.take(Instant::now(), bytes);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// A backend whose writes and reads are held to rate limits (`None`: no limit that way).
pub struct Throttled<B> {
    inner: B,
    up: Option<Budget>,
    down: Option<Budget>,
}

impl<B> Throttled<B> {
    /// `inner`, with uploads limited to `up` and downloads to `down` bytes per second.
    pub fn new(inner: B, up: Option<u64>, down: Option<u64>) -> Self {
        Throttled {
            inner,
            up: up.map(Budget::new),
            down: down.map(Budget::new),
        }
    }

    fn downloaded(&self, bytes: usize) {
        if let Some(b) = &self.down {
            b.spend(bytes as u64);
        }
    }
}

/// A stream of a [`Throttled`] store: each read is charged to the download limit.
struct ThrottledReader<'a, B> {
    inner: super::RangeReader<'a>,
    by: &'a Throttled<B>,
}

impl<B: Backend> std::io::Read for ThrottledReader<'_, B> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.by.downloaded(n);
        Ok(n)
    }
}

impl<B: Backend> Backend for Throttled<B> {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn create(&self) -> Result<()> {
        self.inner.create()
    }
    fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        self.inner.list(t)
    }
    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let data = self.inner.read(t, name)?;
        self.downloaded(data.len());
        Ok(data)
    }
    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let data = self.inner.read_range(t, name, offset, len)?;
        self.downloaded(data.len());
        Ok(data)
    }
    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.read_range_into(t, name, offset, len, buf)?;
        self.downloaded(buf.len());
        Ok(())
    }
    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        if let Some(b) = &self.up {
            b.spend(data.len() as u64);
        }
        self.inner.write(t, name, data)
    }
    fn create_file(&self, t: FileType, name: &str, data: &[u8]) -> Result<bool> {
        if let Some(b) = &self.up {
            b.spend(data.len() as u64);
        }
        self.inner.create_file(t, name, data)
    }
    fn write_owned(
        &self,
        t: FileType,
        name: &str,
        data: bytes::Bytes,
        placement: Placement,
    ) -> Result<()> {
        if let Some(b) = &self.up {
            b.spend(data.len() as u64);
        }
        self.inner.write_owned(t, name, data, placement)
    }
    fn availability(&self, t: FileType, name: &str) -> Result<Availability> {
        self.inner.availability(t, name)
    }
    fn request_restore(
        &self,
        t: FileType,
        name: &str,
        request: &RestoreRequest,
    ) -> Result<RestoreRequested> {
        self.inner.request_restore(t, name, request)
    }
    fn set_object_lock(&self, lock: Option<ObjectLock>) -> Result<()> {
        self.inner.set_object_lock(lock)
    }
    fn retained_until(&self, t: FileType, name: &str) -> Result<Option<SystemTime>> {
        self.inner.retained_until(t, name)
    }
    fn extend_retention(&self, t: FileType, name: &str, until: SystemTime) -> Result<()> {
        self.inner.extend_retention(t, name, until)
    }
    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        self.inner.delete(t, name)
    }
    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>> {
        self.inner.stat(t, name)
    }
    fn modified(&self, t: FileType, name: &str) -> Result<Option<SystemTime>> {
        self.inner.modified(t, name)
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
    ) -> Result<super::RangeReader<'_>> {
        let inner = self.inner.read_range_stream(t, name, offset, len)?;
        Ok(Box::new(ThrottledReader { inner, by: self }))
    }
    fn read_streams(&self) -> usize {
        self.inner.read_streams()
    }
    fn deletes_allowed(&self) -> Result<bool> {
        self.inner.deletes_allowed()
    }
    fn remove_leftovers(&self, older_than: Duration) -> Result<(usize, u64)> {
        self.inner.remove_leftovers(older_than)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn transfers_wait_until_the_budget_has_caught_up() {
        let b = Budget::new(1000); // bytes per second
        let t0 = Instant::now();
        // The first transfer is paid for by t0 + 500 ms.
        assert_eq!(b.take(t0, 500), 500 * MS);
        // A second one right away waits for both.
        assert_eq!(b.take(t0, 1000), 1500 * MS);
        // Halfway through, a small one still queues behind the rest.
        assert_eq!(b.take(t0 + 750 * MS, 250), 1000 * MS);
    }

    #[test]
    fn transfers_slower_than_the_rate_never_wait_and_idle_time_is_not_banked() {
        let b = Budget::new(1000);
        let t0 = Instant::now();
        assert_eq!(b.take(t0, 100), 100 * MS);
        // Long after: nothing owed, and the idle second is not saved up for a burst.
        assert_eq!(b.take(t0 + 2000 * MS, 100), 100 * MS);
        assert_eq!(b.take(t0 + 2000 * MS, 1000), 1100 * MS);
    }

    #[test]
    fn the_average_rate_over_many_transfers_is_the_limit() {
        let b = Budget::new(64 << 10);
        let t0 = Instant::now();
        let mut now = t0;
        for _ in 0..100 {
            now += b.take(now, 16 << 10);
        }
        // 100 x 16 KiB at 64 KiB/s: 25 s.
        assert_eq!((now - t0).as_millis(), 25_000);
    }
}
