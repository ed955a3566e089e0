//! Requests on a sub-resource that rusty-s3 has no action for: `?restore` of an object
//! (RestoreObject), `?retention` of an object (PutObjectRetention), `?object-lock` of a bucket
//! (GetObjectLockConfiguration). Signed like every other request.

use reqwest::Url;
use rusty_s3::{Bucket, Credentials, Map, Method, S3Action};
use std::marker::PhantomData;
use std::time::Duration;

/// The HTTP method of a [`Subresource`] request.
pub(super) trait Verb {
    const METHOD: Method;
}

/// `GET`.
pub(super) struct Get;
/// `PUT`.
pub(super) struct Put;
/// `POST`.
pub(super) struct Post;

impl Verb for Get {
    const METHOD: Method = Method::Get;
}
impl Verb for Put {
    const METHOD: Method = Method::Put;
}
impl Verb for Post {
    const METHOD: Method = Method::Post;
}

/// A `V` request on `?sub` of an object, or of the bucket when `object` is `None`.
pub(super) struct Subresource<'a, V: Verb> {
    bucket: &'a Bucket,
    credentials: Option<&'a Credentials>,
    object: Option<&'a str>,
    sub: &'static str,
    query: Map<'a>,
    headers: Map<'a>,
    verb: PhantomData<V>,
}

impl<'a, V: Verb> Subresource<'a, V> {
    pub(super) fn new(
        bucket: &'a Bucket,
        credentials: Option<&'a Credentials>,
        object: Option<&'a str>,
        sub: &'static str,
    ) -> Self {
        Subresource {
            bucket,
            credentials,
            object,
            sub,
            query: Map::new(),
            headers: Map::new(),
            verb: PhantomData,
        }
    }
}

impl<'a, V: Verb> S3Action<'a> for Subresource<'a, V> {
    const METHOD: Method = V::METHOD;

    fn query_mut(&mut self) -> &mut Map<'a> {
        &mut self.query
    }

    fn headers_mut(&mut self) -> &mut Map<'a> {
        &mut self.headers
    }

    fn sign_with_time(&self, expires_in: Duration, time: &jiff::Timestamp) -> Url {
        let url = match self.object {
            Some(o) => self.bucket.object_url(o),
            None => self.bucket.base_url().clone(),
        };
        let mut query = self.query.clone();
        query.insert(self.sub, "");
        match self.credentials {
            Some(c) => rusty_s3::signing::sign(
                time,
                Self::METHOD,
                url,
                c.key(),
                c.secret(),
                c.token(),
                self.bucket.region(),
                expires_in.as_secs(),
                query.iter(),
                self.headers.iter(),
            ),
            None => {
                let mut url = url;
                url.query_pairs_mut().extend_pairs(query.iter());
                url
            }
        }
    }
}
