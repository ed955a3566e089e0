use super::super::common::GlobalOpts;
use anyhow::{bail, Context, Result};
use backstock::repository::snapshots::SnapshotFilter;
use backstock::shopify::{self, check_customer};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The customer's numeric ID, or guest-ORDERID for an order placed without an account
    pub customer: String,
    /// Only snapshots of this shop (NAME.myshopify.com)
    #[arg(long)]
    pub host: Option<String>,
    /// Also remove the customer's folder from this export folder, so that the next backup does
    /// not bring it back from there
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Show which snapshots hold the customer; change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    check_customer(&a.customer)?;
    let mut repo = g.open()?;
    let filter = SnapshotFilter {
        hosts: a.host.into_iter().collect(),
        ..Default::default()
    };
    let r = shopify::erase_customer(&mut repo, &filter, &a.customer, a.dry_run)?;
    let mut local_removed = false;
    if let (Some(out), false) = (&a.out, a.dry_run) {
        let dir = out.join("customers").join(&a.customer);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
            local_removed = true;
        }
    }
    if g.json {
        let mut v = serde_json::to_value(&r)?;
        v["dry_run"] = a.dry_run.into();
        v["export_folder_removed"] = local_removed.into();
        outln!("{v}")?;
    } else if !g.quiet {
        let verb = if a.dry_run {
            "would be rewritten"
        } else {
            "rewritten"
        };
        outln!(
            "customer {}: {} snapshots {verb} without customers/{}/",
            a.customer,
            r.rewritten.len(),
            a.customer
        )?;
        if let Some(p) = &r.prune {
            outln!(
                "prune: {} packs deleted, {} repacked",
                p.packs_deleted,
                p.packs_repacked
            )?;
        }
        if local_removed {
            outln!("removed customers/{}/ from the export folder", a.customer)?;
        }
        if !a.dry_run {
            outln!(
                "{} blobs of the customer's files were stored; {} remain in the index",
                r.blobs_found,
                r.blobs_left
            )?;
        }
    }
    if !a.dry_run && r.blobs_left > 0 {
        bail!(
            "{} of the customer's {} blobs are still stored (another file holds the same bytes, or \
             the storage refused a deletion); run `backstock check` and `backstock prune`",
            r.blobs_left,
            r.blobs_found
        );
    }
    Ok(0)
}
