//! Retention policies (`forget`): which snapshots to keep, decided by a pure function over the
//! snapshots, the policy and the current time, and removing the others (docs/design.md, "Retention").

use crate::backend::FileType;
use crate::error::{bail, err};
use crate::error::{Error, Result};
use crate::format::snapshot::Snapshot;
use crate::ids::SnapshotId;
pub use crate::repository::groups::{GroupBy, GroupKey};
use crate::repository::lock::{LockGuard, LockKind};
use crate::repository::snapshots::{resolve_spec, SnapshotFilter};
use crate::repository::Repository;
use chrono::{DateTime, Datelike, Days, FixedOffset, Months, Timelike, Utc};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

/// A calendar duration for `--keep-within`: `1y6m2d3h` (years, months, days, hours).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepDuration {
    /// Calendar years.
    pub years: u32,
    /// Calendar months.
    pub months: u32,
    /// Days.
    pub days: u32,
    /// Hours.
    pub hours: u32,
}

impl KeepDuration {
    /// Whether every part is zero (such a duration keeps nothing).
    pub fn is_zero(&self) -> bool {
        *self == KeepDuration::default()
    }

    /// `t` minus this duration, in `t`'s offset; `None` when that is before the earliest time chrono
    /// represents (then everything is within).
    pub fn before(&self, t: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
        let months = self.years.checked_mul(12)?.checked_add(self.months)?;
        t.checked_sub_months(Months::new(months))?
            .checked_sub_days(Days::new(u64::from(self.days)))?
            .checked_sub_signed(chrono::Duration::try_hours(i64::from(self.hours))?)
    }
}

impl FromStr for KeepDuration {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            err!(InvalidInput, "invalid duration {s:?}: {why} (expected e.g. 1y6m2d3h: y years, m months, d days, h hours)")
        };
        let mut d = KeepDuration::default();
        let mut seen = HashSet::new();
        let mut rest = s;
        if rest.is_empty() {
            return Err(bad("it is empty"));
        }
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad("expected a number"));
            }
            let n: u32 = rest[..digits]
                .parse()
                .map_err(|_| bad("number too large"))?;
            let unit = rest[digits..]
                .chars()
                .next()
                .ok_or_else(|| bad("number without a unit"))?;
            let slot = match unit {
                'y' => &mut d.years,
                'm' => &mut d.months,
                'd' => &mut d.days,
                'h' => &mut d.hours,
                _ => return Err(bad(&format!("unknown unit {unit:?}"))),
            };
            if !seen.insert(unit) {
                return Err(bad(&format!("unit {unit:?} given twice")));
            }
            *slot = n;
            rest = &rest[digits + unit.len_utf8()..];
        }
        Ok(d)
    }
}

impl fmt::Display for KeepDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0h");
        }
        for (n, unit) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

/// What to keep. Rules are ORed; a snapshot is removed only when no rule keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Keep the newest this many snapshots.
    pub last: u32,
    /// Keep the newest snapshot of each of the last this many hours that have one.
    pub hourly: u32,
    /// The same per day.
    pub daily: u32,
    /// The same per ISO week.
    pub weekly: u32,
    /// The same per month.
    pub monthly: u32,
    /// The same per year.
    pub yearly: u32,
    /// Keep every snapshot this close to the newest one that is not in the future.
    pub within: Option<KeepDuration>,
    /// Keep every snapshot carrying any of these tags.
    pub tags: Vec<String>,
}

impl Policy {
    /// True when no rule would keep anything (all counts zero, no duration, no tags).
    pub fn is_empty(&self) -> bool {
        self.last == 0
            && self.hourly == 0
            && self.daily == 0
            && self.weekly == 0
            && self.monthly == 0
            && self.yearly == 0
            && self.within.is_none_or(|d| d.is_zero())
            && self.tags.is_empty()
    }
}

/// The verdict for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The snapshot's ID.
    pub id: SnapshotId,
    /// The snapshot itself, for display.
    pub snapshot: Snapshot,
    /// Whether it is kept (else removed).
    pub keep: bool,
    /// Why it is kept, e.g. `["daily", "weekly"]`, `["within 1y6m"]`, `["tag daily"]`, `["future"]`.
    pub reasons: Vec<String>,
}

/// One group's verdicts, newest snapshot first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDecision {
    /// What the group's snapshots share.
    pub key: GroupKey,
    /// One verdict per snapshot of the group.
    pub decisions: Vec<Decision>,
}

#[derive(Clone, Copy)]
enum Calendar {
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// The calendar bucket of a time, in the time's own offset. Weeks are ISO weeks (Monday to Sunday).
fn bucket(c: Calendar, t: &DateTime<FixedOffset>) -> (i32, u32, u32) {
    match c {
        Calendar::Hourly => (t.year(), t.ordinal(), t.hour()),
        Calendar::Daily => (t.year(), t.ordinal(), 0),
        Calendar::Weekly => (t.iso_week().year(), t.iso_week().week(), 0),
        Calendar::Monthly => (t.year(), t.month(), 0),
        Calendar::Yearly => (t.year(), 0, 0),
    }
}

/// Applies `policy` to `snapshots`, grouped by `group_by`. Groups are ordered by key, decisions
/// newest first. Snapshots dated after `now` are always kept (reason `future`) and take no part in
/// the other rules. Pure: no I/O.
pub fn apply_policy(
    snapshots: &[(SnapshotId, Snapshot)],
    policy: &Policy,
    group_by: GroupBy,
    now: DateTime<Utc>,
) -> Vec<GroupDecision> {
    let mut groups: BTreeMap<GroupKey, Vec<&(SnapshotId, Snapshot)>> = BTreeMap::new();
    for item in snapshots {
        groups
            .entry(GroupKey::of(&item.1, group_by))
            .or_default()
            .push(item);
    }
    groups
        .into_iter()
        .map(|(key, items)| GroupDecision {
            key,
            decisions: decide_group(items, policy, now),
        })
        .collect()
}

fn decide_group(
    mut items: Vec<&(SnapshotId, Snapshot)>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Vec<Decision> {
    items.sort_by(|a, b| b.1.time.cmp(&a.1.time).then(b.0.cmp(&a.0)));
    let mut last_left = policy.last;
    let mut calendars = [
        (Calendar::Hourly, policy.hourly, "hourly"),
        (Calendar::Daily, policy.daily, "daily"),
        (Calendar::Weekly, policy.weekly, "weekly"),
        (Calendar::Monthly, policy.monthly, "monthly"),
        (Calendar::Yearly, policy.yearly, "yearly"),
    ]
    .map(|(c, n, name)| (c, n, name, HashSet::new()));
    // --keep-within counts back from the newest snapshot that is not in the future.
    let within = policy.within.filter(|d| !d.is_zero()).map(|d| {
        let newest = items
            .iter()
            .find(|(_, s)| s.time <= now)
            .map(|(_, s)| s.time);
        (d, newest.map(|t| d.before(t)))
    });
    let mut out = Vec::with_capacity(items.len());
    for (id, s) in items {
        let mut reasons = Vec::new();
        if s.time > now {
            reasons.push("future".to_string());
        } else {
            if last_left > 0 {
                last_left -= 1;
                reasons.push("last".to_string());
            }
            for (cal, left, name, seen) in calendars.iter_mut() {
                if *left > 0 && seen.insert(bucket(*cal, &s.time)) {
                    *left -= 1;
                    reasons.push(name.to_string());
                }
            }
            if let Some((d, Some(threshold))) = within {
                if threshold.is_none_or(|th| s.time > th) {
                    reasons.push(format!("within {d}"));
                }
            }
            for t in &policy.tags {
                if s.tags.contains(t) {
                    reasons.push(format!("tag {t}"));
                }
            }
        }
        out.push(Decision {
            id: *id,
            snapshot: s.clone(),
            keep: !reasons.is_empty(),
            reasons,
        });
    }
    out
}

/// What `forget` does.
#[derive(Debug, Clone, Default)]
pub struct ForgetOptions {
    /// The retention rules, applied to each group on its own.
    pub policy: Policy,
    /// Which snapshot fields make a group.
    pub group_by: GroupBy,
    /// Which snapshots the policy applies to.
    pub filter: SnapshotFilter,
    /// Snapshots to remove by ID (instead of a policy).
    pub ids: Vec<String>,
    /// Decide and report only; delete nothing (and take only a read lock).
    pub dry_run: bool,
}

/// The outcome of `forget`.
#[derive(Debug)]
pub struct ForgetReport {
    /// The verdicts, group by group.
    pub groups: Vec<GroupDecision>,
    /// Snapshot files actually deleted (none with `dry_run`).
    pub deleted: usize,
    /// Damaged snapshot files named by ID and removed (with `dry_run`: that would be removed).
    pub damaged_removed: Vec<String>,
    /// Snapshots that should have been removed but whose deletion failed, with the error.
    pub failures: Vec<(SnapshotId, Error)>,
}

/// Decides per `opts` and, unless `dry_run`, deletes the removed snapshots' files under an exclusive
/// lock. Explicit IDs form one group of removed snapshots.
pub fn forget(repo: &Repository, opts: &ForgetOptions, now: DateTime<Utc>) -> Result<ForgetReport> {
    let guard = repo.lock(if opts.dry_run {
        LockKind::Read
    } else {
        LockKind::Exclusive
    })?;
    forget_locked(repo, &guard, opts, now)
}

/// `forget --prune`: [`forget`], then, unless `dry_run` or a snapshot could not be removed,
/// prune with `prune_opts`, both under one exclusive lock, so that nothing can come between the
/// decision and the prune. The prune's outcome is returned beside the forget report (`None` when
/// it did not run), so that a failed prune does not hide what forget did.
pub fn forget_and_prune(
    repo: &mut Repository,
    opts: &ForgetOptions,
    prune_opts: &crate::maintenance::prune::PruneOptions,
    now: DateTime<Utc>,
) -> Result<(
    ForgetReport,
    Option<Result<crate::maintenance::prune::PruneReport>>,
)> {
    let guard = repo.lock(if opts.dry_run {
        LockKind::Read
    } else {
        LockKind::Exclusive
    })?;
    let report = forget_locked(repo, &guard, opts, now)?;
    let pruned = (!opts.dry_run && report.failures.is_empty())
        .then(|| prune_after(repo, &guard, &report, prune_opts));
    Ok((report, pruned))
}

/// [`forget`] under a lock the caller holds (exclusive unless `dry_run`), so that `forget --prune`
/// runs both under one lock: nothing can come between the decision and the prune.
pub fn forget_locked(
    repo: &Repository,
    guard: &LockGuard,
    opts: &ForgetOptions,
    now: DateTime<Utc>,
) -> Result<ForgetReport> {
    if !opts.dry_run {
        guard.require_exclusive()?;
        repo.require_deletes("forget")?;
    }
    if opts.ids.is_empty() && opts.policy.is_empty() {
        bail!(InvalidInput, "no retention policy: give at least one --keep-* option with a count above 0, --keep-within or --keep-tag (or snapshot IDs to remove); refusing to remove every snapshot");
    }
    if !opts.ids.is_empty() && !opts.policy.is_empty() {
        bail!(
            InvalidInput,
            "give either snapshot IDs or a retention policy (--keep-*), not both"
        );
    }
    let list = repo.snapshot_list()?;
    // Damaged snapshot files named by ID are removed (they can hold nothing restorable); a policy
    // never decides about them: `repair snapshots` does.
    let mut damaged_named: Vec<String> = Vec::new();
    let mut ids: Vec<&String> = Vec::new();
    for spec in &opts.ids {
        let lower = spec.to_ascii_lowercase();
        let matches = |name: &str| lower.len() >= 4 && name.starts_with(&lower);
        let bad: Vec<_> = list
            .damaged
            .iter()
            .chain(&list.unreadable)
            .filter(|b| matches(&b.name))
            .collect();
        let Some(b) = bad.first() else {
            ids.push(spec);
            continue;
        };
        let good = list
            .snapshots
            .iter()
            .filter(|(id, _)| matches(&id.to_hex()))
            .count();
        if bad.len() + good > 1 {
            bail!(
                InvalidInput,
                "{spec:?} matches {} snapshot files: give more digits",
                bad.len() + good
            );
        }
        // A file that could not be read may be a good snapshot (an I/O error, a newer version):
        // only its full name removes it.
        if list.unreadable.iter().any(|u| u.name == b.name) && b.name != lower {
            bail!(
                InvalidInput,
                "snapshot file snapshots/{} cannot be read ({}) and may be intact; to remove it anyway, give its full ID",
                b.name,
                b.reason
            );
        }
        damaged_named.push(b.name.clone());
    }
    for b in list.bad().filter(|b| !damaged_named.contains(&b.name)) {
        crate::repository::snapshots::report_bad(b);
    }
    let all = list.snapshots;
    let groups = if opts.ids.is_empty() {
        let selected: Vec<_> = all
            .iter()
            .filter(|(_, s)| opts.filter.matches(s))
            .cloned()
            .collect();
        apply_policy(&selected, &opts.policy, opts.group_by, now)
    } else {
        let mut decisions: Vec<Decision> = Vec::new();
        for spec in ids {
            let (id, s) = resolve_spec(&all, spec, &opts.filter)?;
            if !decisions.iter().any(|d| d.id == *id) {
                decisions.push(Decision {
                    id: *id,
                    snapshot: s.clone(),
                    keep: false,
                    reasons: Vec::new(),
                });
            }
        }
        decisions.sort_by(|a, b| b.snapshot.time.cmp(&a.snapshot.time).then(b.id.cmp(&a.id)));
        vec![GroupDecision {
            key: GroupKey::default(),
            decisions,
        }]
    };
    let mut report = ForgetReport {
        groups,
        deleted: 0,
        failures: Vec::new(),
        damaged_removed: Vec::new(),
    };
    if opts.dry_run {
        report.damaged_removed = damaged_named;
        return Ok(report);
    }
    for name in damaged_named {
        match repo.delete(FileType::Snapshot, &name) {
            Ok(()) => report.damaged_removed.push(name),
            Err(e) => report
                .failures
                .push((SnapshotId::from_hex(&name).unwrap_or_default(), e)),
        }
    }
    let remove: Vec<SnapshotId> = report
        .groups
        .iter()
        .flat_map(|g| g.decisions.iter().filter(|d| !d.keep).map(|d| d.id))
        .collect();
    for id in remove {
        match repo.delete(FileType::Snapshot, &id.to_hex()) {
            Ok(()) => report.deleted += 1,
            Err(e) => report.failures.push((id, e)),
        }
    }
    Ok(report)
}

/// `forget --prune`: prunes after a [`forget`] only when every snapshot file it was to remove is
/// deleted (the backend makes each deletion durable before it returns, so prune never frees data
/// of a snapshot that could come back). After a failed deletion nothing is pruned.
pub fn prune_after(
    repo: &mut Repository,
    guard: &LockGuard,
    report: &ForgetReport,
    opts: &crate::maintenance::prune::PruneOptions,
) -> Result<crate::maintenance::prune::PruneReport> {
    if let Some((id, err)) = report.failures.first() {
        bail!(
            Storage,
            "{} snapshots could not be removed (first: {id}: {err:#}); prune was not run, so nothing \
             else was deleted. Fix the cause and run forget again",
            report.failures.len()
        );
    }
    crate::maintenance::prune::prune_locked(repo, guard, opts)
}

#[cfg(test)]
#[path = "forget_tests.rs"]
mod tests;
