use super::super::common::{human, GlobalOpts};
use anyhow::Result;
use backstock::shopify::{self, phrase, ItemChange, ItemChangeKind};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The older snapshot of the store's export (ID or `latest`)
    pub old: String,
    /// The newer snapshot
    pub new: String,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let (repo, _lock) = g.open_for_reading()?;
    let d = shopify::diff(&repo, &a.old, &a.new)?;
    if g.json {
        outln!("{}", serde_json::to_string(&d)?)?;
        return Ok(0);
    }
    if !g.quiet {
        outln!("comparing snapshot {} to {}:", d.old.short(), d.new.short())?;
    }
    for item in &d.items {
        outln!("{}", describe(item))?;
    }
    if !g.quiet {
        let count = |k| d.items.iter().filter(|i| i.change == k).count();
        outln!(
            "\n{} changed, {} added, {} deleted",
            count(ItemChangeKind::Changed),
            count(ItemChangeKind::Added),
            count(ItemChangeKind::Deleted)
        )?;
    }
    Ok(0)
}

/// An item's name: `product 4211 Blue Mug`, `theme 12 sections/header.liquid`.
pub fn name(item: &ItemChange) -> String {
    let k = &item.key;
    let mut s = match k.kind {
        "theme file" => match k.id.split_once('/') {
            Some((theme, file)) => format!("theme {theme} {file}"),
            None => format!("theme {}", k.id),
        },
        "shop" => "shop settings".to_string(),
        kind => format!("{kind} {}", k.id),
    };
    if let Some(t) = &item.title {
        s.push(' ');
        s.push_str(t);
    }
    s
}

/// One line per item, in the merchant's words.
pub fn describe(item: &ItemChange) -> String {
    let text = describe_change(item);
    match &item.note {
        Some(n) => format!("{text} ({n})"),
        None => text,
    }
}

fn describe_change(item: &ItemChange) -> String {
    let name = name(item);
    match item.change {
        ItemChangeKind::Added => match item.sizes {
            Some((_, size)) => format!("{name} added ({})", human(size)),
            None => format!("{name} added"),
        },
        ItemChangeKind::Deleted => format!("{name} deleted"),
        ItemChangeKind::Changed => {
            if !item.fields.is_empty() {
                let parts: Vec<String> = item.fields.iter().map(phrase).collect();
                format!("{name}: {}", parts.join(", "))
            } else if let Some((added, removed)) = item.lines {
                format!("{name} changed (+{added} -{removed} lines)")
            } else if let Some((before, after)) = item.sizes {
                format!("{name} changed ({} -> {})", human(before), human(after))
            } else {
                format!("{name} changed")
            }
        }
    }
}
