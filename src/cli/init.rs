use super::common::{human, parse_size, GlobalOpts};
use anyhow::Result;
use backstock::crypto::kdf::KdfParams;
use backstock::repository::Repository;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Target pack size (default 16M; 1M to 1G)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub pack_size: Option<u64>,
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
    let backend = g.backend()?;
    // The location as the backend shows it: a remote one without its password.
    let location = backend.location();
    let password = g.password(true)?;
    let repo = Repository::init_with(backend, &password, KdfParams::default(), pack_size)?;
    if !g.no_cache {
        // This machine made the key: it is the one to try first here.
        if let Err(e) = repo.remember_key(g.cache_dir.as_deref()) {
            eprintln!("warning: {e:#}");
        }
    }
    if g.json {
        outln!(
            "{}",
            serde_json::json!({"id": repo.config().id, "repository": location, "key": repo.key_id()})
        )?;
    } else if !g.quiet {
        outln!(
            "created repository {} at {}",
            repo.config().id.short(),
            location
        )?;
        outln!("keep the password safe: without it the data cannot be recovered")?;
    }
    Ok(0)
}
