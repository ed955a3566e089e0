use super::super::common::{human, GlobalOpts};
use super::super::exit;
use anyhow::{Context, Result};
use backstock::shopify::{
    self, Connection, ExportOptions, ExportReport, RetryPolicy, ThemeSelection, DEFAULT_API_VERSION,
};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The environment variable that holds the Admin API access token.
pub const TOKEN_VAR: &str = "SHOPIFY_ACCESS_TOKEN";

#[derive(clap::Args, Debug, Clone)]
#[group(id = "store")]
pub struct Args {
    /// The store's permanent domain, NAME.myshopify.com
    #[arg(long)]
    pub shop: String,
    /// The export folder, kept between runs (unchanged media and theme files are not fetched
    /// again); a run that fails leaves the previous export in it as it was
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The Admin API version
    #[arg(long, default_value = DEFAULT_API_VERSION)]
    pub api_version: String,
    /// Talk to this Admin API endpoint instead of https://SHOP (a test server)
    #[arg(long, value_name = "URL")]
    pub admin_url: Option<String>,
    /// Which themes to export: all, main (the published one) or none
    #[arg(long, default_value = "all", value_parser = ["all", "main", "none"])]
    pub theme: String,
    /// Leave out an entity (repeatable): products, collections, pages, redirects, customers,
    /// orders, shop, themes
    #[arg(long, value_name = "ENTITY", value_delimiter = ',')]
    pub skip: Vec<String>,
}

impl Args {
    /// The library's options, with the token read from the environment.
    pub fn options(&self) -> Result<ExportOptions> {
        Ok(ExportOptions {
            store: connection(&self.shop, &self.admin_url, &self.api_version)?,
            out: self.out.clone(),
            themes: match self.theme.as_str() {
                "main" => ThemeSelection::Main,
                "none" => ThemeSelection::None,
                _ => ThemeSelection::All,
            },
            skip: self.skip.clone(),
        })
    }
}

/// The store to talk to, with the token read from the environment.
pub fn connection(shop: &str, admin_url: &Option<String>, api_version: &str) -> Result<Connection> {
    let token = Zeroizing::new(std::env::var(TOKEN_VAR).ok().unwrap_or_default());
    if token.trim().is_empty() {
        anyhow::bail!(
            "{TOKEN_VAR} is not set: export the Admin API access token of a custom app with the \
             scopes listed in docs/shopify.md"
        );
    }
    Ok(Connection {
        shop: shop.to_string(),
        admin_url: admin_url.clone(),
        api_version: api_version.to_string(),
        token,
        retry: RetryPolicy::default(),
    })
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let report = export(&a)?;
    if g.json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else if !g.quiet {
        print_report(&report)?;
    }
    Ok(exit::OK)
}

/// Runs the export, with the shop named in its error.
pub fn export(a: &Args) -> Result<ExportReport> {
    let opts = a.options()?;
    shopify::export(&opts).with_context(|| {
        format!(
            "exporting {} into {} failed; the previous export there was left as it was",
            a.shop,
            a.out.display()
        )
    })
}

pub fn print_report(r: &ExportReport) -> Result<()> {
    let items: Vec<String> = r.items.iter().map(|(k, v)| format!("{v} {k}")).collect();
    outln!("Items:       {}", items.join(", "))?;
    outln!(
        "Media:       {} downloaded ({}), {} unchanged",
        r.media.downloaded,
        human(r.media.bytes),
        r.media.kept
    )?;
    outln!(
        "Themes:      {} themes, {} files fetched, {} unchanged",
        r.themes.themes,
        r.themes.fetched,
        r.themes.kept
    )?;
    outln!(
        "Requests:    {} API, {} downloads, {} throttled, {} retried, {:.1}s waiting for the rate limit",
        r.requests,
        r.downloads,
        r.throttled,
        r.retried,
        r.rate_limit_wait_seconds
    )?;
    outln!("exported into {} in {:.2}s", r.out.display(), r.seconds)?;
    Ok(())
}
