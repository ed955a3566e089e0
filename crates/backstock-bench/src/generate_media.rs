//! Content generation for `generate.rs` (included from there via `#[path]`):
//! per-item seeded RNGs, calendar helpers, word lists and text, the immutable
//! part of products and customers, media files with real magic bytes, and
//! Shopify-like theme files. Everything is a pure function of its arguments.

use anyhow::{Context, Result};
use rand::seq::index::sample;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use std::fs::File;
use std::io::Write;
use std::path::Path;

const TAG_PRODUCT: u64 = 1;
const TAG_BODY: u64 = 2;
const TAG_CUSTOMER: u64 = 4;
pub(crate) const TAG_CUSTOMER_EDIT: u64 = 5;
const TAG_MEDIA: u64 = 101;
const TAG_MEDIA_BYTES: u64 = 102;
const TAG_THEME: u64 = 103;
const TAG_THEME_BLOCK: u64 = 104;

/// SplitMix64 finalizer.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An RNG that depends only on (seed, tag, id, extra), never on iteration order.
pub(crate) fn item_rng(seed: u64, tag: u64, id: u64, extra: u64) -> ChaCha8Rng {
    let mut x = mix(mix(mix(seed ^ mix(tag)) ^ id) ^ extra);
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        x = mix(x);
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    ChaCha8Rng::from_seed(bytes)
}

// ---------------------------------------------------------------- calendar

pub(crate) const DAY: i64 = 86_400;

/// Unix time of the start of simulated day `day` (day 0 = 2024-03-04).
pub(crate) fn day_start(day: i64) -> i64 {
    (days_from_civil(2024, 3, 4) + day) * DAY
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// ISO-8601 timestamp (UTC) of a unix time.
pub(crate) fn iso(ts: i64) -> String {
    let (y, m, d) = civil_from_days(ts.div_euclid(86_400));
    let s = ts.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// "YYYY-MM" of a unix time.
pub(crate) fn month_of(ts: i64) -> String {
    let (y, m, _) = civil_from_days(ts.div_euclid(86_400));
    format!("{y:04}-{m:02}")
}

// ---------------------------------------------------------------- words

#[rustfmt::skip]
pub(crate) const ADJECTIVES: &[&str] = &[
    "Classic", "Modern", "Rustic", "Vintage", "Premium", "Essential", "Organic", "Handmade",
    "Minimal", "Bold", "Soft", "Everyday", "Urban", "Coastal", "Alpine", "Heritage", "Luxe",
    "Compact", "Deluxe", "Eco", "Signature", "Lightweight", "Cozy", "Sleek", "Artisan", "Nordic",
];
#[rustfmt::skip]
pub(crate) const MATERIALS: &[&str] = &[
    "Cotton", "Linen", "Wool", "Leather", "Canvas", "Bamboo", "Ceramic", "Oak", "Walnut", "Steel",
    "Brass", "Glass", "Silk", "Denim", "Cork", "Marble", "Copper", "Hemp", "Suede",
];
#[rustfmt::skip]
pub(crate) const NOUNS: &[&str] = &[
    "Tote", "Mug", "Backpack", "Hoodie", "Candle", "Wallet", "Scarf", "Lamp", "Planter",
    "Notebook", "Jacket", "Beanie", "Tumbler", "Blanket", "Apron", "Sneaker", "Watch", "Bowl",
    "Cutting Board", "Pillow", "T-Shirt", "Sweater", "Belt", "Cap", "Duffel", "Vase", "Journal",
    "Bottle", "Throw",
];
#[rustfmt::skip]
pub(crate) const COLORS: &[&str] = &[
    "Black", "White", "Navy", "Olive", "Sand", "Charcoal", "Rust", "Forest", "Sky", "Blush",
    "Mustard", "Ivory", "Slate", "Burgundy", "Teal",
];
pub(crate) const SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "XXL"];
#[rustfmt::skip]
pub(crate) const VENDORS: &[&str] = &[
    "Northwind Goods", "Maple & Pine", "Harbor Supply Co.", "Fieldstone", "Blue Ember",
    "Juniper Lane", "Copperleaf", "Driftwood Studio", "Atlas Outfitters", "Little Fern",
];
#[rustfmt::skip]
pub(crate) const PRODUCT_TYPES: &[&str] = &[
    "Apparel", "Accessories", "Home Decor", "Kitchen", "Outdoor", "Stationery", "Bags",
    "Footwear", "Lighting", "Bedding",
];
#[rustfmt::skip]
pub(crate) const TAGS: &[&str] = &[
    "new", "bestseller", "sale", "gift", "eco-friendly", "limited", "summer", "winter", "unisex",
    "handmade", "vegan", "bundle", "clearance", "staff-pick", "restocked", "exclusive",
];
#[rustfmt::skip]
pub(crate) const FIRST_NAMES: &[&str] = &[
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Ethan", "Amelia",
    "Hiro", "Priya", "Chen", "Fatima", "Jonas", "Elena", "Kwame", "Ingrid", "Diego", "Aisha",
];
#[rustfmt::skip]
pub(crate) const LAST_NAMES: &[&str] = &[
    "Smith", "Garcia", "Nguyen", "Müller", "Rossi", "Kowalski", "Okafor", "Tanaka", "Silva",
    "Johansson", "Patel", "Dubois", "Kim", "Haddad", "O'Brien", "Novak", "Jensen", "Costa",
];
pub(crate) const CITIES: &[(&str, &str, &str)] = &[
    ("Portland", "Oregon", "US"),
    ("Austin", "Texas", "US"),
    ("Toronto", "Ontario", "CA"),
    ("Denver", "Colorado", "US"),
    ("Vancouver", "British Columbia", "CA"),
    ("Chicago", "Illinois", "US"),
    ("Boston", "Massachusetts", "US"),
    ("Seattle", "Washington", "US"),
];
#[rustfmt::skip]
pub(crate) const STREETS: &[&str] = &[
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Park Blvd", "Lake Rd", "Hill St",
];
#[rustfmt::skip]
const LOREM: &[&str] = &[
    "crafted", "durable", "comfortable", "designed", "everyday", "quality", "materials", "finish",
    "perfect", "gift", "sustainably", "sourced", "made", "with", "care", "and", "the", "for",
    "your", "home", "adventure", "soft", "touch", "lasting", "style", "natural", "texture",
    "easy", "to", "clean", "wash", "cold", "hand", "stitched", "small", "batch", "timeless",
    "look", "feel", "built", "last", "years", "of", "use", "a", "in", "our", "studio", "each",
    "piece", "is", "unique", "slight", "variations", "add", "character", "pairs", "well",
];

pub(crate) fn pick<'a, R: Rng>(rng: &mut R, list: &[&'a str]) -> &'a str {
    list[rng.gen_range(0..list.len())]
}

pub(crate) fn sentence<R: Rng>(rng: &mut R, min: usize, max: usize) -> String {
    let n = rng.gen_range(min..=max);
    let mut s = String::with_capacity(n * 8);
    for i in 0..n {
        let w = pick(rng, LOREM);
        if i == 0 {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.extend(f.to_uppercase());
                s.push_str(c.as_str());
            }
        } else {
            s.push(' ');
            s.push_str(w);
        }
    }
    s.push('.');
    s
}

pub(crate) fn paragraph<R: Rng>(rng: &mut R, sentences: usize) -> String {
    (0..sentences)
        .map(|_| sentence(rng, 6, 16))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

// ---------------------------------------------------------------- products, customers

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

// ---------------------------------------------------------------- media

/// One media file of a product: everything except its bytes.
pub(crate) struct MediaSpec {
    pub n: u64,
    pub ext: &'static str,
    pub size: u64,
    pub width: u32,
    pub height: u32,
}

pub(crate) fn media_spec(seed: u64, product_seq: u64, n: u64) -> MediaSpec {
    let mut rng = item_rng(seed, TAG_MEDIA, product_seq, n);
    let r: f64 = rng.gen();
    let ext = if r < 0.65 {
        "jpg"
    } else if r < 0.82 {
        "webp"
    } else {
        "png"
    };
    // Log-uniform-ish between 30 KiB and 3 MiB, skewed small: mean ~300 KiB.
    let (lo, hi) = ((30u64 << 10) as f64, (3u64 << 20) as f64);
    let u: f64 = rng.gen();
    let size = (lo * ((hi / lo).ln() * u.powf(2.7)).exp()) as u64;
    let width = [800, 1024, 1200, 1600, 2048, 2400][rng.gen_range(0..6)];
    let (a, b) = [(3, 4), (4, 3), (1, 1), (4, 5)][rng.gen_range(0..4)];
    let height = width * a / b;
    MediaSpec {
        n,
        ext,
        size,
        width,
        height,
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn media_header(spec: &MediaSpec) -> Vec<u8> {
    let mut h = Vec::with_capacity(40);
    match spec.ext {
        "jpg" => {
            h.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]);
            h.extend_from_slice(b"JFIF\0\x01\x01\x00\x00\x48\x00\x48\x00\x00");
        }
        "png" => {
            h.extend_from_slice(&[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
            h.extend_from_slice(&13u32.to_be_bytes());
            let start = h.len();
            h.extend_from_slice(b"IHDR");
            h.extend_from_slice(&spec.width.to_be_bytes());
            h.extend_from_slice(&spec.height.to_be_bytes());
            h.extend_from_slice(&[8, 2, 0, 0, 0]);
            let crc = crc32(&h[start..]);
            h.extend_from_slice(&crc.to_be_bytes());
        }
        _ => {
            let size = spec.size.max(64) as u32;
            h.extend_from_slice(b"RIFF");
            h.extend_from_slice(&(size - 8).to_le_bytes());
            h.extend_from_slice(b"WEBPVP8 ");
            h.extend_from_slice(&(size - 20).to_le_bytes());
        }
    }
    h
}

/// Writes the media file: real magic bytes, then incompressible seeded bytes.
pub(crate) fn write_media(
    path: &Path,
    seed: u64,
    product_seq: u64,
    spec: &MediaSpec,
    buf: &mut Vec<u8>,
) -> Result<u64> {
    let mut file = File::create(path).with_context(|| format!("create {}", path.display()))?;
    let header = media_header(spec);
    let total = spec.size.max(header.len() as u64 + 64);
    let mut rng = item_rng(seed, TAG_MEDIA_BYTES, product_seq, spec.n);
    let mut written = 0u64;
    let mut first = true;
    while written < total {
        let n = (total - written).min(1 << 20) as usize;
        buf.resize(n, 0);
        rng.fill_bytes(buf);
        if first {
            buf[..header.len()].copy_from_slice(&header);
            first = false;
        }
        file.write_all(buf)
            .with_context(|| format!("write {}", path.display()))?;
        written += n as u64;
    }
    Ok(total)
}

// ---------------------------------------------------------------- theme

#[rustfmt::skip]
pub(crate) const THEME_FILES: &[&str] = &[
    "layout/theme.liquid", "layout/password.liquid", "sections/header.liquid",
    "sections/footer.liquid", "sections/main-product.liquid", "sections/main-collection.liquid",
    "sections/featured-collection.liquid", "sections/image-banner.liquid",
    "sections/rich-text.liquid", "sections/newsletter.liquid", "sections/cart-drawer.liquid",
    "sections/multicolumn.liquid", "snippets/price.liquid", "snippets/product-card.liquid",
    "snippets/icon-cart.liquid", "snippets/pagination.liquid", "snippets/facets.liquid",
    "snippets/social-icons.liquid", "templates/index.json", "templates/product.json",
    "templates/collection.json", "templates/cart.json", "templates/page.json",
    "templates/search.json", "templates/404.json", "templates/blog.json",
    "config/settings_data.json", "config/settings_schema.json", "assets/base.css",
    "assets/component-card.css", "assets/section-header.css", "assets/component-cart.css",
    "assets/global.js", "assets/cart.js", "assets/product-form.js", "assets/theme.js",
];

fn theme_ext(file: usize) -> &'static str {
    THEME_FILES[file].rsplit('.').next().unwrap_or("")
}

/// Number of blocks a theme file is made of (fixed for the file's lifetime).
pub(crate) fn theme_blocks(seed: u64, file: usize) -> u32 {
    let mut rng = item_rng(seed, TAG_THEME, file as u64, 0);
    match theme_ext(file) {
        "css" => rng.gen_range(30..150),
        "js" => rng.gen_range(8..50),
        "json" => rng.gen_range(4..24),
        _ => rng.gen_range(6..40),
    }
}

/// Content of a theme file; `edits` lists (block, day) edits, later ones win.
pub(crate) fn theme_content(seed: u64, file: usize, edits: &[(u32, u32)]) -> Result<Vec<u8>> {
    let blocks = theme_blocks(seed, file);
    let version = |b: u32| {
        edits
            .iter()
            .rev()
            .find(|e| e.0 == b)
            .map_or(0, |e| u64::from(e.1))
    };
    let block_rng = |b: u32| {
        item_rng(
            seed,
            TAG_THEME_BLOCK,
            ((file as u64) << 20) | u64::from(b),
            version(b),
        )
    };
    let ext = theme_ext(file);
    if ext == "json" {
        let mut sections = Map::new();
        let mut order = Vec::new();
        for b in 0..blocks {
            // The section name stays stable across edits; its settings change.
            let mut name_rng = item_rng(
                seed,
                TAG_THEME_BLOCK,
                ((file as u64) << 20) | u64::from(b),
                0,
            );
            let name = format!("{}-{b:03}", slug(pick(&mut name_rng, NOUNS)));
            let mut rng = block_rng(b);
            sections.insert(name.clone(), json!({
                "type": pick(&mut rng, &["image-banner", "rich-text", "featured-collection", "multicolumn", "newsletter"]),
                "settings": {
                    "heading": format!("{} {}", pick(&mut rng, ADJECTIVES), pick(&mut rng, NOUNS)),
                    "text": paragraph(&mut rng, 2),
                    "color_scheme": format!("scheme-{}", rng.gen_range(1..6)),
                    "padding_top": rng.gen_range(0..10) * 4,
                    "padding_bottom": rng.gen_range(0..10) * 4,
                    "full_width": rng.gen_bool(0.5),
                },
            }));
            order.push(Value::String(name));
        }
        let doc = json!({ "sections": sections, "order": order });
        let doc = if THEME_FILES[file].starts_with("config/") {
            json!({ "current": doc })
        } else {
            doc
        };
        let mut out = serde_json::to_vec_pretty(&doc)?;
        out.push(b'\n');
        return Ok(out);
    }
    let mut s = String::new();
    for b in 0..blocks {
        let mut rng = block_rng(b);
        let cls = format!(
            "{}-{}",
            slug(pick(&mut rng, NOUNS)),
            slug(pick(&mut rng, ADJECTIVES))
        );
        match ext {
            "css" => {
                s += &format!(".{cls}__{} {{\n", slug(pick(&mut rng, MATERIALS)));
                for _ in 0..rng.gen_range(2..9) {
                    s += &match rng.gen_range(0..6) {
                        0 => format!("  color: #{:06x};\n", rng.gen_range(0..0x100_0000)),
                        1 => format!(
                            "  padding: {}rem {}rem;\n",
                            rng.gen_range(0..40) as f32 / 10.0,
                            rng.gen_range(0..40) as f32 / 10.0
                        ),
                        2 => format!("  margin-top: {}px;\n", rng.gen_range(0..64)),
                        3 => format!(
                            "  font-size: calc(var(--font-body-scale) * {}rem);\n",
                            rng.gen_range(8..40) as f32 / 10.0
                        ),
                        4 => format!(
                            "  border-radius: var(--{cls}-radius, {}px);\n",
                            rng.gen_range(0..24)
                        ),
                        _ => format!(
                            "  display: {};\n",
                            pick(&mut rng, &["flex", "grid", "block", "none", "inline-flex"])
                        ),
                    };
                }
                s += "}\n\n";
            }
            "js" => {
                let name: String = slug(&cls)
                    .split('-')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect::<String>())
                            .unwrap_or_default()
                    })
                    .collect();
                s += &format!(
                    "class {name}{b} extends HTMLElement {{\n  constructor() {{\n    super();\n"
                );
                for i in 0..rng.gen_range(2..8) {
                    s += &format!(
                        "    this.el{i} = this.querySelector('.{cls}__{}');\n",
                        slug(pick(&mut rng, MATERIALS))
                    );
                    s += &format!("    if (this.el{i}) this.el{i}.addEventListener('{}', this.on{i}.bind(this));\n", pick(&mut rng, &["click", "change", "input", "keyup"]));
                }
                s += "  }\n\n";
                s += &format!("  async refresh() {{\n    const res = await fetch(`${{routes.cart_url}}?section_id={cls}`);\n    const html = await res.text();\n    this.innerHTML = new DOMParser().parseFromString(html, 'text/html').querySelector('#{cls}').innerHTML;\n  }}\n}}\ncustomElements.define('{cls}-{b}', {name}{b});\n\n");
            }
            _ => {
                let key = slug(pick(&mut rng, LOREM));
                s += &format!("{{%- if section.settings.{key} != blank -%}}\n<div class=\"{cls} page-width\" data-block=\"{b}\">\n  <h2 class=\"{cls}__title\">{{{{ section.settings.{key} | escape }}}}</h2>\n  {{%- for block in section.blocks -%}}\n    <div class=\"{cls}__item\" {{{{ block.shopify_attributes }}}}>\n");
                for _ in 0..rng.gen_range(1..5) {
                    s += &format!(
                        "      <p class=\"{cls}__text\">{}</p>\n",
                        sentence(&mut rng, 5, 14)
                    );
                }
                s += "    </div>\n  {%- endfor -%}\n</div>\n{%- endif -%}\n\n";
            }
        }
    }
    Ok(s.into_bytes())
}
