use super::super::common::GlobalOpts;
use super::export::connection;
use anyhow::{bail, Result};
use backstock::repository::snapshots::SnapshotFilter;
use backstock::shopify::{self, Outcome, RestoreOptions, DEFAULT_API_VERSION};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The snapshot to take the items from (ID or `latest`)
    pub snapshot: String,
    /// The items: KIND ID pairs (`product 4211`, `theme 12/sections/header.liquid`) or files of
    /// the export (`products/4211.json`)
    #[arg(required = true)]
    pub items: Vec<String>,
    /// The shop's export folder, where the map of recreated IDs and the audit log are kept
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write to this shop instead of the snapshot's (NAME.myshopify.com)
    #[arg(long, value_name = "SHOP")]
    pub to_shop: Option<String>,
    /// The Admin API version
    #[arg(long, default_value = DEFAULT_API_VERSION)]
    pub api_version: String,
    /// Talk to this Admin API endpoint instead of https://SHOP (a test server)
    #[arg(long, value_name = "URL")]
    pub admin_url: Option<String>,
    /// Print what would be sent; write nothing to the store
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

/// The items' files: `KIND ID` pairs and paths, in the order given.
fn item_files(tokens: &[String]) -> Result<Vec<String>> {
    const KINDS: &[&str] = &[
        "product",
        "products",
        "collection",
        "collections",
        "page",
        "pages",
        "redirect",
        "redirects",
        "order",
        "orders",
        "customer",
        "customers",
        "blog",
        "blogs",
        "article",
        "articles",
        "menu",
        "menus",
        "metaobject",
        "metaobjects",
        "location",
        "locations",
        "inventory",
        "theme",
        "themes",
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let words: &[String] = if KINDS.contains(&tokens[i].as_str()) && i + 1 < tokens.len() {
            &tokens[i..i + 2]
        } else {
            &tokens[i..i + 1]
        };
        i += words.len();
        match shopify::file_of(words) {
            Some(f) => out.push(f),
            None => bail!(
                "{:?} names no item: give KIND ID (product 4211, theme 12/layout/theme.liquid) or \
                 a file of the export (products/4211.json)",
                words.join(" ")
            ),
        }
    }
    Ok(out)
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let items = item_files(&a.items)?;
    let (repo, _lock) = g.open_for_reading()?;
    let (_, snap) = repo.find_snapshot(&a.snapshot, &SnapshotFilter::default())?;
    let shop = a.to_shop.clone().unwrap_or(snap.hostname);
    let opts = RestoreOptions {
        store: connection(&shop, &a.admin_url, &a.api_version)?,
        out: a.out,
        snapshot: a.snapshot,
        items,
        dry_run: a.dry_run,
        user: uzers::get_current_username()
            .map(|u| u.to_string_lossy().into_owned())
            .unwrap_or_else(|| "unknown".to_string()),
    };
    let r = shopify::restore(&repo, &opts)?;
    if g.json {
        outln!("{}", serde_json::to_string(&r)?)?;
    } else if !g.quiet {
        for i in &r.items {
            let what = match i.outcome {
                Outcome::Restored => "restored",
                Outcome::WouldRestore => "would restore",
                Outcome::Failed => "FAILED",
                Outcome::NotRestorable => "not restorable",
            };
            outln!("{what}: {}: {}", i.item, i.detail)?;
            if let Some(sent) = &i.sent {
                outln!("{}", serde_json::to_string_pretty(sent)?)?;
            }
        }
    }
    let bad = r
        .items
        .iter()
        .filter(|i| matches!(i.outcome, Outcome::Failed | Outcome::NotRestorable))
        .count();
    if bad > 0 {
        bail!(
            "{bad} of {} items were not restored into {} (see above); the others were",
            r.items.len(),
            r.shop
        );
    }
    Ok(0)
}
