use super::common::{human, split_spec, GlobalOpts};
use anyhow::Result;
use backstock::error::Context;
use backstock::{diff_nodes, resolve_node, ChangeKind, DiffTotals, TreeReader};
use std::io::Write;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Old side: SNAPSHOT[:PATH]
    pub old: String,
    /// New side: SNAPSHOT[:PATH]
    pub new: String,
    /// Also list entries whose metadata alone changed (mode, owner, mtime, attributes), as `U`
    #[arg(long)]
    pub metadata: bool,
}

/// Whether an error is a closed standard output (`backstock diff ... | head`).
fn is_broken_pipe(e: &backstock::error::Error) -> bool {
    e.find::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn print_totals(t: &DiffTotals) -> std::io::Result<()> {
    outln!()?;
    outln!(
        "Files:     {:>6} added, {:>6} removed",
        t.files_added,
        t.files_removed
    )?;
    outln!(
        "Dirs:      {:>6} added, {:>6} removed",
        t.dirs_added,
        t.dirs_removed
    )?;
    outln!(
        "Symlinks:  {:>6} added, {:>6} removed",
        t.others_added,
        t.others_removed
    )?;
    outln!("Modified:  {:>6}", t.modified)?;
    outln!("Metadata:  {:>6}", t.metadata)?;
    outln!(
        "Bytes:     {} added, {} removed",
        human(t.bytes_added),
        human(t.bytes_removed)
    )?;
    Ok(())
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let (repo, _lock) = g.open_for_reading()?;
    let (spec_old, sub_old) = split_spec(&a.old);
    let (spec_new, sub_new) = split_spec(&a.new);
    let (id_old, old) = resolve_node(&repo, spec_old, sub_old)?;
    let (id_new, new) = resolve_node(&repo, spec_new, sub_new)?;
    let reader = TreeReader::new(&repo);
    if g.json {
        let mut changes = Vec::new();
        let totals = diff_nodes(&reader, &old, &new, |c| {
            if a.metadata || c.change != ChangeKind::Metadata {
                changes.push(c.clone());
            }
            Ok(())
        })?;
        let doc = serde_json::json!({"changes": changes, "totals": totals});
        outln!("{doc}")?;
        return Ok(0);
    }
    if !g.quiet {
        outln!(
            "comparing snapshot {}:/{sub_old} to {}:/{sub_new}:\n",
            id_old.short(),
            id_new.short()
        )?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = diff_nodes(&reader, &old, &new, |c| {
        if !a.metadata && c.change == ChangeKind::Metadata {
            return Ok(());
        }
        writeln!(out, "{}    {}", c.change.symbol(), c.path).context("writing to standard output")
    })
    .and_then(|t| {
        out.flush().context("writing to standard output")?;
        Ok(t)
    });
    let totals = match result {
        Ok(t) => t,
        Err(e) if is_broken_pipe(&e) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    drop(out);
    if !g.quiet {
        print_totals(&totals)?;
    }
    Ok(0)
}
