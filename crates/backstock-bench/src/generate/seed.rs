//! The building blocks of the synthetic store: per-item seeded RNGs, the calendar of simulated
//! days, and word lists and text. Everything is a pure function of its arguments.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Tags that keep the per-item RNG streams of different purposes apart (see [`item_rng`]); all in
/// one place so that no two purposes share one.
pub(crate) const TAG_PRODUCT: u64 = 1;
pub(crate) const TAG_BODY: u64 = 2;
pub(crate) const TAG_EDIT: u64 = 3;
pub(crate) const TAG_CUSTOMER: u64 = 4;
pub(crate) const TAG_CUSTOMER_EDIT: u64 = 5;
pub(crate) const TAG_ORDER: u64 = 6;
pub(crate) const TAG_DAY: u64 = 7;
pub(crate) const TAG_COLLECTION: u64 = 8;
pub(crate) const TAG_MEMBERSHIP: u64 = 9;
pub(crate) const TAG_INIT: u64 = 10;
pub(crate) const TAG_MEDIA: u64 = 101;
pub(crate) const TAG_MEDIA_BYTES: u64 = 102;
pub(crate) const TAG_THEME: u64 = 103;
pub(crate) const TAG_THEME_BLOCK: u64 = 104;

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
pub(crate) const LOREM: &[&str] = &[
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
