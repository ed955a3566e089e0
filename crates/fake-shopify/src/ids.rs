//! Numeric IDs: each kind of object has its own range, and an ID is never handed out twice; and
//! their global form, `gid://shopify/Type/N`.

use serde::Serialize;
use serde_json::Value;

/// The kinds of object that get IDs; each has its own range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `Product`.
    Product,
    /// `ProductVariant`.
    Variant,
    /// `InventoryItem`.
    InventoryItem,
    /// `ProductOption`.
    ProductOption,
    /// `Metafield`.
    Metafield,
    /// `MediaImage`.
    Media,
    /// `Collection`.
    Collection,
    /// `Page`.
    Page,
    /// `UrlRedirect`.
    Redirect,
    /// `Customer`.
    Customer,
    /// `MailingAddress`.
    Address,
    /// `Order`.
    Order,
    /// `LineItem`.
    LineItem,
    /// `OnlineStoreTheme`.
    Theme,
    /// `Blog`.
    Blog,
    /// `Article`.
    Article,
    /// Metafields of blogs and articles (their own range, so that the products' metafield IDs
    /// do not move).
    ContentMetafield,
    /// `Menu`.
    Menu,
    /// `MenuItem`.
    MenuItem,
    /// `MetaobjectDefinition`.
    MetaobjectDefinition,
    /// `Metaobject`.
    Metaobject,
    /// `Location`.
    Location,
    /// `InventoryLevel`.
    InventoryLevel,
    /// `GenericFile`.
    GenericFile,
}

impl Kind {
    const ALL: usize = 24;

    /// The first ID of the range and the step between IDs.
    fn range(self) -> (u64, u64) {
        match self {
            Kind::Product => (7_100_000_000_000, 1013),
            Kind::Variant => (42_100_000_000_000, 977),
            Kind::InventoryItem => (44_200_000_000_000, 991),
            Kind::ProductOption => (9_300_000_000_000, 13),
            Kind::Metafield => (25_400_000_000_000, 7),
            Kind::Media => (31_500_000_000_000, 101),
            Kind::Collection => (450_100_000_000, 1009),
            Kind::Page => (120_300_000_000, 17),
            Kind::Redirect => (400_500_000_000, 19),
            Kind::Customer => (7_600_000_000_000, 1021),
            Kind::Address => (9_800_000_000_000, 31),
            Kind::Order => (5_900_000_000_000, 1031),
            Kind::LineItem => (14_700_000_000_000, 37),
            Kind::Theme => (140_700_000_000, 1),
            Kind::Blog => (88_200_000_000, 7),
            Kind::Article => (560_300_000_000, 23),
            Kind::ContentMetafield => (25_900_000_000_000, 7),
            Kind::Menu => (210_400_000_000, 3),
            Kind::MenuItem => (510_600_000_000, 11),
            Kind::MetaobjectDefinition => (1_900_000_000, 41),
            Kind::Metaobject => (99_300_000_000, 43),
            Kind::Location => (70_800_000_000, 1009),
            Kind::InventoryLevel => (112_400_000_000, 17),
            Kind::GenericFile => (32_600_000_000_000, 103),
        }
    }
}

/// Hands out IDs; an ID is never handed out twice, even after its object is deleted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IdAllocator {
    next: [u64; Kind::ALL],
}

impl IdAllocator {
    /// The next ID of `kind`.
    pub fn next(&mut self, kind: Kind) -> u64 {
        let (base, step) = kind.range();
        let n = &mut self.next[kind as usize];
        *n += 1;
        base + *n * step
    }
}

/// `gid://shopify/Type/N`.
pub fn gid(ty: &str, id: u64) -> String {
    format!("gid://shopify/{ty}/{id}")
}

/// The numeric part of a GID of the given type.
pub fn parse_gid(ty: &str, v: &Value) -> Option<u64> {
    let s = v.as_str()?;
    let rest = s
        .strip_prefix("gid://shopify/")?
        .strip_prefix(ty)?
        .strip_prefix('/')?;
    rest.split('?').next()?.parse().ok()
}
