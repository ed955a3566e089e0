//! The integration tests, in one binary (one link, one process): each module is what used to be a
//! separate `tests/*.rs` file; `util` holds the helpers they share. Tests run on threads of this one
//! process, so none may change process-wide state (environment, working directory, umask): every
//! command gets its environment and directory on its own `Command`.

mod util;

mod backup_safety;
mod backup_select;
mod bench;
mod cache_damage;
mod cold;
mod compat;
mod concurrent;
mod copy;
mod crash;
mod dedup_privacy;
mod deep_tree;
mod dump_archive;
mod errors;
mod fidelity;
mod forget;
mod inspect;
mod inspect_options;
mod locking;
mod maintenance;
mod maintenance_faults;
mod mount;
mod object_lock;
mod rclone;
mod repo_files;
mod repo_open;
mod rest;
mod restore_options;
mod restore_safety;
mod restore_select;
mod roundtrip;
mod s3;
mod s3_signed;
mod shell_config;
mod shopify;
mod shopify_erase;
mod shopify_items;
mod shopify_restore;
mod shopify_restore_records;
mod snapshots_cat;
mod storage_view;
mod tag_rewrite;
