//! The document store's contract, the same for a directory and for an S3-compatible object
//! store — a real one, moto's server (PyPI), over HTTP: a document is kept once by its hash,
//! read back checked against it, a tampered one refused, a missing one none, nothing left
//! half written; and the whole application keeping and serving documents from the bucket.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tiedoksi::blobs::{BlobError, BlobStore, FilesystemBlobStore, ObjectBlobStore, Sha256Hex};

use crate::helpers::{new_client, spawn_app_with, TestBackend};

/// moto's S3 server on a free port, stopped when dropped.
struct Moto {
    process: Child,
    endpoint: String,
}

impl Moto {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(crate::smtp::test_python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto (scripts/ensure-test-clients.sh installs it)");
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{endpoint}/")).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { process, endpoint }
    }

    async fn bucket(&self, name: &str) {
        let made = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(
            made.status().is_success(),
            "bucket {name}: {}",
            made.status()
        );
    }

    /// `s3://bucket/prefix` with the options that reach this server.
    fn url(&self, bucket: &str, prefix: &str) -> String {
        format!(
            "s3://{bucket}/{prefix}?endpoint={}&region=eu-north-1&allow_http=true\
             &access_key_id=test&secret_access_key=test",
            self.endpoint
        )
    }

    /// The keys under `prefix`, as the bucket lists them.
    async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let listing = reqwest::get(format!(
            "{}/{bucket}?list-type=2&prefix={prefix}",
            self.endpoint
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// What every document store does; `tamper` overwrites a stored document's bytes.
async fn keeps_documents_by_their_hash<F, Fut>(store: &dyn BlobStore, tamper: F)
where
    F: FnOnce(Sha256Hex) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let first = store.put(b"Paatos 1/2027").await.unwrap();
    let again = store.put(b"Paatos 1/2027").await.unwrap();
    assert_eq!(first, again, "the same bytes, the same document");
    assert_eq!(first, Sha256Hex::of(b"Paatos 1/2027"));
    assert_eq!(store.get(&first).await.unwrap().unwrap(), b"Paatos 1/2027");
    let large = vec![7u8; 3 * 1024 * 1024];
    let large_digest = store.put(&large).await.unwrap();
    assert_eq!(store.get(&large_digest).await.unwrap().unwrap(), large);
    assert_eq!(
        store.get(&Sha256Hex::of(b"never stored")).await.unwrap(),
        None
    );

    tamper(first.clone()).await;
    assert!(
        matches!(store.get(&first).await, Err(BlobError::Corrupt(_))),
        "bytes that do not match their hash are refused"
    );
}

#[tokio::test]
async fn a_directory_keeps_documents_by_their_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = FilesystemBlobStore::new(dir.path());
    let root = dir.path().to_path_buf();
    keeps_documents_by_their_hash(&store, |digest| async move {
        let d = digest.as_str().to_string();
        std::fs::write(root.join(&d[0..2]).join(&d[2..4]).join(&d), b"tampered").unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_store_keeps_documents_by_their_hash() {
    let moto = Moto::start().await;
    moto.bucket("tiedoksi-contract").await;
    let store = ObjectBlobStore::from_url(&moto.url("tiedoksi-contract", "docs")).unwrap();
    let endpoint = moto.endpoint.clone();
    keeps_documents_by_their_hash(&store, |digest| async move {
        use object_store::ObjectStoreExt;
        let d = digest.as_str().to_string();
        let key = format!("docs/{}/{}/{d}", &d[0..2], &d[2..4]);
        let bucket = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name("tiedoksi-contract")
            .with_endpoint(endpoint)
            .with_region("eu-north-1")
            .with_allow_http(true)
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .unwrap();
        bucket
            .put(
                &object_store::path::Path::from(key),
                object_store::PutPayload::from_static(b"tampered"),
            )
            .await
            .unwrap();
    })
    .await;
    // One object per document, each whole under its final name: nothing half written, and
    // the same bytes stored twice are one object.
    let keys = moto.keys("tiedoksi-contract", "docs/").await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().all(|key| key.len() == "docs/ab/cd/".len() + 64));

    // A store that cannot be reached fails clearly, it does not answer "not there".
    let unreachable = ObjectBlobStore::from_url(&moto.url("no-such-bucket", "docs")).unwrap();
    assert!(unreachable.put(b"x").await.is_err());
    assert!(ObjectBlobStore::from_url("ftp://bucket/docs").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_application_keeps_its_documents_in_the_object_store() {
    let moto = Moto::start().await;
    moto.bucket("tiedoksi-app").await;
    let url = moto.url("tiedoksi-app", "documents");
    let app = spawn_app_with(TestBackend::Sqlite, move |config| {
        config.blob_url = Some(url);
    })
    .await;
    let key = tiedoksi::api::keys::create_key(&app.store, app.organisation.id, "s3", "test")
        .await
        .unwrap()
        .secret;
    let pdf = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/liite.pdf"),
    )
    .unwrap();
    let uploaded: serde_json::Value = new_client()
        .post(app.url("/api/v1/documents"))
        .bearer_auth(&key)
        .query(&[("filename", "liite.pdf")])
        .body(pdf.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sha256 = uploaded["sha256"].as_str().unwrap().to_string();
    let keys = moto.keys("tiedoksi-app", "documents/").await;
    assert!(
        keys.iter().any(|stored| stored.ends_with(&sha256)),
        "kept in the bucket: {keys:?}"
    );
    assert_eq!(
        crate::bad_input::files_under(app.blob_dir.path()),
        0,
        "nothing in the directory"
    );
    let kept = tiedoksi::blobs::ObjectBlobStore::from_url(&moto.url("tiedoksi-app", "documents"))
        .unwrap()
        .get(&Sha256Hex::parse(&sha256).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept, pdf);
}
