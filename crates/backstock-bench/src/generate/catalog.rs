//! The immutable part of products (title, variants, description, metafields) and customers,
//! derived from the seed and the item's sequence number only.

use super::assets::{media_spec, MediaSpec};
use super::seed::{
    day_start, item_rng, paragraph, pick, sentence, slug, ADJECTIVES, CITIES, COLORS, DAY,
    FIRST_NAMES, LAST_NAMES, MATERIALS, NOUNS, PRODUCT_TYPES, SIZES, STREETS, TAGS, TAG_BODY,
    TAG_CUSTOMER, TAG_CUSTOMER_EDIT, TAG_PRODUCT, VENDORS,
};
use rand::seq::index::sample;
use rand::Rng;
use serde_json::{json, Value};

pub(crate) struct Variant {
    pub title: String,
    pub options: Vec<&'static str>,
    pub sku: String,
    pub barcode: String,
    pub grams: u64,
    pub price: u64,
    pub compare_at: Option<u64>,
    pub inventory: i64,
}

/// The immutable part of a product, derived from (seed, seq) only.
pub(crate) struct ProductCore {
    pub title: String,
    pub vendor: &'static str,
    pub product_type: &'static str,
    pub tags: Vec<&'static str>,
    pub option_names: Vec<&'static str>,
    pub variants: Vec<Variant>,
    pub media: Vec<MediaSpec>,
}

pub(crate) fn product_core(seed: u64, seq: u64, media_avg: f64) -> ProductCore {
    let mut rng = item_rng(seed, TAG_PRODUCT, seq, 0);
    let title = format!(
        "{} {} {}",
        pick(&mut rng, ADJECTIVES),
        pick(&mut rng, MATERIALS),
        pick(&mut rng, NOUNS)
    );
    let vendor = pick(&mut rng, VENDORS);
    let product_type = pick(&mut rng, PRODUCT_TYPES);
    let n_tags = rng.gen_range(2..=6);
    let tags = sample(&mut rng, TAGS.len(), n_tags)
        .iter()
        .map(|i| TAGS[i])
        .collect();
    let n = if rng.gen_bool(0.4) {
        1
    } else {
        rng.gen_range(2..=12usize)
    };
    let (option_names, combos): (Vec<&'static str>, Vec<Vec<&'static str>>) = if n == 1 {
        (vec!["Title"], vec![vec!["Default Title"]])
    } else {
        let c = if n <= 6 {
            rng.gen_range(1..=2)
        } else {
            rng.gen_range(2..=4usize)
        };
        let s = n.div_ceil(c);
        let colors: Vec<&str> = sample(&mut rng, COLORS.len(), c)
            .iter()
            .map(|i| COLORS[i])
            .collect();
        let start = rng.gen_range(0..=SIZES.len() - s);
        let combos = colors
            .iter()
            .flat_map(|&col| (start..start + s).map(move |si| (SIZES[si], col)))
            .take(n)
            .map(|(size, col)| if c == 1 { vec![size] } else { vec![size, col] })
            .collect();
        (
            if c == 1 {
                vec!["Size"]
            } else {
                vec!["Size", "Color"]
            },
            combos,
        )
    };
    let dollars = (500f64.ln() + rng.gen::<f64>() * 80f64.ln()).exp() as u64;
    let base = dollars * 100 + [99, 0, 95, 50][rng.gen_range(0..4)];
    let compare = rng
        .gen_bool(0.3)
        .then(|| base * rng.gen_range(120..150) / 10_000 * 100);
    let code: String = vendor
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(3)
        .collect();
    let variants = combos
        .into_iter()
        .enumerate()
        .map(|(i, options)| Variant {
            title: options.join(" / "),
            sku: format!("{}-{seq:05}-{:02}", code.to_ascii_uppercase(), i + 1),
            barcode: format!("{:012}", rng.gen_range(0..1_000_000_000_000u64)),
            grams: rng.gen_range(50..3000),
            price: base + if options[0].starts_with("XX") { 200 } else { 0 },
            compare_at: compare,
            inventory: if rng.gen_bool(0.1) {
                0
            } else {
                rng.gen_range(1..250)
            },
            options,
        })
        .collect();
    // Poisson-distributed media count (Knuth), capped at 12.
    let (limit, mut k, mut p) = ((-media_avg.max(0.0)).exp(), 0u64, 1.0f64);
    loop {
        p *= rng.gen::<f64>();
        if p <= limit || k == 12 {
            break;
        }
        k += 1;
    }
    let media = (1..=k).map(|n| media_spec(seed, seq, n)).collect();
    ProductCore {
        title,
        vendor,
        product_type,
        tags,
        option_names,
        variants,
        media,
    }
}

/// Description HTML and metafields of a product (separate RNG so orders can skip them).
pub(crate) fn product_extras(seed: u64, seq: u64, core: &ProductCore) -> (String, Value) {
    let mut rng = item_rng(seed, TAG_BODY, seq, 0);
    let mut html = format!(
        "<p><strong>{}</strong> {}</p>\n",
        core.title,
        paragraph(&mut rng, 2)
    );
    for _ in 0..rng.gen_range(0..5) {
        let n = rng.gen_range(2..7);
        html += &format!("<p>{}</p>\n", paragraph(&mut rng, n));
    }
    if rng.gen_bool(0.6) {
        html += "<h3>Features</h3>\n<ul>\n";
        for _ in 0..rng.gen_range(3..8) {
            html += &format!("  <li>{}</li>\n", sentence(&mut rng, 3, 8));
        }
        html += "</ul>\n";
    }
    let rating = format!(
        "{{\"value\":\"{:.1}\",\"scale_min\":\"1.0\",\"scale_max\":\"5.0\"}}",
        rng.gen_range(30..=50) as f64 / 10.0
    );
    let fields = [
        (
            "custom",
            "material",
            "single_line_text_field",
            pick(&mut rng, MATERIALS).to_string(),
        ),
        (
            "custom",
            "care_guide",
            "multi_line_text_field",
            paragraph(&mut rng, 2),
        ),
        ("reviews", "rating", "rating", rating),
        (
            "global",
            "title_tag",
            "single_line_text_field",
            format!("{} | {}", core.title, core.vendor),
        ),
        (
            "global",
            "description_tag",
            "single_line_text_field",
            sentence(&mut rng, 10, 20),
        ),
    ];
    let metafields = fields
        .into_iter()
        .zip(0u64..)
        .map(|((ns, key, ty, value), k)| {
            json!({ "id": 25_000_000_000_000 + seq * 8 + k, "namespace": ns, "key": key, "type": ty, "value": value })
        })
        .collect();
    (html, metafields)
}

pub(crate) struct Customer {
    pub first: &'static str,
    pub last: &'static str,
    pub email: String,
    pub phone: String,
    pub accepts_marketing: bool,
    pub note: Option<String>,
    pub address1: String,
    pub city: (&'static str, &'static str, &'static str),
    pub zip: String,
    pub created: i64,
    pub updated: i64,
    pub orders_count: u64,
    pub total_spent: u64,
    pub tags: Vec<&'static str>,
}

pub(crate) fn customer_core(seed: u64, seq: u64, edit: Option<(i64, i64)>) -> Customer {
    let mut rng = item_rng(seed, TAG_CUSTOMER, seq, 0);
    let (first, last) = (pick(&mut rng, FIRST_NAMES), pick(&mut rng, LAST_NAMES));
    let created = day_start(-rng.gen_range(1..1000)) + rng.gen_range(0..DAY);
    let mut c = Customer {
        first,
        last,
        email: format!("{}.{}{}@example.com", slug(first), slug(last), seq),
        phone: format!("+1{}", rng.gen_range(2_000_000_000u64..9_999_999_999)),
        accepts_marketing: rng.gen_bool(0.4),
        note: None,
        address1: format!("{} {}", rng.gen_range(1..9999), pick(&mut rng, STREETS)),
        city: CITIES[rng.gen_range(0..CITIES.len())],
        zip: format!("{:05}", rng.gen_range(10_000..99_999)),
        created,
        updated: created + rng.gen_range(0..=day_start(0) - created),
        orders_count: rng.gen_range(0..30),
        total_spent: rng.gen_range(0..500_000),
        tags: if rng.gen_bool(0.3) {
            vec![pick(
                &mut rng,
                &["vip", "wholesale", "newsletter", "returning"],
            )]
        } else {
            vec![]
        },
    };
    if let Some((day, updated)) = edit {
        let mut rng = item_rng(seed, TAG_CUSTOMER_EDIT, seq, day as u64);
        c.updated = updated;
        c.phone = format!("+1{}", rng.gen_range(2_000_000_000u64..9_999_999_999));
        c.accepts_marketing = rng.gen_bool(0.5);
        c.note = rng.gen_bool(0.5).then(|| sentence(&mut rng, 4, 12));
        if rng.gen_bool(0.4) {
            c.address1 = format!("{} {}", rng.gen_range(1..9999), pick(&mut rng, STREETS));
        }
    }
    c
}

pub(crate) fn address_json(c: &Customer, id: u64) -> Value {
    json!({
        "id": id, "first_name": c.first, "last_name": c.last, "name": format!("{} {}", c.first, c.last),
        "company": null, "address1": c.address1, "address2": null, "city": c.city.0,
        "province": c.city.1, "country_code": c.city.2, "zip": c.zip, "phone": c.phone,
    })
}
