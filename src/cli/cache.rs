use super::common::{human, GlobalOpts};
use anyhow::Result;
use backstock::repository::cache_dirs;
use std::time::{Duration, SystemTime};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Remove the caches of repositories not used for --max-age days
    #[arg(long)]
    pub cleanup: bool,
    /// Days without use after which --cleanup removes a cache
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub max_age: u64,
}

/// Lists the local caches (or, with --cleanup, removes the old ones). Needs no repository.
pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let base = g.cache_dir.as_deref();
    let now = SystemTime::now();
    let max_age = Duration::from_secs(a.max_age.saturating_mul(86_400));
    if a.cleanup {
        let removed = cache_dirs::cleanup(base, max_age, now)?;
        if g.json {
            outln!("{}", serde_json::json!({"removed": removed}))?;
        } else if !g.quiet {
            for c in &removed {
                outln!("removed {} ({})", c.path.display(), human(c.bytes))?;
            }
            outln!(
                "{} caches unused for {} days or more removed",
                removed.len(),
                a.max_age
            )?;
        }
        return Ok(0);
    }
    let caches = cache_dirs::list(base)?;
    if g.json {
        outln!("{}", serde_json::to_string_pretty(&caches)?)?;
        return Ok(0);
    }
    outln!("{:<10} {:>10} {:>10}  Path", "Repo", "Last used", "Size")?;
    for c in &caches {
        let days = c.age(now).as_secs() / 86_400;
        let old = if days >= a.max_age { " (old)" } else { "" };
        outln!(
            "{:<10} {:>7} d {:>10}  {}{old}",
            &c.repo[..8],
            days,
            human(c.bytes),
            c.path.display()
        )?;
    }
    outln!("{} caches", caches.len())?;
    Ok(0)
}
