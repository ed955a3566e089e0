use super::common::{human, with_progress, GlobalOpts};
use anyhow::Result;
use backstock::{stats, StatsMode as Mode};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshots to count (default: all)
    pub snapshots: Vec<String>,
    /// What to count
    #[arg(long, value_enum, default_value_t = CliMode::RestoreSize)]
    pub mode: CliMode,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CliMode {
    /// Files, directories and bytes as a restore would write them
    RestoreSize,
    /// Unique blobs and their raw and stored sizes
    RawData,
    /// Files counted once per distinct content
    FilesByContents,
    /// Files counted once per distinct content, with their blobs
    BlobsPerFile,
}

fn ratio(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.2}x")).unwrap_or_else(|| "-".into())
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let (repo, _lock) = g.open_for_reading()?;
    let snaps = repo.select_snapshots(&a.snapshots)?;
    let roots: Vec<_> = snaps.iter().map(|(_, s)| s.tree).collect();
    let mode = match a.mode {
        CliMode::RestoreSize => Mode::RestoreSize,
        CliMode::RawData => Mode::RawData,
        CliMode::FilesByContents => Mode::FilesByContents,
        CliMode::BlobsPerFile => Mode::BlobsPerFile,
    };
    let dirs = AtomicU64::new(0);
    let st = with_progress(
        g.progress(),
        || format!("{} directories read", dirs.load(Ordering::Relaxed)),
        || stats(&repo, &roots, mode, &dirs),
    )?;
    let mode = match mode {
        Mode::RestoreSize => "restore-size",
        Mode::RawData => "raw-data",
        Mode::FilesByContents => "files-by-contents",
        Mode::BlobsPerFile => "blobs-per-file",
    };
    // By contents, the file count and size are those of the distinct contents (restic's meaning).
    let (files, bytes) = match st.by_contents {
        Some(c) => (c.files, c.bytes),
        None => (st.restore.files, st.restore.bytes),
    };
    let blobs_per_file = st
        .by_contents
        .filter(|_| mode == "blobs-per-file")
        .map(|c| c.blobs);
    if g.json {
        let mut v = serde_json::json!({
            "mode": mode,
            "snapshots_processed": st.snapshots_processed,
            "total_file_count": files,
            "total_dir_count": st.restore.dirs,
            "total_symlink_count": st.restore.others,
            "total_size": bytes,
        });
        if let (Some(b), Some(obj)) = (blobs_per_file, v.as_object_mut()) {
            obj.insert("total_blob_count".into(), b.into());
        }
        if let (Some(raw), Some(obj)) = (st.raw, v.as_object_mut()) {
            let extra = serde_json::json!({
                "total_blob_count": raw.data_blobs + raw.tree_blobs,
                "data_blob_count": raw.data_blobs,
                "tree_blob_count": raw.tree_blobs,
                "total_raw_size": raw.raw_size,
                "data_raw_size": raw.data_raw_size,
                "total_stored_size": raw.stored_size,
                "dedup_ratio": st.dedup_ratio(),
                "compression_ratio": st.compression_ratio(),
            });
            if let Some(e) = extra.as_object() {
                obj.extend(e.clone());
            }
        }
        outln!("{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(0);
    }
    let row = |k: &str, v: String| outln!("{k:>22}:  {v}");
    outln!("Stats in {mode} mode:")?;
    row("Snapshots processed", st.snapshots_processed.to_string())?;
    row("Total file count", files.to_string())?;
    if st.by_contents.is_none() {
        row("Total dir count", st.restore.dirs.to_string())?;
        if st.restore.others > 0 {
            row("Total other count", st.restore.others.to_string())?;
        }
    }
    if let Some(b) = blobs_per_file {
        row("Total blob count", b.to_string())?;
    }
    row("Total size", format!("{} ({bytes} bytes)", human(bytes)))?;
    if let Some(raw) = st.raw {
        row(
            "Total blob count",
            format!(
                "{} ({} data, {} tree)",
                raw.data_blobs + raw.tree_blobs,
                raw.data_blobs,
                raw.tree_blobs
            ),
        )?;
        row("Total raw size", human(raw.raw_size))?;
        row("Unique file data", human(raw.data_raw_size))?;
        row("Total stored size", human(raw.stored_size))?;
        row("Deduplication ratio", ratio(st.dedup_ratio()))?;
        row("Compression ratio", ratio(st.compression_ratio()))?;
    }
    Ok(0)
}
