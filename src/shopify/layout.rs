//! Where each exported item goes, and how it is written: one file per item named by the numeric
//! part of its GID, JSON with sorted keys, one field per line. A customer's personal data goes
//! under `customers/<id>/` only, so that erasing a customer removes one folder.

use super::bulk::{gid_number, Child, Entity};
use super::error::{Error, Result};
use super::queries;
use serde_json::{Map, Value};
use std::path::PathBuf;

const METAFIELDS: Child = Child {
    field: "metafields",
    types: &["Metafield"],
    children: &[],
};

/// The entities exported by bulk operations, in export order.
pub const ENTITIES: &[Entity] = &[
    Entity {
        name: "products",
        query: queries::PRODUCTS,
        children: &[
            Child {
                field: "variants",
                types: &["ProductVariant"],
                children: &[METAFIELDS],
            },
            Child {
                field: "media",
                types: &["MediaImage", "Video", "Model3d", "ExternalVideo"],
                children: &[],
            },
            METAFIELDS,
        ],
    },
    Entity {
        name: "collections",
        query: queries::COLLECTIONS,
        children: &[
            Child {
                field: "products",
                types: &["Product"],
                children: &[],
            },
            METAFIELDS,
        ],
    },
    Entity {
        name: "pages",
        query: queries::PAGES,
        children: &[METAFIELDS],
    },
    Entity {
        name: "redirects",
        query: queries::REDIRECTS,
        children: &[],
    },
    Entity {
        name: "blogs",
        query: queries::BLOGS,
        children: &[
            METAFIELDS,
            Child {
                field: "articles",
                types: &["Article"],
                children: &[METAFIELDS],
            },
        ],
    },
    Entity {
        name: "inventory",
        query: queries::INVENTORY,
        children: &[Child {
            field: "inventoryLevels",
            types: &["InventoryLevel"],
            children: &[],
        }],
    },
    Entity {
        name: "files",
        query: queries::FILES,
        children: &[],
    },
    Entity {
        name: "customers",
        query: queries::CUSTOMERS,
        children: &[METAFIELDS],
    },
    Entity {
        name: "orders",
        query: queries::ORDERS,
        children: &[Child {
            field: "lineItems",
            types: &["LineItem"],
            children: &[],
        }],
    },
];

/// The collections of each product, joined into `products/<id>.json` as `collections`.
pub const PRODUCT_COLLECTIONS: Entity = Entity {
    name: "product collections",
    query: queries::PRODUCT_COLLECTIONS,
    children: &[Child {
        field: "collections",
        types: &["Collection"],
        children: &[],
    }],
};

/// The fields of an order that identify or locate a person: they go to the customer's folder.
pub const ORDER_PERSONAL_FIELDS: &[&str] = &[
    "billingAddress",
    "email",
    "note",
    "phone",
    "shippingAddress",
];

/// The folder of the personal parts of an order placed without a customer account.
pub fn guest_folder(order: u64) -> String {
    format!("guest-{order}")
}

/// The numeric ID of an exported object.
pub fn number_of(entity: &str, item: &Value) -> Result<u64> {
    item.get("id")
        .and_then(Value::as_str)
        .and_then(gid_number)
        .ok_or_else(|| {
            Error::protocol(
                format!("exporting {entity}"),
                format!("an object without a usable id: {}", short_json(item)),
            )
        })
}

/// The files an item of `entity` is written as: paths relative to the export's root.
pub fn files_of(entity: &str, item: Value) -> Result<Vec<(PathBuf, Value)>> {
    let n = number_of(entity, &item)?;
    let file = |dir: &str| PathBuf::from(dir).join(format!("{n}.json"));
    Ok(match entity {
        "customers" => vec![(PathBuf::from(format!("customers/{n}/customer.json")), item)],
        "blogs" => {
            let Value::Object(mut blog) = item else {
                return Err(Error::protocol(
                    "exporting blogs",
                    "a blog that is not an object",
                ));
            };
            let articles = match blog.remove("articles") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            let mut files = vec![(file("blogs"), Value::Object(blog))];
            for a in articles {
                let id = number_of("articles", &a)?;
                files.push((PathBuf::from(format!("blogs/{n}/articles/{id}.json")), a));
            }
            files
        }
        "orders" => {
            let Value::Object(mut order) = item else {
                return Err(Error::protocol(
                    "exporting orders",
                    "an order that is not an object",
                ));
            };
            let mut personal = Map::new();
            for f in ORDER_PERSONAL_FIELDS {
                if let Some(v) = order.remove(*f) {
                    personal.insert((*f).to_string(), v);
                }
            }
            for f in ["id", "name"] {
                if let Some(v) = order.get(f) {
                    personal.insert(f.to_string(), v.clone());
                }
            }
            let folder = match order
                .get("customer")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_str)
                .and_then(gid_number)
            {
                Some(c) => c.to_string(),
                None => guest_folder(n),
            };
            vec![
                (file("orders"), Value::Object(order)),
                (
                    PathBuf::from(format!("customers/{folder}/orders/{n}.json")),
                    Value::Object(personal),
                ),
            ]
        }
        other => vec![(file(other), item)],
    })
}

/// The bytes of an item's file: sorted keys (serde_json's map is ordered), two-space indent, one
/// field per line and a final newline, so that a price edit changes one line.
pub fn canonical(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// A relative path from the store checked to stay inside the export: no root, no `..`, no
/// empty or `.` part, no NUL, at most 512 bytes.
pub fn safe_relative(what: &str, name: &str) -> Result<PathBuf> {
    let bad = name.is_empty()
        || name.len() > 512
        || name.starts_with('/')
        || name.contains('\0')
        || name.contains('\\')
        || name
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..");
    if bad {
        return Err(Error::protocol(
            what,
            format!("the file name {name:?} would leave the export folder or is not a file name"),
        ));
    }
    Ok(PathBuf::from(name))
}

fn short_json(v: &Value) -> String {
    super::client::short(&v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_order_keeps_no_personal_field_and_its_customer_folder_gets_them() {
        let order = json!({"id": "gid://shopify/Order/5", "name": "#1005", "email": "a@b.c",
            "phone": "+1", "note": "leave at door", "shippingAddress": {"city": "X"},
            "billingAddress": null, "customer": {"id": "gid://shopify/Customer/9"},
            "lineItems": [{"id": "gid://shopify/LineItem/1"}]});
        let files = files_of("orders", order).unwrap();
        assert_eq!(files[0].0, PathBuf::from("orders/5.json"));
        for f in ORDER_PERSONAL_FIELDS {
            assert!(files[0].1.get(*f).is_none(), "{f}");
        }
        assert_eq!(files[0].1["customer"]["id"], "gid://shopify/Customer/9");
        assert_eq!(files[1].0, PathBuf::from("customers/9/orders/5.json"));
        assert_eq!(files[1].1["email"], "a@b.c");
        assert_eq!(files[1].1["note"], "leave at door");
        let guest = json!({"id": "gid://shopify/Order/6", "email": "g@b.c", "customer": null});
        let files = files_of("orders", guest).unwrap();
        assert_eq!(files[1].0, PathBuf::from("customers/guest-6/orders/6.json"));
    }

    #[test]
    fn canonical_json_sorts_keys_and_puts_one_field_per_line() {
        let text = String::from_utf8(canonical(&json!({"b": 1, "a": {"d": 2, "c": [3]}}))).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": {\n    \"c\": [\n      3\n    ],\n    \"d\": 2\n  },\n  \"b\": 1\n}\n"
        );
    }

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a/./b",
            "a\\b",
            "a\0b",
        ] {
            assert!(safe_relative("t", bad).is_err(), "{bad:?}");
        }
        assert!(safe_relative("t", "sections/header.liquid").is_ok());
        assert!(files_of("products", json!({"id": "nope"})).is_err());
    }
}
