//! `pageCreate`/`pageUpdate`, `articleCreate`/`articleUpdate` and
//! `urlRedirectCreate`/`urlRedirectUpdate`, with their user errors (`field`, `message`, `code`).

use crate::exec::GqlError;
use crate::gql::Field;
use crate::handles::{slug, unique_handle};
use crate::input::str_field;
use crate::model::*;
use crate::restore::{
    err, has, id_arg, input_metafields, object_arg, publication, redirect_handle, tags, Restored,
    Target,
};
use serde_json::{Map, Value};

/// Metafields of an input, or an error pushed with `code`.
fn metafields_or(
    input: &Value,
    old: &[Metafield],
    ids: &mut IdAllocator,
    kind: Kind,
    prefix: &str,
    errors: &mut Vec<Value>,
) -> Vec<Metafield> {
    match input_metafields(input, old, ids, kind, &[prefix]) {
        Ok(m) => m,
        Err((field, message)) => {
            let field: Vec<&str> = field.iter().map(String::as_str).collect();
            errors.push(err(&field, message, Some("INVALID")));
            Vec::new()
        }
    }
}

/// `pageCreate(page: PageCreateInput!)` and `pageUpdate(id: ID!, page: PageUpdateInput!)`.
pub(crate) fn page(
    store: &mut Store,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Restored, GqlError> {
    let create = f.name == "pageCreate";
    let input = object_arg(
        f,
        vars,
        "page",
        if create {
            "PageCreateInput"
        } else {
            "PageUpdateInput"
        },
    )?;
    let r = if create {
        Restored::new("PageCreatePayload", "page", "PageCreateUserError")
    } else {
        Restored::new("PageUpdatePayload", "page", "PageUpdateUserError")
    };
    let old = if create {
        None
    } else {
        match id_arg(f, vars, "id", "Page").and_then(|id| store.pages.get(&id)) {
            Some(p) => Some(p.clone()),
            None => {
                return Ok(r.failed(vec![err(&["id"], "Page does not exist", Some("NOT_FOUND"))]))
            }
        }
    };
    let now = store.now();
    let mut errors = Vec::new();
    let title = str_field(&input, "title")
        .or_else(|| old.as_ref().map(|p| p.title.clone()))
        .unwrap_or_default();
    if title.trim().is_empty() {
        errors.push(err(
            &["page", "title"],
            "Title can't be blank",
            Some("BLANK"),
        ));
    }
    let except = old.as_ref().map(|p| p.id);
    let taken = |h: &str| {
        store
            .pages
            .values()
            .any(|p| p.handle == h && Some(p.id) != except)
    };
    let handle = match str_field(&input, "handle").filter(|h| !h.is_empty()) {
        Some(h) => {
            if taken(&h) {
                errors.push(err(
                    &["page", "handle"],
                    "Handle has already been taken",
                    Some("TAKEN"),
                ));
            }
            h
        }
        None => match &old {
            Some(p) => p.handle.clone(),
            None => unique_handle(&slug(&title), taken),
        },
    };
    let current = old.as_ref().map_or((true, Some(now.clone())), |p| {
        (p.is_published, p.published_at.clone())
    });
    let (is_published, published_at) = match publication(&input, current, &now) {
        Ok(p) => p,
        Err((field, message)) => {
            errors.push(err(&["page", field], message, Some("INVALID_PUBLISH_DATE")));
            (false, None)
        }
    };
    let mut ids = store.ids.clone();
    let old_metafields = old.as_ref().map_or(&[][..], |p| &p.metafields);
    let metafields = metafields_or(
        &input,
        old_metafields,
        &mut ids,
        Kind::Metafield,
        "page",
        &mut errors,
    );
    if !errors.is_empty() {
        return Ok(r.failed(errors));
    }
    store.ids = ids;
    if let Some(p) = &old {
        if input.get("redirectNewHandle").and_then(Value::as_bool) == Some(true) {
            redirect_handle(
                store,
                format!("/pages/{}", p.handle),
                format!("/pages/{handle}"),
            );
        }
    }
    let id = old
        .as_ref()
        .map_or_else(|| store.ids.next(Kind::Page), |p| p.id);
    let page = Page {
        id,
        handle,
        title,
        body: str_field(&input, "body")
            .or_else(|| old.as_ref().map(|p| p.body.clone()))
            .unwrap_or_default(),
        is_published,
        published_at,
        template_suffix: if has(&input, "templateSuffix") {
            str_field(&input, "templateSuffix").filter(|s| !s.is_empty())
        } else {
            old.as_ref().and_then(|p| p.template_suffix.clone())
        },
        created_at: old
            .as_ref()
            .map_or_else(|| now.clone(), |p| p.created_at.clone()),
        updated_at: now,
        metafields,
    };
    store.pages.insert(id, page);
    Ok(r.with(Target::Page(id)))
}

/// The blog an article input names: `Ok(Some(id))`, `Ok(None)` when it names none (on update
/// the article stays where it is), or a user error.
fn blog_of(
    store: &Store,
    input: &Value,
    blog_input: Option<&Value>,
    create: bool,
) -> Result<Option<u64>, Value> {
    let blog_id = input.get("blogId").filter(|v| !v.is_null());
    match (blog_id, blog_input) {
        (Some(_), Some(_)) => Err(err(
            &["blog"],
            "Can't create a blog from input if a blog ID is supplied.",
            Some("AMBIGUOUS_BLOG"),
        )),
        (Some(v), None) => {
            match crate::exec::parse_gid("Blog", v).filter(|id| store.blogs.contains_key(id)) {
                Some(id) => Ok(Some(id)),
                None => Err(err(
                    &["article", "blogId"],
                    "Blog does not exist",
                    Some("NOT_FOUND"),
                )),
            }
        }
        (None, Some(b)) if str_field(b, "title").is_none_or(|t| t.trim().is_empty()) => Err(err(
            &["blog", "title"],
            "Title can't be blank",
            Some("BLANK"),
        )),
        (None, Some(_)) => Ok(None),
        (None, None) if create => Err(err(
            &["article"],
            "Must reference or create a blog when creating an article.",
            Some("BLOG_REFERENCE_REQUIRED"),
        )),
        (None, None) => Ok(None),
    }
}

/// The author's name from `author: {name}` or `{userId}`.
fn author(input: &Value, required: bool) -> Result<Option<String>, Value> {
    let Some(a) = input.get("author").filter(|a| a.is_object()) else {
        return if required {
            Err(err(
                &["article", "author"],
                "Can't create an article if both author name and user ID are blank.",
                Some("AUTHOR_FIELD_REQUIRED"),
            ))
        } else {
            Ok(None)
        };
    };
    let name = str_field(a, "name").filter(|n| !n.trim().is_empty());
    let user = str_field(a, "userId").filter(|u| !u.is_empty());
    match (name, user) {
        (Some(_), Some(_)) => Err(err(
            &["article", "author"],
            "Can't create an article author if both author name and user ID are supplied.",
            Some("AMBIGUOUS_AUTHOR"),
        )),
        (Some(n), None) => Ok(Some(n)),
        (None, Some(_)) => Err(err(
            &["article", "author", "userId"],
            "User must exist if a user ID is supplied.",
            Some("AUTHOR_MUST_EXIST"),
        )),
        (None, None) => Err(err(
            &["article", "author"],
            "Can't create an article if both author name and user ID are blank.",
            Some("AUTHOR_FIELD_REQUIRED"),
        )),
    }
}

/// `articleCreate(article: ArticleCreateInput!, blog: ArticleBlogInput)` and
/// `articleUpdate(id: ID!, article: ArticleUpdateInput!, blog: ArticleBlogInput)`. `blog:
/// {title}` makes a new blog for the article.
pub(crate) fn article(
    store: &mut Store,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Restored, GqlError> {
    let create = f.name == "articleCreate";
    let input = object_arg(
        f,
        vars,
        "article",
        if create {
            "ArticleCreateInput"
        } else {
            "ArticleUpdateInput"
        },
    )?;
    let blog_input = f.arg("blog", vars).filter(Value::is_object);
    let r = if create {
        Restored::new("ArticleCreatePayload", "article", "ArticleCreateUserError")
    } else {
        Restored::new("ArticleUpdatePayload", "article", "ArticleUpdateUserError")
    };
    let old = if create {
        None
    } else {
        match id_arg(f, vars, "id", "Article").and_then(|id| store.articles.get(&id)) {
            Some(a) => Some(a.clone()),
            None => {
                return Ok(r.failed(vec![err(
                    &["id"],
                    "Article does not exist",
                    Some("NOT_FOUND"),
                )]))
            }
        }
    };
    let now = store.now();
    let mut errors = Vec::new();
    let blog = blog_of(store, &input, blog_input.as_ref(), create).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let author_name = match author(&input, create) {
        Ok(a) => a
            .or_else(|| old.as_ref().map(|a| a.author_name.clone()))
            .unwrap_or_default(),
        Err(e) => {
            errors.push(e);
            String::new()
        }
    };
    let title = str_field(&input, "title")
        .or_else(|| old.as_ref().map(|a| a.title.clone()))
        .unwrap_or_default();
    if title.trim().is_empty() {
        errors.push(err(
            &["article", "title"],
            "Title can't be blank",
            Some("BLANK"),
        ));
    }
    // The blog it will be in: named, new (none yet), or where it is.
    let target_blog = blog.or_else(|| {
        if blog_input.is_some() {
            None
        } else {
            old.as_ref().map(|a| a.blog_id)
        }
    });
    let except = old.as_ref().map(|a| a.id);
    let taken = |h: &str| {
        target_blog.is_some_and(|b| {
            store
                .articles
                .values()
                .any(|a| a.blog_id == b && a.handle == h && Some(a.id) != except)
        })
    };
    let handle = match str_field(&input, "handle").filter(|h| !h.is_empty()) {
        Some(h) => {
            if taken(&h) {
                errors.push(err(
                    &["article", "handle"],
                    "Handle has already been taken",
                    Some("TAKEN"),
                ));
            }
            h
        }
        None => match &old {
            Some(a) if !taken(&a.handle) => a.handle.clone(),
            _ => unique_handle(&slug(&title), taken),
        },
    };
    let current = old.as_ref().map_or((true, Some(now.clone())), |a| {
        (a.is_published, a.published_at.clone())
    });
    let (is_published, published_at) = match publication(&input, current, &now) {
        Ok(p) => p,
        Err((field, message)) => {
            errors.push(err(
                &["article", field],
                message,
                Some("INVALID_PUBLISH_DATE"),
            ));
            (false, None)
        }
    };
    let mut ids = store.ids.clone();
    let old_metafields = old.as_ref().map_or(&[][..], |a| &a.metafields);
    let metafields = metafields_or(
        &input,
        old_metafields,
        &mut ids,
        Kind::ContentMetafield,
        "article",
        &mut errors,
    );
    if !errors.is_empty() {
        return Ok(r.failed(errors));
    }
    store.ids = ids;
    let blog_id = match (target_blog, &blog_input) {
        (Some(b), _) => b,
        (None, Some(b)) => new_blog(store, &str_field(b, "title").unwrap_or_default()),
        (None, None) => return Ok(r),
    };
    if let Some(a) = &old {
        let renamed = a.handle != handle || a.blog_id != blog_id;
        if renamed && input.get("redirectNewHandle").and_then(Value::as_bool) == Some(true) {
            let path = |b: u64, h: &str| {
                format!(
                    "/blogs/{}/{h}",
                    store.blogs.get(&b).map_or("", |b| b.handle.as_str())
                )
            };
            let (from, to) = (path(a.blog_id, &a.handle), path(blog_id, &handle));
            redirect_handle(store, from, to);
        }
    }
    let id = old
        .as_ref()
        .map_or_else(|| store.ids.next(Kind::Article), |a| a.id);
    let keep = |get: &dyn Fn(&Article) -> Option<String>| old.as_ref().and_then(get);
    let image = match input.get("image") {
        Some(Value::Object(_)) => {
            let i = &input["image"];
            str_field(i, "url")
                .filter(|u| !u.is_empty())
                .map(|url| ArticleImage {
                    url,
                    alt_text: str_field(i, "altText"),
                })
        }
        Some(_) => None,
        None => old.as_ref().and_then(|a| a.image.clone()),
    };
    let article = Article {
        id,
        blog_id,
        handle,
        title,
        body: str_field(&input, "body")
            .or_else(|| keep(&|a| Some(a.body.clone())))
            .unwrap_or_default(),
        summary: if has(&input, "summary") {
            str_field(&input, "summary")
        } else {
            keep(&|a| a.summary.clone())
        },
        author_name,
        tags: tags(&input)
            .or_else(|| old.as_ref().map(|a| a.tags.clone()))
            .unwrap_or_default(),
        is_published,
        published_at,
        template_suffix: if has(&input, "templateSuffix") {
            str_field(&input, "templateSuffix").filter(|s| !s.is_empty())
        } else {
            keep(&|a| a.template_suffix.clone())
        },
        image,
        created_at: keep(&|a| Some(a.created_at.clone())).unwrap_or_else(|| now.clone()),
        updated_at: now,
        metafields,
    };
    store.articles.insert(id, article);
    Ok(r.with(Target::Article(id)))
}

/// A new blog (from `blog: {title}`) with a fresh ID.
fn new_blog(store: &mut Store, title: &str) -> u64 {
    let id = store.ids.next(Kind::Blog);
    let handle = unique_handle(&slug(title), |h| {
        store.blogs.values().any(|b| b.handle == h)
    });
    let now = store.now();
    store.blogs.insert(
        id,
        Blog {
            id,
            handle,
            title: title.to_string(),
            template_suffix: None,
            comment_policy: "MODERATED".into(),
            created_at: now.clone(),
            updated_at: now,
            metafields: Vec::new(),
        },
    );
    id
}

/// A redirect path as stored: a leading `/`, scheme and host dropped.
fn normalise_path(p: &str) -> String {
    let p = p.trim();
    let p = match p.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => p,
    };
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

/// `urlRedirectCreate(urlRedirect: UrlRedirectInput!)` and
/// `urlRedirectUpdate(id: ID!, urlRedirect: UrlRedirectInput!)`. Paths are unique (ignoring
/// case).
pub(crate) fn redirect(
    store: &mut Store,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Restored, GqlError> {
    let create = f.name == "urlRedirectCreate";
    let input = object_arg(f, vars, "urlRedirect", "UrlRedirectInput")?;
    let (r, code) = if create {
        (
            Restored::new(
                "UrlRedirectCreatePayload",
                "urlRedirect",
                "UrlRedirectUserError",
            ),
            "CREATE_FAILED",
        )
    } else {
        (
            Restored::new(
                "UrlRedirectUpdatePayload",
                "urlRedirect",
                "UrlRedirectUserError",
            ),
            "UPDATE_FAILED",
        )
    };
    let old = if create {
        None
    } else {
        match id_arg(f, vars, "id", "UrlRedirect").and_then(|id| store.redirects.get(&id)) {
            Some(x) => Some(x.clone()),
            None => {
                return Ok(r.failed(vec![err(
                    &["id"],
                    "Redirect does not exist",
                    Some("DOES_NOT_EXIST"),
                )]))
            }
        }
    };
    let path = str_field(&input, "path")
        .or_else(|| old.as_ref().map(|x| x.path.clone()))
        .unwrap_or_default();
    let target = str_field(&input, "target")
        .or_else(|| old.as_ref().map(|x| x.target.clone()))
        .unwrap_or_default();
    let mut errors = Vec::new();
    if path.trim().is_empty() {
        errors.push(err(
            &["urlRedirect", "path"],
            "Path can't be blank",
            Some(code),
        ));
    }
    if target.trim().is_empty() {
        errors.push(err(
            &["urlRedirect", "target"],
            "Target can't be blank",
            Some(code),
        ));
    }
    let path = normalise_path(&path);
    let except = old.as_ref().map(|x| x.id);
    if errors.is_empty() {
        if store
            .redirects
            .values()
            .any(|x| x.path.eq_ignore_ascii_case(&path) && Some(x.id) != except)
        {
            errors.push(err(
                &["urlRedirect", "path"],
                "Path has already been taken",
                Some(code),
            ));
        }
        if path == target.trim() {
            errors.push(err(
                &["urlRedirect", "target"],
                "Target can't be the same as path",
                Some(code),
            ));
        }
    }
    if !errors.is_empty() {
        return Ok(r.failed(errors));
    }
    let id = except.unwrap_or_else(|| store.ids.next(Kind::Redirect));
    store.redirects.insert(
        id,
        Redirect {
            id,
            path,
            target: target.trim().to_string(),
        },
    );
    Ok(r.with(Target::Redirect(id)))
}
