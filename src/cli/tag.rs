use super::common::GlobalOpts;
use super::snapshots::FilterArgs;
use anyhow::Result;
use backstock::repository::snapshots::SnapshotFilter;
use backstock::{tag, TagChange};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshots to change (IDs, prefixes or `latest`; default: all the filters select)
    pub snapshots: Vec<String>,
    /// Add this tag (repeatable; `a,b` adds two)
    #[arg(long, value_name = "TAG", value_delimiter = ',')]
    pub add: Vec<String>,
    /// Remove this tag (repeatable)
    #[arg(long, value_name = "TAG", value_delimiter = ',')]
    pub remove: Vec<String>,
    /// Replace all tags with these (repeatable; `--set ''` removes all)
    #[arg(long, value_name = "TAG", value_delimiter = ',', num_args = 1)]
    pub set: Option<Vec<String>>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let repo = g.open()?;
    let change = TagChange {
        set: a
            .set
            .map(|v| v.into_iter().filter(|t| !t.is_empty()).collect()),
        add: a.add.into_iter().filter(|t| !t.is_empty()).collect(),
        remove: a.remove,
    };
    let done = tag(
        &repo,
        &a.snapshots,
        &SnapshotFilter::from(a.filter),
        &change,
    )?;
    if g.json {
        outln!("{}", serde_json::json!({"changed": done}))?;
    } else if !g.quiet {
        for r in &done {
            outln!(
                "snapshot {} is now {} with tags [{}]",
                r.old.short(),
                r.new.short(),
                r.tags.join(", ")
            )?;
        }
        outln!("{} snapshots changed", done.len())?;
    }
    Ok(0)
}
