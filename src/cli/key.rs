use super::common::GlobalOpts;
use anyhow::{bail, Context, Result};
use backstock::crypto::kdf::KdfParams;
use backstock::repository::keys::KeyLabel;
use std::io::IsTerminal;
use std::path::PathBuf;
use zeroize::Zeroizing;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List key files
    List,
    /// Add a password
    Add(NewPassword),
    /// Remove a key file (not the one in use, not the last)
    Remove {
        /// Key ID or unique prefix
        id: String,
    },
    /// Change the password in use
    Passwd(NewPassword),
}

#[derive(clap::Args, Debug)]
pub struct NewPassword {
    /// Read the new password from this file (else BACKSTOCK_NEW_PASSWORD, else a prompt)
    #[arg(long)]
    pub new_password_file: Option<PathBuf>,
    /// Host name the new key records (default: this machine's)
    #[arg(long)]
    pub host: Option<String>,
    /// User name the new key records (default: the current user's)
    #[arg(long)]
    pub user: Option<String>,
}

impl NewPassword {
    fn label(&self) -> KeyLabel {
        KeyLabel {
            host: self.host.clone(),
            user: self.user.clone(),
        }
    }
}

fn new_password(a: &NewPassword) -> Result<Zeroizing<Vec<u8>>> {
    if let Some(f) = &a.new_password_file {
        let s = Zeroizing::new(
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
        );
        let line = s.lines().next().unwrap_or("");
        if line.is_empty() {
            bail!("new password file {} is empty", f.display());
        }
        return Ok(Zeroizing::new(line.as_bytes().to_vec()));
    }
    if let Some(p) = std::env::var_os("BACKSTOCK_NEW_PASSWORD") {
        if p.is_empty() {
            bail!("BACKSTOCK_NEW_PASSWORD is empty");
        }
        return Ok(Zeroizing::new(p.into_encoded_bytes()));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no new password: use --new-password-file or BACKSTOCK_NEW_PASSWORD");
    }
    let p = Zeroizing::new(rpassword::prompt_password("enter new password: ")?);
    let again = Zeroizing::new(rpassword::prompt_password("enter new password again: ")?);
    if *p != *again {
        bail!("the passwords do not match");
    }
    if p.is_empty() {
        bail!("an empty password is not allowed");
    }
    Ok(Zeroizing::new(p.as_bytes().to_vec()))
}

pub fn run(g: &GlobalOpts, c: Command) -> Result<i32> {
    let mut repo = g.open()?;
    match c {
        Command::List => {
            let keys = repo.list_keys()?;
            if g.json {
                outln!("{}", serde_json::to_string_pretty(&keys)?)?;
            } else {
                outln!(" {:<10} {:<12} {:<20} Created", "ID", "User", "Host")?;
                for k in keys {
                    let created = chrono::DateTime::from_timestamp(k.created, 0)
                        .map(|t| {
                            t.with_timezone(&chrono::Local)
                                .format("%Y-%m-%d %H:%M:%S")
                                .to_string()
                        })
                        .unwrap_or_default();
                    outln!(
                        "{}{:<10} {:<12} {:<20} {created}",
                        if k.current { "*" } else { " " },
                        k.id.short(),
                        k.user,
                        k.host
                    )?;
                }
            }
        }
        Command::Add(a) => {
            let pw = new_password(&a)?;
            let id = repo.add_key(&pw, KdfParams::default(), &a.label())?;
            if g.json {
                outln!("{}", serde_json::json!({"added": id}))?;
            } else if !g.quiet {
                outln!("added key {}", id.short())?;
            }
        }
        Command::Remove { id } => {
            let id = repo.find_key(&id)?;
            repo.remove_key(id)?;
            if g.json {
                outln!("{}", serde_json::json!({"removed": id}))?;
            } else if !g.quiet {
                outln!("removed key {}", id.short())?;
            }
        }
        Command::Passwd(a) => {
            let pw = new_password(&a)?;
            let old = repo.key_id();
            let id = repo.change_password(&pw, KdfParams::default(), &a.label())?;
            if g.json {
                outln!("{}", serde_json::json!({"removed": old, "added": id}))?;
            } else if !g.quiet {
                outln!("password changed; new key {}", id.short())?;
            }
        }
    }
    Ok(0)
}
