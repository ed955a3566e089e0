//! The day's changes to articles, metaobjects, menus and inventory, drawn from a stream of their
//! own (seed, day) so that the products, customers and orders of the day do not move.

use crate::day_changes::DayChanges;
use crate::generate_more::make_article;
use crate::model::{Menu, Store, DAY};
use crate::streams::{rng_for, tag};
use rand::seq::IteratorRandom;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

const NEW_TITLES: &[&str] = &[
    "Notes from the studio",
    "What we're reading",
    "Restock alert",
    "A visit to the mill",
];

/// Applies the day's edits: inventory follows the variants (new items, quantity changes on the
/// first location, items of deleted products gone) and sometimes gets incoming stock; an article
/// is edited now and then (40% of days) or added (15%); a metaobject is edited (30%); menus that
/// lost a link to a deleted product are recorded.
pub(crate) fn advance_more(
    store: &mut Store,
    changes: &mut DayChanges,
    menus_before: &BTreeMap<u64, Menu>,
    inventory_before: &BTreeSet<u64>,
) {
    let day = store.day;
    let now = store.now_ts();
    let now_iso = store.now();
    let mut rng = rng_for(store.seed, tag::CONTENT_ADVANCE, u64::from(day));

    for (id, menu) in &store.menus {
        if menus_before.get(id) != Some(menu) {
            changes.menus_edited.insert(*id);
        }
    }

    let inventory = store.sync_inventory();
    changes.inventory_items_added = inventory.added;
    changes.inventory_items_edited = inventory.edited;
    changes.inventory_items_deleted = inventory_before
        .iter()
        .filter(|k| !store.inventory.contains_key(k))
        .copied()
        .collect();
    if rng.gen_bool(0.3) {
        let pick = store
            .inventory
            .keys()
            .filter(|k| !changes.inventory_items_added.contains(k))
            .copied()
            .choose(&mut rng);
        if let Some(item) = pick.and_then(|k| store.inventory.get_mut(&k)) {
            if let Some(level) = item.levels.first_mut() {
                level.incoming += rng.gen_range(10..50);
                level.updated_at = now_iso.clone();
                item.updated_at = now_iso.clone();
                changes.inventory_items_edited.insert(item.id);
            }
        }
    }

    if rng.gen_bool(0.4) {
        let pick = store.articles.keys().copied().choose(&mut rng);
        if let Some(article) = pick.and_then(|k| store.articles.get_mut(&k)) {
            match rng.gen_range(0..3) {
                0 => article
                    .body
                    .push_str(&format!("<p>Updated on day {day}.</p>")),
                1 => {
                    let base = article.title.split(" (").next().unwrap_or("").to_string();
                    article.title = format!("{base} (day {day})");
                }
                _ => {
                    let tag = format!("day-{day}");
                    article.tags.push(tag);
                    article.tags.sort();
                }
            }
            article.updated_at = now_iso.clone();
            changes.articles_edited.insert(article.id);
        }
    }
    if rng.gen_bool(0.15) {
        let blog = store.blogs.keys().copied().choose(&mut rng);
        let title = NEW_TITLES[rng.gen_range(0..NEW_TITLES.len())];
        if let Some(blog) = blog {
            let mut article_rng = rng_for(store.seed, tag::BLOG ^ 0xA0, u64::from(day));
            let id = make_article(store, &mut article_rng, blog, title, now - DAY / 8);
            changes.articles_added.insert(id);
        }
    }

    if rng.gen_bool(0.3) {
        let pick = store.metaobjects.keys().copied().choose(&mut rng);
        let long_text = |ty: &str, key: &str| {
            store
                .metaobject_definitions
                .values()
                .find(|d| d.type_name == ty)
                .and_then(|d| d.field_definitions.iter().find(|f| f.key == key))
                .is_some_and(|f| f.type_name == "multi_line_text_field")
        };
        let target = pick.and_then(|k| {
            let m = store.metaobjects.get(&k)?;
            let key = m
                .fields
                .iter()
                .find(|f| long_text(&m.type_name, &f.key))?
                .key
                .clone();
            Some((k, key))
        });
        if let Some((k, key)) = target {
            if let Some(m) = store.metaobjects.get_mut(&k) {
                if let Some(field) = m.fields.iter_mut().find(|f| f.key == key) {
                    let old = field.value.take().unwrap_or_default();
                    let first = old.split("\nUpdated on day").next().unwrap_or("");
                    field.value = Some(format!("{first}\nUpdated on day {day}."));
                }
                m.updated_at = now_iso.clone();
                changes.metaobjects_edited.insert(k);
            }
        }
    }
}
