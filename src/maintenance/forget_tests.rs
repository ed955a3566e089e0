//! Unit tests for retention policies: simulated calendars.

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
        original: None,
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
    assert_eq!(resolve_spec(&snaps, &hex, &f).expect("full").0, snaps[0].0);
    assert_eq!(
        resolve_spec(&snaps, &hex[..16].to_uppercase(), &f)
            .expect("prefix")
            .0,
        snaps[0].0
    );
    for bad in ["0000", "000", "zzzz", "ffff", ""] {
        assert!(resolve_spec(&snaps, bad, &f).is_err(), "{bad}");
    }
    assert_eq!(
        resolve_spec(&snaps, "latest", &f).expect("latest").0,
        snaps[1].0
    );
    let only_a = SnapshotFilter {
        hosts: vec!["a".into()],
        ..Default::default()
    };
    assert_eq!(
        resolve_spec(&snaps, "latest", &only_a).expect("latest").0,
        snaps[0].0
    );
}
