//! Builds the initial store from [`StoreParams`]: the same parameters always give the same store.
//! Each item draws from its own random stream (seed, kind, index), so changing one count does not
//! reshuffle the other kinds.

use crate::handles::{slug, unique_handle};
use crate::metafields::metafield;
use crate::model::*;
use crate::people::{add_customer, add_order};
use crate::streams::{pick, rng_for, tag};
use crate::theme_files;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashSet};

/// How big the store is, what it is generated from and how fast it changes.
#[derive(Clone, Debug)]
pub struct StoreParams {
    /// Products at day 0.
    pub products: usize,
    /// Customers at day 0.
    pub customers: usize,
    /// Orders at day 0.
    pub orders: usize,
    /// The seed everything is derived from.
    pub seed: u64,
    /// Fraction of products edited per day.
    pub edit_rate: f64,
    /// Products added per day, as a fraction of the products.
    pub add_rate: f64,
    /// Products deleted per day, as a fraction of the products.
    pub delete_rate: f64,
    /// Fraction of customers edited per day.
    pub customer_edit_rate: f64,
    /// Orders placed per day.
    pub orders_per_day: usize,
}

impl Default for StoreParams {
    fn default() -> Self {
        StoreParams {
            products: 50,
            customers: 20,
            orders: 30,
            seed: 7,
            edit_rate: 0.02,
            add_rate: 0.005,
            delete_rate: 0.002,
            customer_edit_rate: 0.01,
            orders_per_day: 5,
        }
    }
}

const ADJECTIVES: &[&str] = &[
    "Classic", "Modern", "Rustic", "Cozy", "Handmade", "Vintage", "Organic", "Everyday", "Deluxe",
    "Minimal", "Sturdy", "Bright",
];
const COLORS: &[&str] = &[
    "Blue", "Red", "Sage", "Black", "White", "Amber", "Teal", "Coral", "Olive", "Grey",
];
const NOUNS: &[(&str, &str)] = &[
    ("Mug", "Kitchen"),
    ("Teapot", "Kitchen"),
    ("Bowl", "Kitchen"),
    ("Scarf", "Apparel"),
    ("Beanie", "Apparel"),
    ("T-Shirt", "Apparel"),
    ("Tote Bag", "Bags"),
    ("Backpack", "Bags"),
    ("Candle", "Home"),
    ("Cushion", "Home"),
    ("Notebook", "Stationery"),
    ("Pen Set", "Stationery"),
];
const VENDORS: &[&str] = &[
    "Acme",
    "Northwind",
    "Bluebird Studio",
    "Fable & Co",
    "Oakline",
];
const TAGS: &[&str] = &["sale", "new", "gift", "eco", "bestseller", "limited"];

/// Image bytes: a JPEG SOI/APP0 header, deterministic noise, an EOI marker; 2–40 KiB, mostly small.
pub(crate) fn media_bytes(seed: u64, media_id: u64) -> Vec<u8> {
    let mut rng = rng_for(seed, tag::MEDIA, media_id);
    let r: f64 = rng.gen();
    let len = 2048 + (r * r * r * 38.0 * 1024.0) as usize;
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    let header = [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00,
        0x48, 0x00, 0x48, 0x00, 0x00,
    ];
    bytes[..header.len()].copy_from_slice(&header);
    bytes[len - 2..].copy_from_slice(&[0xFF, 0xD9]);
    bytes
}

/// Makes `count` images for a product and adds them to the store; returns their IDs.
pub(crate) fn add_media(
    store: &mut Store,
    product_id: u64,
    handle: &str,
    title: &str,
    count: usize,
) -> Vec<u64> {
    let mut out = Vec::new();
    for k in 0..count {
        let id = store.ids.next(Kind::Media);
        let mut rng = rng_for(store.seed, tag::MEDIA ^ 0xFF, id);
        let width = 400 + 100 * rng.gen_range(0..16u32);
        let height = 400 + 100 * rng.gen_range(0..16u32);
        store.media.insert(
            id,
            Media {
                id,
                product_id,
                alt: format!("{title} — view {}", k + 1),
                filename: format!("{handle}-{}.jpg", k + 1),
                bytes: media_bytes(store.seed, id),
                width,
                height,
                created_at: store.now_ts() - 3600 + k as i64,
            },
        );
        out.push(id);
    }
    out
}

/// Makes a product created at `created` (unix seconds) with `media` images, and inserts it.
pub(crate) fn add_product(
    store: &mut Store,
    rng: &mut ChaCha8Rng,
    created: i64,
    media: usize,
    taken: &mut HashSet<String>,
) -> u64 {
    let id = store.ids.next(Kind::Product);
    let (noun, ptype) = *pick(rng, NOUNS);
    let title = format!("{} {} {}", pick(rng, ADJECTIVES), pick(rng, COLORS), noun);
    let handle = unique_handle(&slug(&title), |h| taken.contains(h));
    taken.insert(handle.clone());
    let status = match rng.gen_range(0..20) {
        0 => "ARCHIVED",
        1 | 2 => "DRAFT",
        _ => "ACTIVE",
    };
    let tag_count = rng.gen_range(0..4);
    let mut tags: Vec<String> = TAGS
        .choose_multiple(rng, tag_count)
        .map(|t| t.to_string())
        .collect();
    tags.sort();
    let n = (id - 7_100_000_000_000) / 1013;
    let (options, combos) = match rng.gen_range(0..4) {
        0 | 1 => (
            vec![("Title", vec!["Default Title"])],
            vec![vec!["Default Title"]],
        ),
        2 => {
            let sizes = vec!["S", "M", "L"];
            let combos = sizes.iter().map(|s| vec![*s]).collect();
            (vec![("Size", sizes)], combos)
        }
        _ => {
            let sizes = vec!["S", "L"];
            let colors = vec![*pick(rng, COLORS), "Natural"];
            let combos = sizes
                .iter()
                .flat_map(|s| colors.iter().map(move |c| vec![*s, *c]))
                .collect();
            (vec![("Size", sizes), ("Color", colors)], combos)
        }
    };
    let options: Vec<ProductOption> = options
        .into_iter()
        .enumerate()
        .map(|(i, (name, values))| ProductOption {
            id: store.ids.next(Kind::ProductOption),
            name: name.into(),
            position: i as u32 + 1,
            values: values.into_iter().map(String::from).collect(),
        })
        .collect();
    let base = rng.gen_range(5..120) * 100 + [0, 50, 99][rng.gen_range(0..3)];
    let variants = combos
        .into_iter()
        .enumerate()
        .map(|(i, combo)| {
            let price = base + 200 * i as i64;
            let metafields = if rng.gen_bool(0.3) {
                vec![metafield(
                    &mut store.ids,
                    "custom",
                    "weight_note",
                    "single_line_text_field",
                    format!("{} g", rng.gen_range(50..900)),
                )]
            } else {
                Vec::new()
            };
            Variant {
                id: store.ids.next(Kind::Variant),
                title: combo.join(" / "),
                sku: format!("FS-{n:05}-{}", i + 1),
                barcode: rng
                    .gen_bool(0.5)
                    .then(|| format!("{:012}", rng.gen_range(0..1_000_000_000_000u64))),
                price: money(price),
                compare_at_price: rng.gen_bool(0.25).then(|| money(price * 6 / 5)),
                inventory_quantity: rng.gen_range(0..200),
                inventory_item_id: store.ids.next(Kind::InventoryItem),
                position: i as u32 + 1,
                taxable: true,
                inventory_policy: if rng.gen_bool(0.1) {
                    "CONTINUE"
                } else {
                    "DENY"
                }
                .into(),
                metafields,
                selected_options: options
                    .iter()
                    .zip(combo)
                    .map(|(o, v)| SelectedOption {
                        name: o.name.clone(),
                        value: v.into(),
                    })
                    .collect(),
            }
        })
        .collect();
    let mut metafields = Vec::new();
    if rng.gen_bool(0.5) {
        metafields.push(metafield(
            &mut store.ids,
            "custom",
            "material",
            "single_line_text_field",
            pick(rng, &["cotton", "ceramic", "oak", "wool"]).to_string(),
        ));
    }
    if rng.gen_bool(0.3) {
        metafields.push(metafield(
            &mut store.ids,
            "custom",
            "care_guide",
            "multi_line_text_field",
            "Hand wash.\nDry flat.".into(),
        ));
    }
    let media_ids = add_media(store, id, &handle, &title, media);
    let at = iso(created);
    let product = Product {
        id,
        description_html: format!(
            "<p>Our {} (item {n}) from the {} range.</p><p>Made to last.</p>",
            title.to_lowercase(),
            ptype.to_lowercase(),
        ),
        handle,
        title,
        vendor: pick(rng, VENDORS).to_string(),
        product_type: ptype.into(),
        status: status.into(),
        tags,
        template_suffix: rng.gen_bool(0.1).then(|| "alternate".to_string()),
        seo_title: None,
        seo_description: rng.gen_bool(0.3).then(|| format!("Buy our {noun} online.")),
        created_at: at.clone(),
        updated_at: at.clone(),
        published_at: (status == "ACTIVE").then_some(at),
        options,
        variants,
        media: media_ids,
        metafields,
        collections: Vec::new(),
    };
    store.products.insert(id, product);
    id
}

/// Number of images of a day-0 product: 0–3, mostly 1.
fn initial_media_count(rng: &mut impl Rng) -> usize {
    match rng.gen_range(0..20) {
        0 => 0,
        1..=12 => 1,
        13..=17 => 2,
        _ => 3,
    }
}

fn collections(store: &mut Store, products: &[u64]) {
    let count = (3 + products.len() / 25).min(40);
    for i in 0..count {
        let mut rng = rng_for(store.seed, tag::COLLECTION, i as u64);
        let id = store.ids.next(Kind::Collection);
        let smart = i % 3 == 2;
        let title = if smart {
            ["On Sale", "Eco Picks", "Under $30"][i / 3 % 3].to_string()
        } else {
            format!(
                "{} {}",
                pick(&mut rng, ADJECTIVES),
                ["Finds", "Favourites", "Essentials", "Gifts"][i % 4]
            )
        };
        let handle = unique_handle(&slug(&title), |h| {
            store.collections.values().any(|c| c.handle == h)
        });
        let rule_set = smart.then(|| RuleSet {
            applied_disjunctively: false,
            rules: vec![match i / 3 % 3 {
                0 => CollectionRule {
                    column: "TAG".into(),
                    relation: "EQUALS".into(),
                    condition: "sale".into(),
                },
                1 => CollectionRule {
                    column: "TAG".into(),
                    relation: "EQUALS".into(),
                    condition: "eco".into(),
                },
                _ => CollectionRule {
                    column: "VARIANT_PRICE".into(),
                    relation: "LESS_THAN".into(),
                    condition: "30.00".into(),
                },
            }],
        });
        let members: Vec<u64> = if smart {
            Vec::new()
        } else {
            products
                .iter()
                .copied()
                .filter(|_| rng.gen_bool(0.15))
                .collect()
        };
        for p in &members {
            if let Some(product) = store.products.get_mut(p) {
                product.collections.push(id);
            }
        }
        let metafields = if rng.gen_bool(0.3) {
            vec![metafield(
                &mut store.ids,
                "custom",
                "banner_text",
                "single_line_text_field",
                format!("Discover {title}"),
            )]
        } else {
            Vec::new()
        };
        store.collections.insert(
            id,
            Collection {
                id,
                handle,
                description_html: format!("<p>{title} hand-picked for you.</p>"),
                title,
                sort_order: if smart { "BEST_SELLING" } else { "MANUAL" }.into(),
                template_suffix: None,
                updated_at: iso(EPOCH - 40 * DAY + i as i64 * 3600),
                rule_set,
                products: members,
                metafields,
                seo_title: None,
                seo_description: None,
            },
        );
    }
}

fn pages_and_redirects(store: &mut Store) {
    let pages = [
        "About us",
        "Contact",
        "FAQ",
        "Shipping policy",
        "Size guide",
    ];
    for (i, title) in pages.iter().enumerate() {
        let id = store.ids.next(Kind::Page);
        let mut rng = rng_for(store.seed, tag::PAGE, i as u64);
        let at = iso(EPOCH - 300 * DAY + i as i64 * DAY);
        let published = i != 4;
        let metafields = if i == 0 {
            vec![metafield(
                &mut store.ids,
                "custom",
                "hero",
                "single_line_text_field",
                "Since 2019".into(),
            )]
        } else {
            Vec::new()
        };
        store.pages.insert(
            id,
            Page {
                id,
                handle: slug(title),
                title: title.to_string(),
                body: format!(
                    "<h1>{title}</h1><p>{} questions answered.</p>",
                    rng.gen_range(3..30)
                ),
                is_published: published,
                published_at: published.then(|| at.clone()),
                template_suffix: (i == 1).then(|| "contact".to_string()),
                created_at: at.clone(),
                updated_at: at,
                metafields,
            },
        );
    }
    for (path, target) in [
        ("/old-shop", "/collections/all"),
        ("/about", "/pages/about-us"),
        ("/faq.html", "/pages/faq"),
        ("/sale", "/collections/on-sale"),
        ("/blog/news", "/blogs/news"),
        ("/promo", "https://fake.myshopify.com/discount/WELCOME10"),
    ] {
        let id = store.ids.next(Kind::Redirect);
        store.redirects.insert(
            id,
            Redirect {
                id,
                path: path.into(),
                target: target.into(),
            },
        );
    }
}

/// Generates the day-0 store.
pub fn generate(params: &StoreParams) -> Store {
    let mut ids = IdAllocator::default();
    let shop = Shop {
        id: 60_100_000_000 + params.seed % 1000,
        name: "Fake Goods".into(),
        email: "owner@fake-goods.example".into(),
        contact_email: "hello@fake-goods.example".into(),
        myshopify_domain: "fake.myshopify.com".into(),
        currency_code: "USD".into(),
        iana_timezone: "America/New_York".into(),
        weight_unit: "KILOGRAMS".into(),
    };
    let themes = theme_files::themes(&mut ids, params.seed);
    let mut store = Store {
        shop,
        products: BTreeMap::new(),
        collections: BTreeMap::new(),
        pages: BTreeMap::new(),
        redirects: BTreeMap::new(),
        customers: BTreeMap::new(),
        orders: BTreeMap::new(),
        themes,
        media: BTreeMap::new(),
        blogs: BTreeMap::new(),
        articles: BTreeMap::new(),
        menus: BTreeMap::new(),
        metaobject_definitions: BTreeMap::new(),
        metaobjects: BTreeMap::new(),
        locations: BTreeMap::new(),
        inventory: BTreeMap::new(),
        files: BTreeMap::new(),
        day: 0,
        seed: params.seed,
        ids,
        next_order_number: 1001,
    };
    let mut taken = HashSet::new();
    let mut product_ids = Vec::with_capacity(params.products);
    for i in 0..params.products {
        let mut rng = rng_for(params.seed, tag::PRODUCT, i as u64);
        let created = EPOCH - 400 * DAY
            + i as i64 * (390 * DAY / params.products.max(1) as i64)
            + rng.gen_range(0..3600);
        let media = initial_media_count(&mut rng);
        product_ids.push(add_product(
            &mut store, &mut rng, created, media, &mut taken,
        ));
    }
    collections(&mut store, &product_ids);
    pages_and_redirects(&mut store);
    for i in 0..params.customers {
        let mut rng = rng_for(params.seed, tag::CUSTOMER, i as u64);
        let span = 120 * DAY / params.customers.max(1) as i64;
        let created = EPOCH - 200 * DAY + i as i64 * span + rng.gen_range(0..3600);
        add_customer(&mut store, &mut rng, created);
    }
    for i in 0..params.orders {
        let mut rng = rng_for(params.seed, tag::ORDER, i as u64);
        let span = 60 * DAY / params.orders.max(1) as i64;
        let created = EPOCH - 61 * DAY + i as i64 * span + rng.gen_range(0..3600);
        add_order(&mut store, &mut rng, created);
    }
    // Blogs, menus, metaobjects, locations, inventory and files: streams and ID ranges of their
    // own, so what is above does not move.
    crate::generate_more::generate_more(&mut store);
    store
}
