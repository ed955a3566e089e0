//! Test support: random damage to a valid encoding. Random bytes nearly always stop a decoder at
//! its magic or version byte; a valid encoding with a few bytes flipped, inserted, deleted or cut
//! off reaches every later check (lengths, counts, layout, padding, authentication).

use proptest::prelude::*;
use proptest::sample::Index;

#[derive(Debug, Clone)]
pub enum Mutation {
    /// XOR one byte with a non-zero mask.
    Flip(Index, u8),
    /// Insert a byte before a position (or at the end).
    Insert(Index, u8),
    /// Remove one byte.
    Delete(Index),
    /// Cut the encoding at a position.
    Truncate(Index),
    /// Write a byte that decoders treat specially (0, 1, 0x7f, 0x80, 0xff) over one byte.
    Edge(Index, u8),
}

/// One to four mutations, applied in turn.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        3 => (any::<Index>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<Index>().prop_map(Mutation::Delete),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), prop::sample::select(vec![0u8, 1, 0x7f, 0x80, 0xff]))
            .prop_map(|(i, b)| Mutation::Edge(i, b)),
    ];
    proptest::collection::vec(one, 1..=4)
}

/// `valid` with `ops` applied (positions taken modulo the current length).
pub fn apply(valid: &[u8], ops: &[Mutation]) -> Vec<u8> {
    let mut b = valid.to_vec();
    for op in ops {
        match *op {
            Mutation::Flip(ref i, m) if !b.is_empty() => {
                let i = i.index(b.len());
                b[i] ^= m;
            }
            Mutation::Insert(ref i, x) => {
                let i = i.index(b.len() + 1);
                b.insert(i, x);
            }
            Mutation::Delete(ref i) if !b.is_empty() => {
                let i = i.index(b.len());
                b.remove(i);
            }
            Mutation::Truncate(ref i) if !b.is_empty() => {
                let i = i.index(b.len());
                b.truncate(i);
            }
            Mutation::Edge(ref i, x) if !b.is_empty() => {
                let i = i.index(b.len());
                b[i] = x;
            }
            _ => {}
        }
    }
    b
}
