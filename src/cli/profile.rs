//! Profiles (`-P NAME`, as in rustic): settings read from `NAME.toml` in the config directory
//! (`$XDG_CONFIG_HOME/backstock`, else `~/.config/backstock`), or from a path ending in `.toml`.
//! A value given as a flag or a `BACKSTOCK_*` variable wins over the file; lists from the file
//! (excludes, tags) come before those given. `[backup] forget = true` runs `forget` with the
//! `[forget]` policy after a backup that saved a snapshot, so a cron line is
//! `backstock -P shop backup`.
//!
//! ```toml
//! [repository]
//! repository = "s3:https://s3.example.com/shop-backups"
//! password-command = "pass show backups/shop"
//!
//! [backup]
//! sources = ["/srv/shop-export"]
//! exclude = ["*.tmp"]
//! tags = ["daily"]
//! forget = true
//!
//! [forget]
//! keep-daily = 30
//! keep-monthly = 24
//! keep-yearly = 7
//! prune = true
//! ```

use super::common::GlobalOpts;
use anyhow::{bail, Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    #[serde(default)]
    pub repository: RepoSection,
    #[serde(default)]
    pub backup: BackupSection,
    #[serde(default)]
    pub forget: ForgetSection,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RepoSection {
    pub repository: Option<String>,
    pub repository_file: Option<PathBuf>,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<String>,
    pub cache_dir: Option<PathBuf>,
    pub connections: Option<u16>,
    pub limit_upload: Option<u64>,
    pub limit_download: Option<u64>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BackupSection {
    /// Paths to back up when none are given.
    #[serde(default)]
    pub sources: Vec<PathBuf>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub iexclude: Vec<String>,
    #[serde(default)]
    pub exclude_file: Vec<PathBuf>,
    #[serde(default)]
    pub exclude_if_present: Vec<String>,
    #[serde(default)]
    pub exclude_caches: bool,
    pub exclude_larger_than: Option<String>,
    #[serde(default)]
    pub one_file_system: bool,
    pub host: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Run `forget` with the `[forget]` policy after the backup.
    #[serde(default)]
    pub forget: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ForgetSection {
    pub keep_last: Option<u32>,
    pub keep_hourly: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
    pub keep_within: Option<String>,
    #[serde(default)]
    pub keep_tag: Vec<String>,
    pub group_by: Option<String>,
    #[serde(default)]
    pub prune: bool,
}

impl ForgetSection {
    /// The policy as `forget` arguments; empty when the section sets no rule.
    fn args(&self) -> Vec<String> {
        let mut a = Vec::new();
        for (flag, v) in [
            ("--keep-last", self.keep_last),
            ("--keep-hourly", self.keep_hourly),
            ("--keep-daily", self.keep_daily),
            ("--keep-weekly", self.keep_weekly),
            ("--keep-monthly", self.keep_monthly),
            ("--keep-yearly", self.keep_yearly),
        ] {
            if let Some(n) = v {
                a.extend([flag.to_string(), n.to_string()]);
            }
        }
        if let Some(w) = &self.keep_within {
            a.extend(["--keep-within".to_string(), w.clone()]);
        }
        for t in &self.keep_tag {
            a.extend(["--keep-tag".to_string(), t.clone()]);
        }
        if let Some(g) = &self.group_by {
            a.extend(["--group-by".to_string(), g.clone()]);
        }
        a
    }

    /// `forget` arguments parsed from the profile, with `--prune` as it says.
    pub fn forget_args(&self, profile: &Path) -> Result<super::forget::Args> {
        let mut argv = vec!["forget".to_string()];
        let policy = self.args();
        if policy.is_empty() {
            bail!(
                "profile {}: [forget] sets no keep-* rule, so forget after backup would keep \
                 everything; add one or remove `forget = true`",
                profile.display()
            );
        }
        argv.extend(policy);
        if self.prune {
            argv.push("--prune".into());
        }
        let parsed = ForgetOnly::try_parse_from(argv)
            .with_context(|| format!("profile {}: [forget]", profile.display()))?;
        Ok(parsed.args)
    }
}

#[derive(clap::Parser, Debug)]
struct ForgetOnly {
    #[command(flatten)]
    args: super::forget::Args,
}

/// Where `-P NAME` is read from.
pub fn path_of(name: &str) -> Result<PathBuf> {
    if name.ends_with(".toml") || name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    let dir = dirs::config_dir()
        .context("no config directory: neither XDG_CONFIG_HOME nor HOME is set")?;
    Ok(dir.join("backstock").join(format!("{name}.toml")))
}

/// Reads and checks a profile (unknown keys are errors that name them).
pub fn load(path: &Path) -> Result<Profile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading profile {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("profile {}", path.display()))
}

impl Profile {
    /// Fills the global options the command line and environment left unset.
    pub fn apply_global(&self, g: &mut GlobalOpts) {
        let r = &self.repository;
        if g.repo.is_none() && g.repository_file.is_none() {
            g.repo = r.repository.clone().map(PathBuf::from);
            g.repository_file.clone_from(&r.repository_file);
        }
        let password_given = g.password_file.is_some()
            || g.password_command.is_some()
            || std::env::var_os("BACKSTOCK_PASSWORD").is_some();
        if !password_given {
            g.password_file.clone_from(&r.password_file);
            if g.password_file.is_none() {
                g.password_command.clone_from(&r.password_command);
            }
        }
        if g.cache_dir.is_none() {
            g.cache_dir.clone_from(&r.cache_dir);
        }
        g.connections = g.connections.or(r.connections);
        g.limit_upload = g.limit_upload.or(r.limit_upload);
        g.limit_download = g.limit_download.or(r.limit_download);
    }

    /// Fills `backup`'s arguments: sources when no path is given, the profile's excludes and
    /// tags before those given, flags the command line did not set.
    pub fn apply_backup(&self, a: &mut super::backup::Args) -> Result<()> {
        let b = &self.backup;
        let no_paths = a.paths.is_empty()
            && a.files_from.is_empty()
            && a.files_from_verbatim.is_empty()
            && a.files_from_raw.is_empty()
            && !a.stdin
            && !a.stdin_from_command;
        if no_paths {
            a.paths.clone_from(&b.sources);
        }
        let front = |mine: &[String], given: &mut Vec<String>| {
            let mut v = mine.to_vec();
            v.append(given);
            *given = v;
        };
        front(&b.exclude, &mut a.excludes);
        front(&b.iexclude, &mut a.iexcludes);
        front(&b.exclude_if_present, &mut a.exclude_if_present);
        front(&b.tags, &mut a.tags);
        let mut files = b.exclude_file.clone();
        files.append(&mut a.exclude_file);
        a.exclude_file = files;
        a.exclude_caches |= b.exclude_caches;
        a.one_file_system |= b.one_file_system;
        if a.host.is_none() {
            a.host.clone_from(&b.host);
        }
        if a.exclude_larger_than.is_none() {
            if let Some(s) = &b.exclude_larger_than {
                a.exclude_larger_than = Some(super::common::parse_size(s)?);
            }
        }
        Ok(())
    }

    /// Whether `forget` should take its policy from the profile: none given on the command line.
    pub fn apply_forget(&self, a: &mut super::forget::Args, path: &Path) -> Result<()> {
        let given = a.keep_last
            + a.keep_hourly
            + a.keep_daily
            + a.keep_weekly
            + a.keep_monthly
            + a.keep_yearly
            > 0
            || a.keep_within.is_some()
            || !a.keep_tags.is_empty()
            || !a.ids.is_empty();
        if given || self.forget.args().is_empty() {
            return Ok(());
        }
        let p = self.forget.forget_args(path)?;
        a.keep_last = p.keep_last;
        a.keep_hourly = p.keep_hourly;
        a.keep_daily = p.keep_daily;
        a.keep_weekly = p.keep_weekly;
        a.keep_monthly = p.keep_monthly;
        a.keep_yearly = p.keep_yearly;
        a.keep_within = p.keep_within;
        a.keep_tags = p.keep_tags;
        if self.forget.group_by.is_some() {
            a.group_by = p.group_by;
        }
        a.prune |= p.prune;
        Ok(())
    }
}
