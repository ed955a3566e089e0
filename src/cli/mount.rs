use super::common::GlobalOpts;
use super::snapshots::FilterArgs;
use anyhow::{Context, Result};
use backstock::repository::snapshots::SnapshotFilter;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Empty directory to mount the snapshots at (read-only, until unmounted or interrupted)
    pub mountpoint: PathBuf,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// The mount point while mounted, so that an interrupt can unmount it before the process exits.
static MOUNTED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Unmounts what `mount` mounted (lazily: open files keep working until closed). Called by the
/// SIGINT/SIGTERM handler before it exits.
pub fn unmount_on_exit() {
    let path = MOUNTED.lock().ok().and_then(|mut m| m.take());
    if let Some(p) = path {
        let _ = std::process::Command::new("fusermount3")
            .arg("-u")
            .arg("-z")
            .arg(&p)
            .status();
    }
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    if !a.mountpoint.is_dir() {
        anyhow::bail!(
            "mount point {} is not a directory: create an empty directory first",
            a.mountpoint.display()
        );
    }
    let (repo, lock) = g.open_for_reading()?;
    let filter = SnapshotFilter::from(a.filter);
    let snaps: Vec<_> = repo
        .snapshots()?
        .into_iter()
        .filter(|(_, s)| filter.matches(s))
        .collect();
    let count = snaps.len();
    let fs = backstock::mount::SnapshotFs::new(repo, lock, snaps);
    let session = backstock::mount::mount(fs, &a.mountpoint).with_context(|| {
        format!(
            "mounting at {} (needs /dev/fuse and fusermount3, from Debian's fuse3)",
            a.mountpoint.display()
        )
    })?;
    if let Ok(mut m) = MOUNTED.lock() {
        *m = Some(a.mountpoint.clone());
    }
    if !g.quiet {
        eprintln!(
            "{count} snapshots mounted at {} (read-only); `umount {}` or Ctrl-C to stop",
            a.mountpoint.display(),
            a.mountpoint.display()
        );
    }
    // Until unmounted from outside (the session thread then ends) or interrupted (the handler
    // unmounts and exits).
    while !session.guard.is_finished() {
        std::thread::sleep(Duration::from_millis(200));
    }
    if let Ok(mut m) = MOUNTED.lock() {
        *m = None;
    }
    match session.guard.join() {
        Ok(r) => r.context("serving the mount")?,
        Err(_) => anyhow::bail!("the mount's thread panicked"),
    }
    Ok(0)
}
