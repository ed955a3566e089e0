//! Key management: several passwords for one repository (`backstock key list|add|remove|passwd`).

use super::{hostname, username, Repository};
use crate::backend::FileType;
use crate::crypto::kdf::KdfParams;
use crate::format::keyfile::KeyFile;
use crate::ids::{storage_hash, KeyId};
use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub id: KeyId,
    pub current: bool,
    pub host: String,
    pub user: String,
    pub created: i64,
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

/// Writes a new key file wrapping `keys` with `password`, naming this host and user.
pub(crate) fn write_key_file(
    backend: &dyn crate::backend::Backend,
    keys: &crate::crypto::MasterKeys,
    password: &[u8],
    kdf: KdfParams,
) -> Result<KeyId> {
    let kf = KeyFile::create(
        keys,
        password,
        kdf,
        chrono::Utc::now().timestamp(),
        &hostname(),
        &username(),
    )
    .map_err(|e| anyhow!("creating key: {e}"))?;
    let bytes = kf.encode();
    let id = KeyId(storage_hash(&bytes));
    backend.write(FileType::Key, &id.to_hex(), &bytes)?;
    Ok(id)
}

impl Repository {
    pub fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let mut out = Vec::new();
        for (name, _) in self.backend().list(FileType::Key)? {
            let id = KeyId::from_hex(&name).map_err(|e| anyhow!("keys/{name}: {e}"))?;
            let bytes = self.read_verified(FileType::Key, &name)?;
            let kf = KeyFile::decode(&bytes).with_context(|| format!("decoding keys/{name}"))?;
            out.push(KeyInfo {
                id,
                current: id == self.key_id(),
                host: kf.host,
                user: kf.user,
                created: kf.created,
                m_cost_kib: kf.kdf.m_cost,
                t_cost: kf.kdf.t_cost,
                p_cost: kf.kdf.p_cost,
            });
        }
        out.sort_by_key(|k| k.created);
        Ok(out)
    }

    /// Adds a key file that wraps the master keys with `password`.
    pub fn add_key(&self, password: &[u8], kdf: KdfParams) -> Result<KeyId> {
        write_key_file(self.backend(), self.keys(), password, kdf)
    }

    /// Resolves a full key ID or a unique prefix (at least 4 hex digits).
    pub fn find_key(&self, spec: &str) -> Result<KeyId> {
        let spec = spec.to_ascii_lowercase();
        if spec.len() < 4 || !spec.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!(
                "{spec:?} is not a key ID: give at least 4 hex digits (see `backstock key list`)"
            );
        }
        let found: Vec<KeyId> = self
            .backend()
            .list(FileType::Key)?
            .into_iter()
            .filter(|(n, _)| n.starts_with(&spec))
            .filter_map(|(n, _)| KeyId::from_hex(&n).ok())
            .collect();
        match found.as_slice() {
            [id] => Ok(*id),
            [] => bail!("no key matches {spec:?} (see `backstock key list`)"),
            _ => bail!("{spec:?} matches {} keys: give more digits", found.len()),
        }
    }

    /// Removes a key file. The key in use and the last key are refused.
    pub fn remove_key(&self, id: KeyId) -> Result<()> {
        if id == self.key_id() {
            bail!(
                "key {} is the one in use; open the repository with another password to remove it",
                id.short()
            );
        }
        let keys = self.backend().list(FileType::Key)?;
        if keys.len() <= 1 {
            bail!("refusing to remove the last key: the repository could never be opened again");
        }
        if !keys.iter().any(|(n, _)| *n == id.to_hex()) {
            bail!("no key {id}");
        }
        self.backend().delete(FileType::Key, &id.to_hex())
    }

    /// Replaces the key in use by one for `new_password`; returns the new key's ID.
    pub fn change_password(&mut self, new_password: &[u8], kdf: KdfParams) -> Result<KeyId> {
        let old = self.key_id();
        let new = self.add_key(new_password, kdf)?;
        // The new key is written before the old one goes, so a crash leaves at least one.
        self.set_key_id(new);
        self.backend()
            .delete(FileType::Key, &old.to_hex())
            .with_context(|| format!("removing old key {}", old.short()))?;
        Ok(new)
    }
}
