//! One simulated day: products edited, added and deleted, a theme file edited, customers edited and
//! added, orders placed. Everything is drawn from the seed and the day number.

use crate::day_changes::DayChanges;
use crate::generate::{add_product, StoreParams};
use crate::model::{iso, money, parse_money, Store, DAY};
use crate::people::{add_customer, add_order};
use crate::streams::{rng_for, stochastic_round, tag};
use rand::seq::{IteratorRandom, SliceRandom};
use rand::Rng;
use std::collections::{BTreeSet, HashSet};

/// Advances the store by one day.
pub fn advance(store: &mut Store, params: &StoreParams) -> DayChanges {
    store.day += 1;
    let day = store.day;
    let now = store.now_ts();
    let now_iso = iso(now);
    let mut rng = rng_for(store.seed, tag::ADVANCE, u64::from(day));
    let mut changes = DayChanges::default();
    let menus_before = store.menus.clone();
    let inventory_before: BTreeSet<u64> = store.inventory.keys().copied().collect();

    // Product edits.
    let count = store.products.len();
    let edits = stochastic_round(&mut rng, params.edit_rate * count as f64).min(count);
    let edited: Vec<u64> = store
        .products
        .keys()
        .copied()
        .choose_multiple(&mut rng, edits);
    for id in edited {
        let Some(product) = store.products.get_mut(&id) else {
            continue;
        };
        let what = rng.gen_range(0..10);
        for variant in &mut product.variants {
            if what < 4 {
                let cents = parse_money(&variant.price).unwrap_or(1000);
                let delta = [-150, -50, 50, 100, 250][rng.gen_range(0..5)];
                variant.price = money((cents + delta).max(100));
            }
            if what >= 3 {
                variant.inventory_quantity =
                    (variant.inventory_quantity + rng.gen_range(-5..20)).max(0);
            }
        }
        if what == 9 || rng.gen_bool(0.1) {
            product.title = format!(
                "{} ({})",
                product.title.split(" (").next().unwrap_or(""),
                ["v2", "new", "restocked"][rng.gen_range(0..3)]
            );
        }
        product.updated_at = now_iso.clone();
        changes.products_edited.insert(id);
    }

    // Deletions (never of a product edited today).
    let deletes = stochastic_round(&mut rng, params.delete_rate * count as f64);
    let candidates: Vec<u64> = store
        .products
        .keys()
        .copied()
        .filter(|p| !changes.products_edited.contains(p))
        .collect();
    for id in candidates
        .choose_multiple(&mut rng, deletes.min(candidates.len()))
        .copied()
        .collect::<Vec<_>>()
    {
        if store.delete_product(id) {
            changes.products_deleted.insert(id);
        }
    }

    // Additions, each with 1–3 new images.
    let adds = stochastic_round(&mut rng, params.add_rate * count as f64);
    if adds > 0 {
        let mut taken: HashSet<String> =
            store.products.values().map(|p| p.handle.clone()).collect();
        for k in 0..adds {
            let mut product_rng = rng_for(
                store.seed,
                tag::PRODUCT ^ 0xA0,
                u64::from(day) << 20 | k as u64,
            );
            let media = product_rng.gen_range(1..4);
            let id = add_product(
                store,
                &mut product_rng,
                now - 1800 + k as i64,
                media,
                &mut taken,
            );
            if let Some(p) = store.products.get_mut(&id) {
                // Created today: the day's clock, not the generator's.
                p.created_at = now_iso.clone();
                p.updated_at = now_iso.clone();
                if p.published_at.is_some() {
                    p.published_at = Some(now_iso.clone());
                }
                changes.media_added.extend(p.media.iter().copied());
            }
            changes.products_added.insert(id);
        }
    }

    // One text file of the main theme.
    if let Some(theme) = store.themes.values_mut().find(|t| t.role == "MAIN") {
        let names: Vec<String> = theme
            .files
            .keys()
            .filter(|n| n.ends_with(".liquid") || n.ends_with(".css") || n.ends_with(".js"))
            .cloned()
            .collect();
        if let Some(name) = names.choose(&mut rng) {
            let line = if name.ends_with(".liquid") {
                format!("{{% comment %}} edited on day {day} {{% endcomment %}}\n")
            } else {
                format!("/* edited on day {day} */\n")
            };
            if let Some(body) = theme.files.get_mut(name) {
                body.extend_from_slice(line.as_bytes());
            }
            theme.updated_at = now_iso.clone();
            changes.theme_files_edited.push((theme.id, name.clone()));
        }
    }

    // Customers: edits, then one new customer every other day or so.
    let count = store.customers.len();
    let edits = stochastic_round(&mut rng, params.customer_edit_rate * count as f64).min(count);
    let edited: Vec<u64> = store
        .customers
        .keys()
        .copied()
        .choose_multiple(&mut rng, edits);
    for id in edited {
        let Some(c) = store.customers.get_mut(&id) else {
            continue;
        };
        match rng.gen_range(0..4) {
            0 => c.note = Some(format!("Called on day {day}.")),
            1 => c.tags = vec!["vip".into(), format!("day-{day}")],
            2 => c.phone = Some(format!("+1917555{:04}", rng.gen_range(0..10_000))),
            _ => match c.addresses.first_mut() {
                Some(a) => a.address1 = format!("{} Harbor Way", rng.gen_range(1..999)),
                None => c.note = Some(format!("Moved on day {day}.")),
            },
        }
        c.updated_at = now_iso.clone();
        changes.customers_edited.insert(id);
    }
    if rng.gen_bool(0.5) {
        let mut customer_rng = rng_for(store.seed, tag::CUSTOMER ^ 0xA0, u64::from(day));
        let id = add_customer(store, &mut customer_rng, now - 7200);
        changes.customers_added.insert(id);
    }

    // Orders, spread over the last half day.
    let per_day = params.orders_per_day;
    for k in 0..per_day {
        let mut order_rng = rng_for(
            store.seed,
            tag::ORDER ^ 0xA0,
            u64::from(day) << 20 | k as u64,
        );
        let at = now - DAY / 2 + (k as i64 * (DAY / 2)) / per_day.max(1) as i64;
        if let Some(id) = add_order(store, &mut order_rng, at) {
            if let Some(customer) = store.orders[&id].customer_id {
                if !changes.customers_added.contains(&customer) {
                    if let Some(c) = store.customers.get_mut(&customer) {
                        c.updated_at = now_iso.clone();
                    }
                    changes.customers_edited.insert(customer);
                }
            }
            changes.orders_added.insert(id);
        }
    }
    // Articles, metaobjects, menus and inventory: a stream of their own (after everything above,
    // which draws from `rng` alone).
    crate::advance_more::advance_more(store, &mut changes, &menus_before, &inventory_before);
    changes
}
