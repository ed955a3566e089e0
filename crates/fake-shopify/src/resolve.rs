//! Field resolvers of the query root and the catalogue: products, variants, media, metafields,
//! collections, pages and redirects. An unknown field is an `undefinedField` error, as Shopify's.

use crate::exec::{gid, key, parse_gid, Ctx, GqlError, Obj, Out};
use crate::gql::Field;
use crate::image_info::{encode_segment, image_mime};
use crate::model::*;
use serde_json::{json, Map, Value};

/// `Ok(Out::Val(json!(...)))`.
macro_rules! val {
    ($($t:tt)*) => {
        Ok(Out::Val(json!($($t)*)))
    };
}
pub(crate) use val;

/// A plain object from a `json!` object literal.
pub(crate) fn plain(ty: &'static str, v: Value) -> Obj<'static> {
    match v {
        Value::Object(m) => Obj::Plain(ty, m),
        _ => Obj::Plain(ty, Map::new()),
    }
}

/// Text without HTML tags.
pub(crate) fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The scope a root field needs, and whether it is denied.
fn required_scope(field: &str) -> Option<&'static str> {
    Some(match field {
        "products"
        | "product"
        | "productByHandle"
        | "productByIdentifier"
        | "collections"
        | "collection"
        | "collectionByHandle"
        | "productVariants"
        | "productVariant" => "read_products",
        "pages" | "page" => "read_content",
        "urlRedirects" | "urlRedirect" => "read_online_store_navigation",
        "customers" | "customer" => "read_customers",
        "orders" | "order" => "read_orders",
        "themes" | "theme" => "read_themes",
        _ => return crate::resolve_root::required_scope_more(field),
    })
}

/// Shopify's ACCESS_DENIED error for a field needing `scope`.
pub(crate) fn access_denied(field: &str, scope: &str) -> GqlError {
    GqlError::new(
        format!("Access denied for {field} field. Required access: `{scope}` access scope."),
        Some("ACCESS_DENIED"),
    )
    .with(
        "documentation",
        "https://shopify.dev/api/usage/access-scopes",
    )
    .with("requiredAccess", format!("`{scope}` access scope."))
}

pub(crate) fn metafield_objs<'a>(ctx: &Ctx<'a>, list: &'a [Metafield], f: &Field) -> Out<'a> {
    let ns = f.arg("namespace", ctx.vars);
    Out::Conn(
        list.iter()
            .filter(|m| ns.as_ref().is_none_or(|n| n.as_str() == Some(&m.namespace)))
            .map(|m| (key(m.id), Obj::Metafield(m)))
            .collect(),
    )
}

pub(crate) fn one_metafield<'a>(ctx: &Ctx<'a>, list: &'a [Metafield], f: &Field) -> Out<'a> {
    let ns = f.arg("namespace", ctx.vars);
    let k = f.arg("key", ctx.vars);
    let (ns, k) = match (ns, k) {
        (Some(ns), Some(k)) => (ns, k),
        // `key: "namespace.key"` alone.
        (None, Some(k)) => {
            let s = k.as_str().unwrap_or("");
            let (a, b) = s.split_once('.').unwrap_or(("", s));
            (Value::from(a), Value::from(b))
        }
        _ => return Out::Val(Value::Null),
    };
    match list
        .iter()
        .find(|m| ns.as_str() == Some(&m.namespace) && k.as_str() == Some(&m.key))
    {
        Some(m) => Out::Obj(Obj::Metafield(m)),
        None => Out::Val(Value::Null),
    }
}

/// `{id, ...}` of an address.
pub(crate) fn address_json(a: &Address) -> Value {
    json!({
        "__typename": "MailingAddress",
        "id": gid("MailingAddress", a.id),
        "firstName": a.first_name, "lastName": a.last_name,
        "name": format!("{} {}", a.first_name, a.last_name),
        "company": a.company, "address1": a.address1, "address2": a.address2, "city": a.city,
        "province": a.province, "provinceCode": a.province_code, "country": a.country,
        "countryCodeV2": a.country_code, "countryCode": a.country_code, "zip": a.zip, "phone": a.phone,
    })
}

impl<'a> Ctx<'a> {
    /// Resolves field `f` of `obj`.
    pub fn resolve(&mut self, obj: &Obj<'a>, f: &Field) -> Result<Out<'a>, GqlError> {
        match obj {
            Obj::Query => self.query_field(f),
            Obj::Product(p) => self.product_field(p, f),
            Obj::Variant(p, v) => self.variant_field(p, v, f),
            Obj::Metafield(m) => metafield_field(m, f),
            Obj::Media(m) => self.media_field(m, f),
            Obj::Collection(c) => self.collection_field(c, f),
            Obj::Page(p) => self.page_field(p, f),
            Obj::Redirect(r) => match f.name.as_str() {
                "id" => val!(gid("UrlRedirect", r.id)),
                "path" => val!(r.path),
                "target" => val!(r.target),
                other => Err(GqlError::undefined_field("UrlRedirect", other)),
            },
            Obj::Shop => self.shop_field(f),
            Obj::Customer(c) => self.customer_field(c, f),
            Obj::Order(o) => self.order_field(o, f),
            Obj::LineItem(l) => self.line_item_field(l, f),
            Obj::Theme(t) => self.theme_field(t, f),
            Obj::ThemeFile(t, name, bytes) => self.theme_file_field(t, name, bytes, f),
            Obj::Bulk(b) => self.bulk_field(b, f),
            Obj::Blog(_)
            | Obj::Article(_)
            | Obj::Menu(_)
            | Obj::MenuItem(_)
            | Obj::MetaobjectDefinition(_)
            | Obj::Metaobject(_) => self.content_field(obj, f),
            Obj::Location(_)
            | Obj::InventoryItem(_)
            | Obj::InventoryLevel(..)
            | Obj::GenericFile(_) => self.stock_field(obj, f),
            Obj::Plain(ty, m) => match m.get(&f.name) {
                Some(v) => Ok(Out::Val(v.clone())),
                None => Err(GqlError::undefined_field(ty, &f.name)),
            },
            Obj::Payload(ty, fields) => match fields.iter().find(|(n, _)| *n == f.name) {
                Some((_, out)) => Ok(out.clone()),
                None => Err(GqlError::undefined_field(ty, &f.name)),
            },
        }
    }

    pub(crate) fn by_gid<T>(
        &self,
        f: &Field,
        arg: &str,
        ty: &str,
        map: &'a std::collections::BTreeMap<u64, T>,
    ) -> Option<&'a T> {
        parse_gid(ty, &f.arg(arg, self.vars)?).and_then(|id| map.get(&id))
    }

    pub(crate) fn node(&self, id: &Value) -> Out<'a> {
        let s = self.store;
        let ty = id
            .as_str()
            .and_then(|s| s.strip_prefix("gid://shopify/"))
            .and_then(|s| s.split('/').next())
            .unwrap_or("");
        let n = parse_gid(ty, id);
        let obj = n.and_then(|n| match ty {
            "Product" => s.products.get(&n).map(Obj::Product),
            "Collection" => s.collections.get(&n).map(Obj::Collection),
            "Page" => s.pages.get(&n).map(Obj::Page),
            "UrlRedirect" => s.redirects.get(&n).map(Obj::Redirect),
            "Customer" => s.customers.get(&n).map(Obj::Customer),
            "Order" => s.orders.get(&n).map(Obj::Order),
            "OnlineStoreTheme" => s.themes.get(&n).map(Obj::Theme),
            "MediaImage" => s.media.get(&n).map(Obj::Media),
            "BulkOperation" => self.bulk.ops.get(&n).map(Obj::Bulk),
            "ProductVariant" => s.products.values().find_map(|p| {
                p.variants
                    .iter()
                    .find(|v| v.id == n)
                    .map(|v| Obj::Variant(p, v))
            }),
            _ => self.node_more(ty, n),
        });
        obj.map_or(Out::Val(Value::Null), Out::Obj)
    }

    fn query_field(&mut self, f: &Field) -> Result<Out<'a>, GqlError> {
        if let Some(scope) = required_scope(&f.name) {
            if self.denied.contains(scope) {
                return Err(access_denied(&f.name, scope));
            }
        }
        let s = self.store;
        match f.name.as_str() {
            "shop" => Ok(Out::Obj(Obj::Shop)),
            "product" => Ok(self
                .by_gid(f, "id", "Product", &s.products)
                .map_or(Out::Val(Value::Null), |p| Out::Obj(Obj::Product(p)))),
            "productByHandle" => {
                let h = f.arg("handle", self.vars);
                Ok(
                    h.and_then(|h| h.as_str().and_then(|h| s.product_by_handle(h)))
                        .map_or(Out::Val(Value::Null), |p| Out::Obj(Obj::Product(p))),
                )
            }
            "productByIdentifier" => Ok(self
                .product_by_identifier(f)?
                .map_or(Out::Val(Value::Null), |p| Out::Obj(Obj::Product(p)))),
            "collection" => Ok(self
                .by_gid(f, "id", "Collection", &s.collections)
                .map_or(Out::Val(Value::Null), |c| Out::Obj(Obj::Collection(c)))),
            "page" => Ok(self
                .by_gid(f, "id", "Page", &s.pages)
                .map_or(Out::Val(Value::Null), |p| Out::Obj(Obj::Page(p)))),
            "customers" => Ok(Out::Conn(
                s.customers
                    .values()
                    .map(|c| (key(c.id), Obj::Customer(c)))
                    .collect(),
            )),
            "customer" => Ok(self
                .by_gid(f, "id", "Customer", &s.customers)
                .map_or(Out::Val(Value::Null), |c| Out::Obj(Obj::Customer(c)))),
            "orders" => Ok(Out::Conn(
                s.orders
                    .values()
                    .map(|o| (key(o.id), Obj::Order(o)))
                    .collect(),
            )),
            "order" => Ok(self
                .by_gid(f, "id", "Order", &s.orders)
                .map_or(Out::Val(Value::Null), |o| Out::Obj(Obj::Order(o)))),
            "themes" => {
                let roles: Option<Vec<String>> = f
                    .arg("roles", self.vars)
                    .and_then(|r| serde_json::from_value(r).ok());
                Ok(Out::Conn(
                    s.themes
                        .values()
                        .filter(|t| roles.as_ref().is_none_or(|r| r.contains(&t.role)))
                        .map(|t| (key(t.id), Obj::Theme(t)))
                        .collect(),
                ))
            }
            "theme" => Ok(self
                .by_gid(f, "id", "OnlineStoreTheme", &s.themes)
                .map_or(Out::Val(Value::Null), |t| Out::Obj(Obj::Theme(t)))),
            "node" => Ok(f
                .arg("id", self.vars)
                .map_or(Out::Val(Value::Null), |id| self.node(&id))),
            "nodes" => {
                let ids = f
                    .arg("ids", self.vars)
                    .and_then(|v| v.as_array().cloned())
                    .unwrap_or_default();
                let mut list = Vec::new();
                for id in ids {
                    match self.node(&id) {
                        Out::Obj(o) => list.push(o),
                        _ => {
                            return Err(GqlError::new(
                                format!("Invalid id: {id}"),
                                Some("RESOURCE_NOT_FOUND"),
                            ))
                        }
                    }
                }
                Ok(Out::List(list))
            }
            "currentBulkOperation" => Ok(self
                .bulk
                .current()
                .map_or(Out::Val(Value::Null), |b| Out::Obj(Obj::Bulk(b)))),
            "bulkOperation" => Ok(self
                .by_gid(f, "id", "BulkOperation", &self.bulk.ops)
                .map_or(Out::Val(Value::Null), |b| Out::Obj(Obj::Bulk(b)))),
            _ => self.query_field_more(f),
        }
    }

    fn product_field(&mut self, p: &'a Product, f: &Field) -> Result<Out<'a>, GqlError> {
        match f.name.as_str() {
            "id" => val!(gid("Product", p.id)),
            "legacyResourceId" => val!(p.id.to_string()),
            "handle" => val!(p.handle),
            "title" => val!(p.title),
            "descriptionHtml" => val!(p.description_html),
            "description" => val!(strip_tags(&p.description_html)),
            "vendor" => val!(p.vendor),
            "productType" => val!(p.product_type),
            "status" => val!(p.status),
            "tags" => val!(p.tags),
            "templateSuffix" => val!(p.template_suffix),
            "createdAt" => val!(p.created_at),
            "updatedAt" => val!(p.updated_at),
            "publishedAt" => val!(p.published_at),
            "isGiftCard" => val!(false),
            "tracksInventory" => val!(true),
            "onlineStoreUrl" => val!((p.status == "ACTIVE")
                .then(|| format!("https://fake.myshopify.com/products/{}", p.handle))),
            "totalInventory" => val!(p.variants.iter().map(|v| v.inventory_quantity).sum::<i64>()),
            "hasOnlyDefaultVariant" => {
                val!(p.variants.len() == 1 && p.variants[0].title == "Default Title")
            }
            "seo" => Ok(Out::Obj(plain(
                "SEO",
                json!({"title": p.seo_title, "description": p.seo_description}),
            ))),
            "variantsCount" => Ok(Out::Obj(plain(
                "Count",
                json!({"count": p.variants.len(), "precision": "EXACT"}),
            ))),
            "mediaCount" => Ok(Out::Obj(plain(
                "Count",
                json!({"count": p.media.len(), "precision": "EXACT"}),
            ))),
            "options" => {
                let limit = f
                    .arg("first", self.vars)
                    .and_then(|v| v.as_u64())
                    .map_or(usize::MAX, |n| n as usize);
                Ok(Out::List(
                    p.options
                        .iter()
                        .take(limit)
                        .map(|o| {
                            let values: Vec<Value> = o
                                .values
                                .iter()
                                .map(|v| json!({"__typename": "ProductOptionValue", "name": v, "hasVariants": p.variants.iter().any(|x| x.selected_options.iter().any(|s| s.name == o.name && &s.value == v))}))
                                .collect();
                            plain("ProductOption", json!({"id": gid("ProductOption", o.id), "name": o.name, "position": o.position, "values": o.values, "optionValues": values}))
                        })
                        .collect(),
                ))
            }
            "variants" => Ok(Out::Conn(
                p.variants
                    .iter()
                    .map(|v| (key(u64::from(v.position)), Obj::Variant(p, v)))
                    .collect(),
            )),
            "media" => Ok(Out::Conn(
                p.media
                    .iter()
                    .filter_map(|m| self.store.media.get(m))
                    .enumerate()
                    .map(|(i, m)| (key(i as u64), Obj::Media(m)))
                    .collect(),
            )),
            "featuredMedia" => Ok(p
                .media
                .first()
                .and_then(|m| self.store.media.get(m))
                .map_or(Out::Val(Value::Null), |m| Out::Obj(Obj::Media(m)))),
            "metafields" => Ok(metafield_objs(self, &p.metafields, f)),
            "metafield" => Ok(one_metafield(self, &p.metafields, f)),
            "collections" => Ok(Out::Conn(
                p.collections
                    .iter()
                    .filter_map(|c| self.store.collections.get(c))
                    .map(|c| (key(c.id), Obj::Collection(c)))
                    .collect(),
            )),
            other => Err(GqlError::undefined_field("Product", other)),
        }
    }

    fn variant_field(
        &mut self,
        p: &'a Product,
        v: &'a Variant,
        f: &Field,
    ) -> Result<Out<'a>, GqlError> {
        match f.name.as_str() {
            "id" => val!(gid("ProductVariant", v.id)),
            "legacyResourceId" => val!(v.id.to_string()),
            "title" => val!(v.title),
            "displayName" => val!(format!("{} - {}", p.title, v.title)),
            "sku" => val!(v.sku),
            "barcode" => val!(v.barcode),
            "price" => val!(v.price),
            "compareAtPrice" => val!(v.compare_at_price),
            "position" => val!(v.position),
            "taxable" => val!(v.taxable),
            "inventoryPolicy" => val!(v.inventory_policy),
            "inventoryQuantity" => val!(v.inventory_quantity),
            "availableForSale" => val!(
                p.status == "ACTIVE"
                    && (v.inventory_quantity > 0 || v.inventory_policy == "CONTINUE")
            ),
            "createdAt" => val!(p.created_at),
            "updatedAt" => val!(p.updated_at),
            "selectedOptions" => val!(v
                .selected_options
                .iter()
                .map(|s| json!({"__typename": "SelectedOption", "name": s.name, "value": s.value}))
                .collect::<Vec<_>>()),
            "inventoryItem" => Ok(match self.store.inventory.get(&v.inventory_item_id) {
                Some(item) => Out::Obj(Obj::InventoryItem(item)),
                None => Out::Obj(plain(
                    "InventoryItem",
                    json!({"id": gid("InventoryItem", v.inventory_item_id), "sku": v.sku, "tracked": true, "requiresShipping": true}),
                )),
            }),
            "product" => Ok(Out::Obj(Obj::Product(p))),
            "metafields" => Ok(metafield_objs(self, &v.metafields, f)),
            "metafield" => Ok(one_metafield(self, &v.metafields, f)),
            other => Err(GqlError::undefined_field("ProductVariant", other)),
        }
    }

    fn media_field(&mut self, m: &'a Media, f: &Field) -> Result<Out<'a>, GqlError> {
        let original = format!(
            "{}/_cdn/files/{}/{}?v={}",
            self.base,
            m.id,
            encode_segment(&m.filename),
            m.created_at
        );
        match f.name.as_str() {
            "id" => val!(gid("MediaImage", m.id)),
            "mediaContentType" => val!("IMAGE"),
            "alt" => val!(m.alt),
            "status" | "fileStatus" => val!("READY"),
            "fileErrors" => val!([]),
            "mimeType" => val!(image_mime(&m.bytes, &m.filename)),
            "createdAt" | "updatedAt" => val!(iso(m.created_at)),
            "image" => {
                let (stem, ext) = m.filename.rsplit_once('.').unwrap_or((&m.filename, "jpg"));
                let resized = format!(
                    "{}/_cdn/files/{}/{}?v={}",
                    self.base,
                    m.id,
                    encode_segment(&format!("{stem}_800x800.{ext}")),
                    m.created_at
                );
                Ok(Out::Obj(plain(
                    "Image",
                    json!({"id": gid("ImageSource", m.id), "url": resized, "width": m.width, "height": m.height, "altText": m.alt}),
                )))
            }
            "originalSource" => Ok(Out::Obj(plain(
                "MediaImageOriginalSource",
                json!({"url": original, "fileSize": m.bytes.len()}),
            ))),
            "preview" => Ok(Out::Obj(plain(
                "MediaPreviewImage",
                json!({"status": "READY", "image": {"url": original, "width": m.width, "height": m.height, "altText": m.alt}}),
            ))),
            other => Err(GqlError::undefined_field("MediaImage", other)),
        }
    }

    fn collection_field(&mut self, c: &'a Collection, f: &Field) -> Result<Out<'a>, GqlError> {
        match f.name.as_str() {
            "id" => val!(gid("Collection", c.id)),
            "legacyResourceId" => val!(c.id.to_string()),
            "handle" => val!(c.handle),
            "title" => val!(c.title),
            "descriptionHtml" => val!(c.description_html),
            "description" => val!(strip_tags(&c.description_html)),
            "sortOrder" => val!(c.sort_order),
            "templateSuffix" => val!(c.template_suffix),
            "updatedAt" => val!(c.updated_at),
            "image" => val!(null),
            "seo" => Ok(Out::Obj(plain(
                "SEO",
                json!({"title": c.seo_title, "description": c.seo_description}),
            ))),
            "ruleSet" => Ok(match &c.rule_set {
                None => Out::Val(Value::Null),
                Some(r) => Out::Obj(plain(
                    "CollectionRuleSet",
                    json!({"appliedDisjunctively": r.applied_disjunctively,
                           "rules": r.rules.iter().map(|x| json!({"__typename": "CollectionRule", "column": x.column, "relation": x.relation, "condition": x.condition})).collect::<Vec<_>>()}),
                )),
            }),
            "productsCount" => Ok(Out::Obj(plain(
                "Count",
                json!({"count": c.products.len(), "precision": "EXACT"}),
            ))),
            "products" => Ok(Out::Conn(
                c.products
                    .iter()
                    .filter_map(|p| self.store.products.get(p))
                    .enumerate()
                    .map(|(i, p)| (key(i as u64), Obj::Product(p)))
                    .collect(),
            )),
            "metafields" => Ok(metafield_objs(self, &c.metafields, f)),
            "metafield" => Ok(one_metafield(self, &c.metafields, f)),
            other => Err(GqlError::undefined_field("Collection", other)),
        }
    }

    fn page_field(&mut self, p: &'a Page, f: &Field) -> Result<Out<'a>, GqlError> {
        match f.name.as_str() {
            "id" => val!(gid("Page", p.id)),
            "handle" => val!(p.handle),
            "title" => val!(p.title),
            "body" => val!(p.body),
            "bodySummary" => val!(strip_tags(&p.body).chars().take(150).collect::<String>()),
            "isPublished" => val!(p.is_published),
            "publishedAt" => val!(p.published_at),
            "templateSuffix" => val!(p.template_suffix),
            "createdAt" => val!(p.created_at),
            "updatedAt" => val!(p.updated_at),
            "metafields" => Ok(metafield_objs(self, &p.metafields, f)),
            "metafield" => Ok(one_metafield(self, &p.metafields, f)),
            other => Err(GqlError::undefined_field("Page", other)),
        }
    }
}

fn metafield_field<'a>(m: &'a Metafield, f: &Field) -> Result<Out<'a>, GqlError> {
    match f.name.as_str() {
        "id" => val!(gid("Metafield", m.id)),
        "legacyResourceId" => val!(m.id.to_string()),
        "namespace" => val!(m.namespace),
        "key" => val!(m.key),
        "type" => val!(m.type_name),
        "value" => val!(m.value),
        "jsonValue" => val!(serde_json::from_str::<Value>(&m.value)
            .unwrap_or_else(|_| Value::from(m.value.clone()))),
        other => Err(GqlError::undefined_field("Metafield", other)),
    }
}
