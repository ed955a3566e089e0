//! What an export's files are, as items a merchant knows: `products/4211.json` is product 4211,
//! `themes/9/sections/header.liquid` is a file of theme 9, `customers/7/orders/55.json` is the
//! contact part of order 55.

/// An item of the store, named by kind and ID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ItemKey {
    /// `product`, `collection`, `page`, `redirect`, `customer`, `order`, `theme file`, `theme`,
    /// `medium`, `shop`, or `file` for anything else.
    pub kind: &'static str,
    /// The numeric ID, or for theme files `THEME/FILENAME`, or the path for `file`.
    pub id: String,
}

/// How a file belongs to its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The item's JSON record.
    Record,
    /// The personal part of an order, kept in its customer's folder.
    OrderContact,
    /// A file compared by content (theme files, media originals).
    Content,
}

/// The numeric ID of a file named `<ID>.json`.
fn json_id(name: &str) -> Option<&str> {
    name.strip_suffix(".json")
        .filter(|n| n.parse::<u64>().is_ok())
}

/// The item a file of the export (path relative to the export's root, no leading '/') belongs
/// to; `None` for the connector's own files.
pub fn item_of(path: &str) -> Option<(ItemKey, Part)> {
    let parts: Vec<&str> = path.split('/').collect();
    let key = |kind: &'static str, id: &str| ItemKey {
        kind,
        id: id.to_string(),
    };
    Some(match parts.as_slice() {
        [dir, ..] if *dir == super::STATE_DIR => return None,
        ["shop.json"] => (key("shop", "shop"), Part::Record),
        [dir, name] if json_id(name).is_some() => {
            let id = json_id(name)?;
            let kind = match *dir {
                "products" => "product",
                "collections" => "collection",
                "pages" => "page",
                "redirects" => "redirect",
                "orders" => "order",
                "blogs" => "blog",
                "menus" => "menu",
                "locations" => "location",
                "inventory" => "inventory item",
                "files" => "library file",
                _ => return Some((key("file", path), Part::Content)),
            };
            (key(kind, id), Part::Record)
        }
        ["customers", id, "customer.json"] => (key("customer", id), Part::Record),
        ["customers", _, "orders", name] if json_id(name).is_some() => {
            (key("order", json_id(name)?), Part::OrderContact)
        }
        ["blogs", _, "articles", name] if json_id(name).is_some() => {
            (key("article", json_id(name)?), Part::Record)
        }
        ["metaobject-definitions", name] if name.ends_with(".json") => (
            key("metaobject definition", name.strip_suffix(".json")?),
            Part::Record,
        ),
        ["metaobjects", ty, name] if json_id(name).is_some() => (
            key("metaobject", &format!("{ty}/{}", json_id(name)?)),
            Part::Record,
        ),
        ["themes", theme, "theme.json"] => (key("theme", theme), Part::Record),
        ["themes", theme, rest @ ..] if !rest.is_empty() => (
            key("theme file", &format!("{theme}/{}", rest.join("/"))),
            Part::Content,
        ),
        ["media", id, _] => (key("medium", id), Part::Content),
        _ => (key("file", path), Part::Content),
    })
}

/// The file that holds an item's record, from `KIND ID` words (`product 4211`) or a path inside
/// the export (`products/4211.json`).
pub fn file_of(item: &[String]) -> Option<String> {
    match item {
        [path] if path.contains('/') || path.ends_with(".json") => {
            Some(path.trim_start_matches('/').to_string())
        }
        [kind, id] => {
            let id = id.as_str();
            let num = id.parse::<u64>().is_ok();
            Some(match kind.as_str() {
                "product" | "products" if num => format!("products/{id}.json"),
                "collection" | "collections" if num => format!("collections/{id}.json"),
                "page" | "pages" if num => format!("pages/{id}.json"),
                "redirect" | "redirects" if num => format!("redirects/{id}.json"),
                "order" | "orders" if num => format!("orders/{id}.json"),
                "customer" | "customers" => format!("customers/{id}/customer.json"),
                "blog" | "blogs" if num => format!("blogs/{id}.json"),
                "menu" | "menus" if num => format!("menus/{id}.json"),
                "location" | "locations" if num => format!("locations/{id}.json"),
                "inventory" if num => format!("inventory/{id}.json"),
                "article" | "articles" => {
                    let (blog, article) = id.split_once('/')?;
                    format!("blogs/{blog}/articles/{article}.json")
                }
                "metaobject" | "metaobjects" => {
                    let (ty, n) = id.split_once('/')?;
                    format!("metaobjects/{ty}/{n}.json")
                }
                "theme" | "themes" => {
                    let (theme, file) = id.split_once('/')?;
                    format!("themes/{theme}/{file}")
                }
                _ => return None,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_map_to_the_items_a_merchant_knows() {
        let k = |p: &str| item_of(p).map(|(k, part)| (k.kind, k.id, part));
        assert_eq!(
            k("products/4211.json"),
            Some(("product", "4211".into(), Part::Record))
        );
        assert_eq!(
            k("customers/7/customer.json"),
            Some(("customer", "7".into(), Part::Record))
        );
        assert_eq!(
            k("customers/guest-9/orders/9.json"),
            Some(("order", "9".into(), Part::OrderContact))
        );
        assert_eq!(
            k("themes/3/sections/header.liquid"),
            Some((
                "theme file",
                "3/sections/header.liquid".into(),
                Part::Content
            ))
        );
        assert_eq!(
            k("media/5/mug.jpg"),
            Some(("medium", "5".into(), Part::Content))
        );
        assert_eq!(k(".backstock-shopify/state.json"), None);
        assert_eq!(k("notes.txt").unwrap().0, "file");
        assert_eq!(
            k("blogs/3/articles/8.json"),
            Some(("article", "8".into(), Part::Record))
        );
        assert_eq!(
            k("metaobjects/faq/5.json"),
            Some(("metaobject", "faq/5".into(), Part::Record))
        );
        assert_eq!(k("metaobject-definitions/faq.json").unwrap().1, "faq");
        assert_eq!(k("inventory/4.json").unwrap().0, "inventory item");
        let words = |w: &[&str]| file_of(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            words(&["article", "3/8"]).as_deref(),
            Some("blogs/3/articles/8.json")
        );
        assert_eq!(
            words(&["product", "4211"]).as_deref(),
            Some("products/4211.json")
        );
        assert_eq!(
            words(&["theme", "3/layout/theme.liquid"]).as_deref(),
            Some("themes/3/layout/theme.liquid")
        );
        assert_eq!(words(&["product", "x"]), None);
        assert_eq!(
            words(&["products/1.json"]).as_deref(),
            Some("products/1.json")
        );
    }
}
