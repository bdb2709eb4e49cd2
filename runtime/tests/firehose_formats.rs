//! Every Firehose compression format and the encryption container, decoded back by independent
//! decoders: flate2 for gzip and deflate, Python's `zipfile` for ZIP, snap's frame decoder plus a
//! hand check of the framing spec for snappy, hand-parsed blocks for Hadoop-snappy, Python's
//! `cryptography` for the envelope.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::Command;

use kin_runtime::compress::{Compression, HADOOP_SNAPPY_BLOCK, SNAPPY_STREAM_IDENTIFIER};
use kin_runtime::encrypt::{encrypt, LocalKey};

/// Inputs every format must survive: empty, one byte, JSON lines, and 10 MiB of mixed data.
fn inputs() -> Vec<Vec<u8>> {
    let json: Vec<u8> = (0..2000)
        .flat_map(|i| {
            format!(
                "{{\"id\":{i},\"page\":\"/p/{}\",\"ms\":{}}}\n",
                i % 17,
                i * 31
            )
            .into_bytes()
        })
        .collect();
    let mut large = Vec::with_capacity(10 << 20);
    let mut x: u32 = 1;
    while large.len() < 10 << 20 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        if x % 3 == 1 {
            large.extend_from_slice(b"{\"user\":\"u-00042\",\"event\":\"click\"}\n");
        } else {
            large.push((x >> 16) as u8);
        }
    }
    large.truncate(10 << 20);
    vec![Vec::new(), b"x".to_vec(), json, large]
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kin-{}-{name}", uuid::Uuid::new_v4().simple()))
}

fn python3() -> Option<Command> {
    let ok = Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .map(|s| s.success());
    if ok.unwrap_or(false) {
        Some(Command::new("python3"))
    } else {
        println!("python3 is missing: skipping the Python cross-check");
        None
    }
}

#[test]
fn extensions_are_firehose_defaults() {
    let extensions: Vec<&str> = [
        Compression::None,
        Compression::Gzip,
        Compression::Zip,
        Compression::Snappy,
        Compression::HadoopSnappy,
    ]
    .iter()
    .map(|c| c.extension())
    .collect();
    assert_eq!(extensions, ["", ".gz", ".zip", ".snappy", ".hsnappy"]);
    assert_eq!(
        Compression::from_spec("hadoop_snappy"),
        Some(Compression::HadoopSnappy)
    );
    assert_eq!(Compression::from_spec("lz4"), None);
}

#[test]
fn none_is_the_input() {
    for input in inputs() {
        assert_eq!(Compression::None.compress(&input).expect("none"), input);
    }
}

#[test]
fn gzip_decodes_with_flate2() {
    for input in inputs() {
        let gz = Compression::Gzip.compress(&input).expect("gzip");
        assert_eq!(&gz[..3], b"\x1f\x8b\x08", "gzip magic and deflate method");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut out)
            .expect("flate2 gunzip");
        assert_eq!(out, input);
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads the one entry by hand: end record → central directory → local header → deflate data.
fn unzip_by_hand(zip: &[u8]) -> (String, Vec<u8>) {
    let end = zip.len() - 22;
    assert_eq!(le32(zip, end), 0x0605_4b50, "end of central directory");
    assert_eq!(
        (le16(zip, end + 8), le16(zip, end + 10)),
        (1, 1),
        "one entry"
    );
    let central = le32(zip, end + 16) as usize;
    assert_eq!(
        le32(zip, end + 12) as usize,
        end - central,
        "directory size"
    );
    assert_eq!(le32(zip, central), 0x0201_4b50);
    let (crc, csize, usize_) = (
        le32(zip, central + 16),
        le32(zip, central + 20),
        le32(zip, central + 24),
    );
    let name_len = le16(zip, central + 28) as usize;
    let name =
        String::from_utf8(zip[central + 46..central + 46 + name_len].to_vec()).expect("name");
    let local = le32(zip, central + 42) as usize;
    assert_eq!(le32(zip, local), 0x0403_4b50);
    assert_eq!(le16(zip, local + 8), 8, "deflate");
    assert_eq!((le32(zip, local + 14), le32(zip, local + 18)), (crc, csize));
    let data_at = local + 30 + le16(zip, local + 26) as usize + le16(zip, local + 28) as usize;
    assert_eq!(data_at + csize as usize, central, "data fills the gap");
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(&zip[data_at..central])
        .read_to_end(&mut out)
        .expect("inflate");
    assert_eq!(out.len(), usize_ as usize);
    assert_eq!(crc32fast::hash(&out), crc);
    (name, out)
}

#[test]
fn zip_is_a_valid_single_entry_archive() {
    for input in inputs() {
        let zip = Compression::Zip
            .compress_object(
                &input,
                "stream-1-2019-08-09-23-55-09-abc",
                1_565_394_909_000,
            )
            .expect("zip");
        let (name, out) = unzip_by_hand(&zip);
        assert_eq!(name, "stream-1-2019-08-09-23-55-09-abc");
        assert_eq!(out, input);
    }
}

#[test]
fn zip_opens_with_pythons_zipfile() {
    let Some(mut python) = python3() else { return };
    let input = inputs().swap_remove(2);
    let zip = Compression::Zip
        .compress_object(
            &input,
            "archive-1-2019-08-09-23-55-09-id",
            1_565_394_909_000,
        )
        .expect("zip");
    let path = temp_path("entry.zip");
    std::fs::write(&path, &zip).expect("write");
    let script = "import sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        assert z.testzip() is None\n\
        [info] = z.infolist()\n\
        assert info.date_time == (2019, 8, 9, 23, 55, 8), info.date_time\n\
        sys.stdout.write(info.filename + '\\n')\n\
        sys.stdout.flush()\n\
        sys.stdout.buffer.write(z.read(info))";
    let out = python
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let newline = out
        .stdout
        .iter()
        .position(|&b| b == b'\n')
        .expect("name line");
    assert_eq!(&out.stdout[..newline], b"archive-1-2019-08-09-23-55-09-id");
    assert_eq!(&out.stdout[newline + 1..], input.as_slice());
}

/// Walks the framing format's chunks: the stream identifier first, then compressed (0x00) or
/// uncompressed (0x01) data chunks, each with a masked CRC-32C we leave to snap to verify.
fn snappy_chunk_types(framed: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut at = 0;
    while at < framed.len() {
        let len = u32::from_le_bytes([framed[at + 1], framed[at + 2], framed[at + 3], 0]) as usize;
        types.push(framed[at]);
        at += 4 + len;
    }
    assert_eq!(at, framed.len(), "chunks end at the end");
    types
}

#[test]
fn snappy_is_the_framing_format() {
    for input in inputs() {
        let framed = Compression::Snappy.compress(&input).expect("snappy");
        assert!(framed.starts_with(SNAPPY_STREAM_IDENTIFIER));
        assert_eq!(SNAPPY_STREAM_IDENTIFIER, b"\xff\x06\x00\x00sNaPpY");
        let types = snappy_chunk_types(&framed);
        assert_eq!(types[0], 0xff);
        assert!(
            types[1..].iter().all(|t| *t == 0x00 || *t == 0x01),
            "{types:?}"
        );
        let mut out = Vec::new();
        snap::read::FrameDecoder::new(framed.as_slice())
            .read_to_end(&mut out)
            .expect("snap frame decode");
        assert_eq!(out, input);
    }
}

#[test]
fn hadoop_snappy_is_hadoops_block_format() {
    for input in inputs() {
        let stream = Compression::HadoopSnappy
            .compress(&input)
            .expect("hadoop snappy");
        let mut out = Vec::new();
        let mut at = 0;
        let be32 = |at: usize| {
            u32::from_be_bytes([stream[at], stream[at + 1], stream[at + 2], stream[at + 3]])
                as usize
        };
        while at < stream.len() {
            let block_len = be32(at);
            assert!(block_len <= HADOOP_SNAPPY_BLOCK);
            at += 4;
            let mut block = Vec::new();
            while block.len() < block_len {
                let chunk_len = be32(at);
                assert!(chunk_len <= 256 * 1024, "fits Hadoop's default buffer");
                at += 4;
                block.extend(
                    snap::raw::Decoder::new()
                        .decompress_vec(&stream[at..at + chunk_len])
                        .expect("raw snappy"),
                );
                at += chunk_len;
            }
            assert_eq!(block.len(), block_len);
            out.extend(block);
        }
        assert_eq!(out, input);
    }
}

#[test]
fn encrypted_objects_open_with_pythons_cryptography() {
    let Some(mut python) = python3() else { return };
    let key_bytes = [0x5Au8; 32];
    let object = encrypt(&LocalKey::from_bytes(key_bytes), b"{\"a\":1}\n").expect("encrypt");
    let (key_path, object_path) = (temp_path("master.key"), temp_path("object"));
    std::fs::write(&key_path, key_bytes).expect("write key");
    std::fs::write(&object_path, &object).expect("write object");
    let script = "import sys\n\
        try:\n    from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n\
        except ImportError:\n    print('SKIP'); sys.exit(0)\n\
        master = open(sys.argv[1], 'rb').read()\n\
        blob = open(sys.argv[2], 'rb').read()\n\
        data_key = AESGCM(master).decrypt(blob[7:19], blob[19:67], blob[0:7])\n\
        sys.stdout.buffer.write(AESGCM(data_key).decrypt(blob[67:79], blob[79:], blob[0:79]))";
    let out = python
        .arg("-c")
        .arg(script)
        .arg(&key_path)
        .arg(&object_path)
        .output()
        .expect("python3");
    let _ = (
        std::fs::remove_file(&key_path),
        std::fs::remove_file(&object_path),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout == b"SKIP\n" {
        println!("Python's cryptography is missing: skipping");
        return;
    }
    assert_eq!(out.stdout, b"{\"a\":1}\n");
}
