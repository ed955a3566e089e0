use super::common::{human, with_progress, GlobalOpts};
use super::exit;
use super::lists;
use anyhow::{bail, Context, Result};
use backstock::{
    backup, backup_from, stdin_node_name, BackupOptions, CommandOutput, FileEvent, FileStatus,
    Progress,
};
use chrono::{Local, NaiveDateTime, TimeZone};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Files and directories to back up (with --stdin-from-command: the command and its arguments)
    pub paths: Vec<PathBuf>,
    /// Read the paths to back up from FILE, one per line ('#' comments; glob patterns expanded;
    /// '-' for standard input; repeatable)
    #[arg(long, value_name = "FILE")]
    pub files_from: Vec<PathBuf>,
    /// Read the paths to back up from FILE, one per line, exactly as written (repeatable)
    #[arg(long, value_name = "FILE")]
    pub files_from_verbatim: Vec<PathBuf>,
    /// Read the paths to back up from FILE, separated by NUL bytes, as `find -print0` writes them
    /// (repeatable)
    #[arg(long, value_name = "FILE")]
    pub files_from_raw: Vec<PathBuf>,
    /// Host name recorded in the snapshot (default: this machine's)
    #[arg(long)]
    pub host: Option<String>,
    /// Tags for the snapshot: `--tag a,b` and `--tag a --tag b` both give two tags
    #[arg(long = "tag", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Leave out paths matching this pattern (repeatable): a pattern starting with '/' matches the
    /// absolute path from the root, any other matches the path's last components at any depth
    /// ('*.tmp', 'node_modules', 'u/.cache'), as in restic
    #[arg(long = "exclude", value_name = "PATTERN")]
    pub excludes: Vec<String>,
    /// --exclude, ignoring case (repeatable)
    #[arg(long = "iexclude", value_name = "PATTERN")]
    pub iexcludes: Vec<String>,
    /// Read --exclude patterns from FILE, one per line ('#' comments; $VAR expanded; repeatable)
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Vec<PathBuf>,
    /// Read --iexclude patterns from FILE, one per line (repeatable)
    #[arg(long, value_name = "FILE")]
    pub iexclude_file: Vec<PathBuf>,
    /// Leave out directories marked as caches (holding a CACHEDIR.TAG file)
    #[arg(long)]
    pub exclude_caches: bool,
    /// Leave out directories holding a file named NAME (or, with NAME:HEADER, one starting with
    /// HEADER) (repeatable)
    #[arg(long, value_name = "NAME[:HEADER]")]
    pub exclude_if_present: Vec<String>,
    /// Leave out files larger than SIZE (500M, 2G, ...)
    #[arg(long, value_name = "SIZE", value_parser = super::common::parse_size)]
    pub exclude_larger_than: Option<u64>,
    /// Do not cross file system boundaries: directories on other file systems are recorded
    /// without their entries (kernel file systems such as /proc and /sys never are backed up)
    #[arg(short = 'x', long)]
    pub one_file_system: bool,
    /// Read and chunk as a backup would, and report what it would add; write nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Take a file from the parent snapshot even if its ctime changed (size and mtime still count)
    #[arg(long)]
    pub ignore_ctime: bool,
    /// Take a file from the parent snapshot even if its inode number or ctime changed (file
    /// systems without stable inode numbers)
    #[arg(long)]
    pub ignore_inode: bool,
    /// How many threads walk and read files (default: one per core)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub read_concurrency: Option<u16>,
    /// Snapshot time instead of now, "YYYY-MM-DD HH:MM:SS" local time
    #[arg(long)]
    pub time: Option<String>,
    /// Back up standard input
    #[arg(long, conflicts_with = "stdin_from_command")]
    pub stdin: bool,
    /// Back up the output of the command given instead of paths (after `--`), as one file; a
    /// command that fails saves no snapshot (database dumps: `--stdin-from-command -- pg_dump db`)
    #[arg(long)]
    pub stdin_from_command: bool,
    /// File name for --stdin and --stdin-from-command
    #[arg(long, default_value = "stdin")]
    pub stdin_filename: String,
    /// Parent snapshot for change detection (default: latest with the same host and paths)
    #[arg(long)]
    pub parent: Option<String>,
    /// Read all files, ignoring the parent snapshot
    #[arg(long)]
    pub force: bool,
}

pub fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::FixedOffset>> {
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .with_context(|| format!("--time {s:?}: expected \"YYYY-MM-DD HH:MM:SS\""))?;
    let local = Local
        .from_local_datetime(&naive)
        .earliest()
        .with_context(|| format!("--time {s:?} does not exist in the local time zone"))?;
    Ok(local.fixed_offset())
}

/// The paths to back up: those given, then those of each `--files-from*` list.
fn paths(a: &Args) -> Result<Vec<PathBuf>> {
    let mut paths = a.paths.clone();
    for f in &a.files_from {
        paths.extend(lists::files_from(f)?);
    }
    for f in &a.files_from_verbatim {
        paths.extend(lists::files_from_verbatim(f)?);
    }
    for f in &a.files_from_raw {
        paths.extend(lists::files_from_raw(f)?);
    }
    Ok(paths)
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let from_stdin = a.stdin || a.stdin_from_command;
    let has_lists = !(a.files_from.is_empty()
        && a.files_from_verbatim.is_empty()
        && a.files_from_raw.is_empty());
    if a.stdin && (!a.paths.is_empty() || has_lists) {
        bail!("--stdin cannot be combined with paths");
    }
    if a.stdin_from_command && (a.paths.is_empty() || has_lists) {
        bail!("--stdin-from-command needs the command after `--` (e.g. -- pg_dump shop), and no paths");
    }
    let paths = if from_stdin { Vec::new() } else { paths(&a)? };
    if !from_stdin && paths.is_empty() {
        bail!(
            "nothing to back up: give at least one path{} (or --stdin)",
            if has_lists {
                " (the --files-from lists are empty)"
            } else {
                ""
            }
        );
    }
    if from_stdin {
        stdin_node_name(&a.stdin_filename)?;
    }
    let time = a.time.as_deref().map(parse_time).transpose()?;
    let mut excludes = a.excludes.clone();
    for f in &a.exclude_file {
        excludes.extend(lists::patterns_from(f)?);
    }
    let mut iexcludes = a.iexcludes.clone();
    for f in &a.iexclude_file {
        iexcludes.extend(lists::patterns_from(f)?);
    }
    let opts = BackupOptions {
        paths,
        host: a.host,
        tags: a.tags.into_iter().filter(|t| !t.is_empty()).collect(),
        excludes,
        iexcludes,
        exclude_if_present: a.exclude_if_present,
        exclude_caches: a.exclude_caches,
        exclude_larger_than: a.exclude_larger_than,
        one_file_system: a.one_file_system,
        ignore_ctime: a.ignore_ctime,
        ignore_inode: a.ignore_inode,
        dry_run: a.dry_run,
        read_concurrency: a.read_concurrency.map(usize::from),
        time,
        stdin_name: from_stdin.then_some(a.stdin_filename),
        parent: a.parent,
        force: a.force,
    };
    let mut repo = g.open()?;
    let mut progress = Progress::default();
    if g.verbose > 0 && !g.json {
        let all = g.verbose > 1;
        progress.on_file = Some(Box::new(move |e: &FileEvent<'_>| {
            let what = match e.status {
                FileStatus::New => "new",
                FileStatus::Modified => "modified",
                FileStatus::Unchanged if all => "unchanged",
                FileStatus::Unchanged => return,
            };
            eprintln!("{what:<9} {} ({})", e.path.display(), human(e.size));
        }));
    }
    let start = Instant::now();
    let result = with_progress(
        g.progress(),
        || {
            format!(
                "{} files, {} processed",
                progress.files.load(Ordering::Relaxed),
                human(progress.bytes.load(Ordering::Relaxed))
            )
        },
        || {
            if a.stdin_from_command {
                let argv: Vec<String> = a
                    .paths
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                let mut out = CommandOutput::start(&argv)?;
                backup_from(&mut repo, &opts, &progress, &mut out)
            } else {
                backup(&mut repo, &opts, &progress)
            }
        },
    )?;
    let secs = start.elapsed().as_secs_f64();
    for (path, err) in &result.failures {
        eprintln!("error: could not read {path}: {err}");
    }
    for path in &result.changed {
        eprintln!("warning: file changed while it was read: {path}");
    }
    if g.verbose > 0 {
        for (path, why) in &result.skipped {
            eprintln!("not backed up: {path}: {why}");
        }
    }
    let s = &result.snapshot.summary;
    // Remote stores only (a local repository counts nothing).
    let ops = backstock::backend::storage_operations();
    if g.json {
        outln!(
            "{}",
            serde_json::json!({
                "snapshot_id": result.id,
                "short_id": result.id.map(|id| id.short()),
                "dry_run": opts.dry_run,
                "version": env!("CARGO_PKG_VERSION"),
                "parent": result.parent,
                "summary": s,
                "duration_seconds": secs,
                "failures": result.failures.iter().map(|(p, e)| serde_json::json!({"path": p, "error": e})).collect::<Vec<_>>(),
                "files_changed_while_read": result.changed.len(),
                "changed_while_read": result.changed,
                "skipped": result.skipped.iter().map(|(p, w)| serde_json::json!({"path": p, "reason": w})).collect::<Vec<_>>(),
                "storage_operations": ops,
            })
        )?;
    } else if !g.quiet {
        if let Some(p) = result.parent {
            outln!("using parent snapshot {}", p.short())?;
        }
        outln!(
            "Files:       {} new, {} changed, {} unchanged",
            s.files_new,
            s.files_changed,
            s.files_unchanged
        )?;
        outln!(
            "Dirs:        {} new, {} changed, {} unchanged",
            s.dirs_new,
            s.dirs_changed,
            s.dirs_unchanged
        )?;
        outln!(
            "Added:       {} ({} stored, {} blobs)",
            human(s.bytes_added),
            human(s.bytes_added_stored),
            s.blobs_added
        )?;
        outln!(
            "Processed:   {} files, {} ({} read) in {secs:.2}s",
            s.files_new + s.files_changed + s.files_unchanged,
            human(s.bytes_processed),
            human(s.bytes_read)
        )?;
        if !result.changed.is_empty() {
            outln!(
                "Changed:     {} files changed while they were read (stored as read)",
                result.changed.len()
            )?;
        }
        if !result.skipped.is_empty() {
            outln!(
                "Skipped:     {} entries not backed up (kernel file systems, other file systems \
                 with -x, unknown types; named with -v)",
                result.skipped.len()
            )?;
        }
        if g.verbose > 0 && ops.total() > 0 {
            outln!(
                "Storage:     {} operations ({} lists, {} reads, {} pack reads, {} writes, {} deletes, {} stats)",
                ops.total(),
                ops.lists,
                ops.reads,
                ops.pack_reads,
                ops.writes,
                ops.deletes,
                ops.stats
            )?;
        }
        match result.id {
            Some(id) => outln!("snapshot {} saved", id.short())?,
            None => outln!(
                "dry run: nothing was written; {} of new data would be added ({} stored)",
                human(s.bytes_added),
                human(s.bytes_added_stored)
            )?,
        }
    }
    if !result.failures.is_empty() {
        eprintln!(
            "warning: {} files or directories could not be read; the snapshot is incomplete",
            result.failures.len()
        );
        return Ok(exit::PARTIAL_BACKUP);
    }
    Ok(exit::OK)
}
