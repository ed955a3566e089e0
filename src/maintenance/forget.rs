//! Retention policies (`forget`): which snapshots to keep, decided by a pure function over the
//! snapshots, the policy and the current time, and removing the others (docs/design.md, "Retention").

use crate::backend::FileType;
use crate::format::snapshot::Snapshot;
use crate::ids::SnapshotId;
use crate::repository::snapshots::SnapshotFilter;
use crate::repository::Repository;
use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Datelike, Days, FixedOffset, Months, Timelike, Utc};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

/// A calendar duration for `--keep-within`: `1y6m2d3h` (years, months, days, hours).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepDuration {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    pub hours: u32,
}

impl KeepDuration {
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
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            anyhow!("invalid duration {s:?}: {why} (expected e.g. 1y6m2d3h: y years, m months, d days, h hours)")
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
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
    pub within: Option<KeepDuration>,
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

/// Which snapshot fields make a group (`--group-by host,paths,tags`; empty for one group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupBy {
    pub host: bool,
    pub paths: bool,
    pub tags: bool,
}

impl Default for GroupBy {
    fn default() -> Self {
        GroupBy {
            host: true,
            paths: true,
            tags: false,
        }
    }
}

impl FromStr for GroupBy {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        let mut g = GroupBy {
            host: false,
            paths: false,
            tags: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "host" => g.host = true,
                "paths" => g.paths = true,
                "tags" => g.tags = true,
                _ => bail!("invalid --group-by field {part:?}: use host, paths and/or tags (comma-separated), or \"\" for no grouping"),
            }
        }
        Ok(g)
    }
}

/// The values a group shares; `None` for fields not grouped by. Paths and tags are sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    pub host: Option<String>,
    pub paths: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
}

impl GroupKey {
    pub fn of(s: &Snapshot, by: GroupBy) -> GroupKey {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        GroupKey {
            host: by.host.then(|| s.hostname.clone()),
            paths: by.paths.then(|| sorted(&s.paths)),
            tags: by.tags.then(|| sorted(&s.tags)),
        }
    }
}

/// The verdict for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub id: SnapshotId,
    pub snapshot: Snapshot,
    pub keep: bool,
    /// Why it is kept, e.g. `["daily", "weekly"]`, `["within 1y6m"]`, `["tag daily"]`, `["future"]`.
    pub reasons: Vec<String>,
}

/// One group's verdicts, newest snapshot first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDecision {
    pub key: GroupKey,
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

/// Finds one snapshot by `latest` (newest matching `filter`), a full ID, or a unique prefix of at
/// least 4 hex digits. `all` is oldest first, as `Repository::snapshots` returns it.
pub fn resolve_id<'a>(
    all: &'a [(SnapshotId, Snapshot)],
    spec: &str,
    filter: &SnapshotFilter,
) -> Result<&'a (SnapshotId, Snapshot)> {
    if spec == "latest" {
        return all
            .iter()
            .rev()
            .find(|(_, s)| filter.matches(s))
            .ok_or_else(|| anyhow!("no snapshot matches `latest`"));
    }
    if spec.len() < 4 || !spec.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("{spec:?} is not a snapshot ID: use `latest`, a full ID or at least 4 hex digits");
    }
    let spec = spec.to_ascii_lowercase();
    let found: Vec<_> = all
        .iter()
        .filter(|(id, _)| id.to_hex().starts_with(&spec))
        .collect();
    match found.as_slice() {
        [] => bail!("no snapshot matches {spec:?} (list them with `backstock snapshots`)"),
        [one] => Ok(one),
        more => bail!(
            "{spec:?} matches {} snapshots: give more digits",
            more.len()
        ),
    }
}

/// What `forget` does.
#[derive(Debug, Clone, Default)]
pub struct ForgetOptions {
    pub policy: Policy,
    pub group_by: GroupBy,
    /// Which snapshots the policy applies to.
    pub filter: SnapshotFilter,
    /// Snapshots to remove by ID (instead of a policy).
    pub ids: Vec<String>,
    pub dry_run: bool,
}

/// The outcome of `forget`.
#[derive(Debug, Clone)]
pub struct ForgetReport {
    pub groups: Vec<GroupDecision>,
    /// Snapshot files actually deleted (none with `dry_run`).
    pub deleted: usize,
    /// Snapshots that should have been removed but whose deletion failed, with the error.
    pub failures: Vec<(SnapshotId, String)>,
}

/// Decides per `opts` and, unless `dry_run`, deletes the removed snapshots' files under an exclusive
/// lock. Explicit IDs form one group of removed snapshots.
pub fn forget(repo: &Repository, opts: &ForgetOptions, now: DateTime<Utc>) -> Result<ForgetReport> {
    if opts.ids.is_empty() && opts.policy.is_empty() {
        bail!("no retention policy: give at least one --keep-* option with a count above 0, --keep-within or --keep-tag (or snapshot IDs to remove); refusing to remove every snapshot");
    }
    if !opts.ids.is_empty() && !opts.policy.is_empty() {
        bail!("give either snapshot IDs or a retention policy (--keep-*), not both");
    }
    let _lock = if opts.dry_run {
        None
    } else {
        Some(repo.lock(true)?)
    };
    let all = repo.snapshots()?;
    let groups = if opts.ids.is_empty() {
        let selected: Vec<_> = all
            .iter()
            .filter(|(_, s)| opts.filter.matches(s))
            .cloned()
            .collect();
        apply_policy(&selected, &opts.policy, opts.group_by, now)
    } else {
        let mut decisions: Vec<Decision> = Vec::new();
        for spec in &opts.ids {
            let (id, s) = resolve_id(&all, spec, &opts.filter)?;
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
    };
    if opts.dry_run {
        return Ok(report);
    }
    let remove: Vec<SnapshotId> = report
        .groups
        .iter()
        .flat_map(|g| g.decisions.iter().filter(|d| !d.keep).map(|d| d.id))
        .collect();
    for id in remove {
        match repo.backend().delete(FileType::Snapshot, &id.to_hex()) {
            Ok(()) => report.deleted += 1,
            Err(e) => report.failures.push((id, format!("{e:#}"))),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::BlobId;

    fn snap(n: usize, time: &str, host: &str, tags: &[&str]) -> (SnapshotId, Snapshot) {
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&(n as u64 + 1).to_be_bytes());
        let s = Snapshot {
            version: 1,
            time: DateTime::parse_from_rfc3339(time).expect("test time"),
            hostname: host.into(),
            username: "u".into(),
            paths: vec!["/data".into()],
            tags: tags.iter().map(|t| t.to_string()).collect(),
            tree: BlobId([0; 32]),
            parent: None,
            program_version: String::new(),
            summary: Default::default(),
        };
        (SnapshotId(id), s)
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("test time").to_utc()
    }

    fn pol(f: impl FnOnce(&mut Policy)) -> Policy {
        let mut p = Policy::default();
        f(&mut p);
        p
    }

    const NOW: &str = "2030-01-01T00:00:00Z";

    /// Simulated calendars. A case is a header `NAME | RULE=VALUE...` (rules: last, hourly, daily,
    /// weekly, monthly, yearly, within, tags; `now` overrides NOW), then rows `TIME [TAG,...] =>
    /// REASON,...`, newest first; no reasons = removed. The engine gets the rows oldest first.
    const CALENDARS: &[&[&str]] = &[
        &[
            "last | last=2",
            "2026-01-05T10:00:00Z => last",
            "2026-01-04T10:00:00Z => last",
            "2026-01-03T10:00:00Z =>",
        ],
        &[
            "hourly: newest of each hour | hourly=2",
            "2026-01-01T12:30:00Z => hourly",
            "2026-01-01T12:00:00Z =>",
            "2026-01-01T11:10:00Z => hourly",
            "2026-01-01T10:40:00Z =>",
        ],
        &[
            "daily: a tie in one day keeps only the newest | daily=5",
            "2026-01-03T08:00:00Z => daily",
            "2026-01-02T23:59:59Z => daily",
            "2026-01-02T00:00:00Z =>",
            "2026-01-01T12:00:00Z => daily",
        ],
        &[
            "weekly: Monday starts a week, Sunday ends one | weekly=3",
            "2026-02-09T09:00:00Z => weekly", // Monday
            "2026-02-08T09:00:00Z => weekly", // Sunday
            "2026-02-07T09:00:00Z =>",
            "2026-02-02T09:00:00Z =>",
            "2026-02-01T09:00:00Z => weekly",
            "2026-01-25T09:00:00Z =>", // a 4th week: the count is used up
        ],
        &[
            "ISO week 2026-W01 spans the new year; years do not | weekly=5 yearly=5",
            "2026-01-01T00:30:00Z => weekly, yearly",
            "2025-12-31T23:00:00Z => yearly",
            "2025-12-28T10:00:00Z => weekly",
        ],
        &[
            "buckets use the snapshot's own offset | daily=5 weekly=5",
            "2026-01-04T23:00:00+00:00 => daily, weekly", // Sunday
            "2026-01-05T00:30:00+02:00 => daily, weekly", // Monday there, Sunday in UTC
            "2026-01-04T20:00:00+00:00 =>",               // Sunday again: already kept
        ],
        &[
            "monthly and yearly | monthly=3 yearly=3",
            "2026-03-01T00:00:00Z => monthly, yearly",
            "2026-02-28T00:00:00Z => monthly",
            "2026-02-01T00:00:00Z =>",
            "2025-12-31T00:00:00Z => monthly, yearly",
            "2024-06-01T00:00:00Z => yearly",
            "2023-06-01T00:00:00Z =>",
        ],
        &[
            "within: from the newest snapshot, bound excluded | within=1m",
            "2026-06-15T12:00:00Z => within 1m",
            "2026-05-15T13:00:00Z => within 1m",
            "2026-05-15T12:00:00Z =>",
        ],
        &[
            "within, all units | within=3h2d6m1y",
            "2026-06-15T12:00:00Z => within 1y6m2d3h",
            "2024-12-13T09:00:01Z => within 1y6m2d3h",
            "2024-12-13T09:00:00Z =>",
        ],
        &[
            "tags: any of them | tags=daily,monthly",
            "2026-01-04T00:00:00Z x =>",
            "2026-01-03T00:00:00Z daily,monthly => tag daily, tag monthly",
            "2026-01-02T00:00:00Z monthly => tag monthly",
            "2026-01-01T00:00:00Z =>",
        ],
        &[
            "future: kept, no part in the rules | last=1 within=1d now=2026-01-10T00:00:00Z",
            "2026-02-01T00:00:00Z => future",
            "2026-01-09T00:00:00Z => last, within 1d",
            "2026-01-08T00:00:00Z =>",
        ],
        &[
            "rules are ORed, every reason listed | last=1 daily=2 weekly=2 monthly=2 tags=keep",
            "2026-02-09T12:00:00Z => last, daily, weekly, monthly",
            "2026-02-08T12:00:00Z => daily, weekly",
            "2026-02-07T12:00:00Z keep => tag keep",
            "2026-02-01T12:00:00Z =>",
            "2026-01-31T12:00:00Z => monthly",
            "2026-01-30T12:00:00Z =>",
        ],
    ];

    #[test]
    fn simulated_calendars() {
        for case in CALENDARS {
            let (name, rules) = case[0].split_once(" | ").expect("header");
            let (mut policy, mut now) = (Policy::default(), NOW);
            for rule in rules.split_whitespace() {
                let (k, v) = rule.split_once('=').expect("rule=value");
                let n = || v.parse().expect("count");
                match k {
                    "last" => policy.last = n(),
                    "hourly" => policy.hourly = n(),
                    "daily" => policy.daily = n(),
                    "weekly" => policy.weekly = n(),
                    "monthly" => policy.monthly = n(),
                    "yearly" => policy.yearly = n(),
                    "within" => policy.within = Some(v.parse().expect("duration")),
                    "tags" => policy.tags = v.split(',').map(String::from).collect(),
                    "now" => now = v,
                    _ => panic!("unknown rule {k}"),
                }
            }
            let (mut snaps, mut want) = (Vec::new(), Vec::new());
            for (i, row) in case[1..].iter().enumerate() {
                let (left, reasons) = row.split_once("=>").expect("row has =>");
                let mut left = left.split_whitespace();
                let time = left.next().expect("row has a time");
                let tags: Vec<&str> = left
                    .next()
                    .map(|t| t.split(',').collect())
                    .unwrap_or_default();
                snaps.push(snap(i, time, "h", &tags));
                let reasons = reasons.split(',').map(str::trim).filter(|r| !r.is_empty());
                want.push((
                    snaps[i].1.time.to_rfc3339(),
                    reasons.map(String::from).collect(),
                ));
            }
            snaps.reverse();
            let groups = apply_policy(&snaps, &policy, GroupBy::default(), utc(now));
            assert_eq!(groups.len(), 1, "{name}");
            let got: Vec<(String, Vec<String>)> = groups[0]
                .decisions
                .iter()
                .inspect(|d| assert_eq!(d.keep, !d.reasons.is_empty(), "{name}"))
                .map(|d| (d.snapshot.time.to_rfc3339(), d.reasons.clone()))
                .collect();
            assert_eq!(got, want, "case {name:?}");
        }
    }

    #[test]
    fn same_time_ties_are_broken_by_id() {
        let t = "2026-01-01T10:00:00Z";
        let snaps = vec![snap(1, t, "h", &[]), snap(2, t, "h", &[])];
        let g = apply_policy(&snaps, &pol(|p| p.daily = 1), GroupBy::default(), utc(NOW));
        let kept: Vec<_> = g[0]
            .decisions
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.id)
            .collect();
        assert_eq!(kept, vec![snaps[1].0]);
    }

    #[test]
    fn groups() {
        let snaps = vec![
            snap(0, "2026-01-01T10:00:00Z", "a", &["t1"]),
            snap(1, "2026-01-02T10:00:00Z", "b", &[]),
            snap(2, "2026-01-03T10:00:00Z", "a", &[]),
            snap(3, "2026-01-04T10:00:00Z", "b", &[]),
        ];
        let last1 = pol(|p| p.last = 1);
        let kept = |by: &str| -> Vec<Vec<u8>> {
            let g = apply_policy(&snaps, &last1, by.parse().expect("group-by"), utc(NOW));
            let ids = |g: &GroupDecision| {
                g.decisions
                    .iter()
                    .filter(|d| d.keep)
                    .map(|d| d.id.0[7] - 1)
                    .collect()
            };
            g.iter().map(ids).collect()
        };
        assert_eq!(kept("host,paths"), vec![vec![2], vec![3]]);
        assert_eq!(kept("host"), vec![vec![2], vec![3]]);
        assert_eq!(kept(""), vec![vec![3]]);
        assert_eq!(kept("tags"), vec![vec![3], vec![0]]);
        assert_eq!(kept("paths,tags,host"), vec![vec![2], vec![0], vec![3]]);
        let g = apply_policy(&snaps, &last1, GroupBy::default(), utc(NOW));
        let key = GroupKey {
            host: Some("a".into()),
            paths: Some(vec!["/data".into()]),
            tags: None,
        };
        assert_eq!(g[0].key, key);
        assert_eq!(g[0].decisions.len(), 2);
        let g = apply_policy(&snaps, &last1, "".parse().expect("group-by"), utc(NOW));
        assert_eq!(g[0].key, GroupKey::default());
        assert!(apply_policy(&[], &last1, GroupBy::default(), utc(NOW)).is_empty());
    }

    #[test]
    fn durations() {
        let d = |years, months, days, hours| KeepDuration {
            years,
            months,
            days,
            hours,
        };
        for (s, want) in [
            ("1y6m2d3h", d(1, 6, 2, 3)),
            ("3h", d(0, 0, 0, 3)),
            ("2d1y", d(1, 0, 2, 0)),
            ("0d", d(0, 0, 0, 0)),
            ("18m", d(0, 18, 0, 0)),
        ] {
            assert_eq!(s.parse::<KeepDuration>().expect(s), want, "{s}");
        }
        assert_eq!(d(1, 6, 0, 0).to_string(), "1y6m");
        assert_eq!(d(0, 0, 0, 0).to_string(), "0h");
        for bad in [
            "",
            "1",
            "y",
            "1w",
            "1y1y",
            "-1d",
            "1.5d",
            "1d ",
            "99999999999h",
            "1dé",
            "é",
        ] {
            let err = bad.parse::<KeepDuration>().expect_err(bad).to_string();
            assert!(err.contains("invalid duration"), "{bad}: {err}");
        }
        let t = DateTime::parse_from_rfc3339("2026-03-31T12:00:00+05:00").expect("time");
        let month_before = d(0, 1, 0, 0).before(t).map(|x| x.to_rfc3339());
        assert_eq!(month_before.as_deref(), Some("2026-02-28T12:00:00+05:00"));
        assert_eq!(d(4_000_000, 0, 0, 0).before(t), None);
        assert_eq!(d(u32::MAX, u32::MAX, u32::MAX, u32::MAX).before(t), None);
    }

    #[test]
    fn huge_within_keeps_everything() {
        let snaps = vec![
            snap(0, "2026-01-01T10:00:00Z", "h", &[]),
            snap(1, "1900-01-01T10:00:00Z", "h", &[]),
        ];
        let p = pol(|p| p.within = Some("4000000y".parse().expect("duration")));
        let g = apply_policy(&snaps, &p, GroupBy::default(), utc(NOW));
        assert!(g[0]
            .decisions
            .iter()
            .all(|d| d.keep && d.reasons == ["within 4000000y"]));
    }

    #[test]
    fn group_by_and_policy() {
        assert_eq!(
            "host,paths".parse::<GroupBy>().expect("g"),
            GroupBy::default()
        );
        let g = " tags , host ".parse::<GroupBy>().expect("g");
        assert_eq!(
            g,
            GroupBy {
                host: true,
                paths: false,
                tags: true
            }
        );
        assert!("hosts".parse::<GroupBy>().is_err());
        assert!(Policy::default().is_empty());
        assert!(pol(|p| p.within = Some(KeepDuration::default())).is_empty());
        assert!(!pol(|p| p.yearly = 1).is_empty());
        assert!(!pol(|p| p.tags = vec!["x".into()]).is_empty());
    }

    #[test]
    fn resolving_ids() {
        let snaps = vec![
            snap(0, "2026-01-01T10:00:00Z", "a", &[]),
            snap(1, "2026-01-02T10:00:00Z", "b", &[]),
        ];
        let f = SnapshotFilter::default();
        let hex = snaps[0].0.to_hex();
        assert_eq!(resolve_id(&snaps, &hex, &f).expect("full").0, snaps[0].0);
        assert_eq!(
            resolve_id(&snaps, &hex[..16].to_uppercase(), &f)
                .expect("prefix")
                .0,
            snaps[0].0
        );
        for bad in ["0000", "000", "zzzz", "ffff", ""] {
            assert!(resolve_id(&snaps, bad, &f).is_err(), "{bad}");
        }
        assert_eq!(
            resolve_id(&snaps, "latest", &f).expect("latest").0,
            snaps[1].0
        );
        let only_a = SnapshotFilter {
            hosts: vec!["a".into()],
            ..Default::default()
        };
        assert_eq!(
            resolve_id(&snaps, "latest", &only_a).expect("latest").0,
            snaps[0].0
        );
    }
}
