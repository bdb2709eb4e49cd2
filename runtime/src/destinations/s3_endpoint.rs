//! S3 objects through an S3-compatible endpoint (`--s3-endpoint URL`: MinIO, moto, a real S3
//! region) instead of the local directory, with the object_store crate. Credentials come from
//! the usual AWS environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional
//! `AWS_SESSION_TOKEN`, `AWS_REGION` or `AWS_DEFAULT_REGION`, default `us-east-1`); without them
//! the sink refuses to start (object_store would otherwise ask an instance metadata service).
//! Requests use path-style addressing (`URL/BUCKET/KEY`) and may be plain `http://`. Buckets must
//! exist.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore as _, ObjectStoreExt as _, PutPayload};

use crate::s3::ObjectSink;

/// One endpoint shared by every firehose: a small runtime for object_store's async calls, and a
/// client per bucket. Clones share them.
#[derive(Clone)]
pub struct S3Endpoint {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    credentials: Credentials,
    runtime: tokio::runtime::Runtime,
    stores: Mutex<HashMap<String, Arc<AmazonS3>>>,
}

#[derive(Clone)]
struct Credentials {
    key_id: String,
    secret: String,
    token: Option<String>,
    region: String,
}

impl std::fmt::Debug for S3Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Endpoint")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

impl S3Endpoint {
    /// An endpoint with credentials from the environment.
    pub fn from_env(url: &str) -> Result<S3Endpoint, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (Some(key_id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(format!(
                "--s3-endpoint {url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ));
        };
        let credentials = Credentials {
            key_id,
            secret,
            token: var("AWS_SESSION_TOKEN"),
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
        };
        S3Endpoint::new(url, credentials)
    }

    /// An endpoint with these credentials.
    pub fn with_credentials(
        url: &str,
        key_id: &str,
        secret: &str,
        region: &str,
    ) -> Result<S3Endpoint, String> {
        let credentials = Credentials {
            key_id: key_id.to_string(),
            secret: secret.to_string(),
            token: None,
            region: region.to_string(),
        };
        S3Endpoint::new(url, credentials)
    }

    fn new(url: &str, credentials: Credentials) -> Result<S3Endpoint, String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "--s3-endpoint {url:?} must be an http:// or https:// URL"
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kin-s3")
            .enable_all()
            .build()
            .map_err(|e| format!("--s3-endpoint: cannot start its runtime: {e}"))?;
        Ok(S3Endpoint {
            inner: Arc::new(Inner {
                url: url.trim_end_matches('/').to_string(),
                credentials,
                runtime,
                stores: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn url(&self) -> &str {
        &self.inner.url
    }

    fn store(&self, bucket: &str) -> io::Result<Arc<AmazonS3>> {
        let mut stores = self.inner.stores.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = stores.get(bucket) {
            return Ok(store.clone());
        }
        let c = &self.inner.credentials;
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(&self.inner.url)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_bucket_name(bucket)
            .with_region(&c.region)
            .with_access_key_id(&c.key_id)
            .with_secret_access_key(&c.secret);
        if let Some(token) = &c.token {
            builder = builder.with_token(token);
        }
        let store = Arc::new(
            builder
                .build()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?,
        );
        stores.insert(bucket.to_string(), store.clone());
        Ok(store)
    }

    /// Writes one object.
    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) -> io::Result<()> {
        let store = self.store(bucket)?;
        let path = Path::from(key);
        let payload = PutPayload::from(body.to_vec());
        self.inner
            .runtime
            .block_on(store.put(&path, payload))
            .map(|_| ())
            .map_err(|e| io::Error::other(format!("s3://{bucket}/{key}: {e}")))
    }

    /// Reads one object back (for tests and checks).
    pub fn get(&self, bucket: &str, key: &str) -> io::Result<Vec<u8>> {
        let store = self.store(bucket)?;
        let path = Path::from(key);
        self.inner
            .runtime
            .block_on(async {
                let result = store.get(&path).await?;
                result.bytes().await
            })
            .map(|b| b.to_vec())
            .map_err(|e| io::Error::other(format!("s3://{bucket}/{key}: {e}")))
    }

    /// Deletes one object (for tests that reuse a bucket).
    pub fn delete(&self, bucket: &str, key: &str) -> io::Result<()> {
        let store = self.store(bucket)?;
        self.inner
            .runtime
            .block_on(store.delete(&Path::from(key)))
            .map_err(|e| io::Error::other(format!("s3://{bucket}/{key}: {e}")))
    }

    /// Every key in `bucket` under `prefix` (a directory, e.g. `FIREHOSE/`), sorted.
    pub fn list(&self, bucket: &str, prefix: &str) -> io::Result<Vec<String>> {
        let store = self.store(bucket)?;
        let mut keys = Vec::new();
        let mut pending = vec![(!prefix.is_empty()).then(|| Path::from(prefix))];
        while let Some(dir) = pending.pop() {
            let listed = self
                .inner
                .runtime
                .block_on(store.list_with_delimiter(dir.as_ref()))
                .map_err(|e| io::Error::other(format!("listing s3://{bucket}/: {e}")))?;
            keys.extend(listed.objects.into_iter().map(|o| o.location.to_string()));
            pending.extend(listed.common_prefixes.into_iter().map(Some));
        }
        keys.sort();
        Ok(keys)
    }

    /// A sink writing to this endpoint.
    pub fn sink(&self) -> S3EndpointSink {
        S3EndpointSink {
            endpoint: self.clone(),
        }
    }
}

/// An [`ObjectSink`] that writes to an [`S3Endpoint`].
#[derive(Clone, Debug)]
pub struct S3EndpointSink {
    endpoint: S3Endpoint,
}

impl ObjectSink for S3EndpointSink {
    fn put_object(&mut self, bucket: &str, key: &str, body: &[u8]) -> io::Result<()> {
        self.endpoint.put(bucket, key, body)
    }
}
