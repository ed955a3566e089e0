//! Metafields: the namespaced key/value pairs that products, variants, collections, customers,
//! articles and the like carry. Re-exported by [`crate::model`].

use crate::ids::{IdAllocator, Kind};
use serde::Serialize;

/// A metafield on a product, variant, collection, page or customer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metafield {
    /// Numeric ID.
    pub id: u64,
    /// Namespace, e.g. `custom`.
    pub namespace: String,
    /// Key within the namespace.
    pub key: String,
    /// The metafield type, e.g. `single_line_text_field`.
    pub type_name: String,
    /// The value as Shopify serialises it.
    pub value: String,
}

/// A metafield with a new ID.
pub(crate) fn metafield(
    ids: &mut IdAllocator,
    namespace: &str,
    key: &str,
    ty: &str,
    value: String,
) -> Metafield {
    Metafield {
        id: ids.next(Kind::Metafield),
        namespace: namespace.into(),
        key: key.into(),
        type_name: ty.into(),
        value,
    }
}
