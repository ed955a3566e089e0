//! Key management: several passwords for one repository (`backstock key list|add|remove|passwd`).

use super::lock::LockKind;
use super::{hostname, username, Repository};
use super::{MAX_KEYS_TRIED, MAX_KEY_WORK, MAX_TOTAL_KEY_WORK};
use crate::backend::{Backend, FileType};
use crate::crypto::kdf::KdfParams;
use crate::crypto::MasterKeys;
use crate::error::bail;
use crate::error::{Context, Result};
use crate::format::keyfile::{KeyFile, OpenError};
use crate::ids::{storage_hash, KeyId};
use serde::Serialize;

/// The work a key file's parameters demand, in KiB of memory times passes.
fn work(k: &KdfParams) -> u64 {
    k.m_cost as u64 * k.t_cost as u64
}

/// Finds the key file that `password` opens. Order: those whose ID starts with `cli_hint`, then
/// the one that opened the repository last time (`cached_hint`), then the cheapest first, so that
/// costly key files a hostile store adds are tried last. At most [`MAX_KEYS_TRIED`] files and
/// [`MAX_TOTAL_KEY_WORK`] are spent; a key file that demands more than [`MAX_KEY_WORK`] is skipped.
pub(crate) fn open_keys(
    backend: &dyn Backend,
    password: &[u8],
    cli_hint: Option<&str>,
    cached_hint: Option<KeyId>,
) -> Result<(MasterKeys, KeyId)> {
    let loc = backend.location();
    let names = backend.list(FileType::Key)?;
    if names.is_empty() {
        bail!(Damaged, "repository at {loc} has no key files");
    }
    let cli_hint = cli_hint.map(|h| h.to_ascii_lowercase());
    if let Some(h) = &cli_hint {
        if !names.iter().any(|(n, _)| n.starts_with(h.as_str())) {
            bail!(
                InvalidInput,
                "--key-hint {h:?} matches no key file (see `backstock key list`)"
            );
        }
    }
    let mut corrupt: Vec<String> = Vec::new();
    let mut candidates: Vec<(u8, u64, String, KeyFile, KeyId)> = Vec::new();
    for (name, size) in &names {
        // Checked here too, before reading, so that a junk file is named as such.
        let max = FileType::Key.max_size();
        if *size > max {
            corrupt.push(format!(
                "keys/{name} is {size} bytes, larger than any valid key file ({max} bytes at most)"
            ));
            continue;
        }
        let bytes = match backend.read(FileType::Key, name) {
            Ok(b) => b,
            Err(e) => {
                corrupt.push(format!(
                    "keys/{name} cannot be read: {:#}",
                    crate::error::Error::from(e)
                ));
                continue;
            }
        };
        let id = KeyId(storage_hash(&bytes));
        if id.to_hex() != *name {
            corrupt.push(format!(
                "keys/{name} is corrupt: its content does not match its name"
            ));
            continue;
        }
        let kf = match KeyFile::decode(&bytes) {
            Ok(kf) => kf,
            Err(e) => {
                corrupt.push(format!("keys/{name} is corrupt: {e}"));
                continue;
            }
        };
        let cost = work(&kf.kdf);
        if cost > MAX_KEY_WORK {
            log::warn!(
                "skipping keys/{name}: it demands {} KiB x {} passes of key derivation, more than backstock ever writes",
                kf.kdf.m_cost, kf.kdf.t_cost
            );
            continue;
        }
        let rank = if cli_hint.as_deref().is_some_and(|h| name.starts_with(h)) {
            0
        } else if Some(id) == cached_hint {
            1
        } else {
            2
        };
        candidates.push((rank, cost, name.clone(), kf, id));
    }
    if !candidates.is_empty() {
        for c in &corrupt {
            log::warn!("skipping {c}");
        }
    }
    candidates.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    let (mut tried, mut spent) = (0usize, 0u64);
    for (_, cost, name, kf, id) in &candidates {
        if tried == MAX_KEYS_TRIED || spent + cost > MAX_TOTAL_KEY_WORK {
            log::warn!(
                "stopped after trying {tried} of {} key files (the limit per command); name the right one with --key-hint",
                candidates.len()
            );
            break;
        }
        tried += 1;
        spent += cost;
        match kf.open(password) {
            Ok(keys) => return Ok((keys, *id)),
            Err(OpenError::WrongPassword) => {}
            Err(OpenError::Kdf(e)) => log::warn!("key file keys/{name}: {e}"),
        }
    }
    if candidates.is_empty() && !corrupt.is_empty() {
        bail!(
            Damaged,
            "no usable key file in {loc}: {}. Restore the key files from a copy of the repository",
            corrupt.join("; ")
        );
    }
    if !corrupt.is_empty() {
        log::warn!("if a key file skipped above held this password, restore it from a copy of the repository");
    }
    bail!(
        WrongPassword,
        "wrong password: no key file in {loc} opens with it"
    )
}

/// A key file as `key list` shows it (no secret material).
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// The key file's ID (its name under `keys/`).
    pub id: KeyId,
    /// Whether this key opened the repository.
    pub current: bool,
    /// Host that added the key.
    pub host: String,
    /// User that added the key.
    pub user: String,
    /// When the key was added, in Unix seconds.
    pub created: i64,
    /// argon2id memory cost in KiB.
    pub m_cost_kib: u32,
    /// argon2id iterations.
    pub t_cost: u32,
    /// argon2id lanes.
    pub p_cost: u32,
}

/// Writes a new key file wrapping `keys` with `password`, naming this host and user.
/// The host and user a key file records (for `key list`); this machine's and this user's unless
/// given, as restic's `key add --host/--user`.
#[derive(Debug, Clone, Default)]
pub struct KeyLabel {
    /// Host name to record instead of this machine's.
    pub host: Option<String>,
    /// User name to record instead of the current user's.
    pub user: Option<String>,
}

pub(crate) fn write_key_file(
    backend: &dyn crate::backend::Backend,
    keys: &crate::crypto::MasterKeys,
    password: &[u8],
    kdf: KdfParams,
    label: &KeyLabel,
) -> Result<KeyId> {
    let host = label.host.clone().unwrap_or_else(hostname);
    let user = label.user.clone().unwrap_or_else(username);
    for (what, v) in [("host", &host), ("user", &user)] {
        if v.len() > 255 {
            bail!(InvalidInput, "--{what} is longer than 255 bytes");
        }
    }
    let kf = KeyFile::create(
        keys,
        password,
        kdf,
        chrono::Utc::now().timestamp(),
        &host,
        &user,
    )
    .context("creating key")?;
    let bytes = kf.encode();
    let id = KeyId(storage_hash(&bytes));
    backend.write(FileType::Key, &id.to_hex(), &bytes)?;
    Ok(id)
}

impl Repository {
    /// Every key file in the repository, oldest first; each is read, verified and decoded.
    pub fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let _lock = self.lock(LockKind::Read)?;
        let mut out = Vec::new();
        for (name, _) in self.backend().list(FileType::Key)? {
            let id = KeyId::from_hex(&name).with_context(|| format!("keys/{name}"))?;
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
    pub fn add_key(&self, password: &[u8], kdf: KdfParams, label: &KeyLabel) -> Result<KeyId> {
        let _lock = self.lock(LockKind::Append)?;
        write_key_file(self.backend(), self.keys(), password, kdf, label)
    }

    /// Resolves a full key ID or a unique prefix (at least 4 hex digits).
    pub fn find_key(&self, spec: &str) -> Result<KeyId> {
        let spec = spec.to_ascii_lowercase();
        if spec.len() < 4 || !spec.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!(
                InvalidInput,
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
            [] => bail!(
                NotFound,
                "no key matches {spec:?} (see `backstock key list`)"
            ),
            _ => bail!(
                InvalidInput,
                "{spec:?} matches {} keys: give more digits",
                found.len()
            ),
        }
    }

    /// Removes a key file. The key in use and the last key are refused.
    pub fn remove_key(&self, id: KeyId) -> Result<()> {
        let _lock = self.lock(LockKind::Exclusive)?;
        self.require_deletes("key remove")?;
        if id == self.key_id() {
            bail!(
                InvalidInput,
                "key {} is the one in use; open the repository with another password to remove it",
                id.short()
            );
        }
        let keys = self.backend().list(FileType::Key)?;
        if keys.len() <= 1 {
            bail!(
                InvalidInput,
                "refusing to remove the last key: the repository could never be opened again"
            );
        }
        if !keys.iter().any(|(n, _)| *n == id.to_hex()) {
            bail!(NotFound, "no key {id}");
        }
        self.delete(FileType::Key, &id.to_hex())
    }

    /// Replaces the key in use by one for `new_password`; returns the new key's ID.
    pub fn change_password(
        &mut self,
        new_password: &[u8],
        kdf: KdfParams,
        label: &KeyLabel,
    ) -> Result<KeyId> {
        let _lock = self.lock(LockKind::Exclusive)?;
        let old = self.key_id();
        let new = write_key_file(self.backend(), self.keys(), new_password, kdf, label)?;
        // The new key is written before the old one goes, so a crash leaves at least one.
        self.set_key_id(new);
        self.delete(FileType::Key, &old.to_hex())
            .with_context(|| format!("removing old key {}", old.short()))?;
        Ok(new)
    }
}
