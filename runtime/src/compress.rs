//! Firehose's S3 compression formats (`UNCOMPRESSED`, `GZIP`, `ZIP`, `Snappy`, `HADOOP_SNAPPY`),
//! each applied to a whole buffer at delivery time, as Firehose does.
//!
//! File extensions are the ones AWS's "Configure Amazon S3 object name format" page lists as
//! Firehose's defaults: `.gz`, `.zip`, `.snappy` and `.hsnappy`; uncompressed objects get none.

use std::fmt;
use std::io::Write as _;

use libdeflater::{CompressionLvl, Compressor};

/// libdeflate level for `gzip` and `zip`. Level 1 is the fastest: on ~300-byte JSON records it
/// compresses at several hundred MB/s per core, which is what one gzip firehose needs to keep
/// up with > 1,000,000 records/s on two cores; level 6 is about three times slower for objects
/// ~10% smaller. Any gzip reader decodes every level alike.
pub const DEFLATE_LEVEL: i32 = 1;

/// Uncompressed bytes per Hadoop-snappy block: Hadoop's `SnappyCodec` buffer (256 KiB) minus the
/// overhead it reserves (`bufferSize / 6 + 32`), so Hadoop's own reader, with its default buffer,
/// can decode every block kin writes.
pub const HADOOP_SNAPPY_BLOCK: usize = 256 * 1024 - (256 * 1024 / 6 + 32);

/// The snappy framing format's stream identifier chunk (type 0xff, length 6, "sNaPpY").
pub const SNAPPY_STREAM_IDENTIFIER: &[u8] = b"\xff\x06\x00\x00sNaPpY";

/// ZIP's DOS date for 1980-01-01, the earliest it can express (used for times before it).
const DOS_EPOCH_DATE: u16 = (1 << 5) | 1;

/// A delivery stream's compression format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Compression {
    /// `UNCOMPRESSED`: the records as concatenated.
    #[default]
    None,
    /// `GZIP`: one gzip member (RFC 1952) holding the whole object.
    Gzip,
    /// `ZIP`: an archive with one deflated entry named after the object (without `.zip`).
    Zip,
    /// `Snappy`: the snappy framing format (stream identifier, then CRC-checked chunks).
    Snappy,
    /// `HADOOP_SNAPPY`: Hadoop's block format, see [`HADOOP_SNAPPY_BLOCK`].
    HadoopSnappy,
}

/// Why a buffer could not be compressed.
#[derive(Debug)]
pub enum CompressError {
    /// A ZIP entry of 4 GiB or more needs ZIP64, which kin does not write (Firehose buffers are
    /// at most 128 MiB).
    TooLargeForZip { len: usize },
    /// The compressor reported a failure.
    Codec(String),
}

impl fmt::Display for CompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompressError::TooLargeForZip { len } => {
                write!(
                    f,
                    "a {len}-byte buffer is too large for a ZIP entry without ZIP64"
                )
            }
            CompressError::Codec(message) => write!(f, "compression failed: {message}"),
        }
    }
}

impl std::error::Error for CompressError {}

impl Compression {
    /// The format for a spec's `compression:` value (`none`, `gzip`, `zip`, `snappy`,
    /// `hadoop_snappy`).
    pub fn from_spec(name: &str) -> Option<Compression> {
        match name {
            "none" => Some(Compression::None),
            "gzip" => Some(Compression::Gzip),
            "zip" => Some(Compression::Zip),
            "snappy" => Some(Compression::Snappy),
            "hadoop_snappy" => Some(Compression::HadoopSnappy),
            _ => None,
        }
    }

    /// The file extension Firehose appends by default, dot included; empty for `None`.
    pub fn extension(&self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zip => ".zip",
            Compression::Snappy => ".snappy",
            Compression::HadoopSnappy => ".hsnappy",
        }
    }

    /// Compresses a whole buffer. A ZIP entry is named `data` and dated 1980-01-01; use
    /// [`Compression::compress_object`] to name it after its object.
    pub fn compress(&self, data: &[u8]) -> Result<Vec<u8>, CompressError> {
        self.compress_object(data, "data", 0)
    }

    /// Compresses a whole buffer that becomes one object. `entry_name` and `modified_ms` (epoch
    /// milliseconds, UTC) are the ZIP entry's name and time; other formats ignore them.
    pub fn compress_object(
        &self,
        data: &[u8],
        entry_name: &str,
        modified_ms: i64,
    ) -> Result<Vec<u8>, CompressError> {
        match self {
            Compression::None => Ok(data.to_vec()),
            Compression::Gzip => gzip(data),
            Compression::Zip => zip(data, entry_name, modified_ms),
            Compression::Snappy => snappy_framed(data),
            Compression::HadoopSnappy => hadoop_snappy(data),
        }
    }
}

fn compressor() -> Compressor {
    Compressor::new(
        CompressionLvl::new(DEFLATE_LEVEL).unwrap_or_else(|_| CompressionLvl::fastest()),
    )
}

fn gzip(data: &[u8]) -> Result<Vec<u8>, CompressError> {
    let mut out = Vec::new();
    let len = gzip_into(data, &mut out)?;
    out.truncate(len);
    Ok(out)
}

/// Compresses `data` as one gzip member into the start of `out`, which it grows to the
/// compressor's bound if shorter; returns the member's length. A caller compressing buffer after
/// buffer keeps `out`, so its memory is neither zeroed nor mapped again for each one.
pub fn gzip_into(data: &[u8], out: &mut Vec<u8>) -> Result<usize, CompressError> {
    let mut compressor = compressor();
    let bound = compressor.gzip_compress_bound(data.len());
    if out.len() < bound {
        out.resize(bound, 0);
    }
    compressor
        .gzip_compress(data, &mut out[..bound])
        .map_err(|e| CompressError::Codec(format!("gzip: {e:?}")))
}

fn raw_deflate(data: &[u8]) -> Result<Vec<u8>, CompressError> {
    let mut compressor = compressor();
    let mut out = vec![0; compressor.deflate_compress_bound(data.len())];
    let len = compressor
        .deflate_compress(data, &mut out)
        .map_err(|e| CompressError::Codec(format!("deflate: {e:?}")))?;
    out.truncate(len);
    Ok(out)
}

/// One ZIP entry's fields, shared by its local header and its central directory record.
struct ZipEntry<'a> {
    name: &'a str,
    crc: u32,
    compressed: u32,
    uncompressed: u32,
    time: u16,
    date: u16,
}

impl ZipEntry<'_> {
    /// General purpose flags: bit 11 says the name is UTF-8.
    fn flags(&self) -> u16 {
        if self.name.is_ascii() {
            0
        } else {
            1 << 11
        }
    }

    /// Fields common to both headers, from "version needed" to "extra field length".
    fn common(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0 (deflate)
        out.extend_from_slice(&self.flags().to_le_bytes());
        out.extend_from_slice(&8u16.to_le_bytes()); // method: deflate
        out.extend_from_slice(&self.time.to_le_bytes());
        out.extend_from_slice(&self.date.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
        out.extend_from_slice(&self.compressed.to_le_bytes());
        out.extend_from_slice(&self.uncompressed.to_le_bytes());
        out.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
    }

    fn local_header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        self.common(out);
        out.extend_from_slice(self.name.as_bytes());
    }

    fn central_header(&self, out: &mut Vec<u8>, local_offset: u32) {
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        out.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by: Unix, 2.0
        self.common(out);
        out.extend_from_slice(&0u16.to_le_bytes()); // comment length
        out.extend_from_slice(&0u16.to_le_bytes()); // disk number start
        out.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        out.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // external: -rw-r--r--
        out.extend_from_slice(&local_offset.to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
    }
}

fn end_of_central_directory(out: &mut Vec<u8>, directory_len: u32, directory_offset: u32) {
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // this disk
    out.extend_from_slice(&0u16.to_le_bytes()); // disk with the central directory
    out.extend_from_slice(&1u16.to_le_bytes()); // entries on this disk
    out.extend_from_slice(&1u16.to_le_bytes()); // entries in total
    out.extend_from_slice(&directory_len.to_le_bytes());
    out.extend_from_slice(&directory_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
}

/// An MS-DOS (time, date) pair for epoch milliseconds, UTC; 1980-01-01 00:00 before 1980.
fn dos_time(epoch_ms: i64) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    let Some(t) = chrono::DateTime::from_timestamp_millis(epoch_ms) else {
        return (0, DOS_EPOCH_DATE);
    };
    if !(1980..=2107).contains(&t.year()) {
        return (0, DOS_EPOCH_DATE);
    }
    let time = (t.hour() << 11) | (t.minute() << 5) | (t.second() / 2);
    let date = (((t.year() - 1980) as u32) << 9) | (t.month() << 5) | t.day();
    (time as u16, date as u16)
}

/// A single-entry ZIP archive: local header, raw deflate data, central directory, end record.
fn zip(data: &[u8], name: &str, modified_ms: i64) -> Result<Vec<u8>, CompressError> {
    let too_large = || CompressError::TooLargeForZip { len: data.len() };
    let uncompressed = u32::try_from(data.len()).map_err(|_| too_large())?;
    let name = if name.len() > usize::from(u16::MAX) {
        "data"
    } else {
        name
    };
    let deflated = raw_deflate(data)?;
    let compressed = u32::try_from(deflated.len()).map_err(|_| too_large())?;
    let (time, date) = dos_time(modified_ms);
    let entry = ZipEntry {
        name,
        crc: crc32fast::hash(data),
        compressed,
        uncompressed,
        time,
        date,
    };
    let mut out = Vec::with_capacity(deflated.len() + 2 * name.len() + 128);
    entry.local_header(&mut out);
    out.extend_from_slice(&deflated);
    let directory_offset = u32::try_from(out.len()).map_err(|_| too_large())?;
    entry.central_header(&mut out, 0);
    let directory_len = out.len() as u32 - directory_offset;
    end_of_central_directory(&mut out, directory_len, directory_offset);
    Ok(out)
}

/// The snappy framing format, as snap's `FrameEncoder` writes it; always starts with the stream
/// identifier, even for empty input.
fn snappy_framed(data: &[u8]) -> Result<Vec<u8>, CompressError> {
    let mut encoder = snap::write::FrameEncoder::new(Vec::with_capacity(data.len() / 2 + 64));
    encoder
        .write_all(data)
        .map_err(|e| CompressError::Codec(format!("snappy: {e}")))?;
    let out = encoder
        .into_inner()
        .map_err(|e| CompressError::Codec(format!("snappy: {}", e.error())))?;
    if out.is_empty() {
        return Ok(SNAPPY_STREAM_IDENTIFIER.to_vec());
    }
    Ok(out)
}

/// Hadoop's `BlockCompressorStream` layout: for each block of at most [`HADOOP_SNAPPY_BLOCK`]
/// bytes, its uncompressed length (u32, big-endian), then one chunk: the compressed length
/// (u32, big-endian) and a raw snappy block. Empty input is an empty stream.
fn hadoop_snappy(data: &[u8]) -> Result<Vec<u8>, CompressError> {
    let mut encoder = snap::raw::Encoder::new();
    let mut block = vec![0; snap::raw::max_compress_len(HADOOP_SNAPPY_BLOCK)];
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    for chunk in data.chunks(HADOOP_SNAPPY_BLOCK) {
        let len = encoder
            .compress(chunk, &mut block)
            .map_err(|e| CompressError::Codec(format!("snappy: {e}")))?;
        out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend_from_slice(&block[..len]);
    }
    Ok(out)
}
