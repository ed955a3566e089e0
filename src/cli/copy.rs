//! `copy`: snapshots from another repository (`--from-repo`) into this one.

use super::common::{human, with_progress, GlobalOpts};
use super::from_repo::FromRepoOpts;
use super::snapshots::{snapshot_json, FilterArgs};
use anyhow::{Context, Result};
use backstock::repository::snapshots::SnapshotFilter;
use backstock::{copy, CopyOptions, CopyProgress, CopyReport};
use std::sync::atomic::Ordering;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub from: FromRepoOpts,
    /// Snapshots to copy: `latest`, full IDs or unique prefixes (default: every snapshot the
    /// filters match)
    #[arg(value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Show what would be copied without writing anything
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let mut src = a.from.open(g)?;
    let mut dst = g.open()?;
    let opts = CopyOptions {
        snapshots: a.snapshots,
        filter: SnapshotFilter::from(a.filter),
        dry_run: a.dry_run,
    };
    let progress = CopyProgress::default();
    let status = || {
        format!(
            "{} blobs read, {}",
            progress.blobs.load(Ordering::Relaxed),
            human(progress.bytes.load(Ordering::Relaxed))
        )
    };
    let result = with_progress(g.progress(), status, || {
        copy(&mut src, &mut dst, &opts, &progress)
    });
    let report = result.with_context(|| {
        format!(
            "copying from {} to {}",
            src.backend().location(),
            dst.backend().location()
        )
    })?;
    if g.json {
        outln!("{}", serde_json::to_string_pretty(&report_json(&report))?)?;
    } else if !g.quiet {
        print_report(&report)?;
    }
    Ok(0)
}

fn report_json(r: &CopyReport) -> serde_json::Value {
    let copied: Vec<_> = r
        .copied
        .iter()
        .map(|c| {
            let mut v = snapshot_json(&c.source, &c.snapshot);
            if let Some(o) = v.as_object_mut() {
                o.insert("copy".into(), serde_json::json!(c.copy));
            }
            v
        })
        .collect();
    serde_json::json!({
        "related": r.related,
        "dry_run": r.dry_run,
        "snapshots_copied": r.copied.len(),
        "copied": copied,
        "already_present": r.already_present,
        "blobs_read": r.blobs_read,
        "blobs_copied": r.blobs_copied,
        "blobs_present": r.blobs_present,
        "bytes_copied": r.bytes_copied,
        "bytes_stored": r.bytes_stored,
        "packs_written": r.packs_written,
    })
}

fn print_report(r: &CopyReport) -> Result<()> {
    let verb = if r.dry_run { "would copy" } else { "copied" };
    for c in &r.copied {
        let s = &c.snapshot;
        let to = c
            .copy
            .map(|id| format!(" -> {}", id.short()))
            .unwrap_or_default();
        outln!(
            "{verb} snapshot {}{to}  {}  {}  {}",
            c.source.short(),
            s.time
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S"),
            s.hostname,
            s.paths.join(", ")
        )?;
    }
    outln!(
        "{verb} {} snapshots ({} already there)",
        r.copied.len(),
        r.already_present.len()
    )?;
    if r.dry_run && !r.related {
        outln!(
            "would read {} blobs; which of them are new is known only once they are read",
            r.blobs_read
        )?;
    } else {
        outln!(
            "{verb} {} blobs ({}, {} stored) in {} packs; {} blobs already there{}",
            r.blobs_copied,
            human(r.bytes_copied),
            human(r.bytes_stored),
            r.packs_written,
            r.blobs_present,
            if r.related {
                ""
            } else {
                " (unrelated repositories: every blob was read and named anew)"
            }
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn arguments_parse_into_the_options() {
        let cli = Cli::try_parse_from([
            "backstock",
            "-r",
            "/dst",
            "copy",
            "--from-repo",
            "/src",
            "--from-password-file",
            "/pw",
            "latest",
            "abcd",
            "--host",
            "shop",
            "--tag",
            "daily",
            "--path",
            "/srv",
            "--dry-run",
        ])
        .unwrap();
        let Command::Copy(a) = cli.command else {
            panic!("not copy: {:?}", cli.command)
        };
        assert_eq!(
            a.from.from_repo.as_deref(),
            Some(std::path::Path::new("/src"))
        );
        assert_eq!(
            a.from.from_password_file.as_deref(),
            Some(std::path::Path::new("/pw"))
        );
        assert_eq!(a.snapshots, ["latest", "abcd"]);
        assert_eq!(
            (a.filter.hosts, a.filter.tags, a.filter.paths),
            (
                vec!["shop".into()],
                vec!["daily".into()],
                vec!["/srv".into()]
            )
        );
        assert!(a.dry_run);
    }

    #[test]
    fn init_takes_the_related_options() {
        let cli = Cli::try_parse_from([
            "backstock",
            "init",
            "--from-repo",
            "rest:http://u:p@host:8000/",
            "--copy-chunker-params",
            "--pack-size",
            "4M",
        ])
        .unwrap();
        let Command::Init(a) = cli.command else {
            panic!("not init")
        };
        assert!(a.copy_chunker_params);
        assert_eq!(a.pack_size, Some(4 << 20));
        assert!(a.from.from_repo.is_some());
    }
}
