//! Query-root fields beyond the catalogue basics: the searchable connections (`products`,
//! `collections`, `pages`, `urlRedirects`, `blogs`, `articles`, `menus`, `metaobjects`,
//! `locations`, `inventoryItems`, `files`, ... with their `query:` filter) and the lookups by ID,
//! handle or type, with the scopes they need.

use crate::exec::{key, parse_gid, Ctx, GqlError, Obj, Out};
use crate::gql::Field;
use crate::model::*;
use crate::search::{self, Term};
use serde_json::Value;

/// The scope a root field added here needs.
pub(crate) fn required_scope_more(field: &str) -> Option<&'static str> {
    Some(match field {
        "collectionByIdentifier" => "read_products",
        "blogs" | "blog" | "articles" | "article" => "read_content",
        "menus" | "menu" => "read_online_store_navigation",
        "metaobjectDefinitions" | "metaobjectDefinition" | "metaobjectDefinitionByType" => {
            "read_metaobject_definitions"
        }
        "metaobjects" | "metaobject" | "metaobjectByHandle" => "read_metaobjects",
        "locations" | "location" => "read_locations",
        "inventoryItems" | "inventoryItem" | "inventoryLevel" => "read_inventory",
        "files" => "read_files",
        _ => return None,
    })
}

/// Shopify's error for a field called without a required argument.
pub(crate) fn missing_argument(field: &str, argument: &str) -> GqlError {
    GqlError::new(
        format!("Field '{field}' is missing required arguments: {argument}"),
        Some("missingRequiredArguments"),
    )
    .with("className", "Field")
    .with("name", field)
    .with("arguments", argument)
}

fn one(v: impl ToString) -> Option<Vec<String>> {
    Some(vec![v.to_string()])
}

fn product_terms(p: &Product, field: &str) -> Option<Vec<String>> {
    match field {
        "" | "title" => one(&p.title),
        "handle" => one(&p.handle),
        "id" => one(p.id),
        "tag" | "tags" => Some(p.tags.clone()),
        "vendor" => one(&p.vendor),
        "product_type" => one(&p.product_type),
        "status" => one(&p.status),
        "sku" => Some(p.variants.iter().map(|v| v.sku.clone()).collect()),
        "created_at" => one(&p.created_at),
        "updated_at" => one(&p.updated_at),
        _ => None,
    }
}

fn collection_terms(c: &Collection, field: &str) -> Option<Vec<String>> {
    match field {
        "" | "title" => one(&c.title),
        "handle" => one(&c.handle),
        "id" => one(c.id),
        "collection_type" => one(if c.rule_set.is_some() {
            "smart"
        } else {
            "custom"
        }),
        "updated_at" => one(&c.updated_at),
        _ => None,
    }
}

fn published_status(published: bool) -> &'static str {
    if published {
        "published"
    } else {
        "unpublished"
    }
}

fn page_terms(p: &Page, field: &str) -> Option<Vec<String>> {
    match field {
        "" | "title" => one(&p.title),
        "handle" => one(&p.handle),
        "id" => one(p.id),
        "published_status" => one(published_status(p.is_published)),
        "created_at" => one(&p.created_at),
        "updated_at" => one(&p.updated_at),
        _ => None,
    }
}

fn article_terms(a: &Article, field: &str) -> Option<Vec<String>> {
    match field {
        "" | "title" => one(&a.title),
        "handle" => one(&a.handle),
        "id" => one(a.id),
        "blog_id" => one(a.blog_id),
        "author" => one(&a.author_name),
        "tag" => Some(a.tags.clone()),
        "published_status" => one(published_status(a.is_published)),
        "created_at" => one(&a.created_at),
        "updated_at" => one(&a.updated_at),
        _ => None,
    }
}

impl<'a> Ctx<'a> {
    fn search(&self, f: &Field) -> Vec<Vec<Term>> {
        f.arg("query", self.vars)
            .and_then(|v| v.as_str().map(search::parse))
            .unwrap_or_default()
    }

    /// A connection over `items` keeping those matching the field's `query:`.
    fn searched<T: 'a>(
        &self,
        f: &Field,
        items: impl Iterator<Item = &'a T>,
        id: impl Fn(&T) -> u64,
        terms: impl Fn(&T, &str) -> Option<Vec<String>>,
        obj: impl Fn(&'a T) -> Obj<'a>,
    ) -> Out<'a> {
        let q = self.search(f);
        Out::Conn(
            items
                .filter(|x| search::matches(&q, |k| terms(x, k)))
                .map(|x| (key(id(x)), obj(x)))
                .collect(),
        )
    }

    fn found<T>(&self, found: Option<&'a T>, obj: impl Fn(&'a T) -> Obj<'a>) -> Out<'a> {
        found.map_or(Out::Val(Value::Null), |x| Out::Obj(obj(x)))
    }

    /// Root fields not handled by `query_field`.
    pub(crate) fn query_field_more(&mut self, f: &Field) -> Result<Out<'a>, GqlError> {
        let s = self.store;
        let text = |name: &str| {
            f.arg(name, self.vars)
                .and_then(|v| v.as_str().map(String::from))
        };
        Ok(match f.name.as_str() {
            "products" => self.searched(
                f,
                s.products.values(),
                |p| p.id,
                product_terms,
                Obj::Product,
            ),
            "collections" => self.searched(
                f,
                s.collections.values(),
                |c| c.id,
                collection_terms,
                Obj::Collection,
            ),
            "collectionByHandle" => {
                let h = text("handle");
                self.found(
                    s.collections
                        .values()
                        .find(|c| Some(&c.handle) == h.as_ref()),
                    Obj::Collection,
                )
            }
            "collectionByIdentifier" => {
                let c = self.collection_by_identifier(f)?;
                self.found(c, Obj::Collection)
            }
            "pages" => self.searched(f, s.pages.values(), |p| p.id, page_terms, Obj::Page),
            "urlRedirects" => self.searched(
                f,
                s.redirects.values(),
                |r| r.id,
                |r, k| match k {
                    "" | "path" => one(&r.path),
                    "target" => one(&r.target),
                    "id" => one(r.id),
                    _ => None,
                },
                Obj::Redirect,
            ),
            "urlRedirect" => self.found(
                self.by_gid(f, "id", "UrlRedirect", &s.redirects),
                Obj::Redirect,
            ),
            "blogs" => self.searched(
                f,
                s.blogs.values(),
                |b| b.id,
                |b, k| match k {
                    "" | "title" => one(&b.title),
                    "handle" => one(&b.handle),
                    "id" => one(b.id),
                    "created_at" => one(&b.created_at),
                    "updated_at" => one(&b.updated_at),
                    _ => None,
                },
                Obj::Blog,
            ),
            "blog" => self.found(self.by_gid(f, "id", "Blog", &s.blogs), Obj::Blog),
            "articles" => self.searched(
                f,
                s.articles.values(),
                |a| a.id,
                article_terms,
                Obj::Article,
            ),
            "article" => self.found(self.by_gid(f, "id", "Article", &s.articles), Obj::Article),
            "menus" => self.searched(
                f,
                s.menus.values(),
                |m| m.id,
                |m, k| match k {
                    "" | "title" => one(&m.title),
                    "handle" => one(&m.handle),
                    "id" => one(m.id),
                    _ => None,
                },
                Obj::Menu,
            ),
            "menu" => self.found(self.by_gid(f, "id", "Menu", &s.menus), Obj::Menu),
            "metaobjectDefinitions" => Out::Conn(
                s.metaobject_definitions
                    .values()
                    .map(|d| (key(d.id), Obj::MetaobjectDefinition(d)))
                    .collect(),
            ),
            "metaobjectDefinition" => self.found(
                self.by_gid(f, "id", "MetaobjectDefinition", &s.metaobject_definitions),
                Obj::MetaobjectDefinition,
            ),
            "metaobjectDefinitionByType" => {
                let ty = text("type").ok_or_else(|| missing_argument(&f.name, "type"))?;
                self.found(
                    s.metaobject_definitions
                        .values()
                        .find(|d| d.type_name == ty),
                    Obj::MetaobjectDefinition,
                )
            }
            "metaobjects" => {
                let ty = text("type").ok_or_else(|| missing_argument(&f.name, "type"))?;
                let q = self.search(f);
                Out::Conn(
                    s.metaobjects
                        .values()
                        .filter(|m| m.type_name == ty)
                        .filter(|m| {
                            search::matches(&q, |k| match k {
                                "" | "display_name" => one(display_name(s, m)),
                                "handle" => one(&m.handle),
                                "id" => one(m.id),
                                "updated_at" => one(&m.updated_at),
                                _ => None,
                            })
                        })
                        .map(|m| (key(m.id), Obj::Metaobject(m)))
                        .collect(),
                )
            }
            "metaobject" => self.found(
                self.by_gid(f, "id", "Metaobject", &s.metaobjects),
                Obj::Metaobject,
            ),
            "metaobjectByHandle" => {
                let h = f.arg("handle", self.vars).unwrap_or(Value::Null);
                let field = |k: &str| h.get(k).and_then(Value::as_str);
                self.found(
                    s.metaobjects.values().find(|m| {
                        Some(m.type_name.as_str()) == field("type")
                            && Some(m.handle.as_str()) == field("handle")
                    }),
                    Obj::Metaobject,
                )
            }
            "locations" => self.searched(
                f,
                s.locations.values(),
                |l| l.id,
                |l, k| match k {
                    "" | "name" => one(&l.name),
                    "id" => one(l.id),
                    "active" => one(l.is_active),
                    _ => None,
                },
                Obj::Location,
            ),
            "location" => match f.arg("id", self.vars) {
                // Without an ID: the primary location.
                None | Some(Value::Null) => self.found(s.locations.values().next(), Obj::Location),
                Some(_) => self.found(
                    self.by_gid(f, "id", "Location", &s.locations),
                    Obj::Location,
                ),
            },
            "inventoryItems" => self.searched(
                f,
                s.inventory.values(),
                |i| i.id,
                |i, k| match k {
                    "" | "sku" => s.item_variant(i).map(|(_, v)| vec![v.sku.clone()]),
                    "id" => one(i.id),
                    "created_at" => one(&i.created_at),
                    "updated_at" => one(&i.updated_at),
                    _ => None,
                },
                Obj::InventoryItem,
            ),
            "inventoryItem" => self.found(
                self.by_gid(f, "id", "InventoryItem", &s.inventory),
                Obj::InventoryItem,
            ),
            "inventoryLevel" => {
                let id = f
                    .arg("id", self.vars)
                    .and_then(|v| parse_gid("InventoryLevel", &v));
                let found = id.and_then(|id| {
                    s.inventory.values().find_map(|i| {
                        i.levels
                            .iter()
                            .find(|l| l.id == id)
                            .map(|l| Obj::InventoryLevel(i, l))
                    })
                });
                found.map_or(Out::Val(Value::Null), Out::Obj)
            }
            "files" => self.files(f),
            other => return Err(GqlError::undefined_field("QueryRoot", other)),
        })
    }

    /// The files library: product images (`MediaImage`) and generic files, in ID order.
    fn files(&self, f: &Field) -> Out<'a> {
        let s = self.store;
        let q = self.search(f);
        let images = s.media.values().filter(|m| {
            search::matches(&q, |k| match k {
                "" | "filename" => one(&m.filename),
                "media_type" => one("IMAGE"),
                "status" => one("READY"),
                "id" => one(m.id),
                "product_id" => one(m.product_id),
                "created_at" => one(iso(m.created_at)),
                _ => None,
            })
        });
        let generic = s.files.values().filter(|g| {
            search::matches(&q, |k| match k {
                "" | "filename" => one(&g.filename),
                "media_type" => one("GENERIC_FILE"),
                "status" => one("READY"),
                "id" => one(g.id),
                "created_at" => one(iso(g.created_at)),
                _ => None,
            })
        });
        let mut items: Vec<(String, Obj<'a>)> = images
            .map(|m| (key(m.id), Obj::Media(m)))
            .chain(generic.map(|g| (key(g.id), Obj::GenericFile(g))))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        Out::Conn(items)
    }

    /// `collectionByIdentifier(identifier: {id} | {handle} | {customId})`: exactly one of them.
    fn collection_by_identifier(&self, f: &Field) -> Result<Option<&'a Collection>, GqlError> {
        let identifier = f.arg("identifier", self.vars).unwrap_or(Value::Null);
        let given: Vec<(&String, &Value)> = identifier
            .as_object()
            .map(|m| m.iter().filter(|(_, v)| !v.is_null()).collect())
            .unwrap_or_default();
        let store = self.store;
        match given.as_slice() {
            [(k, v)] if k.as_str() == "id" => {
                Ok(parse_gid("Collection", v).and_then(|id| store.collections.get(&id)))
            }
            [(k, Value::String(h))] if k.as_str() == "handle" => {
                Ok(store.collections.values().find(|c| &c.handle == h))
            }
            [(k, c)] if k.as_str() == "customId" && c.get("key").is_some() => {
                let text = |name: &str| c.get(name).and_then(Value::as_str);
                let namespace = text("namespace").unwrap_or("custom");
                Ok(store.collections.values().find(|col| {
                    col.metafields.iter().any(|m| {
                        m.namespace == namespace
                            && Some(m.key.as_str()) == text("key")
                            && Some(m.value.as_str()) == text("value")
                    })
                }))
            }
            _ => Err(GqlError::new(
                "Variable $identifier of type CollectionIdentifierInput! was provided invalid value: exactly one of id, handle or customId is required",
                Some("INVALID_VARIABLE"),
            )),
        }
    }

    /// `node(id:)` for the types added here.
    pub(crate) fn node_more(&self, ty: &str, n: u64) -> Option<Obj<'a>> {
        let s = self.store;
        match ty {
            "Blog" => s.blogs.get(&n).map(Obj::Blog),
            "Article" => s.articles.get(&n).map(Obj::Article),
            "Menu" => s.menus.get(&n).map(Obj::Menu),
            "MetaobjectDefinition" => s
                .metaobject_definitions
                .get(&n)
                .map(Obj::MetaobjectDefinition),
            "Metaobject" => s.metaobjects.get(&n).map(Obj::Metaobject),
            "Location" => s.locations.get(&n).map(Obj::Location),
            "InventoryItem" => s.inventory.get(&n).map(Obj::InventoryItem),
            "InventoryLevel" => s.inventory.values().find_map(|i| {
                i.levels
                    .iter()
                    .find(|l| l.id == n)
                    .map(|l| Obj::InventoryLevel(i, l))
            }),
            "GenericFile" => s.files.get(&n).map(Obj::GenericFile),
            _ => None,
        }
    }
}

/// A metaobject's display name: its display-name field, or `Type #ID`.
pub(crate) fn display_name(store: &Store, m: &Metaobject) -> String {
    let definition = store
        .metaobject_definitions
        .values()
        .find(|d| d.type_name == m.type_name);
    definition
        .and_then(|d| d.display_name_key.as_ref())
        .and_then(|k| m.fields.iter().find(|f| &f.key == k))
        .and_then(|f| f.value.clone())
        .unwrap_or_else(|| {
            let name = definition.map_or(m.type_name.as_str(), |d| d.name.as_str());
            format!("{name} #{}", m.id)
        })
}
