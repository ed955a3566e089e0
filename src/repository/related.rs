//! Related repositories (design.md §8, "Related repositories"): a repository made with
//! `init --from-repo SRC --copy-chunker-params` shares SRC's blob-ID key and chunker config, so the
//! same data is cut at the same places and gets the same blob IDs in both, and `copy` moves blobs
//! between them without re-hashing and trees without rewriting them. Its encryption key, repository
//! ID and passwords are its own.

use super::Repository;
use crate::backend::Backend;
use crate::crypto::kdf::KdfParams;
use crate::crypto::MasterKeys;
use crate::error::Result;
use crate::format::config::Config;
use crate::ids::RepoId;
use std::sync::Arc;

/// What two repositories' ID keys are compared by: each names this with its key, so the keys
/// themselves are never compared or copied out.
const PROBE: &[u8] = b"backstock: do these repositories share the blob-ID key?";

impl Repository {
    /// Creates a repository related to `source`: the same blob-ID key (`MasterKeys.id`) and chunker
    /// config (version, gear secret or seed, chunk sizes), the same compression level and, unless
    /// `pack_size` is given, pack size; a fresh encryption key, repository ID and key file for
    /// `password`. Refuses a location that holds a repository, as [`Repository::init`] does.
    pub fn init_related(
        backend: Arc<dyn Backend>,
        password: &[u8],
        kdf: KdfParams,
        source: &Repository,
        pack_size: Option<u32>,
    ) -> Result<Repository> {
        Self::init_related_locked(backend, password, kdf, source, pack_size, None)
    }

    /// `init_related` with the new repository's own object lock (`source`'s is not copied).
    pub fn init_related_locked(
        backend: Arc<dyn Backend>,
        password: &[u8],
        kdf: KdfParams,
        source: &Repository,
        pack_size: Option<u32>,
        object_lock: Option<crate::backend::ObjectLock>,
    ) -> Result<Repository> {
        let mut keys = MasterKeys::generate();
        // The generated ID key is dropped here, and zeroized with it.
        keys.id = source.keys().id.clone();
        let config = Config {
            id: RepoId([0; 32]),
            object_lock,
            ..source.config().clone()
        };
        Self::create(backend, password, kdf, config, keys, pack_size)
    }

    /// Whether `other` names blobs with the same key as this repository (it is this repository,
    /// a copy of it, or related to it): then the same data has the same blob ID in both.
    pub fn shares_blob_ids_with(&self, other: &Repository) -> bool {
        self.keys().blob_id(PROBE) == other.keys().blob_id(PROBE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::LocalBackend;
    use crate::crypto::kdf::M_COST_MIN;
    use crate::error::ErrorKind;

    const KDF: KdfParams = KdfParams {
        m_cost: M_COST_MIN,
        t_cost: 1,
        p_cost: 1,
    };

    fn local(dir: &std::path::Path, name: &str) -> Arc<dyn Backend> {
        Arc::new(LocalBackend::new(dir.join(name)))
    }

    #[test]
    fn a_related_repository_shares_the_id_key_and_chunker_but_not_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let src =
            Repository::init_with(local(dir.path(), "a"), b"pw-a", KDF, Some(2 << 20)).unwrap();
        let rel =
            Repository::init_related(local(dir.path(), "b"), b"pw-b", KDF, &src, None).unwrap();
        let other = Repository::init(local(dir.path(), "c"), b"pw-a", KDF).unwrap();

        assert!(rel.shares_blob_ids_with(&src) && src.shares_blob_ids_with(&rel));
        assert!(!other.shares_blob_ids_with(&src));
        assert_eq!(rel.keys().blob_id(b"x"), src.keys().blob_id(b"x"));
        assert_ne!(rel.keys().enc.expose(), src.keys().enc.expose());
        assert_ne!(rel.config().id, src.config().id);
        assert_eq!(rel.config().chunker, src.config().chunker);
        assert_eq!(rel.config().version, src.config().version);
        assert_eq!(rel.config().pack_size, 2 << 20);
        assert_eq!(
            rel.config().compression_level,
            src.config().compression_level
        );
        assert_ne!(rel.config().chunker, other.config().chunker);

        // It opens with its own password only, and keeps what it was made with.
        let opened = Repository::open(local(dir.path(), "b"), b"pw-b", &no_cache()).unwrap();
        assert!(opened.shares_blob_ids_with(&src));
        assert_eq!(opened.config(), rel.config());
        let wrong = Repository::open(local(dir.path(), "b"), b"pw-a", &no_cache());
        assert_eq!(
            wrong.err().map(|e| e.kind()),
            Some(ErrorKind::WrongPassword)
        );
    }

    #[test]
    fn a_given_pack_size_wins_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let src = Repository::init(local(dir.path(), "a"), b"pw", KDF).unwrap();
        let rel = Repository::init_related(local(dir.path(), "b"), b"pw", KDF, &src, Some(4 << 20))
            .unwrap();
        assert_eq!(rel.config().pack_size, 4 << 20);
        let bad = Repository::init_related(local(dir.path(), "c"), b"pw", KDF, &src, Some(1000));
        assert_eq!(bad.err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
        // Nor over an existing repository.
        let again = Repository::init_related(local(dir.path(), "b"), b"pw", KDF, &src, None);
        assert_eq!(again.err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
    }

    fn no_cache() -> crate::repository::OpenOptions {
        crate::repository::OpenOptions {
            no_cache: true,
            ..Default::default()
        }
    }
}
