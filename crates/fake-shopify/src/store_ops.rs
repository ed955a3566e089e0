//! Operations on the store that keep it consistent: the inventory levels follow the variants'
//! quantities, deletions take what hangs off the deleted object with them, and menu items
//! linking to a deleted resource are removed.

use crate::ids::gid;
use crate::model::*;
use crate::streams::{rng_for, tag};
use rand::Rng;
use serde::Serialize;
use std::collections::BTreeSet;

/// What [`Store::sync_inventory`] changed, by inventory item ID.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InventoryChanges {
    /// Items made for new variants.
    pub added: BTreeSet<u64>,
    /// Items whose levels changed.
    pub edited: BTreeSet<u64>,
    /// Items of variants that are gone.
    pub deleted: BTreeSet<u64>,
}

/// Removes the items linking to `resource` (with their nested items); true if any was there.
fn unlink(items: &mut Vec<MenuItem>, resource: &str) -> bool {
    let before = items.len();
    items.retain(|i| i.resource_id.as_deref() != Some(resource));
    let mut changed = items.len() != before;
    for i in items.iter_mut() {
        changed |= unlink(&mut i.items, resource);
    }
    changed
}

impl Store {
    /// Makes the inventory agree with the variants: every variant's inventory item exists with a
    /// level at every location, the sum of `available` over the levels equals the variant's
    /// `inventory_quantity` (a difference goes to the first location; if that turns it negative,
    /// the other locations give what they have), and the items of variants that are gone are
    /// removed. The generator, `advance`, the mutations and [`crate::FakeShop::model_mut`] call
    /// it; call it after changing quantities of a [`Store`] directly.
    pub fn sync_inventory(&mut self) -> InventoryChanges {
        let now = self.now();
        let locations: Vec<u64> = self.locations.keys().copied().collect();
        let wanted: Vec<(u64, u64, u64, i64, i64, String)> = self
            .products
            .values()
            .flat_map(|p| {
                p.variants.iter().map(move |v| {
                    let price = parse_money(&v.price).unwrap_or(0);
                    let at = p.updated_at.clone();
                    (
                        p.id,
                        v.id,
                        v.inventory_item_id,
                        v.inventory_quantity,
                        price,
                        at,
                    )
                })
            })
            .collect();
        let mut changes = InventoryChanges::default();
        let mut seen = BTreeSet::new();
        for (product_id, variant_id, item_id, quantity, price, created) in wanted {
            seen.insert(item_id);
            let Some(item) = self.inventory.get_mut(&item_id) else {
                let item = self.new_inventory_item(
                    [item_id, product_id, variant_id],
                    quantity,
                    price,
                    &locations,
                    &created,
                );
                self.inventory.insert(item_id, item);
                changes.added.insert(item_id);
                continue;
            };
            item.product_id = product_id;
            item.variant_id = variant_id;
            let mut changed = false;
            item.levels.retain(|l| locations.contains(&l.location_id));
            for loc in &locations {
                if !item.levels.iter().any(|l| l.location_id == *loc) {
                    item.levels.push(InventoryLevel {
                        id: self.ids.next(Kind::InventoryLevel),
                        location_id: *loc,
                        available: 0,
                        committed: 0,
                        incoming: 0,
                        reserved: 0,
                        updated_at: now.clone(),
                    });
                    changed = true;
                }
            }
            item.levels
                .sort_by_key(|l| locations.iter().position(|x| *x == l.location_id));
            let sum: i64 = item.levels.iter().map(|l| l.available).sum();
            if sum != quantity && !item.levels.is_empty() {
                item.levels[0].available += quantity - sum;
                item.levels[0].updated_at = now.clone();
                for k in 1..item.levels.len() {
                    if item.levels[0].available >= 0 {
                        break;
                    }
                    let take = (-item.levels[0].available).min(item.levels[k].available.max(0));
                    if take > 0 {
                        item.levels[k].available -= take;
                        item.levels[0].available += take;
                        item.levels[k].updated_at = now.clone();
                    }
                }
                changed = true;
            }
            if changed {
                item.updated_at = now.clone();
                changes.edited.insert(item_id);
            }
        }
        let stale: Vec<u64> = self
            .inventory
            .keys()
            .filter(|k| !seen.contains(k))
            .copied()
            .collect();
        for k in stale {
            self.inventory.remove(&k);
            changes.deleted.insert(k);
        }
        changes
    }

    /// A new inventory item (`[item, product, variant]` IDs) holding `quantity`, split between
    /// the locations from the item's own random stream.
    fn new_inventory_item(
        &mut self,
        [id, product_id, variant_id]: [u64; 3],
        quantity: i64,
        price_cents: i64,
        locations: &[u64],
        created: &str,
    ) -> InventoryItem {
        let mut rng = rng_for(self.seed, tag::INVENTORY, id);
        let mut levels = Vec::new();
        let mut rest = quantity;
        for (k, loc) in locations.iter().enumerate() {
            let available = if k == 0 {
                0
            } else {
                let share = rest.max(0) * rng.gen_range(0..=35) / 100;
                rest -= share;
                share
            };
            levels.push(InventoryLevel {
                id: self.ids.next(Kind::InventoryLevel),
                location_id: *loc,
                available,
                committed: if rng.gen_bool(0.3) {
                    rng.gen_range(1..4)
                } else {
                    0
                },
                incoming: if rng.gen_bool(0.2) {
                    rng.gen_range(10..60)
                } else {
                    0
                },
                reserved: i64::from(rng.gen_bool(0.1)),
                updated_at: created.to_string(),
            });
        }
        if let Some(first) = levels.first_mut() {
            first.available = rest;
        }
        InventoryItem {
            id,
            product_id,
            variant_id,
            unit_cost_cents: rng
                .gen_bool(0.9)
                .then(|| price_cents * rng.gen_range(35..61) / 100),
            created_at: created.to_string(),
            updated_at: created.to_string(),
            levels,
        }
    }

    /// Removes the menu items linking to the resource with this GID (and the items nested in
    /// them); returns the menus changed.
    pub fn unlink_menus(&mut self, resource: &str) -> BTreeSet<u64> {
        let mut changed = BTreeSet::new();
        for menu in self.menus.values_mut() {
            if unlink(&mut menu.items, resource) {
                changed.insert(menu.id);
            }
        }
        changed
    }

    /// The product and variant an inventory item belongs to.
    pub fn item_variant(&self, item: &InventoryItem) -> Option<(&Product, &Variant)> {
        let p = self.products.get(&item.product_id)?;
        p.variants
            .iter()
            .find(|v| v.id == item.variant_id)
            .map(|v| (p, v))
    }

    /// Deletes the object with this GID, with what hangs off it: a product (as
    /// [`Store::delete_product`]), a collection (memberships and menu links go), a page, a URL
    /// redirect, a blog (its articles go), an article, a menu, a metaobject definition (its
    /// metaobjects go), a metaobject or a generic file. Menu items linking to a deleted resource
    /// are removed. False if there was no such object (or its type can't be deleted here).
    pub fn delete(&mut self, object: &str) -> bool {
        let Some((ty, id)) = object
            .strip_prefix("gid://shopify/")
            .and_then(|s| s.split_once('/'))
            .and_then(|(t, n)| Some((t, n.split('?').next()?.parse::<u64>().ok()?)))
        else {
            return false;
        };
        let found = match ty {
            "Product" => return self.delete_product(id),
            "Collection" => match self.collections.remove(&id) {
                Some(c) => {
                    for p in &c.products {
                        if let Some(p) = self.products.get_mut(p) {
                            p.collections.retain(|x| *x != id);
                        }
                    }
                    true
                }
                None => false,
            },
            "Page" => self.pages.remove(&id).is_some(),
            "UrlRedirect" => self.redirects.remove(&id).is_some(),
            "Blog" => {
                let articles: Vec<u64> = self
                    .articles
                    .values()
                    .filter(|a| a.blog_id == id)
                    .map(|a| a.id)
                    .collect();
                for a in articles {
                    self.articles.remove(&a);
                    self.unlink_menus(&gid("Article", a));
                }
                self.blogs.remove(&id).is_some()
            }
            "Article" => self.articles.remove(&id).is_some(),
            "Menu" => self.menus.remove(&id).is_some(),
            "MetaobjectDefinition" => match self.metaobject_definitions.remove(&id) {
                Some(d) => {
                    let gone: Vec<u64> = self
                        .metaobjects
                        .values()
                        .filter(|m| m.type_name == d.type_name)
                        .map(|m| m.id)
                        .collect();
                    for m in gone {
                        self.metaobjects.remove(&m);
                        self.unlink_menus(&gid("Metaobject", m));
                    }
                    true
                }
                None => false,
            },
            "Metaobject" => self.metaobjects.remove(&id).is_some(),
            "GenericFile" => self.files.remove(&id).is_some(),
            _ => false,
        };
        if found {
            self.unlink_menus(&gid(ty, id));
        }
        found
    }
}
