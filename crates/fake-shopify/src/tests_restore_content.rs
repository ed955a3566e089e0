//! Tests of `pageCreate`/`pageUpdate`, `articleCreate`/`articleUpdate` and
//! `urlRedirectCreate`/`urlRedirectUpdate`.

use crate::tests_http::{gql, start};
use crate::tests_util::{assert_denied, g, numeric};
use crate::StoreParams;
use serde_json::{json, Value};

const PAGE_CREATE: &str = "mutation create($page: PageCreateInput!) { pageCreate(page: $page) { \
    page { id handle } userErrors { field message code } } }";
const PAGE_UPDATE: &str = "mutation update($id: ID!, $page: PageUpdateInput!) { pageUpdate(id: $id, page: $page) { \
    page { id handle title body isPublished publishedAt templateSuffix updatedAt } userErrors { field message code } } }";
const PAGES: &str = "query($q: String) { pages(first: 1, query: $q) { nodes { id handle title body isPublished \
    publishedAt templateSuffix createdAt updatedAt metafields(first: 5) { nodes { namespace key value } } } } }";
const ARTICLE_CREATE: &str = "mutation create($article: ArticleCreateInput!, $blog: ArticleBlogInput) { \
    articleCreate(article: $article, blog: $blog) { article { id handle blog { id title } } userErrors { field message code } } }";
const ARTICLE_UPDATE: &str = "mutation update($id: ID!, $article: ArticleUpdateInput!) { articleUpdate(id: $id, article: $article) { \
    article { id handle title body summary author { name } tags isPublished publishedAt image { url altText } updatedAt \
    metafields(first: 5) { nodes { key value } } } userErrors { field message code } } }";
const REDIRECT_CREATE: &str =
    "mutation create($r: UrlRedirectInput!) { urlRedirectCreate(urlRedirect: $r) { \
    urlRedirect { id path target } userErrors { field message code } } }";
const REDIRECT_UPDATE: &str = "mutation update($id: ID!, $r: UrlRedirectInput!) { urlRedirectUpdate(id: $id, urlRedirect: $r) { \
    urlRedirect { id path target } userErrors { field message code } } }";

#[test]
fn pages_are_created_found_by_handle_and_updated() {
    let shop = start(StoreParams::default());
    shop.model_mut(|s| s.day = 4);
    let now = shop.model(|s| s.now());
    let r = gql(
        &shop,
        PAGE_CREATE,
        json!({ "page": {
            "title": "Returns", "handle": "returns", "body": "<p>30 days.</p>", "templateSuffix": "plain",
            "metafields": [{ "namespace": "custom", "key": "hero", "type": "single_line_text_field", "value": "Easy" }]
        }}),
    );
    let payload = &r["data"]["pageCreate"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    assert_eq!(payload["page"]["handle"], "returns");
    let id = numeric(&payload["page"]["id"]);
    let found =
        gql(&shop, PAGES, json!({ "q": "handle:'returns'" }))["data"]["pages"]["nodes"][0].clone();
    assert_eq!(numeric(&found["id"]), id);
    assert_eq!(found["isPublished"], true);
    assert_eq!(found["publishedAt"], now.as_str());
    assert_eq!(found["createdAt"], now.as_str());
    assert_eq!(found["templateSuffix"], "plain");
    assert_eq!(found["metafields"]["nodes"][0]["value"], "Easy");

    // Scheduled, then a draft.
    let r = gql(
        &shop,
        PAGE_CREATE,
        json!({ "page": { "title": "Later", "publishDate": "2030-01-01T00:00:00Z" } }),
    );
    let later = numeric(&r["data"]["pageCreate"]["page"]["id"]);
    assert_eq!(r["data"]["pageCreate"]["page"]["handle"], "later");
    shop.model(|s| {
        assert!(!s.pages[&later].is_published);
        assert_eq!(
            s.pages[&later].published_at.as_deref(),
            Some("2030-01-01T00:00:00Z")
        );
    });
    shop.model_mut(|s| s.day = 5);
    let r = gql(
        &shop,
        PAGE_UPDATE,
        json!({ "id": g("Page", id), "page": { "isPublished": false, "title": "Returns & refunds", "handle": "refunds", "redirectNewHandle": true } }),
    );
    let payload = &r["data"]["pageUpdate"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    assert_eq!(payload["page"]["isPublished"], false);
    assert_eq!(payload["page"]["publishedAt"], Value::Null);
    assert_eq!(payload["page"]["body"], "<p>30 days.</p>", "kept");
    assert_eq!(payload["page"]["templateSuffix"], "plain", "kept");
    assert_eq!(payload["page"]["updatedAt"], shop.model(|s| s.now()));
    shop.model(|s| {
        assert!(s
            .redirects
            .values()
            .any(|r| r.path == "/pages/returns" && r.target == "/pages/refunds"));
        assert_eq!(s.pages[&id].created_at, now);
    });
}

#[test]
fn page_errors() {
    let shop = start(StoreParams::default());
    let before = shop.model(|s| s.pages.len());
    let e = |q: &str, v: Value| gql(&shop, q, v).to_string();
    let r = gql(&shop, PAGE_CREATE, json!({ "page": { "title": "" } }));
    assert_eq!(
        r["data"]["pageCreate"]["userErrors"],
        json!([{ "field": ["page", "title"], "message": "Title can't be blank", "code": "BLANK" }])
    );
    let r = gql(
        &shop,
        PAGE_CREATE,
        json!({ "page": { "title": "About", "handle": "about-us" } }),
    );
    assert_eq!(r["data"]["pageCreate"]["userErrors"][0]["code"], "TAKEN");
    let r = gql(
        &shop,
        PAGE_CREATE,
        json!({ "page": { "title": "Soon", "isPublished": true, "publishDate": "2031-01-01T00:00:00Z" } }),
    );
    assert_eq!(
        r["data"]["pageCreate"]["userErrors"][0]["code"],
        "INVALID_PUBLISH_DATE"
    );
    let r = gql(
        &shop,
        PAGE_CREATE,
        json!({ "page": { "title": "M", "metafields": [{ "namespace": "custom", "value": "x" }] } }),
    );
    assert_eq!(
        r["data"]["pageCreate"]["userErrors"][0]["field"],
        json!(["page", "metafields", "0", "key"])
    );
    let r = gql(
        &shop,
        PAGE_UPDATE,
        json!({ "id": g("Page", 1), "page": { "title": "X" } }),
    );
    assert_eq!(
        r["data"]["pageUpdate"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    assert!(e(PAGE_CREATE, json!({ "page": null })).contains("INVALID_VARIABLE"));
    assert_eq!(shop.model(|s| s.pages.len()), before);
    shop.deny_scope("write_content");
    assert_denied(
        &gql(&shop, PAGE_CREATE, json!({ "page": { "title": "Z" } })),
        "write_content",
    );
}

#[test]
fn articles_are_created_in_a_blog_or_a_new_one_and_updated() {
    let shop = start(StoreParams::default());
    let blog = shop.model(|s| *s.blogs.keys().next().unwrap());
    let r = gql(
        &shop,
        ARTICLE_CREATE,
        json!({ "article": {
            "blogId": g("Blog", blog), "title": "Back in stock", "body": "<p>Hello.</p>", "summary": "<p>Hi.</p>",
            "author": { "name": "Ada Lovelace" }, "tags": ["news", "restock"], "isPublished": true,
            "image": { "url": "https://example.com/a.jpg", "altText": "A" },
            "metafields": [{ "namespace": "custom", "key": "reading_time", "type": "number_integer", "value": "3" }]
        }}),
    );
    let payload = &r["data"]["articleCreate"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    assert_eq!(payload["article"]["handle"], "back-in-stock");
    assert_eq!(numeric(&payload["article"]["blog"]["id"]), blog);
    let id = numeric(&payload["article"]["id"]);
    let found = gql(&shop, "{ articles(first: 5, query: \"handle:back-in-stock\") { nodes { id tags author { name } image { url altText } } } }", Value::Null);
    assert_eq!(numeric(&found["data"]["articles"]["nodes"][0]["id"]), id);
    assert_eq!(
        found["data"]["articles"]["nodes"][0]["image"],
        json!({ "url": "https://example.com/a.jpg", "altText": "A" })
    );

    // Into a new blog.
    let r = gql(
        &shop,
        ARTICLE_CREATE,
        json!({ "article": { "title": "First post", "author": { "name": "Kofi" } }, "blog": { "title": "Stories" } }),
    );
    let payload = &r["data"]["articleCreate"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    assert_eq!(payload["article"]["blog"]["title"], "Stories");
    let new_blog = numeric(&payload["article"]["blog"]["id"]);
    assert!(shop.model(|s| s.blogs[&new_blog].handle == "stories"));

    shop.model_mut(|s| s.day = 1);
    let r = gql(
        &shop,
        ARTICLE_UPDATE,
        json!({ "id": g("Article", id), "article": {
            "title": "Back in stock!", "tags": "news, sale", "isPublished": false,
            "metafields": [{ "namespace": "custom", "key": "reading_time", "value": "4" }]
        }}),
    );
    let a = &r["data"]["articleUpdate"]["article"];
    assert_eq!(r["data"]["articleUpdate"]["userErrors"], json!([]), "{r}");
    assert_eq!(numeric(&a["id"]), id);
    assert_eq!(a["title"], "Back in stock!");
    assert_eq!(a["body"], "<p>Hello.</p>");
    assert_eq!(a["author"]["name"], "Ada Lovelace");
    assert_eq!(a["tags"], json!(["news", "sale"]));
    assert_eq!(a["isPublished"], false);
    assert_eq!(
        a["metafields"]["nodes"],
        json!([{ "key": "reading_time", "value": "4" }])
    );
    assert_eq!(a["updatedAt"], shop.model(|s| s.now()));
}

#[test]
fn article_errors() {
    let shop = start(StoreParams::default());
    let (blog, taken) = shop.model(|s| {
        let a = s.articles.values().next().unwrap();
        (a.blog_id, a.handle.clone())
    });
    let before = shop.model(|s| (s.articles.len(), s.blogs.len()));
    let code = |article: Value, blog_input: Value| {
        let r = gql(
            &shop,
            ARTICLE_CREATE,
            json!({ "article": article, "blog": blog_input }),
        );
        r["data"]["articleCreate"]["userErrors"][0]["code"].clone()
    };
    let b = g("Blog", blog);
    let author = json!({ "name": "A" });
    assert_eq!(
        code(json!({ "title": "T", "author": author }), Value::Null),
        "BLOG_REFERENCE_REQUIRED"
    );
    assert_eq!(
        code(
            json!({ "blogId": b, "title": "T", "author": author }),
            json!({ "title": "New" })
        ),
        "AMBIGUOUS_BLOG"
    );
    assert_eq!(
        code(
            json!({ "blogId": g("Blog", 3), "title": "T", "author": author }),
            Value::Null
        ),
        "NOT_FOUND"
    );
    assert_eq!(
        code(
            json!({ "blogId": b, "title": "", "author": author }),
            Value::Null
        ),
        "BLANK"
    );
    assert_eq!(
        code(json!({ "blogId": b, "title": "T" }), Value::Null),
        "AUTHOR_FIELD_REQUIRED"
    );
    assert_eq!(
        code(
            json!({ "blogId": b, "title": "T", "author": { "name": "A", "userId": "gid://shopify/StaffMember/1" } }),
            Value::Null
        ),
        "AMBIGUOUS_AUTHOR"
    );
    assert_eq!(
        code(
            json!({ "blogId": b, "title": "T", "author": { "userId": "gid://shopify/StaffMember/1" } }),
            Value::Null
        ),
        "AUTHOR_MUST_EXIST"
    );
    assert_eq!(
        code(
            json!({ "blogId": b, "title": "T", "handle": taken, "author": author }),
            Value::Null
        ),
        "TAKEN"
    );
    assert_eq!(
        code(
            json!({ "blogId": b, "title": "T", "author": author, "isPublished": true, "publishDate": "2040-01-01" }),
            Value::Null
        ),
        "INVALID_PUBLISH_DATE"
    );
    let r = gql(
        &shop,
        ARTICLE_UPDATE,
        json!({ "id": g("Article", 5), "article": { "title": "X" } }),
    );
    assert_eq!(
        r["data"]["articleUpdate"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    assert_eq!(shop.model(|s| (s.articles.len(), s.blogs.len())), before);
    shop.deny_scope("write_content");
    assert_denied(
        &gql(
            &shop,
            ARTICLE_UPDATE,
            json!({ "id": g("Article", 5), "article": {} }),
        ),
        "write_content",
    );
}

#[test]
fn redirects_are_created_updated_and_unique() {
    let shop = start(StoreParams::default());
    let r = gql(
        &shop,
        REDIRECT_CREATE,
        json!({ "r": { "path": "/old-page", "target": "/pages/new" } }),
    );
    let payload = &r["data"]["urlRedirectCreate"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    assert_eq!(payload["urlRedirect"]["path"], "/old-page");
    let id = numeric(&payload["urlRedirect"]["id"]);
    let found = gql(
        &shop,
        "{ urlRedirects(first: 5, query: \"path:/old-page\") { nodes { id target } } }",
        Value::Null,
    );
    assert_eq!(
        found["data"]["urlRedirects"]["nodes"],
        json!([{ "id": g("UrlRedirect", id), "target": "/pages/new" }])
    );
    let dup = gql(
        &shop,
        REDIRECT_CREATE,
        json!({ "r": { "path": "/OLD-page", "target": "/x" } }),
    );
    assert_eq!(dup["data"]["urlRedirectCreate"]["urlRedirect"], Value::Null);
    assert_eq!(
        dup["data"]["urlRedirectCreate"]["userErrors"],
        json!([{ "field": ["urlRedirect", "path"], "message": "Path has already been taken", "code": "CREATE_FAILED" }])
    );
    let blank = gql(
        &shop,
        REDIRECT_CREATE,
        json!({ "r": { "path": "", "target": "" } }),
    );
    assert_eq!(
        blank["data"]["urlRedirectCreate"]["userErrors"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let rel = gql(
        &shop,
        REDIRECT_CREATE,
        json!({ "r": { "path": "no-slash", "target": "/y" } }),
    );
    assert_eq!(
        rel["data"]["urlRedirectCreate"]["urlRedirect"]["path"],
        "/no-slash"
    );
    let up = gql(
        &shop,
        REDIRECT_UPDATE,
        json!({ "id": g("UrlRedirect", id), "r": { "target": "/pages/newer" } }),
    );
    assert_eq!(
        up["data"]["urlRedirectUpdate"]["urlRedirect"],
        json!({ "id": g("UrlRedirect", id), "path": "/old-page", "target": "/pages/newer" })
    );
    let taken = gql(
        &shop,
        REDIRECT_UPDATE,
        json!({ "id": g("UrlRedirect", id), "r": { "path": "/no-slash" } }),
    );
    assert_eq!(
        taken["data"]["urlRedirectUpdate"]["userErrors"][0]["code"],
        "UPDATE_FAILED"
    );
    let missing = gql(
        &shop,
        REDIRECT_UPDATE,
        json!({ "id": g("UrlRedirect", 2), "r": { "path": "/z" } }),
    );
    assert_eq!(
        missing["data"]["urlRedirectUpdate"]["userErrors"][0]["code"],
        "DOES_NOT_EXIST"
    );
    // Recreated after a deletion: a new ID.
    assert!(shop.delete(&g("UrlRedirect", id)));
    let again = gql(
        &shop,
        REDIRECT_CREATE,
        json!({ "r": { "path": "/old-page", "target": "/pages/new" } }),
    );
    assert_ne!(
        numeric(&again["data"]["urlRedirectCreate"]["urlRedirect"]["id"]),
        id
    );
    shop.deny_scope("write_online_store_navigation");
    assert_denied(
        &gql(
            &shop,
            REDIRECT_CREATE,
            json!({ "r": { "path": "/q", "target": "/r" } }),
        ),
        "write_online_store_navigation",
    );
}
