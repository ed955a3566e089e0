//! The GraphQL documents the connector sends. Bulk queries name at most five connections, nested
//! at most two deep (Shopify's limit); `first`, cursors and `pageInfo` are not allowed in them.

/// The metafield fields read wherever metafields are exported.
macro_rules! metafields {
    () => {
        "metafields { edges { node { id namespace key type value } } }"
    };
}

/// Products with variants (and their metafields), media and metafields: five connections, the
/// products themselves counted.
pub const PRODUCTS: &str = concat!(
    "{ products { edges { node { ",
    "id handle title descriptionHtml vendor productType status tags templateSuffix ",
    "createdAt updatedAt publishedAt seo { title description } ",
    "options { id name position values } ",
    "variants { edges { node { id title sku barcode price compareAtPrice position taxable ",
    "inventoryPolicy inventoryQuantity selectedOptions { name value } inventoryItem { id } ",
    metafields!(),
    " } } } ",
    "media { edges { node { id mediaContentType alt ",
    "... on MediaImage { image { url width height } originalSource { url fileSize } } ",
    "... on Video { originalSource { url fileSize mimeType } } ",
    "... on Model3d { originalSource { url filesize mimeType } } ",
    "... on ExternalVideo { embedUrl } } } } ",
    metafields!(),
    " } } } }"
);

/// The collections each product is in, joined into the product files by a second operation (the
/// first has no connection left).
pub const PRODUCT_COLLECTIONS: &str =
    "{ products { edges { node { id collections { edges { node { id handle } } } } } } }";

/// Custom and smart collections: rules inline, the members of manual ones as a connection.
pub const COLLECTIONS: &str = concat!(
    "{ collections { edges { node { ",
    "id handle title descriptionHtml sortOrder templateSuffix updatedAt ",
    "seo { title description } ",
    "ruleSet { appliedDisjunctively rules { column relation condition } } ",
    "products { edges { node { id } } } ",
    metafields!(),
    " } } } }"
);

/// Online store pages.
pub const PAGES: &str = concat!(
    "{ pages { edges { node { ",
    "id handle title body bodySummary isPublished publishedAt templateSuffix createdAt updatedAt ",
    metafields!(),
    " } } } }"
);

/// URL redirects.
pub const REDIRECTS: &str = "{ urlRedirects { edges { node { id path target } } } }";

/// The fields of a postal address wherever one is read.
macro_rules! address {
    () => {
        "{ id firstName lastName company address1 address2 city province provinceCode country \
         countryCodeV2 zip phone }"
    };
}

/// Customers: every personal field the API exposes.
pub const CUSTOMERS: &str = concat!(
    "{ customers { edges { node { ",
    "id firstName lastName displayName note tags state taxExempt verifiedEmail ",
    "createdAt updatedAt numberOfOrders amountSpent { amount currencyCode } ",
    "defaultEmailAddress { emailAddress marketingState } defaultPhoneNumber { phoneNumber } ",
    "defaultAddress { id } addresses ",
    address!(),
    " ",
    metafields!(),
    " } } } }"
);

/// Orders with their lines. The contact and address fields are split off into the customer's
/// folder on export (see `layout`).
pub const ORDERS: &str = concat!(
    "{ orders { edges { node { ",
    "id name createdAt updatedAt processedAt cancelledAt closedAt ",
    "displayFinancialStatus displayFulfillmentStatus currencyCode tags note email phone ",
    "customer { id } shippingAddress ",
    address!(),
    " billingAddress ",
    address!(),
    " subtotalPriceSet { shopMoney { amount currencyCode } } ",
    "totalPriceSet { shopMoney { amount currencyCode } } ",
    "totalTaxSet { shopMoney { amount currencyCode } } ",
    "lineItems { edges { node { id name sku quantity variant { id } ",
    "originalUnitPriceSet { shopMoney { amount currencyCode } } } } } ",
    "} } } }"
);

/// Starts a bulk query. `groupObjects: true` puts each object's children right after it, which
/// lets the export write an item as soon as the next item starts.
pub const RUN_BULK: &str = "mutation run($query: String!) { \
     bulkOperationRunQuery(query: $query, groupObjects: true) { \
     bulkOperation { id status } userErrors { field message code } } }";

/// Polls one bulk operation.
pub const POLL_BULK: &str = "query poll($id: ID!) { node(id: $id) { ... on BulkOperation { \
     id status errorCode objectCount fileSize url partialDataUrl } } }";

/// The shop's settings.
pub const SHOP: &str = "{ shop { id name email contactEmail myshopifyDomain currencyCode \
     ianaTimezone weightUnit primaryDomain { host url } } }";

/// Every theme.
pub const THEMES: &str = "query themes($after: String) { themes(first: 50, after: $after) { \
     nodes { id name role createdAt updatedAt } pageInfo { hasNextPage endCursor } } }";

/// One page of a theme's file list, with checksums and no bodies.
pub const THEME_FILES: &str = "query files($id: ID!, $after: String) { theme(id: $id) { \
     files(first: 250, after: $after) { nodes { filename checksumMd5 size contentType } \
     pageInfo { hasNextPage endCursor } } } }";

/// The bodies of up to 50 named theme files.
pub const THEME_BODIES: &str = "query bodies($id: ID!, $names: [String!]) { theme(id: $id) { \
     files(first: 50, filenames: $names) { nodes { filename checksumMd5 body { __typename \
     ... on OnlineStoreThemeFileBodyText { content } \
     ... on OnlineStoreThemeFileBodyBase64 { contentBase64 } \
     ... on OnlineStoreThemeFileBodyUrl { url } } } } } }";

/// The product a handle names now, with its media, before a restore decides what to upload.
pub const PRODUCT_BY_HANDLE: &str = "query current($handle: String!) { \
     productByIdentifier(identifier: {handle: $handle}) { id handle \
     media(first: 250) { nodes { id } } } }";

/// Writes a whole product, keyed by handle: list fields (variants, metafields, collections,
/// files) are replaced by what is sent, so a restore always sends the complete item.
pub const PRODUCT_SET: &str = "mutation restore($input: ProductSetInput!, \
     $identifier: ProductSetIdentifiers) { \
     productSet(input: $input, identifier: $identifier, synchronous: true) { \
     product { id handle } userErrors { field message code } } }";

/// Asks for upload targets for media originals.
pub const STAGED_UPLOADS: &str = "mutation stage($input: [StagedUploadInput!]!) { \
     stagedUploadsCreate(input: $input) { \
     stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } } }";

/// Writes up to 50 theme files.
pub const THEME_FILES_UPSERT: &str = "mutation upsert($themeId: ID!, \
     $files: [OnlineStoreThemeFilesUpsertFileInput!]!) { \
     themeFilesUpsert(themeId: $themeId, files: $files) { \
     upsertedThemeFiles { filename } userErrors { field message code filename } } }";

/// Blogs with their articles (and the metafields of both): four connections.
pub const BLOGS: &str = concat!(
    "{ blogs { edges { node { ",
    "id handle title templateSuffix commentPolicy createdAt updatedAt ",
    metafields!(),
    " articles { edges { node { id handle title body summary author { name } tags isPublished ",
    "publishedAt templateSuffix image { url altText } createdAt updatedAt ",
    metafields!(),
    " } } } } } } }"
);

/// Inventory items with their levels at each location.
pub const INVENTORY: &str = concat!(
    "{ inventoryItems { edges { node { id sku tracked unitCost { amount currencyCode } ",
    "variant { id } inventoryLevels { edges { node { id location { id name } ",
    "quantities(names: [\"available\", \"on_hand\", \"committed\", \"incoming\", \"reserved\"]) ",
    "{ name quantity } } } } } } } }"
);

/// The Files library: images (product media among them), videos and generic files.
pub const FILES: &str = concat!(
    "{ files { edges { node { id alt createdAt fileStatus ",
    "... on MediaImage { mimeType image { url } originalSource { url fileSize } } ",
    "... on GenericFile { url mimeType originalFileSize } ",
    "... on Video { originalSource { url fileSize } } } } } }"
);

/// One page of navigation menus, items nested three levels deep.
pub const MENUS: &str = "query menus($after: String) { menus(first: 50, after: $after) { \
     nodes { id handle title isDefault items { id title type url resourceId tags \
     items { id title type url resourceId tags items { id title type url resourceId tags } } } } \
     pageInfo { hasNextPage endCursor } } }";

/// One page of metaobject definitions.
pub const METAOBJECT_DEFINITIONS: &str = "query defs($after: String) { \
     metaobjectDefinitions(first: 50, after: $after) { nodes { id type name description \
     displayNameKey fieldDefinitions { key name description required type { name } \
     validations { name value } } } pageInfo { hasNextPage endCursor } } }";

/// One page of the metaobjects of a type.
pub const METAOBJECTS: &str = "query objects($type: String!, $after: String) { \
     metaobjects(type: $type, first: 250, after: $after) { nodes { id handle type displayName \
     updatedAt fields { key type value } } pageInfo { hasNextPage endCursor } } }";

/// One page of locations.
pub const LOCATIONS: &str =
    "query locations($after: String) { locations(first: 250, after: $after) { \
     nodes { id name isActive address { address1 city countryCode zip } } \
     pageInfo { hasNextPage endCursor } } }";

/// A collection by handle, with its members, before a restore decides what to send.
pub const COLLECTION_BY_HANDLE: &str = "query current($handle: String!) { \
     collectionByIdentifier(identifier: {handle: $handle}) { id handle \
     products(first: 250) { nodes { id } } } }";

/// Creates a collection (with its members, for a manual one).
pub const COLLECTION_CREATE: &str = "mutation create($input: CollectionInput!) { \
     collectionCreate(input: $input) { collection { id handle } userErrors { field message } } }";

/// Updates a collection (members go through collectionAddProducts/RemoveProducts).
pub const COLLECTION_UPDATE: &str = "mutation update($input: CollectionInput!) { \
     collectionUpdate(input: $input) { collection { id handle } userErrors { field message } } }";

/// Adds products to a manual collection.
pub const COLLECTION_ADD: &str = "mutation add($id: ID!, $productIds: [ID!]!) { \
     collectionAddProducts(id: $id, productIds: $productIds) { collection { id } \
     userErrors { field message } } }";

/// Removes products from a manual collection.
pub const COLLECTION_REMOVE: &str = "mutation remove($id: ID!, $productIds: [ID!]!) { \
     collectionRemoveProducts(id: $id, productIds: $productIds) { job { id } \
     userErrors { field message } } }";

/// A page by handle.
pub const PAGE_BY_HANDLE: &str = "query current($query: String!) { \
     pages(first: 1, query: $query) { nodes { id handle } } }";

/// Creates a page.
pub const PAGE_CREATE: &str =
    "mutation create($page: PageCreateInput!) { pageCreate(page: $page) { \
     page { id handle } userErrors { field message code } } }";

/// Updates a page.
pub const PAGE_UPDATE: &str = "mutation update($id: ID!, $page: PageUpdateInput!) { \
     pageUpdate(id: $id, page: $page) { page { id handle } userErrors { field message code } } }";

/// A URL redirect by path.
pub const REDIRECT_BY_PATH: &str = "query current($query: String!) { \
     urlRedirects(first: 1, query: $query) { nodes { id path } } }";

/// Creates a URL redirect.
pub const REDIRECT_CREATE: &str = "mutation create($urlRedirect: UrlRedirectInput!) { \
     urlRedirectCreate(urlRedirect: $urlRedirect) { urlRedirect { id path target } \
     userErrors { field message code } } }";

/// Updates a URL redirect.
pub const REDIRECT_UPDATE: &str = "mutation update($id: ID!, $urlRedirect: UrlRedirectInput!) { \
     urlRedirectUpdate(id: $id, urlRedirect: $urlRedirect) { urlRedirect { id path target } \
     userErrors { field message code } } }";

/// Creates a navigation menu.
pub const MENU_CREATE: &str = "mutation create($title: String!, $handle: String!, \
     $items: [MenuItemCreateInput!]!) { menuCreate(title: $title, handle: $handle, items: $items) { \
     menu { id handle } userErrors { field message code } } }";

/// Replaces a navigation menu's title, handle and items.
pub const MENU_UPDATE: &str = "mutation update($id: ID!, $title: String!, $handle: String, \
     $items: [MenuItemUpdateInput!]!) { menuUpdate(id: $id, title: $title, handle: $handle, \
     items: $items) { menu { id handle } userErrors { field message code } } }";

/// Creates or updates a metaobject by type and handle.
pub const METAOBJECT_UPSERT: &str = "mutation upsert($handle: MetaobjectHandleInput!, \
     $metaobject: MetaobjectUpsertInput!) { metaobjectUpsert(handle: $handle, \
     metaobject: $metaobject) { metaobject { id handle } userErrors { field message code } } }";

/// An article by handle.
pub const ARTICLE_BY_HANDLE: &str = "query current($query: String!) { \
     articles(first: 5, query: $query) { nodes { id handle blog { id } } } }";

/// Creates an article.
pub const ARTICLE_CREATE: &str = "mutation create($article: ArticleCreateInput!) { \
     articleCreate(article: $article) { article { id handle } userErrors { field message code } } }";

/// Updates an article.
pub const ARTICLE_UPDATE: &str = "mutation update($id: ID!, $article: ArticleUpdateInput!) { \
     articleUpdate(id: $id, article: $article) { article { id handle } \
     userErrors { field message code } } }";
