//! Packs in an archive storage class (S3 Glacier, Deep Archive): before a command reads file
//! contents (restore, dump), it asks the store which of the packs it needs are archived, requests
//! their restore, and then either waits until they are readable or stops with an
//! [`ErrorKind::Archived`] error that carries a [`ThawPending`] report, so that the caller can say
//! what is pending and that running the command again continues.
//!
//! Running again does not ask twice: a pack whose restore is under way is only looked at, and
//! asking again anyway (a lost answer retried) is answered "in progress" or "already restored".

use crate::backend::{
    ArchiveState, Availability, Backend, FileType, RestoreRequest, RestoreRequested, RestoreTier,
};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{BlobId, PackId};
use crate::repository::Repository;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How archived packs are restored, and whether to wait for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThawOptions {
    /// How many days restored copies stay readable (default 7).
    pub days: u32,
    /// How fast, and at what price, they are restored (default [`RestoreTier::Standard`]).
    pub tier: RestoreTier,
    /// Wait until every needed pack is readable (`None`: request the restores and stop with
    /// [`ErrorKind::Archived`] if any is not done yet).
    pub wait: Option<ThawWait>,
}

impl Default for ThawOptions {
    fn default() -> Self {
        ThawOptions {
            days: 7,
            tier: RestoreTier::Standard,
            wait: None,
        }
    }
}

/// How to wait for restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThawWait {
    /// Pause between two looks at the pending packs.
    pub poll: Duration,
    /// Give up (with [`ErrorKind::Archived`]) when they are not all readable after this long.
    pub limit: Duration,
}

/// Packs a command needs that cannot be read yet. It is the source of the
/// [`ErrorKind::Archived`] error a command stops with; find it with
/// [`crate::error::Error::find`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThawPending {
    /// The packs whose restore is not done, in ID order.
    pub pending: Vec<PackId>,
    /// Of those, the packs whose restore this run requested.
    pub requested_now: usize,
    /// Stored bytes of the pending packs, as the index lists them.
    pub bytes: u64,
    /// Packs needed in all, readable ones included.
    pub needed: usize,
    /// Whether the command waited (and ran out of time) before giving up.
    pub waited: Option<Duration>,
}

impl std::fmt::Display for ThawPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of the {} packs needed are in an archive storage class and not restored yet",
            self.pending.len(),
            self.needed
        )?;
        if self.requested_now > 0 {
            write!(f, " (restore requested now for {})", self.requested_now)?;
        }
        if let Some(w) = self.waited {
            write!(f, " after waiting {}s", w.as_secs())?;
        }
        write!(
            f,
            "; run the same command again to continue once they are restored (restores already \
             requested are not requested again)"
        )
    }
}

impl std::error::Error for ThawPending {}

/// What [`make_readable`] found, when everything needed can be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThawReport {
    /// Packs needed in all.
    pub needed: usize,
    /// Packs that were archived (restored or not before this call).
    pub archived: usize,
    /// Restores this call requested.
    pub requested: usize,
    /// How long it waited.
    pub waited: Duration,
}

/// The packs holding `blobs` (blobs the index does not list are left out: reading them fails
/// later with its own message).
pub fn packs_of<'a>(repo: &Repository, blobs: impl IntoIterator<Item = &'a BlobId>) -> Vec<PackId> {
    let set: BTreeSet<PackId> = blobs
        .into_iter()
        .filter_map(|b| repo.index().get(b).map(|l| l.pack))
        .collect();
    set.into_iter().collect()
}

/// Makes sure every pack of `packs` can be read: asks the store which are archived, requests the
/// restore of those not restored or being restored, and waits for them if `opts.wait` says so.
/// Fails with [`ErrorKind::Archived`] (carrying a [`ThawPending`]) when some are not readable
/// in the end. On a store without archive classes this costs nothing.
pub fn make_readable(
    repo: &Repository,
    packs: &[PackId],
    opts: &ThawOptions,
) -> Result<ThawReport> {
    let needed: std::collections::HashSet<&PackId> = packs.iter().collect();
    let sizes: std::collections::HashMap<PackId, u64> = repo
        .index()
        .packs()
        .iter()
        .filter(|(p, _)| needed.contains(p))
        .map(|(p, s)| (*p, u64::from(*s)))
        .collect();
    make_readable_with(repo.backend(), packs, opts, &|p| {
        sizes.get(p).copied().unwrap_or(0)
    })
}

/// [`make_readable`] on a backend, with the size of a pack from `size`.
pub(crate) fn make_readable_with(
    backend: &dyn Backend,
    packs: &[PackId],
    opts: &ThawOptions,
    size: &(dyn Fn(&PackId) -> u64 + Sync),
) -> Result<ThawReport> {
    let start = Instant::now();
    let request = RestoreRequest {
        days: opts.days,
        tier: opts.tier,
    };
    let states = look(backend, packs)?;
    let mut report = ThawReport {
        needed: packs.len(),
        archived: states
            .iter()
            .filter(|(_, a)| a.state != ArchiveState::Online)
            .count(),
        ..Default::default()
    };
    let mut pending: Vec<PackId> = Vec::new();
    let mut to_request: Vec<PackId> = Vec::new();
    for (id, a) in &states {
        match a.state {
            ArchiveState::Online | ArchiveState::Restored => {}
            ArchiveState::Restoring => pending.push(*id),
            ArchiveState::Archived => to_request.push(*id),
        }
    }
    let answers: Vec<(PackId, RestoreRequested)> = to_request
        .par_iter()
        .map(|id| {
            backend
                .request_restore(FileType::Pack, &id.to_hex(), &request)
                .map(|r| (*id, r))
                .map_err(|e| Error::from(e).context(format!("requesting the restore of pack {id}")))
        })
        .collect::<Result<_>>()?;
    for (id, answer) in answers {
        match answer {
            RestoreRequested::Started => {
                report.requested += 1;
                pending.push(id);
            }
            RestoreRequested::InProgress => pending.push(id),
            RestoreRequested::Readable => {}
        }
    }
    if !pending.is_empty() {
        log::warn!(
            "{} of {} packs needed are archived; their restore is requested ({} now)",
            pending.len(),
            packs.len(),
            report.requested
        );
    }
    // Not looked at again before a pause: a restore takes minutes at the least (hours on AWS),
    // and a command that does not wait stops here, to be run again.
    if let Some(wait) = &opts.wait {
        while !pending.is_empty() {
            let waited = start.elapsed();
            if waited >= wait.limit {
                break;
            }
            let pause = wait
                .poll
                .min(wait.limit - waited)
                .max(Duration::from_millis(10));
            log::info!(
                "waiting for the restore of {} archived packs; next look in {}s",
                pending.len(),
                pause.as_secs()
            );
            std::thread::sleep(pause);
            pending = still_pending(backend, &pending)?;
        }
    }
    report.waited = start.elapsed();
    if pending.is_empty() {
        return Ok(report);
    }
    pending.sort();
    let requested_now = report.requested.min(pending.len());
    let info = ThawPending {
        bytes: pending.iter().map(size).sum(),
        requested_now,
        needed: packs.len(),
        waited: opts.wait.map(|_| report.waited),
        pending,
    };
    Err(Error::wrap(ErrorKind::Archived, info))
}

/// The availability of every pack, looked up in parallel (a request each on S3 for archived ones).
fn look(backend: &dyn Backend, packs: &[PackId]) -> Result<Vec<(PackId, Availability)>> {
    packs
        .par_iter()
        .map(|id| {
            backend
                .availability(FileType::Pack, &id.to_hex())
                .map(|a| (*id, a))
                .map_err(|e| Error::from(e).context(format!("looking up pack {id}")))
        })
        .collect()
}

/// Those of `packs` that are not readable yet.
fn still_pending(backend: &dyn Backend, packs: &[PackId]) -> Result<Vec<PackId>> {
    Ok(look(backend, packs)?
        .into_iter()
        .filter(|(_, a)| !a.readable())
        .map(|(id, _)| id)
        .collect())
}
