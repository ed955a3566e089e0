//! backstock: a deduplicating, encrypted, versioned backup engine.
//!
//! Layers, bottom to top: `format`, `crypto`, `chunker` -> `backend` -> `repository` ->
//! `archiver`, `restorer` -> `cli` (in the binary). Data flows one way.
//!
//! # Public surface
//!
//! What a user of the engine needs is re-exported at the crate root: [`Repository`] with
//! [`OpenOptions`], the operations ([`backup`], [`restore`], [`check`], [`prune`], [`forget`],
//! [`repair_index`], [`repair_snapshots`], [`Finder`], [`diff_nodes`], [`stats`], [`copy`]) with their
//! options and reports, the IDs ([`SnapshotId`], [`BlobId`], ...), [`Error`], [`ErrorKind`] and
//! [`Result`], and the storage extension point ([`Backend`], [`LocalBackend`], [`BackendError`]).
//!
//! Some modules are public as well, each for a stated reason:
//!
//! * `backend`: the extension point; a new storage backend implements [`Backend`] and needs
//!   [`backend::FileType`], [`backend::BackendErrorKind`] and [`backend::Result`].
//! * `format`: the on-disk encodings and their decoders, which the fuzz targets and the
//!   integration tests drive directly, and the tree nodes and snapshots that `ls`, `find` and
//!   `cat` print.
//! * `crypto`: key-derivation parameters (`init`, `key`) and the key material the fuzz targets
//!   and tests need to build and open sealed files.
//! * `ids`, `error`: small, and named by path throughout the binary.
//! * `repository`: the repository itself (opening, locks, the index, snapshots, keys), which the
//!   binary's read commands and the integration tests use beyond the root re-exports.
//! * `prune_plan` (re-exported): prune's pure accounting, the subject of a fuzz target.
//! * `chunker`, `compress`: measured on their own by `benches/components.rs`.
//!
//! The engines of the commands (`archiver`, `restorer`, `maintenance`, `inspect`, `transfer`) are private:
//! what of them is public is re-exported above. `pathmatch`, `sync` and `direct_io` are private
//! helpers.

mod archiver;
pub mod backend;
pub mod chunker;
pub mod compress;
pub mod crypto;
mod direct_io;
pub mod error;
pub mod format;
pub mod ids;
mod inspect;
mod maintenance;
#[cfg(feature = "mount")]
pub mod mount;
mod pathmatch;
pub mod repository;
mod restorer;
pub mod shopify;
mod sync;
mod transfer;

pub use archiver::{
    backup, backup_from, stdin_node_name, BackupOptions, BackupResult, CommandOutput, FileEvent,
    FileStatus, Progress, CACHEDIR_TAG,
};
pub use backend::{Backend, BackendError, BackendErrorKind, LocalBackend};
pub use error::{Error, ErrorKind, Result};
pub use ids::{BlobId, IndexId, KeyId, PackId, ParseIdError, RepoId, SnapshotId};
pub use inspect::diff::{diff_nodes, resolve as resolve_node, Change, ChangeKind, DiffTotals};
pub use inspect::dump::{dump, ArchiveFormat, DumpSummary};
pub use inspect::find::{Finder, Match, Query as FindQuery};
pub use inspect::list::list;
pub use inspect::stats::{stats, Mode as StatsMode, Stats};
pub use inspect::tree_reader::TreeReader;
pub use maintenance::check::{check, CheckReport, ReadData};
pub use maintenance::forget::{
    forget, forget_and_prune, forget_locked, prune_after, Decision, ForgetOptions, ForgetReport,
    GroupBy, GroupDecision, GroupKey, KeepDuration, Policy,
};
pub use maintenance::prune::{
    execute as execute_prune, plan as plan_prune, prune, prune_locked, PruneOptions, PrunePlan,
    PruneReport,
};
pub use maintenance::prune_plan;
pub use maintenance::repair::{repair_index, RepairIndexOptions, RepairReport};
pub use maintenance::repair_snapshots::{
    repair_snapshots, RepairSnapshotsOptions, RepairSnapshotsReport, REPAIRED_TAG,
};
pub use maintenance::rewrite::{rewrite, RewriteOptions, Rewritten, REWRITE_TAG};
pub use maintenance::tag::{tag, Retagged, TagChange};
pub use repository::lock::LockKind;
pub use repository::snapshots::SnapshotFilter;
pub use repository::{OpenOptions, Repository};
pub use restorer::{
    restore, restore_dry_run, Action as RestoreAction, DryRun as RestoreDryRun, Overwrite,
    PlannedEntry, RestoreOptions, RestoreProgress, RestoreSummary,
};
pub use transfer::{copy, CopiedSnapshot, CopyOptions, CopyProgress, CopyReport};
