//! backstock: a deduplicating, encrypted, versioned backup engine.
//!
//! Layers, bottom to top: `format`, `crypto`, `chunker` -> `backend` -> `repository` ->
//! `archiver`, `restorer` -> `cli` (in the binary). Data flows one way.

pub mod archiver;
pub mod backend;
pub mod chunker;
pub mod compress;
pub mod crypto;
pub(crate) mod direct_io;
pub mod error;
pub mod format;
pub mod ids;
pub mod inspect;
pub mod maintenance;
pub mod pathmatch;
pub mod repository;
pub mod restorer;
pub mod sync;
