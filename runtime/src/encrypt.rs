//! Encryption at rest for delivered objects, standing in for SSE-KMS: an AES-256-GCM envelope.
//!
//! A local master key ([`LocalKey`], 32 random bytes in a file such as
//! `DATA_DIR/kms/master.key`, created with mode 0600) plays the KMS key. Every object gets a fresh
//! random 256-bit data key, which the master key wraps; the object is written as this container
//! (version 1, all offsets in bytes):
//!
//! | offset | length | field |
//! |---|---|---|
//! | 0 | 6 | magic `KINENC` |
//! | 6 | 1 | version, `0x01` |
//! | 7 | 12 | key nonce |
//! | 19 | 48 | wrapped data key: AES-256-GCM(master key, key nonce, data key, AAD = bytes 0..7), ciphertext (32) then tag (16) |
//! | 67 | 12 | data nonce |
//! | 79 | n + 16 | AES-256-GCM(data key, data nonce, object, AAD = bytes 0..79), ciphertext (n) then tag (16) |
//!
//! So any AES-GCM implementation decrypts it; with Python's `cryptography`:
//!
//! ```text
//! from cryptography.hazmat.primitives.ciphers.aead import AESGCM
//! master = open("DATA_DIR/kms/master.key", "rb").read()
//! blob = open(OBJECT, "rb").read()
//! data_key = AESGCM(master).decrypt(blob[7:19], blob[19:67], blob[0:7])
//! plain = AESGCM(data_key).decrypt(blob[67:79], blob[79:], blob[0:79])
//! ```
//!
//! The header is authenticated, so a changed byte anywhere makes decryption fail.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce, Tag};
use rand::{RngCore as _, TryRngCore as _};

/// The container's first bytes.
pub const MAGIC: &[u8; 6] = b"KINENC";
/// The container version this module writes and reads.
pub const VERSION: u8 = 1;
/// Bytes before the ciphertext: magic, version, key nonce, wrapped key, data nonce.
pub const HEADER_LEN: usize = 79;
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_NONCE_AT: usize = 7;
const WRAPPED_KEY_AT: usize = KEY_NONCE_AT + NONCE_LEN;
const DATA_NONCE_AT: usize = WRAPPED_KEY_AT + KEY_LEN + TAG_LEN;

/// The local master key: 32 bytes. Its `Debug` output never shows them.
#[derive(Clone)]
pub struct LocalKey {
    bytes: [u8; KEY_LEN],
}

impl fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKey(..)")
    }
}

impl LocalKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> LocalKey {
        LocalKey { bytes }
    }

    /// A new key from the operating system's random source.
    pub fn generate() -> io::Result<LocalKey> {
        let mut bytes = [0; KEY_LEN];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| io::Error::other(format!("no randomness for a master key: {e}")))?;
        Ok(LocalKey { bytes })
    }

    /// Where a pipeline keeps its master key: `DATA_DIR/kms/master.key`.
    pub fn default_path(data_dir: &Path) -> PathBuf {
        data_dir.join("kms").join("master.key")
    }

    /// Reads a key file: exactly 32 raw bytes.
    pub fn load(path: &Path) -> io::Result<LocalKey> {
        let bytes = fs::read(path)?;
        let bytes: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "master key file {} has {} bytes; a key is exactly {KEY_LEN}",
                    path.display(),
                    bytes.len()
                ),
            )
        })?;
        Ok(LocalKey { bytes })
    }

    /// Reads the key at `path`, or creates it (directories 0700, file 0600) when it does not
    /// exist. Creation is atomic and never replaces a key another process wrote first.
    pub fn load_or_create(path: &Path) -> io::Result<LocalKey> {
        match LocalKey::load(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => LocalKey::create(path),
            other => other,
        }
    }

    fn create(path: &Path) -> io::Result<LocalKey> {
        let key = LocalKey::generate()?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            private_dir(dir)?;
        }
        let temp = temp_sibling(path);
        let written = write_private(&temp, &key.bytes).and_then(|()| fs::hard_link(&temp, path));
        let _ = fs::remove_file(&temp);
        match written {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => LocalKey::load(path),
            Err(e) => Err(e),
        }
    }
}

fn temp_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let name = format!(
        ".{}.{}.tmp",
        name.unwrap_or_else(|| "key".into()),
        uuid::Uuid::new_v4().simple()
    );
    path.with_file_name(name)
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The object is too large for AES-GCM (over 64 GiB).
#[derive(Debug)]
pub struct EncryptError(String);

impl fmt::Display for EncryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "encryption failed: {}", self.0)
    }
}

impl std::error::Error for EncryptError {}

/// Why an object could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptError {
    /// Shorter than a header and a tag: not a whole container.
    Truncated {
        len: usize,
    },
    /// Does not start with `KINENC`: not written by kin.
    NotAContainer,
    UnsupportedVersion(u8),
    /// The data key does not unwrap: another master key, or a changed header.
    WrongKeyOrDamagedHeader,
    /// The data does not authenticate: the object was changed or cut.
    Damaged,
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecryptError::Truncated { len } => write!(
                f,
                "{len} bytes is shorter than an encrypted object ({} at least)",
                HEADER_LEN + TAG_LEN
            ),
            DecryptError::NotAContainer => {
                f.write_str("not a kin encrypted object (no KINENC magic)")
            }
            DecryptError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "encrypted object version {v} is not supported (only {VERSION})"
                )
            }
            DecryptError::WrongKeyOrDamagedHeader => f.write_str(
                "the data key does not unwrap: a different master key, or a damaged header",
            ),
            DecryptError::Damaged => {
                f.write_str("the encrypted data does not authenticate: damaged or cut")
            }
        }
    }
}

impl std::error::Error for DecryptError {}

fn cipher(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
}

/// Encrypts one object into the container described in the module documentation.
pub fn encrypt(master: &LocalKey, plaintext: &[u8]) -> Result<Vec<u8>, EncryptError> {
    let mut rng = rand::rng();
    let mut data_key = [0u8; KEY_LEN];
    rng.fill_bytes(&mut data_key);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    out.extend_from_slice(&nonce);
    let mut wrapped = data_key;
    let tag = cipher(&master.bytes)
        .encrypt_in_place_detached(
            Nonce::from_slice(&nonce),
            &out[..KEY_NONCE_AT],
            &mut wrapped,
        )
        .map_err(|e| EncryptError(e.to_string()))?;
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&tag);
    rng.fill_bytes(&mut nonce);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let (header, body) = out.split_at_mut(HEADER_LEN);
    let tag = cipher(&data_key)
        .encrypt_in_place_detached(Nonce::from_slice(&nonce), header, body)
        .map_err(|e| EncryptError(format!("{e} ({} bytes)", plaintext.len())))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts a container written by [`encrypt`].
pub fn decrypt(master: &LocalKey, object: &[u8]) -> Result<Vec<u8>, DecryptError> {
    if object.len() < HEADER_LEN + TAG_LEN {
        return Err(DecryptError::Truncated { len: object.len() });
    }
    if &object[..MAGIC.len()] != MAGIC {
        return Err(DecryptError::NotAContainer);
    }
    if object[MAGIC.len()] != VERSION {
        return Err(DecryptError::UnsupportedVersion(object[MAGIC.len()]));
    }
    let data_key = unwrap_data_key(master, object)?;
    let (header, rest) = object.split_at(HEADER_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut plain = ciphertext.to_vec();
    cipher(&data_key)
        .decrypt_in_place_detached(
            Nonce::from_slice(&header[DATA_NONCE_AT..HEADER_LEN]),
            header,
            &mut plain,
            Tag::from_slice(tag),
        )
        .map_err(|_| DecryptError::Damaged)?;
    Ok(plain)
}

fn unwrap_data_key(master: &LocalKey, object: &[u8]) -> Result<[u8; KEY_LEN], DecryptError> {
    let mut key = [0u8; KEY_LEN];
    key.copy_from_slice(&object[WRAPPED_KEY_AT..WRAPPED_KEY_AT + KEY_LEN]);
    cipher(&master.bytes)
        .decrypt_in_place_detached(
            Nonce::from_slice(&object[KEY_NONCE_AT..WRAPPED_KEY_AT]),
            &object[..KEY_NONCE_AT],
            &mut key,
            Tag::from_slice(&object[WRAPPED_KEY_AT + KEY_LEN..DATA_NONCE_AT]),
        )
        .map_err(|_| DecryptError::WrongKeyOrDamagedHeader)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> LocalKey {
        LocalKey::from_bytes([byte; KEY_LEN])
    }

    #[test]
    fn roundtrips_empty_small_and_large_objects() {
        let master = key(7);
        for len in [0usize, 1, 300, 5 << 20] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let object = encrypt(&master, &plain).expect("encrypt");
            assert_eq!(object.len(), HEADER_LEN + len + TAG_LEN);
            assert_eq!(&object[..7], b"KINENC\x01");
            assert_eq!(decrypt(&master, &object), Ok(plain));
        }
    }

    #[test]
    fn every_object_gets_its_own_data_key_and_nonces() {
        let master = key(1);
        let a = encrypt(&master, b"same").expect("encrypt");
        let b = encrypt(&master, b"same").expect("encrypt");
        assert_ne!(a, b);
    }

    #[test]
    fn a_wrong_key_fails() {
        let object = encrypt(&key(1), b"secret records\n").expect("encrypt");
        assert_eq!(
            decrypt(&key(2), &object),
            Err(DecryptError::WrongKeyOrDamagedHeader)
        );
    }

    #[test]
    fn any_changed_byte_fails() {
        let master = key(3);
        let object = encrypt(&master, b"{\"a\":1}\n{\"a\":2}\n").expect("encrypt");
        for at in 0..object.len() {
            let mut tampered = object.clone();
            tampered[at] ^= 0x01;
            assert!(
                decrypt(&master, &tampered).is_err(),
                "byte {at} changed unnoticed"
            );
        }
    }

    #[test]
    fn a_truncated_object_fails() {
        let master = key(4);
        let object = encrypt(&master, &[9u8; 100]).expect("encrypt");
        for len in [0, 10, HEADER_LEN, HEADER_LEN + TAG_LEN - 1] {
            assert_eq!(
                decrypt(&master, &object[..len]),
                Err(DecryptError::Truncated { len })
            );
        }
        for len in [HEADER_LEN + TAG_LEN, object.len() - 1] {
            assert_eq!(decrypt(&master, &object[..len]), Err(DecryptError::Damaged));
        }
        assert_eq!(
            decrypt(&master, &[0u8; 200]),
            Err(DecryptError::NotAContainer)
        );
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600_and_reloaded() {
        let dir = std::env::temp_dir().join(format!("kin-key-{}", uuid::Uuid::new_v4().simple()));
        let path = LocalKey::default_path(&dir);
        let created = LocalKey::load_or_create(&path).expect("create");
        let loaded = LocalKey::load_or_create(&path).expect("load");
        assert_eq!(created.bytes, loaded.bytes);
        assert_eq!(fs::read(&path).expect("read").len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let object = encrypt(&created, b"x").expect("encrypt");
        assert_eq!(
            decrypt(&LocalKey::load(&path).expect("load"), &object),
            Ok(b"x".to_vec())
        );
        fs::write(&path, b"short").expect("write");
        assert!(LocalKey::load(&path).is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_output_hides_the_key() {
        assert_eq!(format!("{:?}", key(0xAB)), "LocalKey(..)");
    }
}
