use super::common::{human, parse_size, GlobalOpts};
use super::from_repo::FromRepoOpts;
use anyhow::{bail, Result};
use backstock::backend::{ObjectLock, RetentionMode};
use backstock::crypto::kdf::KdfParams;
use backstock::repository::Repository;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Target pack size (default 16M; 1M to 1G)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub pack_size: Option<u64>,
    #[command(flatten)]
    pub from: FromRepoOpts,
    /// Make the new repository related to --from-repo: the same chunker parameters and blob-ID key
    /// (and pack size and compression level, unless given), so that `copy` between the two moves
    /// blobs by ID; encryption key and password stay its own
    #[arg(long)]
    pub copy_chunker_params: bool,
    /// Write every file but lock files under retention for DAYS days from its write (S3 object
    /// lock; the bucket must have object lock enabled, or not exist yet); prune keeps what is
    /// under retention and extends the retention of what snapshots use
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub object_lock: Option<u32>,
    /// How strictly files are kept: governance (accounts with s3:BypassGovernanceRetention can
    /// still delete them) or compliance (nobody can, not even the account's root)
    #[arg(
        long,
        value_name = "MODE",
        requires = "object_lock",
        default_value = "governance"
    )]
    pub object_lock_mode: LockMode,
}

/// `--object-lock-mode`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LockMode {
    Governance,
    Compliance,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let pack_size = a
        .pack_size
        .map(|s| {
            u32::try_from(s).map_err(|_| {
                anyhow::anyhow!("--pack-size {}: must be between 1 MiB and 1 GiB", human(s))
            })
        })
        .transpose()?;
    let source = match (a.from.given(), a.copy_chunker_params) {
        (false, false) => None,
        (true, true) => Some(a.from.open(g)?),
        (false, true) => {
            bail!("--copy-chunker-params needs the repository to take them from: give --from-repo LOCATION (or set BACKSTOCK_FROM_REPOSITORY)")
        }
        (true, false) => bail!(
            "--from-repo/--from-repository-file (or BACKSTOCK_FROM_REPOSITORY) is only used with --copy-chunker-params, which makes the new repository related to it; add --copy-chunker-params, or drop --from-repo and unset BACKSTOCK_FROM_REPOSITORY"
        ),
    };
    let backend = g.backend()?;
    // The location as the backend shows it: a remote one without its password.
    let location = backend.location();
    let password = g.password(true)?;
    let kdf = KdfParams::default();
    let lock = a.object_lock.map(|days| ObjectLock {
        days,
        mode: match a.object_lock_mode {
            LockMode::Governance => RetentionMode::Governance,
            LockMode::Compliance => RetentionMode::Compliance,
        },
    });
    let repo = match &source {
        Some(src) => {
            Repository::init_related_locked(backend, &password, kdf, src, pack_size, lock)?
        }
        None => Repository::init_locked(backend, &password, kdf, pack_size, lock)?,
    };
    if !g.no_cache {
        // This machine made the key: it is the one to try first here.
        if let Err(e) = repo.remember_key(g.cache_dir.as_deref()) {
            eprintln!("warning: {e:#}");
        }
    }
    if g.json {
        outln!(
            "{}",
            serde_json::json!({"id": repo.config().id, "repository": location, "key": repo.key_id(),
                "related_to": source.as_ref().map(|s| s.config().id),
                "object_lock": repo.config().object_lock})
        )?;
    } else if !g.quiet {
        outln!(
            "created repository {} at {}",
            repo.config().id.short(),
            location
        )?;
        if let Some(src) = &source {
            outln!(
                "related to repository {} at {}: same chunker parameters and blob-ID key, so `copy` between them skips what is already there",
                src.config().id.short(),
                src.backend().location()
            )?;
        }
        if let Some(lock) = repo.config().object_lock {
            outln!(
                "every file but lock files is kept under retention for {} days from its write ({} mode)",
                lock.days,
                lock.mode.name()
            )?;
        }
        outln!("keep the password safe: without it the data cannot be recovered")?;
    }
    Ok(0)
}
