use super::super::common::GlobalOpts;
use super::diff::{describe, name};
use anyhow::{bail, Result};
use backstock::repository::snapshots::SnapshotFilter;
use backstock::shopify;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The item: KIND ID (`product 4211`, `customer 7`, `theme 12/sections/header.liquid`) or
    /// its file in the export (`products/4211.json`)
    #[arg(required = true, num_args = 1..=2)]
    pub item: Vec<String>,
    /// Only snapshots of this shop (NAME.myshopify.com)
    #[arg(long)]
    pub host: Option<String>,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let Some(rel) = shopify::file_of(&a.item) else {
        bail!(
            "{:?} names no item: give KIND ID (product, collection, page, redirect, order, \
             customer, theme) or a file of the export such as products/4211.json",
            a.item.join(" ")
        );
    };
    let (repo, _lock) = g.open_for_reading()?;
    let filter = SnapshotFilter {
        hosts: a.host.into_iter().collect(),
        ..Default::default()
    };
    let versions = shopify::history(&repo, &filter, &rel)?;
    if g.json {
        outln!("{}", serde_json::to_string(&versions)?)?;
        return Ok(0);
    }
    match versions.last() {
        None => outln!("{rel} is in none of the snapshots")?,
        Some(v) => outln!(
            "{}: {} version{}",
            name(&v.change),
            versions.len(),
            if versions.len() == 1 { "" } else { "s" }
        )?,
    }
    for v in &versions {
        outln!(
            "{}  {}  {}",
            v.time.format("%Y-%m-%d %H:%M:%S"),
            v.snapshot.short(),
            describe(&v.change)
        )?;
    }
    Ok(0)
}
