use super::super::backup as engine_backup;
use super::super::common::GlobalOpts;
use super::export::{self, print_report};
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub export: export::Args,
    /// Tags for the snapshot: `--tag a,b` and `--tag a --tag b` both give two tags
    #[arg(long = "tag", value_delimiter = ',')]
    pub tags: Vec<String>,
}

/// Exports the store, then backs the export folder up with the shop as the host, so that
/// `snapshots --host`, `forget` and `find` work per shop. No snapshot is made if the export fails.
pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    // Open the repository first: a wrong password should not cost a whole export.
    drop(g.open()?);
    let report = export::export(&a.export)?;
    if !g.quiet && !g.json {
        print_report(&report)?;
    }
    let backup = engine_backup::Args {
        paths: vec![a.export.out.clone()],
        host: Some(a.export.shop.clone()),
        tags: a.tags,
        stdin_filename: "stdin".to_string(),
        ..Default::default()
    };
    engine_backup::run(g, backup)
}
