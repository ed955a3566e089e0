use super::common::{human, GlobalOpts};
use super::snapshots::FilterArgs;
use anyhow::{Context, Result};
use backstock::format::tree::{NodeKind, Timestamp};
use backstock::repository::snapshots::SnapshotFilter;
use backstock::{BlobId, FindQuery, Finder, PackId};
use chrono::TimeZone;

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true)
    .args(["patterns", "blobs", "trees", "packs"])))]
pub struct Args {
    /// Patterns, matched against the path in the snapshot as backup's --exclude is
    pub patterns: Vec<String>,
    /// Match patterns ignoring case
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    /// Entries holding this data blob (full ID; repeatable)
    #[arg(long = "blob", value_name = "ID")]
    pub blobs: Vec<String>,
    /// Directories made of this tree blob (full ID; repeatable)
    #[arg(long = "tree", value_name = "ID")]
    pub trees: Vec<String>,
    /// Entries holding any blob of this pack (full ID; repeatable)
    #[arg(long = "pack", value_name = "ID")]
    pub packs: Vec<String>,
    /// Only entries modified at or after this time ("YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS", local)
    #[arg(long, value_name = "TIME")]
    pub oldest: Option<String>,
    /// Only entries modified at or before this time
    #[arg(long, value_name = "TIME")]
    pub newest: Option<String>,
    /// Search only this snapshot (repeatable; default: all snapshots)
    #[arg(short = 's', long = "snapshot")]
    pub snapshots: Vec<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// A local date ("YYYY-MM-DD", its start) or date and time.
fn parse_when(s: &str, end_of_day: bool) -> Result<Timestamp> {
    let naive = match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if end_of_day => d.and_hms_nano_opt(23, 59, 59, 999_999_999),
        Ok(d) => d.and_hms_opt(0, 0, 0),
        Err(_) => chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok(),
    }
    .with_context(|| format!("{s:?}: expected \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM:SS\""))?;
    let t = chrono::Local
        .from_local_datetime(&naive)
        .earliest()
        .with_context(|| format!("{s:?} does not exist in the local time zone"))?;
    Ok(Timestamp {
        sec: t.timestamp(),
        nsec: t.timestamp_subsec_nanos(),
    })
}

/// The query the arguments describe; a pack's blobs are read from its header.
fn query(repo: &backstock::repository::Repository, a: &Args) -> Result<FindQuery> {
    let mut q = FindQuery::default();
    if a.ignore_case {
        q.ipatterns = a.patterns.clone();
    } else {
        q.patterns = a.patterns.clone();
    }
    for id in a.blobs.iter().chain(&a.trees) {
        q.ids
            .insert(BlobId::from_hex(id).with_context(|| format!("{id:?} is not a full blob ID"))?);
    }
    for p in &a.packs {
        let pack = PackId::from_hex(p).with_context(|| format!("{p:?} is not a full pack ID"))?;
        let size = repo
            .index()
            .pack_size(&pack)
            .with_context(|| format!("pack {p} is not in the index"))?;
        let entries = repo.read_pack_header(&pack, size.into())?;
        q.ids.extend(entries.iter().map(|e| e.id));
    }
    q.oldest = a
        .oldest
        .as_deref()
        .map(|s| parse_when(s, false))
        .transpose()?;
    q.newest = a
        .newest
        .as_deref()
        .map(|s| parse_when(s, true))
        .transpose()?;
    Ok(q)
}

fn rfc3339(t: Timestamp) -> Option<String> {
    chrono::DateTime::from_timestamp(t.sec, t.nsec).map(|d| d.to_rfc3339())
}

fn local(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp(t.sec, t.nsec)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let (repo, _lock) = g.open_for_reading()?;
    let filter = SnapshotFilter::from(a.filter.clone());
    let mut snaps = repo.select_snapshots(&a.snapshots)?;
    snaps.retain(|(_, s)| filter.matches(s));
    let mut finder = Finder::with_query(&repo, query(&repo, &a)?)?;
    let mut json = Vec::new();
    let (mut found_in, mut total) = (0, 0);
    for (id, snap) in snaps.drain(..) {
        let matches = finder.find(&snap.tree)?;
        if matches.is_empty() {
            continue;
        }
        found_in += 1;
        total += matches.len();
        if g.json {
            let m: Vec<_> = matches
                .iter()
                .map(|m| {
                    serde_json::json!({"path": m.path, "type": m.kind, "size": m.size,
                        "mtime": rfc3339(m.mtime)})
                })
                .collect();
            json.push(
                serde_json::json!({"snapshot": id, "time": snap.time.to_rfc3339(),
                "matches": m}),
            );
            continue;
        }
        outln!(
            "snapshot {} of {} ({}):",
            id.short(),
            snap.time
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S"),
            snap.hostname
        )?;
        for m in &matches {
            let kind = match m.kind {
                NodeKind::Dir => "dir",
                NodeKind::CharDevice => "chardev",
                NodeKind::BlockDevice => "blockdev",
                other => other.describe(),
            };
            outln!(
                "  {kind:<8} {:>12}  {}  {}",
                human(m.size),
                local(m.mtime),
                m.path
            )?;
        }
        outln!()?;
    }
    if g.json {
        outln!("{}", serde_json::to_string_pretty(&json)?)?;
    } else if !g.quiet {
        let searched = if a.snapshots.is_empty() {
            "all snapshots".to_string()
        } else {
            "the given snapshots".to_string()
        };
        if total == 0 {
            outln!("no matches in {searched}")?;
        } else {
            outln!("{total} matches in {found_in} snapshots ({searched} searched)")?;
        }
    }
    Ok(0)
}
