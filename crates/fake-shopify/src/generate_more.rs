//! Builds the day-0 online-store content and stock: 2 locations with an inventory level per
//! variant, 2 blogs of 5 articles, 2 metaobject definitions with a few entries, 3 generic files
//! (PDFs) and the 2 default menus linking to real collections, products, pages and articles.
//! Each draws from its own random stream and ID range, so the products, collections, pages,
//! customers, orders, themes and media generated before are untouched.

use crate::handles::{slug, unique_handle};
use crate::model::*;
use crate::streams::{pick, rng_for, tag};
use rand::seq::SliceRandom;
use rand::{Rng, RngCore};

/// Adds everything this module makes to a store whose products and pages exist.
pub(crate) fn generate_more(store: &mut Store) {
    locations(store);
    store.sync_inventory();
    blogs(store);
    metaobjects(store);
    files(store);
    menus(store);
}

fn locations(store: &mut Store) {
    let specs = [
        (
            "Main Warehouse",
            "120 Harbor Way",
            None,
            "Brooklyn",
            "11201",
            true,
        ),
        (
            "Downtown Store",
            "48 Mercer St",
            Some("Suite 2"),
            "New York",
            "10013",
            false,
        ),
    ];
    for (i, (name, street, suite, city, zip, online)) in specs.into_iter().enumerate() {
        let id = store.ids.next(Kind::Location);
        store.locations.insert(
            id,
            Location {
                id,
                name: name.into(),
                address1: street.into(),
                address2: suite.map(String::from),
                city: city.into(),
                province: "New York".into(),
                province_code: "NY".into(),
                country: "United States".into(),
                country_code: "US".into(),
                zip: zip.into(),
                phone: (i == 1).then(|| "+12125550188".to_string()),
                is_active: true,
                fulfills_online_orders: online,
                created_at: iso(EPOCH - (500 - 300 * i as i64) * DAY),
            },
        );
    }
}

const AUTHORS: &[&str] = &["Ada Lovelace", "Kofi Mensah", "Hana Tanaka"];
const ARTICLE_TAGS: &[&str] = &["news", "how-to", "behind-the-scenes", "care", "events"];
const NEWS: &[&str] = &[
    "Our winter collection is here",
    "Meet the makers",
    "Holiday shipping dates",
    "We opened a store downtown",
    "A year of Fake Goods",
];
const JOURNAL: &[&str] = &[
    "How to care for wool",
    "Five ways to style a tote",
    "Inside the ceramics studio",
    "Choosing the right candle",
    "Our packaging goes plastic-free",
];

/// A content metafield (blogs and articles have an ID range of their own).
pub(crate) fn content_metafield(
    ids: &mut IdAllocator,
    namespace: &str,
    key: &str,
    ty: &str,
    value: String,
) -> Metafield {
    Metafield {
        id: ids.next(Kind::ContentMetafield),
        namespace: namespace.into(),
        key: key.into(),
        type_name: ty.into(),
        value,
    }
}

/// A new article of `blog` from a random stream; `created` is unix seconds.
pub(crate) fn make_article(
    store: &mut Store,
    rng: &mut impl Rng,
    blog: u64,
    title: &str,
    created: i64,
) -> u64 {
    let id = store.ids.next(Kind::Article);
    let base = slug(title);
    let handle = unique_handle(&base, |h| {
        store
            .articles
            .values()
            .any(|a| a.blog_id == blog && a.handle == h)
    });
    let tag_count = rng.gen_range(0..3);
    let mut tags: Vec<String> = ARTICLE_TAGS
        .choose_multiple(rng, tag_count)
        .map(|t| t.to_string())
        .collect();
    tags.sort();
    let at = iso(created);
    let metafields = if rng.gen_bool(0.3) {
        vec![content_metafield(
            &mut store.ids,
            "custom",
            "reading_time",
            "number_integer",
            rng.gen_range(2..12).to_string(),
        )]
    } else {
        Vec::new()
    };
    let article = Article {
        id,
        blog_id: blog,
        body: format!(
            "<p>{title}.</p><p>{} things we learned along the way.</p>",
            rng.gen_range(2..9)
        ),
        summary: rng
            .gen_bool(0.5)
            .then(|| format!("<p>A short read about {}.</p>", title.to_lowercase())),
        author_name: pick(rng, AUTHORS).to_string(),
        tags,
        is_published: true,
        published_at: Some(at.clone()),
        template_suffix: rng.gen_bool(0.2).then(|| "wide".to_string()),
        image: rng.gen_bool(0.6).then(|| ArticleImage {
            url: format!("/_cdn/articles/{id}/{base}.jpg"),
            alt_text: Some(format!("Cover of {title}")),
        }),
        created_at: at.clone(),
        updated_at: at,
        metafields,
        handle,
        title: title.to_string(),
    };
    store.articles.insert(id, article);
    id
}

fn blogs(store: &mut Store) {
    for (b, (title, policy, titles)) in [
        ("News", "MODERATED", NEWS),
        ("Journal", "AUTO_PUBLISHED", JOURNAL),
    ]
    .into_iter()
    .enumerate()
    {
        let id = store.ids.next(Kind::Blog);
        let at = iso(EPOCH - (380 - 10 * b as i64) * DAY);
        let metafields = if b == 0 {
            vec![content_metafield(
                &mut store.ids,
                "custom",
                "tagline",
                "single_line_text_field",
                "What's new at Fake Goods".into(),
            )]
        } else {
            Vec::new()
        };
        store.blogs.insert(
            id,
            Blog {
                id,
                handle: slug(title),
                title: title.into(),
                template_suffix: (b == 1).then(|| "journal".to_string()),
                comment_policy: policy.into(),
                created_at: at.clone(),
                updated_at: at,
                metafields,
            },
        );
        for (k, t) in titles.iter().enumerate() {
            let mut rng = rng_for(store.seed, tag::BLOG, (b * 100 + k) as u64);
            let created = EPOCH - (300 - 50 * k as i64) * DAY + rng.gen_range(0..3600);
            let article = make_article(store, &mut rng, id, t, created);
            if let Some(a) = store.articles.get_mut(&article) {
                match (b, k) {
                    // A draft, and one scheduled for later.
                    (1, 3) => {
                        a.is_published = false;
                        a.published_at = None;
                    }
                    (1, 4) => {
                        a.is_published = false;
                        a.published_at = Some(iso(EPOCH + 3 * DAY));
                    }
                    _ => {}
                }
            }
        }
    }
}

fn definition_field(
    key: &str,
    ty: &str,
    required: bool,
    validations: &[(&str, &str)],
) -> MetaobjectFieldDefinition {
    let mut name = key.replace('_', " ");
    if let Some(first) = name.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    MetaobjectFieldDefinition {
        key: key.into(),
        name,
        description: None,
        required,
        type_name: ty.into(),
        validations: validations
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    }
}

fn metaobjects(store: &mut Store) {
    let definitions = [
        (
            "designer",
            "Designer",
            "The people behind our products.",
            "name",
            vec![
                definition_field("name", "single_line_text_field", true, &[("max", "100")]),
                definition_field("bio", "multi_line_text_field", false, &[]),
                definition_field("portrait", "url", false, &[]),
            ],
        ),
        (
            "faq",
            "FAQ",
            "Questions customers ask.",
            "question",
            vec![
                definition_field("question", "single_line_text_field", true, &[]),
                definition_field("answer", "multi_line_text_field", true, &[]),
                definition_field("position", "number_integer", false, &[("min", "1")]),
            ],
        ),
    ];
    for (ty, name, description, display, fields) in definitions {
        let id = store.ids.next(Kind::MetaobjectDefinition);
        store.metaobject_definitions.insert(
            id,
            MetaobjectDefinition {
                id,
                type_name: ty.into(),
                name: name.into(),
                description: Some(description.into()),
                display_name_key: Some(display.into()),
                field_definitions: fields,
            },
        );
    }
    let designers = ["Ada Okafor", "Ben Tanaka", "Chloé Martin"];
    for (i, who) in designers.iter().enumerate() {
        let mut rng = rng_for(store.seed, tag::METAOBJECT, i as u64);
        let values = vec![
            ("name", Some(who.to_string())),
            (
                "bio",
                Some(format!(
                    "{who} designs for us since {}.\nLoves {}.",
                    2015 + rng.gen_range(0..9),
                    pick(&mut rng, &["clay", "linen", "oak", "wool"])
                )),
            ),
            (
                "portrait",
                rng.gen_bool(0.7)
                    .then(|| format!("https://fake.myshopify.com/cdn/designers/{}.jpg", slug(who))),
            ),
        ];
        add_metaobject(store, "designer", &slug(who), values, 100 - i as i64);
    }
    let faqs = [
        ("Do you ship abroad?", "Yes, to 40 countries."),
        ("Can I return an item?", "Within 30 days, unused."),
        ("Are your candles vegan?", "All of them."),
        ("How do I wash wool?", "By hand, cold water.\nDry flat."),
    ];
    for (i, (q, a)) in faqs.iter().enumerate() {
        let values = vec![
            ("question", Some(q.to_string())),
            ("answer", Some(a.to_string())),
            ("position", Some((i + 1).to_string())),
        ];
        add_metaobject(store, "faq", &slug(q), values, 90 - i as i64);
    }
}

fn add_metaobject(
    store: &mut Store,
    ty: &str,
    handle: &str,
    values: Vec<(&str, Option<String>)>,
    days_ago: i64,
) {
    let id = store.ids.next(Kind::Metaobject);
    let at = iso(EPOCH - days_ago * DAY);
    store.metaobjects.insert(
        id,
        Metaobject {
            id,
            handle: handle.into(),
            type_name: ty.into(),
            fields: values
                .into_iter()
                .map(|(k, v)| MetaobjectField {
                    key: k.into(),
                    value: v,
                })
                .collect(),
            created_at: at.clone(),
            updated_at: at,
        },
    );
}

/// PDF-looking bytes: a header, deterministic noise, a trailer; 3–20 KiB.
pub(crate) fn pdf_bytes(seed: u64, id: u64) -> Vec<u8> {
    let mut rng = rng_for(seed, tag::FILE, id);
    let len = rng.gen_range(3 * 1024..20 * 1024);
    let mut bytes = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut noise = vec![0u8; len];
    rng.fill_bytes(&mut noise);
    bytes.extend_from_slice(&noise);
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

fn files(store: &mut Store) {
    let specs = [
        ("size-chart.pdf", "Size chart"),
        ("care-guide.pdf", "How to care for our products"),
        ("wholesale-catalog.pdf", ""),
    ];
    for (i, (name, alt)) in specs.iter().enumerate() {
        let id = store.ids.next(Kind::GenericFile);
        store.files.insert(
            id,
            GenericFile {
                id,
                filename: name.to_string(),
                mime_type: "application/pdf".into(),
                alt: alt.to_string(),
                bytes: pdf_bytes(store.seed, id),
                created_at: EPOCH - (90 - 20 * i as i64) * DAY,
            },
        );
    }
}

/// A menu item with a fresh ID.
pub(crate) fn item(
    ids: &mut IdAllocator,
    title: &str,
    ty: &str,
    url: &str,
    resource: Option<String>,
    items: Vec<MenuItem>,
) -> MenuItem {
    MenuItem {
        id: ids.next(Kind::MenuItem),
        title: title.into(),
        item_type: ty.into(),
        url: Some(url.into()),
        resource_id: resource,
        tags: Vec::new(),
        items,
    }
}

/// A linked resource: ID, title, handle.
type Link = (u64, String, String);

fn menus(store: &mut Store) {
    let mut rng = rng_for(store.seed, tag::MENU, 0);
    let s = &*store;
    let manual: Vec<(Link, Option<Link>)> = s
        .collections
        .values()
        .filter(|c| c.rule_set.is_none() && !c.products.is_empty())
        .take(2)
        .map(|c| {
            let product = c
                .products
                .choose(&mut rng)
                .and_then(|p| s.products.get(p))
                .map(|p| (p.id, p.title.clone(), p.handle.clone()));
            ((c.id, c.title.clone(), c.handle.clone()), product)
        })
        .collect();
    let smart = s
        .collections
        .values()
        .find(|c| c.rule_set.is_some())
        .map(|c| (c.id, c.title.clone(), c.handle.clone()));
    let page = |h: &str| {
        s.pages
            .values()
            .find(|p| p.handle == h)
            .map(|p| (p.id, p.title.clone(), p.handle.clone()))
    };
    let (about, faq, contact) = (page("about-us"), page("faq"), page("contact"));
    let news = s.blogs.values().next().map(|b| {
        let first = s
            .articles
            .values()
            .find(|a| a.blog_id == b.id && a.is_published)
            .map(|a| (a.id, a.title.clone(), a.handle.clone()));
        (b.id, b.title.clone(), b.handle.clone(), first)
    });
    let ids = &mut store.ids;
    let mut catalog = Vec::new();
    for ((id, title, handle), product) in manual {
        let nested = product
            .map(|(pid, t, h)| {
                vec![item(
                    ids,
                    &t,
                    "PRODUCT",
                    &format!("/products/{h}"),
                    Some(crate::ids::gid("Product", pid)),
                    Vec::new(),
                )]
            })
            .unwrap_or_default();
        let url = format!("/collections/{handle}");
        catalog.push(item(
            ids,
            &title,
            "COLLECTION",
            &url,
            Some(crate::ids::gid("Collection", id)),
            nested,
        ));
    }
    let mut main = vec![
        item(ids, "Home", "FRONTPAGE", "/", None, Vec::new()),
        item(ids, "Catalog", "CATALOG", "/collections/all", None, catalog),
    ];
    if let Some((id, title, handle)) = smart {
        let mut sale = item(
            ids,
            &title,
            "COLLECTION",
            &format!("/collections/{handle}"),
            Some(crate::ids::gid("Collection", id)),
            Vec::new(),
        );
        sale.tags = vec!["sale".into()];
        main.push(sale);
    }
    if let Some((id, title, handle, first)) = news {
        let nested = first
            .map(|(aid, t, h)| {
                vec![item(
                    ids,
                    &t,
                    "ARTICLE",
                    &format!("/blogs/{handle}/{h}"),
                    Some(crate::ids::gid("Article", aid)),
                    Vec::new(),
                )]
            })
            .unwrap_or_default();
        main.push(item(
            ids,
            &title,
            "BLOG",
            &format!("/blogs/{handle}"),
            Some(crate::ids::gid("Blog", id)),
            nested,
        ));
    }
    if let Some((id, title, handle)) = about {
        main.push(item(
            ids,
            &title,
            "PAGE",
            &format!("/pages/{handle}"),
            Some(crate::ids::gid("Page", id)),
            Vec::new(),
        ));
    }
    let mut footer = vec![item(ids, "Search", "SEARCH", "/search", None, Vec::new())];
    for (id, title, handle) in [faq, contact].into_iter().flatten() {
        footer.push(item(
            ids,
            &title,
            "PAGE",
            &format!("/pages/{handle}"),
            Some(crate::ids::gid("Page", id)),
            Vec::new(),
        ));
    }
    footer.push(item(
        ids,
        "Instagram",
        "HTTP",
        "https://instagram.com/fakegoods",
        None,
        Vec::new(),
    ));
    for (handle, title, items) in [
        ("main-menu", "Main menu", main),
        ("footer", "Footer menu", footer),
    ] {
        let id = store.ids.next(Kind::Menu);
        store.menus.insert(
            id,
            Menu {
                id,
                handle: handle.into(),
                title: title.into(),
                is_default: true,
                items,
            },
        );
    }
}
