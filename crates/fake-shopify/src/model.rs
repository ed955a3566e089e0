//! The store model: plain data with public fields, keyed by numeric IDs, so that tests can compute
//! what an export should hold. Timestamps are ISO-8601 UTC strings (`2026-11-01T09:00:00Z`).

pub use crate::ids::{IdAllocator, Kind};
pub use crate::metafields::Metafield;
pub use crate::model_more::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// Unix time of day 0 of the model's clock: 2026-11-01T09:00:00Z.
pub const EPOCH: i64 = 1_793_523_600;

/// Seconds in a simulated day.
pub const DAY: i64 = 86_400;

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso(ts: i64) -> String {
    let days = ts.div_euclid(DAY);
    let secs = ts.rem_euclid(DAY);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Formats cents as a decimal string: 1200 → `"12.00"`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// Parses a decimal string into cents (`"12"`, `"12.5"`, `"12.50"`); `None` if it is not one.
pub fn parse_money(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents =
        whole.parse::<i64>().ok()?.checked_mul(100)? + format!("{frac:0<2}").parse::<i64>().ok()?;
    Some(if neg { -cents } else { cents })
}

/// The shop's settings.
#[derive(Clone, Debug, Serialize)]
pub struct Shop {
    /// Numeric ID.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// The owner's email.
    pub email: String,
    /// The customer-facing email.
    pub contact_email: String,
    /// `fake.myshopify.com`.
    pub myshopify_domain: String,
    /// `USD`.
    pub currency_code: String,
    /// IANA time zone.
    pub iana_timezone: String,
    /// `KILOGRAMS`.
    pub weight_unit: String,
}

/// A product option (`Size`, `Color`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProductOption {
    /// Numeric ID.
    pub id: u64,
    /// Option name.
    pub name: String,
    /// 1-based position.
    pub position: u32,
    /// The values, in order.
    pub values: Vec<String>,
}

/// One option value of a variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SelectedOption {
    /// The option's name.
    pub name: String,
    /// The value.
    pub value: String,
}

/// A product variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Variant {
    /// Numeric ID.
    pub id: u64,
    /// `Small / Blue`, or `Default Title`.
    pub title: String,
    /// Stock keeping unit.
    pub sku: String,
    /// Barcode, if any.
    pub barcode: Option<String>,
    /// Price as a decimal string, `"12.00"`.
    pub price: String,
    /// Compare-at price, if any.
    pub compare_at_price: Option<String>,
    /// Units available.
    pub inventory_quantity: i64,
    /// The inventory item's numeric ID.
    pub inventory_item_id: u64,
    /// 1-based position.
    pub position: u32,
    /// Whether tax is charged.
    pub taxable: bool,
    /// `DENY` or `CONTINUE`.
    pub inventory_policy: String,
    /// The variant's metafields.
    pub metafields: Vec<Metafield>,
    /// Its option values.
    pub selected_options: Vec<SelectedOption>,
}

/// A product.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Product {
    /// Numeric ID.
    pub id: u64,
    /// Unique handle.
    pub handle: String,
    /// Title.
    pub title: String,
    /// Description (HTML).
    pub description_html: String,
    /// Vendor.
    pub vendor: String,
    /// Product type.
    pub product_type: String,
    /// `ACTIVE`, `DRAFT` or `ARCHIVED`.
    pub status: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Alternate template suffix, if any.
    pub template_suffix: Option<String>,
    /// SEO title, if set.
    pub seo_title: Option<String>,
    /// SEO description, if set.
    pub seo_description: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last update.
    pub updated_at: String,
    /// Publication time, if published.
    pub published_at: Option<String>,
    /// Options.
    pub options: Vec<ProductOption>,
    /// Variants, in position order.
    pub variants: Vec<Variant>,
    /// IDs of its media (keys of [`Store::media`]), in order.
    pub media: Vec<u64>,
    /// Metafields.
    pub metafields: Vec<Metafield>,
    /// The manual collections that hold it (smart collections are not listed).
    pub collections: Vec<u64>,
}

/// An image attached to a product.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Media {
    /// Numeric ID.
    pub id: u64,
    /// The product it belongs to.
    pub product_id: u64,
    /// Alt text.
    pub alt: String,
    /// File name, e.g. `blue-mug-1.jpg`.
    pub filename: String,
    /// The image bytes (a JPEG SOI marker, then deterministic noise).
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Upload time (the `?v=` of its URL).
    pub created_at: i64,
}

/// One rule of a smart collection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CollectionRule {
    /// `TAG`, `VENDOR`, `TYPE`, `VARIANT_PRICE`, ...
    pub column: String,
    /// `EQUALS`, `GREATER_THAN`, ...
    pub relation: String,
    /// The value compared with.
    pub condition: String,
}

/// The rules of a smart collection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleSet {
    /// Whether any rule (rather than all) admits a product.
    pub applied_disjunctively: bool,
    /// The rules.
    pub rules: Vec<CollectionRule>,
}

/// A collection: manual (`rule_set: None`, members in `products`) or smart (rules, no members).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Collection {
    /// Numeric ID.
    pub id: u64,
    /// Unique handle.
    pub handle: String,
    /// Title.
    pub title: String,
    /// Description (HTML).
    pub description_html: String,
    /// `MANUAL`, `BEST_SELLING`, ...
    pub sort_order: String,
    /// Alternate template suffix.
    pub template_suffix: Option<String>,
    /// Last update.
    pub updated_at: String,
    /// Smart collections' rules.
    pub rule_set: Option<RuleSet>,
    /// Members of a manual collection, in order.
    pub products: Vec<u64>,
    /// Metafields.
    pub metafields: Vec<Metafield>,
    /// SEO title, if set (the generator sets none; not serialised when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seo_title: Option<String>,
    /// SEO description, if set (not serialised when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seo_description: Option<String>,
}

/// An online store page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page {
    /// Numeric ID.
    pub id: u64,
    /// Unique handle.
    pub handle: String,
    /// Title.
    pub title: String,
    /// Body (HTML).
    pub body: String,
    /// Whether it is visible.
    pub is_published: bool,
    /// Publication time.
    pub published_at: Option<String>,
    /// Alternate template suffix.
    pub template_suffix: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last update.
    pub updated_at: String,
    /// Metafields.
    pub metafields: Vec<Metafield>,
}

/// A URL redirect.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Redirect {
    /// Numeric ID.
    pub id: u64,
    /// The old path.
    pub path: String,
    /// Where it leads.
    pub target: String,
}

/// A postal address (a customer's, or an order's shipping or billing address).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Address {
    /// Numeric ID.
    pub id: u64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Company, if any.
    pub company: Option<String>,
    /// Street.
    pub address1: String,
    /// Apartment, suite.
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
}

/// A customer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Customer {
    /// Numeric ID.
    pub id: u64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email, if any.
    pub email: Option<String>,
    /// `SUBSCRIBED` or `NOT_SUBSCRIBED`.
    pub marketing_state: String,
    /// Phone (E.164), if any.
    pub phone: Option<String>,
    /// Staff note.
    pub note: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// `ENABLED`, `DISABLED`, ...
    pub state: String,
    /// Tax exemption.
    pub tax_exempt: bool,
    /// Whether the email was verified.
    pub verified_email: bool,
    /// Addresses; the first is the default one.
    pub addresses: Vec<Address>,
    /// Number of orders placed.
    pub number_of_orders: u64,
    /// Total spent, in cents.
    pub amount_spent_cents: i64,
    /// Metafields.
    pub metafields: Vec<Metafield>,
    /// Creation time.
    pub created_at: String,
    /// Last update (bumped by edits and by each new order).
    pub updated_at: String,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LineItem {
    /// Numeric ID.
    pub id: u64,
    /// Product title and variant title at the time of the order.
    pub name: String,
    /// The variant ordered (it may have been deleted since).
    pub variant_id: u64,
    /// SKU.
    pub sku: String,
    /// Quantity.
    pub quantity: i64,
    /// Unit price as a decimal string.
    pub unit_price: String,
}

/// An order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Order {
    /// Numeric ID.
    pub id: u64,
    /// `#1001`.
    pub name: String,
    /// The customer; `None` for a guest order.
    pub customer_id: Option<u64>,
    /// Contact email.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Shipping address.
    pub shipping_address: Option<Address>,
    /// Billing address.
    pub billing_address: Option<Address>,
    /// Lines.
    pub line_items: Vec<LineItem>,
    /// Sum of the lines.
    pub subtotal: String,
    /// Tax.
    pub total_tax: String,
    /// Subtotal plus tax.
    pub total: String,
    /// `PAID`, ...
    pub financial_status: String,
    /// `FULFILLED` or `UNFULFILLED`.
    pub fulfillment_status: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Note.
    pub note: Option<String>,
    /// Creation time (= processedAt).
    pub created_at: String,
    /// Last update.
    pub updated_at: String,
    /// Closing time, for fulfilled orders.
    pub closed_at: Option<String>,
}

/// A theme and its files.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Theme {
    /// Numeric ID.
    pub id: u64,
    /// Name.
    pub name: String,
    /// `MAIN` or `UNPUBLISHED`.
    pub role: String,
    /// Creation time.
    pub created_at: String,
    /// Last change to it or a file.
    pub updated_at: String,
    /// Files by name (`layout/theme.liquid`).
    #[serde(skip)]
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The whole store.
#[derive(Clone, Debug, Serialize)]
pub struct Store {
    /// Shop settings.
    pub shop: Shop,
    /// Products by ID.
    pub products: BTreeMap<u64, Product>,
    /// Collections by ID.
    pub collections: BTreeMap<u64, Collection>,
    /// Pages by ID.
    pub pages: BTreeMap<u64, Page>,
    /// Redirects by ID.
    pub redirects: BTreeMap<u64, Redirect>,
    /// Customers by ID.
    pub customers: BTreeMap<u64, Customer>,
    /// Orders by ID.
    pub orders: BTreeMap<u64, Order>,
    /// Themes by ID.
    pub themes: BTreeMap<u64, Theme>,
    /// Product media by ID.
    pub media: BTreeMap<u64, Media>,
    /// Blogs by ID.
    pub blogs: BTreeMap<u64, Blog>,
    /// Articles by ID.
    pub articles: BTreeMap<u64, Article>,
    /// Navigation menus by ID.
    pub menus: BTreeMap<u64, Menu>,
    /// Metaobject definitions by ID.
    pub metaobject_definitions: BTreeMap<u64, MetaobjectDefinition>,
    /// Metaobjects by ID.
    pub metaobjects: BTreeMap<u64, Metaobject>,
    /// Locations by ID.
    pub locations: BTreeMap<u64, Location>,
    /// Inventory items by ID (one per variant; see [`InventoryItem`]).
    pub inventory: BTreeMap<u64, InventoryItem>,
    /// Generic files of the files library by ID (product images are files too: see `media`).
    pub files: BTreeMap<u64, GenericFile>,
    /// Days advanced so far.
    pub day: u32,
    /// The seed it was generated from.
    pub seed: u64,
    /// The next IDs.
    pub ids: IdAllocator,
    /// The next order number (`#1001` is the first).
    pub next_order_number: u64,
}

impl Store {
    /// The model's current time, unix seconds: 09:00 UTC on the current day.
    pub fn now_ts(&self) -> i64 {
        EPOCH + i64::from(self.day) * DAY
    }

    /// The model's current time as ISO-8601.
    pub fn now(&self) -> String {
        iso(self.now_ts())
    }

    /// The product with this handle.
    pub fn product_by_handle(&self, handle: &str) -> Option<&Product> {
        self.products.values().find(|p| p.handle == handle)
    }

    /// The main (published) theme.
    pub fn main_theme(&self) -> Option<&Theme> {
        self.themes.values().find(|t| t.role == "MAIN")
    }

    /// Removes a product, its media, its collection memberships, its variants' inventory items
    /// and the menu items linking to it; false if there was none.
    pub fn delete_product(&mut self, id: u64) -> bool {
        let Some(product) = self.products.remove(&id) else {
            return false;
        };
        for m in &product.media {
            self.media.remove(m);
        }
        for c in &product.collections {
            if let Some(col) = self.collections.get_mut(c) {
                col.products.retain(|p| *p != id);
            }
        }
        for v in &product.variants {
            self.inventory.remove(&v.inventory_item_id);
        }
        self.unlink_menus(&crate::ids::gid("Product", id));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_and_money() {
        assert_eq!(iso(EPOCH), "2026-11-01T09:00:00Z");
        assert_eq!(iso(EPOCH + 61 * DAY), "2027-01-01T09:00:00Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(money(1200), "12.00");
        assert_eq!(money(5), "0.05");
        assert_eq!(parse_money("12"), Some(1200));
        assert_eq!(parse_money("12.5"), Some(1250));
        assert_eq!(parse_money("0.05"), Some(5));
        assert_eq!(parse_money("1.234"), None);
        assert_eq!(parse_money("x"), None);
    }

    #[test]
    fn ids_are_distinct_and_never_reused() {
        let mut ids = IdAllocator::default();
        let a = ids.next(Kind::Product);
        let b = ids.next(Kind::Product);
        assert_eq!(a, 7_100_000_001_013);
        assert_ne!(a, b);
        assert_ne!(ids.next(Kind::Variant), a);
    }
}
