//! What one simulated day changed: the record that `advance` and `advance_more` fill in.

use serde::Serialize;
use std::collections::BTreeSet;

/// What one simulated day changed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DayChanges {
    /// Products whose price, inventory or title changed (`updated_at` bumped).
    pub products_edited: BTreeSet<u64>,
    /// New products.
    pub products_added: BTreeSet<u64>,
    /// Deleted products (their media went with them).
    pub products_deleted: BTreeSet<u64>,
    /// Theme files edited: (theme ID, filename).
    pub theme_files_edited: Vec<(u64, String)>,
    /// Customers edited, or who placed an order (`updated_at` bumped); not those added today.
    pub customers_edited: BTreeSet<u64>,
    /// New customers.
    pub customers_added: BTreeSet<u64>,
    /// New orders.
    pub orders_added: BTreeSet<u64>,
    /// Media of the new products.
    pub media_added: BTreeSet<u64>,
    /// Articles edited (`updated_at` bumped).
    pub articles_edited: BTreeSet<u64>,
    /// New articles.
    pub articles_added: BTreeSet<u64>,
    /// Menus changed: items linking to a product deleted today were removed.
    pub menus_edited: BTreeSet<u64>,
    /// Metaobjects edited (`updated_at` bumped).
    pub metaobjects_edited: BTreeSet<u64>,
    /// Inventory items of today's new variants.
    pub inventory_items_added: BTreeSet<u64>,
    /// Inventory items whose levels changed (quantities edited today, incoming stock).
    pub inventory_items_edited: BTreeSet<u64>,
    /// Inventory items of deleted products.
    pub inventory_items_deleted: BTreeSet<u64>,
}
