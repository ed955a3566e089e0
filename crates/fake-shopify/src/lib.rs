//! A fake of Shopify's GraphQL Admin API for tests and demos: a loopback HTTP server over an
//! in-memory, seeded, deterministic store model that can advance by simulated days.
//!
//! ```no_run
//! use fake_shopify::{FakeShop, ServerOptions, StoreParams};
//! let shop = FakeShop::start(StoreParams::default(), ServerOptions::default()).unwrap();
//! let endpoint = format!("{}/admin/api/2026-01/graphql.json", shop.url());
//! let changes = shop.advance();
//! let products = shop.model(|s| s.products.len());
//! # let _ = (endpoint, changes, products);
//! ```
//!
//! What it serves:
//! - `POST /admin/api/{version}/graphql.json` with `X-Shopify-Access-Token` (any token but `bad`):
//!   queries (`shop`, `themes`, `theme { files }`, `products`, `product`, `productByIdentifier`,
//!   `collections`, `collection`, `collectionByIdentifier`, `collectionByHandle`, `pages`,
//!   `urlRedirects`, `blogs`, `blog`, `articles`, `article`, `menus`, `menu`,
//!   `metaobjectDefinitions`, `metaobjectDefinition(ByType)`, `metaobjects(type:)`,
//!   `metaobject`, `metaobjectByHandle`, `locations`, `location`, `inventoryItems`,
//!   `inventoryItem`, `inventoryLevel`, `files`, `customers`, `orders`, ..., `node`, `nodes`,
//!   `currentBulkOperation`) and mutations (`bulkOperationRunQuery`, `stagedUploadsCreate`,
//!   `productSet`, `themeFilesUpsert`, `collectionCreate`, `collectionUpdate`,
//!   `collectionAddProducts`, `collectionRemoveProducts`, `pageCreate`, `pageUpdate`,
//!   `articleCreate`, `articleUpdate`, `urlRedirectCreate`, `urlRedirectUpdate`, `menuCreate`,
//!   `menuUpdate`, `metaobjectUpsert`), with `extensions.cost` and a leaky bucket (the cost rule
//!   is below).
//! - `GET /_bulk/<id>.jsonl` and `/_bulk/<id>.partial.jsonl`: bulk results (signed URLs: no token).
//! - `GET /_cdn/files/<media id>/<filename>`: image bytes; `/_cdn/files/<generic file id>/<name>`:
//!   the bytes of a generic file (a PDF); `/_cdn/articles/<article id>/<name>`: an article's
//!   image (all counted in `media_downloads`/`media_bytes`).
//! - `PUT /_staged/<token>` (raw body) or `POST` (multipart form, `file` part): the targets of
//!   `stagedUploadsCreate` (signed URLs: no token); see the `staged` module for the details.
//! - `/_fake/...`: the control surface (`POST advance`, `POST delete-product/<id>`,
//!   `POST delete/<Type>/<id>` (see [`Store::delete`]),
//!   `GET product-by-handle/<handle>`, `GET counters`, `POST reset-counters`,
//!   `POST throttle-next/<n>`, `too-many-next/<n>`, `fail-next-bulk/<n>`, `expire-next-bulk/<n>`,
//!   `deny-scope/<scope>`).
//!
//! **Cost rule.** A query costs 1, plus N for every field carrying `first: N` or `last: N`
//! (variables resolved, fragments counted where used; nested connections add, they do not
//! multiply). A mutation costs 10 per top-level mutation field, so polling a bulk operation (`node`,
//! `currentBulkOperation`) costs 1 and the inner bulk query is not costed. The actual cost of a
//! query is 1 plus the connection nodes it returned (at most the requested cost); the rest is
//! refunded to the bucket. The bucket (`ServerOptions::bucket_size`, refilled at
//! `restore_rate` points a second) refuses a query costing more than it holds with THROTTLED; a
//! query whose requested cost exceeds 1000 (or the bucket's size, if smaller) is refused with
//! `MAX_COST_EXCEEDED`.
//!
//! Bulk operations: one at a time (a second one while the first is CREATED/RUNNING gets
//! `OPERATION_IN_PROGRESS`); the JSONL is taken from the model when the operation is created and
//! is always grouped (children right after their parent, depth first), whatever `groupObjects`
//! says; the first `ServerOptions::poll_steps` polls answer RUNNING, the next one COMPLETED (or
//! FAILED when injected); `url` is null when there are no objects. Limits: one top-level
//! connection among `products`, `collections`, `pages`, `urlRedirects`, `customers`, `orders`,
//! `blogs`, `articles`, `menus`, `metaobjects`, `metaobjectDefinitions`, `locations`,
//! `inventoryItems`, `files`; at most 5 connections, nested at most 2 below the top one; unknown
//! fields are `INVALID`.
//!
//! Connections take `first`, `last`, `after`, `before` and `reverse` (and `filenames` on theme
//! files, `namespace` on metafields, `roles` on themes, `type` on metaobjects); `query:` filters
//! the root connections `products`, `collections`, `pages`, `urlRedirects`, `blogs`, `articles`,
//! `menus`, `metaobjects`, `locations`, `inventoryItems` and `files` in a simplified search
//! syntax (`handle:x`, `handle:'x'`, `path:/x`, `blog_id:N`, `tag:x`, `id:>N`, `x*`, `-`/`NOT`,
//! `OR`; see the `search` module; a field a connection does not know is ignored). Other
//! arguments such as `sortKey:` are accepted and ignored (items come in ID order).
//!
//! Beyond the catalogue the store holds 2 blogs of 5 articles, the 2 default menus
//! (`main-menu`, `footer`) linking to its collections, products, pages, blog and an article,
//! 2 metaobject definitions (`designer`, `faq`) with 3 and 4 entries, 2 locations with an
//! inventory level per variant (the sum of `available` is the variant's `inventoryQuantity`; a
//! change of the quantity goes to the first location), and 3 generic files; the files library
//! (`files`) lists the product images (`MediaImage`, same GID as the product media) and the
//! generic files. When a product (or another linked resource) is deleted, the menu items linking
//! to it are removed with their nested items (Shopify's documentation does not say; this is the
//! conservative choice), and its inventory items go with it.
//!
//! `productSet` reads `files` with replace semantics: `{id}` keeps a `MediaImage` of the product,
//! `{originalSource}` makes a new image from a completed staged upload (or from this fake's own
//! CDN URL; external URLs are not fetched and are a user error), media left out are deleted;
//! without `files` the media stay as they are. `productByIdentifier` takes exactly one of `id`,
//! `handle` or `customId`.
//!
//! Smart collections list no members (neither their `products` connection nor the products'
//! `collections`): their rules define them. Manual collections list their members.
//!
//! Scopes: `products`/`collections`/`collectionByIdentifier` need `read_products`,
//! `pages`/`blogs`/`articles` `read_content`, `urlRedirects`/`menus`
//! `read_online_store_navigation`, `metaobjects` `read_metaobjects`, `metaobjectDefinitions`
//! `read_metaobject_definitions`, `locations` `read_locations`, `inventoryItems` (and any
//! `inventoryLevels`) `read_inventory`, `files` `read_files`, `customers` `read_customers`,
//! `orders` `read_orders`, `themes`/`theme` `read_themes`; `productSet` and the collection
//! mutations need `write_products`, `themeFilesUpsert` `write_themes`, the page and article
//! mutations `write_content`, the redirect and menu mutations `write_online_store_navigation`,
//! `metaobjectUpsert` `write_metaobjects`; `stagedUploadsCreate` needs `write_products` for
//! `IMAGE`, `PRODUCT_IMAGE` and `COLLECTION_IMAGE` targets and `write_files` for the other
//! resources (all granted until [`FakeShop::deny_scope`]). The restore mutations and their
//! simplifications are described in the `restore` module.

mod advance;
mod advance_more;
mod api;
mod bulk;
mod bulk_ops;
mod day_changes;
mod exec;
mod files_set;
mod generate;
mod generate_more;
mod gql;
mod handles;
mod ids;
mod image_info;
mod input;
mod metafields;
pub mod model;
mod model_more;
mod mutations;
mod obj;
mod outcome;
mod people;
mod product_set;
mod resolve;
mod resolve_content;
mod resolve_more;
mod resolve_root;
mod resolve_stock;
mod restore;
mod restore_collections;
mod restore_content;
mod restore_dispatch;
mod restore_nav;
mod search;
mod server;
mod staged;
mod staged_endpoint;
mod state;
mod store_ops;
mod streams;
mod theme_files;
mod throttle;
mod user_errors;

pub use day_changes::DayChanges;
pub use generate::StoreParams;
pub use model::*;
pub use state::{Counters, ServerOptions};
pub use store_ops::InventoryChanges;
pub use theme_files::{checksum_md5, content_type, is_text};

use state::{lock, State};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Worker threads answering requests.
const WORKERS: usize = 4;

/// Generates the day-0 store of `params` (what [`FakeShop::start`] serves).
pub fn generate_store(params: &StoreParams) -> Store {
    generate::generate(params)
}

/// Advances a store by one day, as [`FakeShop::advance`] does.
pub fn advance_store(store: &mut Store, params: &StoreParams) -> DayChanges {
    advance::advance(store, params)
}

/// A running fake shop. Dropping it stops the server threads.
pub struct FakeShop {
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    port: u16,
}

impl std::fmt::Debug for FakeShop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeShop")
            .field("port", &self.port)
            .finish()
    }
}

impl FakeShop {
    /// Generates the store and starts serving it on 127.0.0.1:`options.port`.
    pub fn start(params: StoreParams, options: ServerOptions) -> io::Result<FakeShop> {
        let store = generate::generate(&params);
        let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))?;
        socket2::SockRef::from(&listener).set_tcp_nodelay(true)?;
        let server = tiny_http::Server::from_listener(listener, None)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| io::Error::other("not an IP listener"))?;
        let server = Arc::new(server);
        let state = Arc::new(Mutex::new(State {
            store,
            params,
            bucket: throttle::Bucket::new(options.bucket_size, options.restore_rate),
            options,
            bulk: Default::default(),
            staged: Default::default(),
            counters: Counters::default(),
            throttle_next: 0,
            too_many_next: 0,
            fail_next_bulk: 0,
            expire_next_bulk: 0,
            denied: Default::default(),
            base: format!("http://127.0.0.1:{port}"),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for i in 0..WORKERS {
            let (srv, shared, stopping) =
                (Arc::clone(&server), Arc::clone(&state), Arc::clone(&stop));
            let spawned = std::thread::Builder::new()
                .name(format!("fake-shopify-{i}"))
                .spawn(move || loop {
                    match srv.recv() {
                        Ok(request) => {
                            // A bug must cost one request, not a worker.
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                server::serve(&shared, request)
                            }));
                        }
                        Err(_) if stopping.load(Ordering::SeqCst) => break,
                        Err(_) => {}
                    }
                });
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    for _ in &threads {
                        server.unblock();
                    }
                    for t in threads {
                        let _ = t.join();
                    }
                    return Err(e);
                }
            }
        }
        Ok(FakeShop {
            state,
            server,
            stop,
            threads,
            port,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Advances the model by one simulated day.
    pub fn advance(&self) -> DayChanges {
        let mut state = lock(&self.state);
        let state = &mut *state;
        advance::advance(&mut state.store, &state.params)
    }

    /// Deletes a product (and its media); false if there was none.
    pub fn delete_product(&self, numeric_id: u64) -> bool {
        lock(&self.state).store.delete_product(numeric_id)
    }

    /// Reads the model. The server waits meanwhile: make no request to it from inside `f`.
    pub fn model<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&lock(&self.state).store)
    }

    /// Changes the model directly (for tests that need a particular state); the inventory levels
    /// then follow the variants' quantities ([`Store::sync_inventory`]). The server waits
    /// meanwhile: make no request to it from inside `f`.
    pub fn model_mut<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut state = lock(&self.state);
        let out = f(&mut state.store);
        state.store.sync_inventory();
        out
    }

    /// Deletes the object with this GID and what hangs off it (see [`Store::delete`]): a
    /// product, collection, page, URL redirect, blog, article, menu, metaobject definition,
    /// metaobject or generic file. False if there was none.
    pub fn delete(&self, object_gid: &str) -> bool {
        lock(&self.state).store.delete(object_gid)
    }

    /// A copy of the counters.
    pub fn counters(&self) -> Counters {
        lock(&self.state).counters.clone()
    }

    /// Sets every counter to 0.
    pub fn reset_counters(&self) {
        lock(&self.state).counters = Counters::default();
    }

    /// The next `n` GraphQL POSTs answer THROTTLED (HTTP 200).
    pub fn throttle_next(&self, n: u32) {
        lock(&self.state).throttle_next = n;
    }

    /// The next `n` GraphQL POSTs answer HTTP 429 with `Retry-After`.
    pub fn too_many_next(&self, n: u32) {
        lock(&self.state).too_many_next = n;
    }

    /// The next `n` bulk operations end FAILED (`INTERNAL_SERVER_ERROR`) with a `partialDataUrl`.
    pub fn fail_next_bulk(&self, n: u32) {
        lock(&self.state).fail_next_bulk = n;
    }

    /// The `url` of the next `n` completed bulk operations (with objects) answers 403.
    pub fn expire_next_bulk(&self, n: u32) {
        lock(&self.state).expire_next_bulk = n;
    }

    /// Denies an access scope (`read_customers`, ...): queries needing it get ACCESS_DENIED.
    pub fn deny_scope(&self, scope: &str) {
        lock(&self.state).denied.insert(scope.to_string());
    }

    /// Grants a scope denied before.
    pub fn allow_scope(&self, scope: &str) {
        lock(&self.state).denied.remove(scope);
    }
}

impl Drop for FakeShop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for _ in &self.threads {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests_bulk;
#[cfg(test)]
mod tests_connector;
#[cfg(test)]
mod tests_content;
#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_http;
#[cfg(test)]
mod tests_model;
#[cfg(test)]
mod tests_model_more;
#[cfg(test)]
mod tests_mutations;
#[cfg(test)]
mod tests_pin;
#[cfg(test)]
mod tests_restore_collections;
#[cfg(test)]
mod tests_restore_content;
#[cfg(test)]
mod tests_restore_nav;
#[cfg(test)]
mod tests_staged;
#[cfg(test)]
mod tests_stock;
#[cfg(test)]
mod tests_util;
