//! The store model's online-store content and stock: blogs and articles, navigation menus,
//! metaobjects, locations with inventory levels, and the files library's generic files. Re-exported
//! by [`crate::model`].

use crate::metafields::Metafield;
use serde::Serialize;

/// A blog.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Blog {
    /// Numeric ID.
    pub id: u64,
    /// Unique handle.
    pub handle: String,
    /// Title.
    pub title: String,
    /// Alternate template suffix.
    pub template_suffix: Option<String>,
    /// `MODERATED`, `AUTO_PUBLISHED` or `CLOSED`.
    pub comment_policy: String,
    /// Creation time.
    pub created_at: String,
    /// Last update.
    pub updated_at: String,
    /// Metafields.
    pub metafields: Vec<Metafield>,
}

/// The image of an article.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArticleImage {
    /// Where it is: an absolute URL, or a path of this fake's CDN (`/_cdn/articles/...`) that the
    /// API answers with the server's address in front.
    pub url: String,
    /// Alt text.
    pub alt_text: Option<String>,
}

/// A blog article.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Article {
    /// Numeric ID.
    pub id: u64,
    /// The blog it belongs to.
    pub blog_id: u64,
    /// Handle, unique within its blog.
    pub handle: String,
    /// Title.
    pub title: String,
    /// Body (HTML).
    pub body: String,
    /// Summary (HTML), if any.
    pub summary: Option<String>,
    /// The author's name.
    pub author_name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether it is visible.
    pub is_published: bool,
    /// Publication time (a future one for a scheduled article).
    pub published_at: Option<String>,
    /// Alternate template suffix.
    pub template_suffix: Option<String>,
    /// Its image, if any.
    pub image: Option<ArticleImage>,
    /// Creation time.
    pub created_at: String,
    /// Last update.
    pub updated_at: String,
    /// Metafields.
    pub metafields: Vec<Metafield>,
}

/// A navigation menu.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Menu {
    /// Numeric ID.
    pub id: u64,
    /// Unique handle (`main-menu`, `footer`).
    pub handle: String,
    /// Title.
    pub title: String,
    /// Whether it is one of the shop's default menus (their handles can't change).
    pub is_default: bool,
    /// Top-level items.
    pub items: Vec<MenuItem>,
}

/// An item of a menu; items nest up to 3 levels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MenuItem {
    /// Numeric ID.
    pub id: u64,
    /// Title.
    pub title: String,
    /// `FRONTPAGE`, `CATALOG`, `COLLECTION`, `PRODUCT`, `PAGE`, `BLOG`, `ARTICLE`, `HTTP`,
    /// `SEARCH`, ...
    pub item_type: String,
    /// The URL as stored; items linking to a resource answer the resource's current URL.
    pub url: Option<String>,
    /// The GID of the resource it links to, if any.
    pub resource_id: Option<String>,
    /// Tags (filters of a collection link).
    pub tags: Vec<String>,
    /// Nested items.
    pub items: Vec<MenuItem>,
}

/// A field of a metaobject definition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetaobjectFieldDefinition {
    /// Key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Whether a value is required.
    pub required: bool,
    /// The field type, e.g. `single_line_text_field`.
    pub type_name: String,
    /// Validations as (name, value).
    pub validations: Vec<(String, String)>,
}

/// A metaobject definition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetaobjectDefinition {
    /// Numeric ID.
    pub id: u64,
    /// The type, e.g. `designer`.
    pub type_name: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The key of the field used as each object's display name.
    pub display_name_key: Option<String>,
    /// Its fields, in order.
    pub field_definitions: Vec<MetaobjectFieldDefinition>,
}

/// One value of a metaobject.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetaobjectField {
    /// The field definition's key.
    pub key: String,
    /// The value as Shopify serialises it; `None` when unset.
    pub value: Option<String>,
}

/// A metaobject (an entry of a definition).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metaobject {
    /// Numeric ID.
    pub id: u64,
    /// Handle, unique within its type.
    pub handle: String,
    /// Its definition's type.
    pub type_name: String,
    /// The values set.
    pub fields: Vec<MetaobjectField>,
    /// Creation time.
    pub created_at: String,
    /// Last update.
    pub updated_at: String,
}

/// A location holding stock.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Location {
    /// Numeric ID.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Street.
    pub address1: String,
    /// Suite, if any.
    pub address2: Option<String>,
    /// City.
    pub city: String,
    /// Province or state.
    pub province: String,
    /// Its code, `NY`.
    pub province_code: String,
    /// Country.
    pub country: String,
    /// Its code, `US`.
    pub country_code: String,
    /// Postal code.
    pub zip: String,
    /// Phone, if any.
    pub phone: Option<String>,
    /// Whether it is active.
    pub is_active: bool,
    /// Whether it fulfils online orders.
    pub fulfills_online_orders: bool,
    /// Creation time.
    pub created_at: String,
}

/// The quantities of an inventory item at one location. `on_hand` is
/// `available + committed + reserved`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InventoryLevel {
    /// Numeric ID.
    pub id: u64,
    /// The location.
    pub location_id: u64,
    /// Units available for sale.
    pub available: i64,
    /// Units committed to open orders.
    pub committed: i64,
    /// Units on their way.
    pub incoming: i64,
    /// Units set aside.
    pub reserved: i64,
    /// Last change.
    pub updated_at: String,
}

impl InventoryLevel {
    /// Units physically there: available, committed and reserved.
    pub fn on_hand(&self) -> i64 {
        self.available + self.committed + self.reserved
    }

    /// A named quantity (`available`, `on_hand`, `committed`, `incoming`, `reserved`, and
    /// `damaged`, `quality_control`, `safety_stock` which are always 0); `None` for other names.
    pub fn quantity(&self, name: &str) -> Option<i64> {
        Some(match name {
            "available" => self.available,
            "on_hand" => self.on_hand(),
            "committed" => self.committed,
            "incoming" => self.incoming,
            "reserved" => self.reserved,
            "damaged" | "quality_control" | "safety_stock" => 0,
            _ => return None,
        })
    }
}

/// The inventory item of a variant (same ID as [`crate::model::Variant::inventory_item_id`]),
/// with a level at every location. The sum of `available` over its levels is always the
/// variant's `inventory_quantity` ([`crate::model::Store::sync_inventory`] keeps it so: a change of
/// the quantity goes to the first location).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InventoryItem {
    /// Numeric ID.
    pub id: u64,
    /// The product of its variant.
    pub product_id: u64,
    /// Its variant.
    pub variant_id: u64,
    /// Unit cost in cents, if known.
    pub unit_cost_cents: Option<i64>,
    /// Creation time.
    pub created_at: String,
    /// Last change of it or a level.
    pub updated_at: String,
    /// One level per location, in location order.
    pub levels: Vec<InventoryLevel>,
}

/// A file of the files library that is not an image: a PDF, say.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GenericFile {
    /// Numeric ID.
    pub id: u64,
    /// File name, e.g. `size-chart.pdf`.
    pub filename: String,
    /// `application/pdf`.
    pub mime_type: String,
    /// Alt text.
    pub alt: String,
    /// The bytes.
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// Upload time (the `?v=` of its URL).
    pub created_at: i64,
}
