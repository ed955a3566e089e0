//! `backstock forget` end to end: retention policies, dry runs, removal by ID, JSON output.

use assert_cmd::Command;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::util::Env;

/// A fresh repository made by the shared harness. Every command runs in a time zone 9 hours east of
/// UTC, so `--time "... 01:30:00"` lies on the previous day in UTC: retention must use the
/// snapshot's own offset.
struct Repo {
    env: Env,
}

impl Repo {
    fn new() -> Repo {
        let r = Repo { env: Env::init() };
        std::fs::create_dir(r.data()).expect("data dir");
        r
    }

    fn data(&self) -> PathBuf {
        self.env.path("data")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.env.cmd();
        c.env("TZ", "JST-9").args(args);
        c
    }

    /// Runs a command that must succeed; returns its standard output.
    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("run backstock");
        assert!(
            out.status.success(),
            "backstock {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs a command that must exit with `code`; returns its standard error.
    fn fail(&self, args: &[&str], code: i32) -> String {
        let out = self.cmd(args).output().expect("run backstock");
        assert_eq!(out.status.code(), Some(code), "backstock {args:?}");
        String::from_utf8(out.stderr).expect("utf-8 output")
    }

    /// Writes one more small file into the data folder and backs it up at `time`.
    fn backup(&self, name: &str, time: &str, extra: &[&str]) {
        std::fs::write(self.data().join(name), format!("{name} {time}\n")).expect("write file");
        let data = self.data();
        let mut args = vec![
            "backup",
            "-q",
            data.to_str().expect("utf-8 path"),
            "--time",
            time,
        ];
        args.extend_from_slice(extra);
        self.run(&args);
    }

    fn snapshots(&self) -> Vec<Value> {
        let out = self.run(&["snapshots", "--json"]);
        let v: Value = serde_json::from_str(&out).expect("snapshots JSON");
        v.as_array().expect("array").clone()
    }

    fn locks(&self) -> usize {
        std::fs::read_dir(self.env.repo.join("locks"))
            .expect("locks dir")
            .count()
    }
}

/// The local date of a snapshot's JSON `time` (RFC 3339 in the snapshot's own offset).
fn date_of(snapshot: &Value) -> NaiveDate {
    let t = snapshot["time"].as_str().expect("time");
    chrono::DateTime::parse_from_rfc3339(t)
        .expect("RFC 3339")
        .date_naive()
}

fn dates(snapshots: &[Value]) -> BTreeSet<NaiveDate> {
    snapshots.iter().map(date_of).collect()
}

fn ymd(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("date")
}

/// Newest day of each of the `n` newest periods that have a day, `period` naming a day's period.
fn newest_per_period<K: PartialEq>(
    days: &[NaiveDate],
    n: usize,
    period: impl Fn(&NaiveDate) -> K,
) -> Vec<NaiveDate> {
    let mut seen: Vec<K> = Vec::new();
    let mut out = Vec::new();
    for d in days.iter().rev() {
        let p = period(d);
        if !seen.contains(&p) && seen.len() < n {
            seen.push(p);
            out.push(*d);
        }
    }
    out
}

#[test]
fn forty_daily_backups() {
    let repo = Repo::new();
    let days: Vec<NaiveDate> = (0..40).map(|i| ymd(1, 1) + Days::new(i)).collect();
    for d in &days {
        let time = format!("{d} 01:30:00");
        repo.backup(&format!("day-{d}.txt"), &time, &[]);
    }
    assert_eq!(repo.snapshots().len(), 40);

    // Expected: the 7 newest days, the newest day of the 4 newest Monday-to-Sunday weeks and of the 3
    // newest months (only January and February exist).
    let mut expected: BTreeSet<NaiveDate> = days.iter().rev().take(7).copied().collect();
    expected.extend(newest_per_period(&days, 4, |d| {
        d.week(Weekday::Mon).first_day()
    }));
    expected.extend(newest_per_period(&days, 3, |d| (d.year(), d.month())));
    let by_hand: BTreeSet<NaiveDate> = [(1, 25), (1, 31), (2, 1)]
        .into_iter()
        .chain((3..=9).map(|d| (2, d)))
        .map(|(m, d)| ymd(m, d))
        .collect();
    assert_eq!(
        expected, by_hand,
        "2026-02-09 is a Monday, 02-08 and 02-01 Sundays"
    );

    let policy = [
        "--keep-daily",
        "7",
        "--keep-weekly",
        "4",
        "--keep-monthly",
        "3",
    ];

    // No policy: an error, nothing removed.
    let err = repo.fail(&["forget"], 1);
    assert!(err.contains("no retention policy"), "{err}");
    let err = repo.fail(&["forget", "--keep-daily", "0"], 1);
    assert!(err.contains("no retention policy"), "{err}");

    // Dry run with JSON: the plan, nothing removed.
    let mut args = vec!["forget", "--dry-run", "--json"];
    args.extend(policy);
    let plan: Value = serde_json::from_str(&repo.run(&args)).expect("forget JSON");
    let groups = plan.as_array().expect("array of groups");
    assert_eq!(groups.len(), 1);
    let group = &groups[0]["group"];
    assert!(group["host"].is_string(), "{group}");
    assert_eq!(group["paths"], serde_json::json!([repo.data()]));
    assert!(group["tags"].is_null(), "{group}");
    let keep = groups[0]["keep"].as_array().expect("keep array");
    let remove = groups[0]["remove"].as_array().expect("remove array");
    assert_eq!((keep.len(), remove.len()), (10, 30));
    assert_eq!(dates(keep), expected);
    let newest = keep
        .iter()
        .find(|s| date_of(s) == ymd(2, 9))
        .expect("newest");
    assert_eq!(
        newest["reasons"],
        serde_json::json!(["daily", "weekly", "monthly"])
    );
    assert!(newest["id"].as_str().is_some_and(|id| id.len() == 64));
    assert!(remove.iter().all(|s| s["reasons"] == serde_json::json!([])));
    assert_eq!(repo.snapshots().len(), 40, "--dry-run removes nothing");

    // For real.
    let mut args = vec!["forget"];
    args.extend(policy);
    let out = repo.run(&args);
    assert!(out.contains("10 snapshots kept, 30 removed"), "{out}");
    assert!(out.contains("daily, weekly, monthly"), "{out}");
    let left = repo.snapshots();
    assert_eq!(dates(&left), expected);
    assert_eq!(left.len(), 10);
    assert_eq!(repo.locks(), 0, "the exclusive lock is released");

    // Applying the same policy again removes nothing.
    let out = repo.run(&args);
    assert!(out.contains("10 snapshots kept, 0 removed"), "{out}");

    // Remove one by ID prefix; the rest stay and remain readable.
    let victim = left
        .iter()
        .find(|s| date_of(s) == ymd(1, 31))
        .expect("2026-01-31");
    let id = victim["id"].as_str().expect("id");
    let out = repo.run(&["forget", &id[..8]]);
    assert!(out.contains("0 snapshots kept, 1 removed"), "{out}");
    let left = repo.snapshots();
    assert_eq!(left.len(), 9);
    assert!(left.iter().all(|s| s["id"] != victim["id"]));
    let ls = repo.run(&["ls", "latest"]);
    assert!(ls.contains("day-2026-02-09.txt"), "{ls}");
}

#[test]
fn ids_groups_and_future() {
    let repo = Repo::new();
    repo.backup("a1", "2026-03-01 10:00:00", &["--host", "a"]);
    repo.backup("a2", "2026-03-02 10:00:00", &["--host", "a"]);
    repo.backup("a3", "2099-01-01 10:00:00", &["--host", "a"]);
    repo.backup(
        "b1",
        "2026-03-01 11:00:00",
        &["--host", "b", "--tag", "keep"],
    );
    repo.backup("b2", "2026-03-03 11:00:00", &["--host", "b"]);
    let all = repo.snapshots();
    let id_of = |day: &str| -> String {
        let s = all
            .iter()
            .find(|s| s["time"].as_str().is_some_and(|t| t.starts_with(day)));
        s.and_then(|s| s["id"].as_str())
            .expect("snapshot")
            .to_string()
    };

    // Errors: unknown or too short IDs, IDs with a policy, bad durations and group fields.
    for bad in [
        &["forget", "ffffffffff"][..],
        &["forget", "abc"],
        &["forget", "zzzz"],
    ] {
        repo.fail(bad, 1);
    }
    let err = repo.fail(&["forget", &id_of("2026-03-01T10"), "--keep-last", "1"], 1);
    assert!(err.contains("not both"), "{err}");
    let err = repo.fail(&["forget", "--keep-within", "1w"], 1);
    assert!(err.contains("invalid duration"), "{err}");
    repo.fail(&["forget", "--keep-last", "1", "--group-by", "user"], 1);
    assert_eq!(repo.snapshots().len(), 5);

    // Per host: the future snapshot is always kept and does not count as "last".
    let plan: Value = serde_json::from_str(&repo.run(&[
        "forget",
        "--keep-last",
        "1",
        "--keep-tag",
        "keep",
        "--dry-run",
        "--json",
    ]))
    .expect("JSON");
    let summary: Vec<(String, Vec<Value>, usize)> = plan
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            let keep = g["keep"].as_array().expect("keep");
            let reasons = keep.iter().map(|s| s["reasons"].clone()).collect();
            let host = g["group"]["host"].as_str().expect("host").to_string();
            (host, reasons, g["remove"].as_array().expect("remove").len())
        })
        .collect();
    let r = |v: &[&str]| serde_json::json!(v);
    assert_eq!(
        summary,
        vec![
            ("a".to_string(), vec![r(&["future"]), r(&["last"])], 1),
            ("b".to_string(), vec![r(&["last"]), r(&["tag keep"])], 0),
        ]
    );

    // One group for everything, only host a's snapshots.
    let out = repo.run(&[
        "forget",
        "--keep-last",
        "1",
        "--group-by",
        "",
        "--host",
        "a",
    ]);
    assert!(out.contains("2 snapshots kept, 1 removed"), "{out}");
    assert!(!out.contains("host"), "no grouping: {out}");
    assert_eq!(repo.snapshots().len(), 4);

    // Two IDs (one given twice), full and prefix.
    let (b1, b2) = (id_of("2026-03-01T11"), id_of("2026-03-03"));
    let out = repo.run(&["forget", &b1, &b2[..6], &b2]);
    assert!(out.contains("0 snapshots kept, 2 removed"), "{out}");
    let hosts: Vec<_> = repo
        .snapshots()
        .iter()
        .map(|s| s["hostname"].clone())
        .collect();
    assert_eq!(hosts, vec![serde_json::json!("a"), serde_json::json!("a")]);
}
