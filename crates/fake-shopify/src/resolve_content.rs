//! Field resolvers of blogs, articles, menus and their items, metaobject definitions and
//! metaobjects.

use crate::exec::{gid, key, Ctx, GqlError, Obj, Out};
use crate::gql::Field;
use crate::model::*;
use crate::resolve::{metafield_objs, one_metafield, plain, strip_tags, val};
use crate::resolve_root::display_name;
use serde_json::{json, Value};

/// The URL path of a resource a menu item links to, from its current handle.
pub(crate) fn resource_url(store: &Store, resource: &str) -> Option<String> {
    let (ty, id) = resource.strip_prefix("gid://shopify/")?.split_once('/')?;
    let id: u64 = id.parse().ok()?;
    Some(match ty {
        "Collection" => format!("/collections/{}", store.collections.get(&id)?.handle),
        "Product" => format!("/products/{}", store.products.get(&id)?.handle),
        "Page" => format!("/pages/{}", store.pages.get(&id)?.handle),
        "Blog" => format!("/blogs/{}", store.blogs.get(&id)?.handle),
        "Article" => {
            let a = store.articles.get(&id)?;
            format!(
                "/blogs/{}/{}",
                store.blogs.get(&a.blog_id)?.handle,
                a.handle
            )
        }
        "Metaobject" => {
            let m = store.metaobjects.get(&id)?;
            format!("/pages/{}/{}", m.type_name, m.handle)
        }
        _ => return None,
    })
}

/// The JSON form of a value of a metafield type.
fn json_value(ty: &str, value: &str) -> Value {
    let parsed = serde_json::from_str::<Value>(value).ok();
    match (ty, parsed) {
        (t, Some(v))
            if t.starts_with("number_")
                || t == "boolean"
                || t.starts_with("list.")
                || t == "json" =>
        {
            v
        }
        _ => Value::from(value),
    }
}

fn limit(ctx: &Ctx<'_>, f: &Field) -> usize {
    f.arg("limit", ctx.vars)
        .and_then(|v| v.as_u64())
        .map_or(usize::MAX, |n| n as usize)
}

impl<'a> Ctx<'a> {
    /// Fields of blogs, articles, menus, menu items, metaobject definitions and metaobjects.
    pub(crate) fn content_field(&mut self, obj: &Obj<'a>, f: &Field) -> Result<Out<'a>, GqlError> {
        match obj {
            Obj::Blog(b) => self.blog_field(b, f),
            Obj::Article(a) => self.article_field(a, f),
            Obj::Menu(m) => match f.name.as_str() {
                "id" => val!(gid("Menu", m.id)),
                "handle" => val!(m.handle),
                "title" => val!(m.title),
                "isDefault" => val!(m.is_default),
                "items" => Ok(Out::List(
                    m.items
                        .iter()
                        .take(limit(self, f))
                        .map(Obj::MenuItem)
                        .collect(),
                )),
                other => Err(GqlError::undefined_field("Menu", other)),
            },
            Obj::MenuItem(i) => match f.name.as_str() {
                "id" => val!(gid("MenuItem", i.id)),
                "title" => val!(i.title),
                "type" => val!(i.item_type),
                "url" => val!(i
                    .resource_id
                    .as_deref()
                    .and_then(|r| resource_url(self.store, r))
                    .or_else(|| i.url.clone())),
                "resourceId" => val!(i.resource_id),
                "tags" => val!(i.tags),
                "items" => Ok(Out::List(i.items.iter().map(Obj::MenuItem).collect())),
                other => Err(GqlError::undefined_field("MenuItem", other)),
            },
            Obj::MetaobjectDefinition(d) => self.definition_field(d, f),
            Obj::Metaobject(m) => self.metaobject_field(m, f),
            _ => Err(GqlError::undefined_field(obj.typename(), &f.name)),
        }
    }

    fn blog_field(&mut self, b: &'a Blog, f: &Field) -> Result<Out<'a>, GqlError> {
        let s = self.store;
        match f.name.as_str() {
            "id" => val!(gid("Blog", b.id)),
            "handle" => val!(b.handle),
            "title" => val!(b.title),
            "templateSuffix" => val!(b.template_suffix),
            "commentPolicy" => val!(b.comment_policy),
            "createdAt" => val!(b.created_at),
            "updatedAt" => val!(b.updated_at),
            "feed" => val!(null),
            "tags" => {
                let mut tags: Vec<&String> = s
                    .articles
                    .values()
                    .filter(|a| a.blog_id == b.id)
                    .flat_map(|a| &a.tags)
                    .collect();
                tags.sort();
                tags.dedup();
                val!(tags)
            }
            "articlesCount" => Ok(Out::Obj(plain(
                "Count",
                json!({"count": s.articles.values().filter(|a| a.blog_id == b.id).count(), "precision": "EXACT"}),
            ))),
            "articles" => Ok(Out::Conn(
                s.articles
                    .values()
                    .filter(|a| a.blog_id == b.id)
                    .map(|a| (key(a.id), Obj::Article(a)))
                    .collect(),
            )),
            "metafields" => Ok(metafield_objs(self, &b.metafields, f)),
            "metafield" => Ok(one_metafield(self, &b.metafields, f)),
            other => Err(GqlError::undefined_field("Blog", other)),
        }
    }

    fn article_field(&mut self, a: &'a Article, f: &Field) -> Result<Out<'a>, GqlError> {
        match f.name.as_str() {
            "id" => val!(gid("Article", a.id)),
            "handle" => val!(a.handle),
            "title" => val!(a.title),
            "body" => val!(a.body),
            "summary" => val!(a.summary),
            "author" => Ok(Out::Obj(plain(
                "ArticleAuthor",
                json!({"name": a.author_name}),
            ))),
            "tags" => val!(a.tags),
            "isPublished" => val!(a.is_published),
            "publishedAt" => val!(a.published_at),
            "templateSuffix" => val!(a.template_suffix),
            "createdAt" => val!(a.created_at),
            "updatedAt" => val!(a.updated_at),
            "commentsCount" => Ok(Out::Obj(plain(
                "Count",
                json!({"count": 0, "precision": "EXACT"}),
            ))),
            "blog" => Ok(self
                .store
                .blogs
                .get(&a.blog_id)
                .map_or(Out::Val(Value::Null), |b| Out::Obj(Obj::Blog(b)))),
            "image" => Ok(match &a.image {
                None => Out::Val(Value::Null),
                Some(img) => {
                    let url = if img.url.starts_with("/_cdn/") {
                        format!("{}{}", self.base, img.url)
                    } else {
                        img.url.clone()
                    };
                    Out::Obj(plain(
                        "Image",
                        json!({"id": gid("ArticleImage", a.id), "url": url, "altText": img.alt_text,
                               "width": 1200, "height": 800}),
                    ))
                }
            }),
            "metafields" => Ok(metafield_objs(self, &a.metafields, f)),
            "metafield" => Ok(one_metafield(self, &a.metafields, f)),
            "excerpt" => val!(a.summary.as_deref().map(strip_tags)),
            other => Err(GqlError::undefined_field("Article", other)),
        }
    }

    fn definition_field(
        &mut self,
        d: &'a MetaobjectDefinition,
        f: &Field,
    ) -> Result<Out<'a>, GqlError> {
        let s = self.store;
        match f.name.as_str() {
            "id" => val!(gid("MetaobjectDefinition", d.id)),
            "type" => val!(d.type_name),
            "name" => val!(d.name),
            "description" => val!(d.description),
            "displayNameKey" => val!(d.display_name_key),
            "hasThumbnailField" => val!(false),
            "metaobjectsCount" => {
                val!(s
                    .metaobjects
                    .values()
                    .filter(|m| m.type_name == d.type_name)
                    .count())
            }
            "fieldDefinitions" => Ok(Out::List(
                d.field_definitions
                    .iter()
                    .map(|fd| plain("MetaobjectFieldDefinition", field_definition_json(fd)))
                    .collect(),
            )),
            "access" => Ok(Out::Obj(plain(
                "MetaobjectAccess",
                json!({"admin": "PUBLIC_READ_WRITE", "storefront": "NONE"}),
            ))),
            "capabilities" => Ok(Out::Obj(plain(
                "MetaobjectCapabilities",
                json!({"publishable": {"enabled": false}, "translatable": {"enabled": false},
                       "renderable": null, "onlineStore": null}),
            ))),
            "metaobjects" => Ok(Out::Conn(
                s.metaobjects
                    .values()
                    .filter(|m| m.type_name == d.type_name)
                    .map(|m| (key(m.id), Obj::Metaobject(m)))
                    .collect(),
            )),
            other => Err(GqlError::undefined_field("MetaobjectDefinition", other)),
        }
    }

    fn metaobject_field(&mut self, m: &'a Metaobject, f: &Field) -> Result<Out<'a>, GqlError> {
        let s = self.store;
        let definition = s
            .metaobject_definitions
            .values()
            .find(|d| d.type_name == m.type_name);
        let field_obj = |fd: &MetaobjectFieldDefinition| {
            let value = m
                .fields
                .iter()
                .find(|x| x.key == fd.key)
                .and_then(|x| x.value.clone());
            let json = value.as_deref().map(|v| json_value(&fd.type_name, v));
            plain(
                "MetaobjectField",
                json!({"key": fd.key, "type": fd.type_name, "value": value, "jsonValue": json,
                       "reference": null, "definition": field_definition_json(fd)}),
            )
        };
        match f.name.as_str() {
            "id" => val!(gid("Metaobject", m.id)),
            "handle" => val!(m.handle),
            "type" => val!(m.type_name),
            "displayName" => val!(display_name(s, m)),
            "createdAt" => val!(m.created_at),
            "updatedAt" => val!(m.updated_at),
            "capabilities" => Ok(Out::Obj(plain(
                "MetaobjectCapabilityData",
                json!({"publishable": null, "onlineStore": null}),
            ))),
            "definition" => Ok(definition.map_or(Out::Val(Value::Null), |d| {
                Out::Obj(Obj::MetaobjectDefinition(d))
            })),
            "fields" => Ok(Out::List(
                definition
                    .map(|d| d.field_definitions.iter().map(field_obj).collect())
                    .unwrap_or_default(),
            )),
            "field" => {
                let k = f.arg("key", self.vars);
                let k = k.as_ref().and_then(Value::as_str);
                Ok(definition
                    .and_then(|d| {
                        d.field_definitions
                            .iter()
                            .find(|fd| Some(fd.key.as_str()) == k)
                    })
                    .map_or(Out::Val(Value::Null), |fd| Out::Obj(field_obj(fd))))
            }
            other => Err(GqlError::undefined_field("Metaobject", other)),
        }
    }
}

/// The JSON of a field definition (`key name description required type { name category }
/// validations { name value }`).
fn field_definition_json(fd: &MetaobjectFieldDefinition) -> Value {
    let category = match fd.type_name.as_str() {
        t if t.contains("text") => "TEXT",
        t if t.starts_with("number") => "NUMBER",
        "url" => "URL",
        t if t.ends_with("reference") => "REFERENCE",
        _ => "OTHER",
    };
    json!({
        "__typename": "MetaobjectFieldDefinition",
        "key": fd.key, "name": fd.name, "description": fd.description, "required": fd.required,
        "type": {"__typename": "MetafieldDefinitionType", "name": fd.type_name, "category": category},
        "validations": fd.validations.iter()
            .map(|(n, v)| json!({"__typename": "MetafieldDefinitionValidation", "name": n, "value": v}))
            .collect::<Vec<_>>(),
    })
}
