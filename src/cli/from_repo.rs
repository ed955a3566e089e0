//! The source repository of `init --from-repo` and `copy`: where it is and how to unlock it, with
//! restic's `--from-*` names.

use super::common::{
    location_from_file, password_from_command, read_password, EnvPassword, GlobalOpts,
};
use anyhow::{bail, Context, Result};
use backstock::repository::Repository;
use std::path::PathBuf;

/// The source repository of `init --from-repo` and `copy`, and where its password comes from
/// (as for `-r`: `--from-password-file`, else `BACKSTOCK_FROM_PASSWORD`, else a prompt).
#[derive(clap::Args, Debug)]
pub struct FromRepoOpts {
    /// The source repository, in any form -r/--repo takes
    #[arg(
        long = "from-repo",
        value_name = "LOCATION",
        env = "BACKSTOCK_FROM_REPOSITORY",
        // A remote location may hold a password: --help shows the variable's name, not its value.
        hide_env_values = true
    )]
    pub from_repo: Option<PathBuf>,
    /// Read the source repository's location from the first line of this file (restic's
    /// --from-repository-file; not with --from-repo)
    #[arg(
        long,
        value_name = "FILE",
        env = "BACKSTOCK_FROM_REPOSITORY_FILE",
        conflicts_with = "from_repo"
    )]
    pub from_repository_file: Option<PathBuf>,
    /// Read the source repository's password from this file (its first line; wins over
    /// BACKSTOCK_FROM_PASSWORD)
    #[arg(long, value_name = "FILE", env = "BACKSTOCK_FROM_PASSWORD_FILE")]
    pub from_password_file: Option<PathBuf>,
    /// Run this command and take the first line it prints as the source repository's password
    /// (as --password-command; not with --from-password-file)
    #[arg(
        long,
        value_name = "COMMAND",
        env = "BACKSTOCK_FROM_PASSWORD_COMMAND",
        hide_env_values = true,
        conflicts_with = "from_password_file"
    )]
    pub from_password_command: Option<String>,
}

impl FromRepoOpts {
    /// Whether a source repository was named (by location or repository file).
    pub fn given(&self) -> bool {
        self.from_repo.is_some() || self.from_repository_file.is_some()
    }

    /// Opens the source repository with the global options (cache, timeouts, lock retries) but no
    /// key hint (`--key-hint` is the destination's). Errors say that the source is meant.
    pub fn open(&self, g: &GlobalOpts) -> Result<Repository> {
        let from_file;
        let location = match (&self.from_repo, &self.from_repository_file) {
            (Some(l), _) => l,
            (None, Some(f)) => {
                from_file = location_from_file(f)?;
                &from_file
            }
            (None, None) => bail!(
                "no source repository given: use --from-repo LOCATION, --from-repository-file \
                 FILE or set BACKSTOCK_FROM_REPOSITORY"
            ),
        };
        let what = || {
            format!(
                "opening the source repository (--from-repo {})",
                location.display()
            )
        };
        let backend = g.backend_at(location.as_os_str()).with_context(what)?;
        let password = match (&self.from_password_file, &self.from_password_command) {
            (None, Some(command)) => password_from_command(command)?,
            _ => read_password(self.from_password_file.as_deref(), EnvPassword::From, false)?,
        };
        g.open_backend(backend, &password, None, !g.no_cache)
            .with_context(what)
    }
}
