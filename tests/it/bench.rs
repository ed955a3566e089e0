//! `backstock bench` end to end with a tiny store: every figure present, the restore verified, the
//! work directory removed (or kept with --dir), and the restic comparison when restic is installed.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

/// Keys of every scalar figure, as in `ToolFigures::figures`.
const FIGURES: [&str; 17] = [
    "first_backup_secs",
    "first_backup_peak_rss_bytes",
    "daily_backup_median_secs",
    "daily_backup_max_secs",
    "daily_backup_peak_rss_bytes",
    "growth_per_version_median_bytes",
    "repo_bytes",
    "repo_to_export_ratio",
    "restore_latest_secs",
    "restore_latest_peak_rss_bytes",
    "restore_file_secs",
    "restore_file_peak_rss_bytes",
    "forget_prune_secs",
    "forget_prune_peak_rss_bytes",
    "repo_bytes_after_prune",
    "check_secs",
    "check_peak_rss_bytes",
];

fn bench(tmp: &Path, args: &[&str]) -> Value {
    let out = Command::cargo_bin("backstock")
        .expect("the backstock binary")
        .env("TMPDIR", tmp)
        .env_remove("BACKSTOCK_REPOSITORY")
        .env_remove("BACKSTOCK_PASSWORD")
        .env_remove("BACKSTOCK_PASSWORD_FILE")
        .args(["bench", "--products", "40", "--media-per-product", "0.5"])
        .args(["--orders-per-day", "10", "--json"])
        .args(args)
        .output()
        .expect("running backstock bench");
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without a terminal, progress is one line per step on standard error.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("writing the initial export") && log.contains("day 0: backstock backup"),
        "no step lines on stderr: {log}"
    );
    serde_json::from_slice(&out.stdout).expect("bench --json prints one JSON object")
}

fn number(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is missing or not a number in {v}"))
}

/// Checks one tool's figures after `days` daily backups.
fn check_tool(report: &Value, tool: &str, days: usize) {
    let f = &report[tool];
    assert!(f.is_object(), "no {tool} figures in {report}");
    assert_eq!(f["daily_backups"].as_array().map(Vec::len), Some(days));
    let sizes = f["repo_bytes_after_backup"].as_array().expect("sizes");
    assert_eq!(sizes.len(), days + 1);
    assert!(sizes.iter().all(|s| s.as_u64().is_some_and(|s| s > 0)));
    for step in [
        "first_backup",
        "restore_latest",
        "restore_file",
        "forget_prune",
        "check",
    ] {
        assert!(number(&f[step], "secs") > 0.0, "{tool} {step}");
        assert!(number(&f[step], "peak_rss_bytes") > 0.0, "{tool} {step}");
    }
    for key in [
        "daily_backup_median_secs",
        "daily_backup_max_secs",
        "daily_backup_peak_rss_bytes",
        "growth_per_version_median_bytes",
        "repo_bytes",
        "repo_to_export_ratio",
        "repo_bytes_after_prune",
    ] {
        assert!(number(f, key) > 0.0, "{tool} {key}");
    }
    let check = &f["restore_latest_check"];
    assert_eq!(check["verified"], Value::Bool(true));
    assert_eq!(check["files"], report["export_latest"]["files"]);
    assert_eq!(check["bytes"], report["export_latest"]["bytes"]);
    assert!(number(check, "files_hashed") > 0.0);
    // At most 4 snapshots on distinct days: the default --keep-daily 7 keeps them all.
    assert_eq!(f["snapshots_after_forget"].as_u64(), Some(days as u64 + 1));
}

#[test]
fn bench_reports_every_figure_and_cleans_up() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let report = bench(tmp.path(), &["--days", "3"]);
    assert_eq!(report["params"]["days"], 3);
    assert_eq!(report["params"]["products"], 40);
    assert!(number(&report["export_latest"], "bytes") > 0.0);
    assert!(number(&report["export_initial"], "files") > 0.0);
    check_tool(&report, "backstock", 3);
    assert!(report["restic"].is_null() && report["ratios"].is_null());
    assert!(report["work_dir"].is_null());
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("listing TMPDIR")
        .collect();
    assert!(left.is_empty(), "work dir left behind: {left:?}");
}

#[test]
fn bench_refuses_bad_flags() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("file"), b"x").expect("writing");
    let dir = tmp.path().to_string_lossy().into_owned();
    for args in [
        vec!["--edit-rate", "1.5"],
        vec!["--keep-within", "3x"],
        vec!["--dir", dir.as_str()],
    ] {
        let out = Command::cargo_bin("backstock")
            .expect("the backstock binary")
            .args(["bench", "--products", "5", "--days", "1"])
            .args(&args)
            .output()
            .expect("running backstock bench");
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(!out.stderr.is_empty(), "{args:?}: no error message");
    }
}

#[test]
#[ignore = "needs restic on PATH; CI runs it: .ci/run"]
fn bench_compares_with_restic() {
    // Run explicitly (`--ignored`), it must test something: no restic is a failure, not a skip.
    assert!(
        which("restic").is_some(),
        "restic is not on PATH: the --compare restic test cannot run"
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let work = tmp.path().join("work");
    let dir = work.to_string_lossy().into_owned();
    let report = bench(
        tmp.path(),
        &["--days", "2", "--compare", "restic", "--dir", dir.as_str()],
    );
    check_tool(&report, "backstock", 2);
    check_tool(&report, "restic", 2);
    assert!(report["restic_version"]
        .as_str()
        .is_some_and(|v| v.contains("restic")));
    let ratios = report["ratios"].as_object().expect("ratios");
    for key in FIGURES {
        assert!(
            ratios
                .get(key)
                .and_then(Value::as_f64)
                .is_some_and(|r| r > 0.0),
            "ratio {key} missing in {ratios:?}"
        );
    }
    assert!(
        work.join("backstock/repo/config").is_file(),
        "--dir not kept"
    );
    assert!(work.join("restic/repo/config").is_file(), "--dir not kept");
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[test]
#[ignore = "needs restic and rclone on PATH; CI runs it: .ci/run"]
fn bench_compares_with_restic_over_rclone() {
    for tool in ["restic", "rclone"] {
        assert!(which(tool).is_some(), "{tool} is not on PATH");
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let work = tmp.path().join("work");
    let dir = work.to_string_lossy().into_owned();
    let report = bench(
        tmp.path(),
        &[
            "--days",
            "1",
            "--compare",
            "restic",
            "--via",
            "rclone",
            "--connections",
            "3",
            "--dir",
            dir.as_str(),
        ],
    );
    check_tool(&report, "backstock", 1);
    check_tool(&report, "restic", 1);
    assert!(
        report["storage"]
            .as_str()
            .is_some_and(|s| s.contains("rclone")),
        "{}",
        report["storage"]
    );
    // Both repositories were written through the servers into the work directory.
    assert!(work.join("backstock/repo/config").is_file());
    assert!(work.join("restic/repo/config").is_file());
}

#[test]
#[ignore = "needs restic and s3s-fs on PATH; CI runs it: .ci/run"]
fn bench_compares_with_restic_over_s3() {
    for tool in ["restic", "s3s-fs"] {
        assert!(which(tool).is_some(), "{tool} is not on PATH");
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let report = bench(
        tmp.path(),
        &["--days", "1", "--compare", "restic", "--via", "s3"],
    );
    check_tool(&report, "backstock", 1);
    assert!(
        report["storage"].as_str().is_some_and(|s| s.contains("S3")),
        "{}",
        report["storage"]
    );
    // restic's backups and restores ran and were checked; its maintenance cannot run there, and
    // the report says why.
    let restic = &report["restic"];
    assert!(number(&restic["first_backup"], "secs") > 0.0);
    assert_eq!(
        restic["restore_latest_check"]["verified"],
        Value::Bool(true)
    );
    assert!(restic["check"].is_null() && restic["forget_prune"].is_null());
    assert!(restic["skipped"]
        .as_str()
        .is_some_and(|s| s.contains("s3s-fs")));
    // The server was stopped and the work directory removed.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("listing").collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
