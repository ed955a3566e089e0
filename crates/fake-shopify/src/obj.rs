//! The values the executor works with: GraphQL errors, the objects being resolved and what a
//! field resolves to, and the global IDs of inventory levels.

use crate::bulk_ops::BulkOp;
use crate::ids::gid;
use crate::model::*;
use serde_json::{Map, Value};

/// A GraphQL error, as it appears in `errors`.
#[derive(Clone, Debug, PartialEq)]
pub struct GqlError {
    /// The message.
    pub message: String,
    /// `extensions`, including `code` where there is one.
    pub extensions: Map<String, Value>,
}

impl GqlError {
    /// An error with a message and an optional code.
    pub fn new(message: impl Into<String>, code: Option<&str>) -> Self {
        let mut extensions = Map::new();
        if let Some(code) = code {
            extensions.insert("code".into(), code.into());
        }
        GqlError {
            message: message.into(),
            extensions,
        }
    }

    /// Adds an extension.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.into(), value.into());
        self
    }

    /// `Field 'x' doesn't exist on type 'T'`.
    pub fn undefined_field(ty: &str, field: &str) -> Self {
        GqlError::new(
            format!("Field '{field}' doesn't exist on type '{ty}'"),
            Some("undefinedField"),
        )
        .with("typeName", ty)
        .with("fieldName", field)
    }

    /// The JSON of the error.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("message".into(), self.message.clone().into());
        if !self.extensions.is_empty() {
            m.insert("extensions".into(), Value::Object(self.extensions.clone()));
        }
        Value::Object(m)
    }
}

/// An object being resolved.
#[derive(Clone, Debug)]
pub enum Obj<'a> {
    /// The query root.
    Query,
    /// The shop.
    Shop,
    /// A product.
    Product(&'a Product),
    /// A variant of a product.
    Variant(&'a Product, &'a Variant),
    /// A metafield.
    Metafield(&'a Metafield),
    /// An image.
    Media(&'a Media),
    /// A collection.
    Collection(&'a Collection),
    /// A page.
    Page(&'a Page),
    /// A redirect.
    Redirect(&'a Redirect),
    /// A customer.
    Customer(&'a Customer),
    /// An order.
    Order(&'a Order),
    /// A line of an order.
    LineItem(&'a LineItem),
    /// A theme.
    Theme(&'a Theme),
    /// A theme file: theme, name, bytes.
    ThemeFile(&'a Theme, &'a str, &'a [u8]),
    /// A bulk operation.
    Bulk(&'a BulkOp),
    /// A blog.
    Blog(&'a Blog),
    /// An article.
    Article(&'a Article),
    /// A navigation menu.
    Menu(&'a Menu),
    /// An item of a menu.
    MenuItem(&'a MenuItem),
    /// A metaobject definition.
    MetaobjectDefinition(&'a MetaobjectDefinition),
    /// A metaobject.
    Metaobject(&'a Metaobject),
    /// A location.
    Location(&'a Location),
    /// An inventory item.
    InventoryItem(&'a InventoryItem),
    /// The level of an inventory item at a location.
    InventoryLevel(&'a InventoryItem, &'a InventoryLevel),
    /// A generic file of the files library.
    GenericFile(&'a GenericFile),
    /// A leaf object given as JSON (type name, fields); nested JSON objects are objects too.
    Plain(&'static str, Map<String, Value>),
    /// A mutation payload: type name and its fields.
    Payload(&'static str, Vec<(&'static str, Out<'a>)>),
}

/// What a field resolves to.
#[derive(Clone, Debug)]
pub enum Out<'a> {
    /// A scalar, enum, null, or inline JSON.
    Val(Value),
    /// An object (needs a selection).
    Obj(Obj<'a>),
    /// A list of objects.
    List(Vec<Obj<'a>>),
    /// A connection: (cursor key, node) in order.
    Conn(Vec<(String, Obj<'a>)>),
}

/// `gid://shopify/InventoryLevel/N?inventory_item_id=M`, as Shopify writes it.
pub fn level_gid(item: &InventoryItem, level: &InventoryLevel) -> String {
    format!(
        "gid://shopify/InventoryLevel/{}?inventory_item_id={}",
        level.id, item.id
    )
}

impl Obj<'_> {
    /// The GraphQL type name.
    pub fn typename(&self) -> &'static str {
        match self {
            Obj::Query => "QueryRoot",
            Obj::Shop => "Shop",
            Obj::Product(_) => "Product",
            Obj::Variant(..) => "ProductVariant",
            Obj::Metafield(_) => "Metafield",
            Obj::Media(_) => "MediaImage",
            Obj::Collection(_) => "Collection",
            Obj::Page(_) => "Page",
            Obj::Redirect(_) => "UrlRedirect",
            Obj::Customer(_) => "Customer",
            Obj::Order(_) => "Order",
            Obj::LineItem(_) => "LineItem",
            Obj::Theme(_) => "OnlineStoreTheme",
            Obj::ThemeFile(..) => "OnlineStoreThemeFile",
            Obj::Bulk(_) => "BulkOperation",
            Obj::Blog(_) => "Blog",
            Obj::Article(_) => "Article",
            Obj::Menu(_) => "Menu",
            Obj::MenuItem(_) => "MenuItem",
            Obj::MetaobjectDefinition(_) => "MetaobjectDefinition",
            Obj::Metaobject(_) => "Metaobject",
            Obj::Location(_) => "Location",
            Obj::InventoryItem(_) => "InventoryItem",
            Obj::InventoryLevel(..) => "InventoryLevel",
            Obj::GenericFile(_) => "GenericFile",
            Obj::Plain(t, _) | Obj::Payload(t, _) => t,
        }
    }

    /// Whether a fragment on `ty` applies.
    pub(crate) fn is_a(&self, ty: &str) -> bool {
        if ty == self.typename() {
            return true;
        }
        if let Obj::Plain(_, m) = self {
            return m.get("__typename").and_then(Value::as_str) == Some(ty);
        }
        let has_metafields = matches!(
            self,
            Obj::Product(_)
                | Obj::Variant(..)
                | Obj::Collection(_)
                | Obj::Page(_)
                | Obj::Customer(_)
                | Obj::Order(_)
                | Obj::Blog(_)
                | Obj::Article(_)
        );
        match ty {
            "Node" => !matches!(
                self,
                Obj::Query
                    | Obj::Plain(..)
                    | Obj::Payload(..)
                    | Obj::ThemeFile(..)
                    | Obj::MenuItem(_)
            ),
            "Media" => matches!(self, Obj::Media(_)),
            "File" => matches!(self, Obj::Media(_) | Obj::GenericFile(_)),
            "HasMetafields" | "HasMetafieldDefinitions" => has_metafields,
            _ => false,
        }
    }

    /// The object's GID, the `__parentId` of its children in bulk output.
    pub fn gid(&self) -> Option<String> {
        Some(match self {
            Obj::Shop => return None,
            Obj::Product(p) => gid("Product", p.id),
            Obj::Variant(_, v) => gid("ProductVariant", v.id),
            Obj::Metafield(m) => gid("Metafield", m.id),
            Obj::Media(m) => gid("MediaImage", m.id),
            Obj::Collection(c) => gid("Collection", c.id),
            Obj::Page(p) => gid("Page", p.id),
            Obj::Redirect(r) => gid("UrlRedirect", r.id),
            Obj::Customer(c) => gid("Customer", c.id),
            Obj::Order(o) => gid("Order", o.id),
            Obj::LineItem(l) => gid("LineItem", l.id),
            Obj::Theme(t) => gid("OnlineStoreTheme", t.id),
            Obj::Bulk(b) => gid("BulkOperation", b.id),
            Obj::Blog(b) => gid("Blog", b.id),
            Obj::Article(a) => gid("Article", a.id),
            Obj::Menu(m) => gid("Menu", m.id),
            Obj::MenuItem(i) => gid("MenuItem", i.id),
            Obj::MetaobjectDefinition(d) => gid("MetaobjectDefinition", d.id),
            Obj::Metaobject(m) => gid("Metaobject", m.id),
            Obj::Location(l) => gid("Location", l.id),
            Obj::InventoryItem(i) => gid("InventoryItem", i.id),
            Obj::InventoryLevel(i, l) => level_gid(i, l),
            Obj::GenericFile(f) => gid("GenericFile", f.id),
            Obj::Plain(_, m) => return m.get("id").and_then(Value::as_str).map(String::from),
            _ => return None,
        })
    }
}
