use super::common::GlobalOpts;
use super::snapshots::snapshot_json;
use anyhow::{bail, Result};
use backstock::repository::snapshots::SnapshotFilter;
use backstock::{
    forget, forget_and_prune, Decision, ForgetOptions, GroupBy, GroupKey, KeepDuration, Policy,
    PruneOptions,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshots to remove: full IDs or unique prefixes of at least 4 hex digits (instead of a policy)
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Keep the N newest snapshots
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_last: u32,
    /// Keep the newest snapshot of each of the N newest hours that have one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_hourly: u32,
    /// Keep the newest snapshot of each of the N newest days that have one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_daily: u32,
    /// Keep the newest snapshot of each of the N newest ISO weeks (Monday to Sunday) that have one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_weekly: u32,
    /// Keep the newest snapshot of each of the N newest months that have one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_monthly: u32,
    /// Keep the newest snapshot of each of the N newest years that have one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_yearly: u32,
    /// Keep every snapshot within this duration of the group's newest one, e.g. 1y6m2d3h
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keep_within: Option<KeepDuration>,
    /// Keep every snapshot with this tag (repeatable)
    #[arg(long = "keep-tag", value_name = "TAG")]
    pub keep_tags: Vec<String>,
    /// Apply the policy per group of snapshots sharing these fields: host, paths, tags ("" for one group)
    #[arg(long, value_name = "FIELDS", default_value = "host,paths", value_parser = parse_group_by)]
    pub group_by: GroupBy,
    #[command(flatten)]
    pub filter: super::snapshots::FilterArgs,
    /// Show what would be removed without removing anything
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Run `prune` afterwards to free the space of the removed snapshots
    #[arg(long)]
    pub prune: bool,
}

fn parse_duration(s: &str) -> Result<KeepDuration> {
    Ok(s.parse()?)
}

fn parse_group_by(s: &str) -> Result<GroupBy> {
    Ok(s.parse()?)
}

fn describe(key: &GroupKey) -> String {
    let mut parts = Vec::new();
    if let Some(h) = &key.host {
        parts.push(format!("host {h:?}"));
    }
    if let Some(p) = &key.paths {
        parts.push(format!("paths [{}]", p.join(", ")));
    }
    if let Some(t) = &key.tags {
        parts.push(format!("tags [{}]", t.join(", ")));
    }
    if parts.is_empty() {
        "snapshots".to_string()
    } else {
        format!("snapshots for {}", parts.join(", "))
    }
}

fn decision_json(d: &Decision) -> serde_json::Value {
    let mut v = snapshot_json(&d.id, &d.snapshot);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("reasons".into(), serde_json::json!(d.reasons));
    }
    v
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let opts = ForgetOptions {
        policy: Policy {
            last: a.keep_last,
            hourly: a.keep_hourly,
            daily: a.keep_daily,
            weekly: a.keep_weekly,
            monthly: a.keep_monthly,
            yearly: a.keep_yearly,
            within: a.keep_within,
            tags: a.keep_tags,
        },
        group_by: a.group_by,
        filter: SnapshotFilter::from(a.filter),
        ids: a.ids,
        dry_run: a.dry_run,
    };
    let mut repo = g.open()?;
    // With --prune the duration printed for the prune includes the forget before it, which takes
    // a fraction of it.
    let start = std::time::Instant::now();
    let (report, pruned) = if a.prune {
        forget_and_prune(
            &mut repo,
            &opts,
            &PruneOptions::default(),
            chrono::Utc::now(),
        )?
    } else {
        (forget(&repo, &opts, chrono::Utc::now())?, None)
    };
    let all = || report.groups.iter().flat_map(|gr| gr.decisions.iter());
    let kept = all().filter(|d| d.keep).count();
    let removed = all().count() - kept;
    // With --prune, one JSON document holds both: {"forget": [...], "prune": {...}}.
    let mut forget_json = None;
    if g.json {
        let groups: Vec<_> = report
            .groups
            .iter()
            .map(|gr| {
                let (keep, remove): (Vec<&Decision>, Vec<&Decision>) =
                    gr.decisions.iter().partition(|d| d.keep);
                serde_json::json!({
                    "group": {"host": gr.key.host, "paths": gr.key.paths, "tags": gr.key.tags},
                    "keep": keep.into_iter().map(decision_json).collect::<Vec<_>>(),
                    "remove": remove.into_iter().map(decision_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        if a.prune {
            forget_json = Some(groups);
        } else {
            outln!("{}", serde_json::to_string_pretty(&groups)?)?;
        }
    } else if !g.quiet {
        for gr in &report.groups {
            outln!("{}:", describe(&gr.key))?;
            outln!("{:<10} {:<26} {:<8} Reasons", "ID", "Time", "Action")?;
            outln!("{}", "-".repeat(66))?;
            for d in &gr.decisions {
                outln!(
                    "{:<10} {:<26} {:<8} {}",
                    d.id.short(),
                    d.snapshot.time.format("%Y-%m-%d %H:%M:%S %:z"),
                    if d.keep { "keep" } else { "remove" },
                    d.reasons.join(", ")
                )?;
            }
            outln!()?;
        }
        if report.groups.is_empty() {
            outln!("no snapshots match")?;
        }
        outln!("{kept} snapshots kept, {removed} removed")?;
        if a.dry_run {
            outln!("dry run: nothing was removed")?;
        }
    }
    for (id, err) in &report.failures {
        eprintln!("error: could not remove snapshot {}: {err:#}", id.short());
    }
    if !report.failures.is_empty() {
        bail!(
            "{} of {removed} snapshots could not be removed",
            report.failures.len()
        );
    }
    if a.prune && a.dry_run && !g.quiet && !g.json {
        outln!("--prune is skipped with --dry-run")?;
    }
    let secs = start.elapsed().as_secs_f64();
    let pruned = pruned.transpose()?;
    match (forget_json, pruned) {
        (Some(groups), pruned) => {
            let prune = match pruned {
                Some(p) => {
                    let mut v = serde_json::to_value(&p)?;
                    v["duration_seconds"] = serde_json::json!(secs);
                    v
                }
                None => serde_json::Value::Null,
            };
            outln!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"forget": groups, "prune": prune})
                )?
            )?;
        }
        (None, Some(p)) => super::prune::print_report(g, &p, secs)?,
        (None, None) => {}
    }
    Ok(0)
}
