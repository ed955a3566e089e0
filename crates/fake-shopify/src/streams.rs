//! Seeded random streams: each item draws from its own stream (seed, kind, index), so changing
//! one count does not reshuffle the other kinds; and the small draws the generator makes.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Stream tags for [`rng_for`].
pub(crate) mod tag {
    pub const PRODUCT: u64 = 1;
    pub const COLLECTION: u64 = 2;
    pub const PAGE: u64 = 3;
    pub const CUSTOMER: u64 = 4;
    pub const ORDER: u64 = 5;
    pub const THEME: u64 = 6;
    pub const ADVANCE: u64 = 7;
    pub const MEDIA: u64 = 8;
    pub const BLOG: u64 = 9;
    pub const INVENTORY: u64 = 11;
    pub const METAOBJECT: u64 = 12;
    pub const FILE: u64 = 13;
    pub const MENU: u64 = 14;
    /// The day's stream for the entities above (the products' day stream is `ADVANCE`).
    pub const CONTENT_ADVANCE: u64 = 15;
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random stream for item `n` of kind `tag`.
pub(crate) fn rng_for(seed: u64, tag: u64, n: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(splitmix(splitmix(seed ^ splitmix(tag)) ^ n))
}

/// An element of `list` (not empty), drawn from `rng`.
pub(crate) fn pick<'a, T>(rng: &mut impl Rng, list: &'a [T]) -> &'a T {
    &list[rng.gen_range(0..list.len())]
}

/// Rounds `x` up or down at random, keeping the expected value.
pub(crate) fn stochastic_round(rng: &mut impl Rng, x: f64) -> usize {
    if !x.is_finite() || x <= 0.0 {
        return 0;
    }
    let whole = x.floor();
    whole as usize + usize::from(rng.gen::<f64>() < x - whole)
}
