use super::common::GlobalOpts;
use anyhow::Result;
use backstock::crypto::kdf::KdfParams;
use backstock::repository::Repository;

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(g: &GlobalOpts, _a: Args) -> Result<i32> {
    let backend = g.backend()?;
    let password = g.password(true)?;
    let repo = Repository::init(backend, &password, KdfParams::default())?;
    if g.json {
        println!(
            "{}",
            serde_json::json!({"id": repo.config().id, "repository": g.repo_path()?, "key": repo.key_id()})
        );
    } else if !g.quiet {
        println!(
            "created repository {} at {}",
            repo.config().id.short(),
            g.repo_path()?.display()
        );
        println!("keep the password safe: without it the data cannot be recovered");
    }
    Ok(0)
}
