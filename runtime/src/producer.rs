//! Producers: a synthetic generator of schema-valid records at the declared rate (deterministic
//! for a seed), or the replay of a JSON-lines or CSV file. Every record is checked against its
//! schema by the generated code before it enters a stream or firehose; one that does not match
//! is written, with the reason, to `DATA_DIR/errors/PRODUCER/` in Firehose's error-record shape.
//! (That typed check at ingestion is kin's addition: AWS accepts any bytes.)

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::errors::ErrorRecord;
use crate::flat_json::{FieldMap, MapBuilder};
use crate::metrics::Counters;
use crate::stream::{lock, PartitionKey};

/// Checks one record (its bytes, newline included) against the schema and returns the
/// partition key its stream asks for (`None` for a firehose or a random key). A check of a
/// flat JSON schema notes in the builder where the record's fields are
/// ([`flat_json::check_into`]).
pub type CheckFn = fn(&[u8], &mut MapBuilder) -> Result<Option<PartitionKey>, String>;

/// A checked record's partition key and, when the check mapped it, where its fields are.
pub type Checked = Result<(Option<PartitionKey>, Option<FieldMap>), String>;
/// Writes one synthetic, schema-valid record (newline included).
pub type GenerateFn = fn(&mut Synth, &mut Vec<u8>);

/// What the generated code knows about a producer.
#[derive(Clone, Copy, Debug)]
pub struct ProducerSpec {
    pub name: &'static str,
    pub schema: &'static str,
    /// Records per second for the synthetic generator.
    pub rate_per_sec: f64,
    /// A CSV schema with `header: true`: a replayed file's first line is the header.
    pub csv_header: bool,
    pub check: CheckFn,
    pub generate: GenerateFn,
}

/// Where a producer's records come from.
#[derive(Clone, Debug)]
pub enum Input {
    Synthetic,
    File(PathBuf),
}

/// One accepted record on its way into a stream or firehose.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub partition_key: Option<PartitionKey>,
    pub data: bytes::Bytes,
    /// Where the record's fields are, as its check found them.
    pub fields: Option<FieldMap>,
}

/// Where accepted records go; returns the records it refused, with the reason.
pub trait RecordSink: Send {
    fn put(&mut self, records: Vec<Accepted>, arrival_ms: i64) -> Vec<(Accepted, String)>;
}

/// How many bytes a replay reads at a time.
const READ_CHUNK: usize = 4 << 20;

/// How many records a producer reads before handing them on.
const BATCH: usize = 4096;

/// How many read buffers a replay keeps for reuse.
const SPARE_CHUNKS: usize = 8;

/// A replay's read buffers: each comes back when the last record sliced from it is dropped
/// (trimmed from its stream), so later chunks are read into memory that is already mapped,
/// instead of memory the allocator just gave back to the kernel and must fault in again.
#[derive(Clone, Default)]
struct ChunkPool(Arc<Mutex<Vec<Vec<u8>>>>);

impl ChunkPool {
    /// An empty buffer with room for at least `capacity` bytes.
    fn take(&self, capacity: usize) -> Vec<u8> {
        let mut buffer = lock(&self.0).pop().unwrap_or_default();
        buffer.reserve(capacity);
        buffer
    }

    /// `data` as shared bytes that return their buffer here when the last slice is dropped.
    fn share(&self, data: Vec<u8>) -> bytes::Bytes {
        bytes::Bytes::from_owner(Chunk {
            data,
            pool: self.clone(),
        })
    }
}

struct Chunk {
    data: Vec<u8>,
    pool: ChunkPool,
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        let mut data = std::mem::take(&mut self.data);
        data.clear();
        let mut spares = lock(&self.pool.0);
        if spares.len() < SPARE_CHUNKS {
            spares.push(data);
        }
    }
}

/// A source of random values for synthetic records, seeded per producer.
pub struct Synth {
    rng: StdRng,
    /// The event time of the record being made: now, minus a little disorder.
    pub now_ms: i64,
}

impl Synth {
    pub fn new(seed: u64) -> Self {
        Synth {
            rng: StdRng::seed_from_u64(seed),
            now_ms: 0,
        }
    }

    /// One of `cardinality` values named after the field: `page-17`.
    pub fn string(&mut self, field: &str, cardinality: u32) -> String {
        format!("{field}-{}", self.rng.random_range(0..cardinality.max(1)))
    }

    /// Half the time one of `literals` (values the pipeline's SQL looks for), else
    /// [`Synth::string`].
    pub fn string_or(&mut self, field: &str, literals: &[&str], cardinality: u32) -> String {
        if !literals.is_empty() && self.rng.random_bool(0.5) {
            return literals[self.rng.random_range(0..literals.len())].to_string();
        }
        self.string(field, cardinality)
    }

    pub fn int(&mut self, low: i64, high: i64) -> i64 {
        self.rng.random_range(low..=high)
    }

    pub fn float(&mut self, low: f64, high: f64) -> f64 {
        (self.rng.random_range(low..high) * 1000.0).round() / 1000.0
    }

    pub fn bool(&mut self) -> bool {
        self.rng.random_bool(0.5)
    }

    /// True one time in ten: a nullable field is null.
    pub fn null(&mut self) -> bool {
        self.rng.random_ratio(1, 10)
    }

    /// An event time up to `disorder_ms` before now.
    pub fn event_time(&mut self, disorder_ms: i64) -> i64 {
        self.now_ms - self.rng.random_range(0..=disorder_ms.max(0))
    }

    pub fn decimal(&mut self, precision: u8, scale: u8) -> String {
        let whole_digits = (precision - scale).min(6) as u32;
        let whole = self.rng.random_range(0..10_i64.pow(whole_digits));
        if scale == 0 {
            return whole.to_string();
        }
        let fraction = self.rng.random_range(0..10_i64.pow(scale.min(6) as u32));
        format!("{whole}.{fraction:0width$}", width = scale.min(6) as usize)
    }

    /// A random partition key (`partition_key: random`).
    pub fn key(&mut self) -> String {
        format!("{:032x}", self.rng.random::<u128>())
    }
}

/// A random partition key for streams with `partition_key: random`.
pub fn random_key() -> PartitionKey {
    format!("{:032x}", rand::random::<u128>()).into()
}

/// Writes rejected records as Firehose error records to `DIR/<start>-<uuid>.json`, creating the
/// file on the first one.
pub struct ErrorWriter {
    dir: PathBuf,
    file: Option<BufWriter<File>>,
    pub written: u64,
}

impl ErrorWriter {
    pub fn new(dir: PathBuf) -> Self {
        ErrorWriter {
            dir,
            file: None,
            written: 0,
        }
    }

    pub fn write(
        &mut self,
        raw: &[u8],
        code: &str,
        message: &str,
        arrival_ms: i64,
    ) -> io::Result<()> {
        if self.file.is_none() {
            fs::create_dir_all(&self.dir)?;
            let name = format!(
                "{}-{}.json",
                chrono::Utc::now().format("%Y-%m-%d-%H-%M-%S"),
                uuid::Uuid::new_v4()
            );
            self.file = Some(BufWriter::new(File::create(self.dir.join(name))?));
        }
        if let Some(file) = &mut self.file {
            file.write_all(&ErrorRecord::new(raw, code, message, arrival_ms).to_json_line())?;
        }
        self.written += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

/// Below this many records a chunk is checked on one thread.
const PARALLEL_CHECK_MIN: usize = 2048;

/// Checks `records`, in order, on up to as many threads as the machine has cores (at most 4):
/// a replay's producer would otherwise spend most of its time in the schema check while the
/// nodes downstream wait.
fn check_all(check: CheckFn, records: &[bytes::Bytes], map: bool) -> Vec<Checked> {
    // Asked once: the answer reads the process's cgroup limits from files.
    static CORES: OnceLock<usize> = OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let threads = cores.min(4);
    if threads < 2 || records.len() < PARALLEL_CHECK_MIN {
        return check_part(check, records, map);
    }
    let part = records.len().div_ceil(threads);
    let mut parts = records.chunks(part);
    let first = parts.next().unwrap_or_default();
    std::thread::scope(|scope| {
        let others: Vec<_> = parts
            .map(|part| scope.spawn(move || check_part(check, part, map)))
            .collect();
        let mut out = check_part(check, first, map);
        for other in others {
            match other.join() {
                Ok(checked) => out.extend(checked),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// Checks `records` on this thread; with `map`, the field maps of those that match share one
/// allocation.
fn check_part(check: CheckFn, records: &[bytes::Bytes], map: bool) -> Vec<Checked> {
    let mut maps = builder(map);
    let checked: Vec<_> = records
        .iter()
        .map(|record| {
            let first = maps.len();
            check(record, &mut maps).map(|key| (key, (maps.len() > first).then_some(first)))
        })
        .collect();
    let spans = maps.finish();
    checked
        .into_iter()
        .map(|c| c.map(|(key, first)| (key, first.map(|at| FieldMap::new(&spans, at)))))
        .collect()
}

fn builder(map: bool) -> MapBuilder {
    if map {
        MapBuilder::default()
    } else {
        MapBuilder::off()
    }
}

/// Runs one producer to the end of its input (or until `stop`), returning how many records it
/// accepted and rejected.
pub struct Producer<'a> {
    pub spec: &'a ProducerSpec,
    pub counters: Arc<Counters>,
    pub errors: ErrorWriter,
    pub stop: Arc<AtomicBool>,
    /// Whether accepted records carry their [`FieldMap`]s: only analytics reads them, so a
    /// producer whose records no analytics reads notes none.
    pub map_fields: bool,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Producer<'_> {
    pub fn run(&mut self, input: &Input, seed: u64, sink: &mut dyn RecordSink) -> io::Result<()> {
        let result = match input {
            Input::File(path) => self.replay(path, sink),
            Input::Synthetic => self.synthesize(seed, sink),
        };
        self.errors.flush()?;
        result
    }

    fn replay(&mut self, path: &Path, sink: &mut dyn RecordSink) -> io::Result<()> {
        let file = File::open(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "producer {}: cannot read {}: {e}",
                    self.spec.name,
                    path.display()
                ),
            )
        })?;
        let mut file = file;
        let mut skip_header = self.spec.csv_header;
        let mut batch = Vec::with_capacity(BATCH);
        let mut rest = bytes::Bytes::new();
        let pool = ChunkPool::default();
        loop {
            // Records are slices of one buffer per chunk: no copy, no allocation per record. The
            // file is read straight into the buffer, after the partial line the last one left.
            let mut buffer = pool.take(rest.len() + READ_CHUNK + 1);
            buffer.extend_from_slice(&rest);
            let read = (&mut file)
                .take(READ_CHUNK as u64)
                .read_to_end(&mut buffer)?;
            if read == 0 && !buffer.is_empty() && !buffer.ends_with(b"\n") {
                buffer.push(b'\n');
            }
            let buffer = pool.share(buffer);
            let mut start = 0;
            let mut lines = Vec::new();
            while let Some(end) = memchr::memchr(b'\n', &buffer[start..]) {
                let line = buffer.slice(start..start + end + 1);
                start += end + 1;
                if std::mem::take(&mut skip_header) || line.iter().all(|b| b.is_ascii_whitespace())
                {
                    continue;
                }
                lines.push(line);
            }
            let checked = check_all(self.spec.check, &lines, self.map_fields);
            let bytes = lines.iter().map(|line| line.len() as u64).sum();
            self.counters.add_in(lines.len() as u64, bytes);
            for (line, checked) in lines.into_iter().zip(checked) {
                self.take(line, checked, &mut batch)?;
                if batch.len() == BATCH {
                    self.hand_on(&mut batch, sink)?;
                }
            }
            rest = buffer.slice(start..);
            if read == 0 || self.stop.load(Ordering::Relaxed) {
                break;
            }
        }
        self.hand_on(&mut batch, sink)
    }

    fn synthesize(&mut self, seed: u64, sink: &mut dyn RecordSink) -> io::Result<()> {
        let mut synth = Synth::new(seed);
        let rate = self.spec.rate_per_sec.max(0.001);
        let start = Instant::now();
        let mut made: u64 = 0;
        let mut batch = Vec::new();
        let mut record = Vec::new();
        while !self.stop.load(Ordering::Relaxed) {
            // Make what the rate allows by now, in at most 100 ms slices.
            let due = (start.elapsed().as_secs_f64() * rate) as u64;
            if due <= made {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            synth.now_ms = now_ms();
            let slice = due.min(made + (rate / 10.0).ceil() as u64 + 1) - made;
            for _ in 0..slice {
                record.clear();
                (self.spec.generate)(&mut synth, &mut record);
                self.accept(bytes::Bytes::copy_from_slice(&record), &mut batch)?;
            }
            made += slice;
            self.hand_on(&mut batch, sink)?;
        }
        self.hand_on(&mut batch, sink)
    }

    fn accept(&mut self, record: bytes::Bytes, batch: &mut Vec<Accepted>) -> io::Result<()> {
        let mut maps = builder(self.map_fields);
        let checked = (self.spec.check)(&record, &mut maps).map(|key| {
            let mapped = !maps.is_empty();
            (key, mapped.then(|| FieldMap::new(&maps.finish(), 0)))
        });
        self.counters.add_in(1, record.len() as u64);
        self.take(record, checked, batch)
    }

    /// Batches a checked record (counted in by the caller), or writes it to the error output
    /// with the reason.
    fn take(
        &mut self,
        record: bytes::Bytes,
        checked: Checked,
        batch: &mut Vec<Accepted>,
    ) -> io::Result<()> {
        match checked {
            Ok((partition_key, fields)) => batch.push(Accepted {
                partition_key,
                data: record,
                fields,
            }),
            Err(reason) => {
                let message = format!(
                    "the record does not match schema {}: {reason}",
                    self.spec.schema
                );
                self.errors
                    .write(&record, "SchemaMismatch", &message, now_ms())?;
                self.counters.add_errors(1);
            }
        }
        Ok(())
    }

    fn hand_on(&mut self, batch: &mut Vec<Accepted>, sink: &mut dyn RecordSink) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(batch);
        let count = records.len() as u64;
        let bytes: u64 = records.iter().map(|r| r.data.len() as u64).sum();
        let arrival = now_ms();
        let refused = sink.put(records, arrival);
        let (refused_count, refused_bytes) = (
            refused.len() as u64,
            refused
                .iter()
                .map(|(r, _)| r.data.len() as u64)
                .sum::<u64>(),
        );
        for (record, reason) in refused {
            self.errors
                .write(&record.data, "PutRejected", &reason, arrival)?;
        }
        self.counters.add_errors(refused_count);
        self.counters
            .add_out(count - refused_count, bytes - refused_bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::flat_json::{self, Field, Kind, Value};

    static FIELDS: &[Field] = &[Field::new("k", Kind::String, false)];

    fn check(data: &[u8], maps: &mut MapBuilder) -> Result<Option<PartitionKey>, String> {
        flat_json::check_into(data, FIELDS, Some(0), maps)
    }

    fn generate(synth: &mut Synth, out: &mut Vec<u8>) {
        let k = synth.string("k", 5);
        out.extend_from_slice(format!("{{\"k\":\"{k}\"}}\n").as_bytes());
    }

    const SPEC: ProducerSpec = ProducerSpec {
        name: "p",
        schema: "S",
        rate_per_sec: 2000.0,
        csv_header: false,
        check,
        generate,
    };

    #[derive(Default)]
    struct Collect(Vec<Accepted>);

    impl RecordSink for Collect {
        fn put(&mut self, records: Vec<Accepted>, _: i64) -> Vec<(Accepted, String)> {
            let (refused, kept): (Vec<_>, Vec<_>) =
                records.into_iter().partition(|r| r.data.len() > 20);
            self.0.extend(kept);
            refused
                .into_iter()
                .map(|r| (r, "too large".to_string()))
                .collect()
        }
    }

    fn producer(dir: &Path) -> Producer<'static> {
        Producer {
            spec: &SPEC,
            counters: Arc::default(),
            errors: ErrorWriter::new(dir.join("errors/p")),
            stop: Arc::default(),
            map_fields: true,
        }
    }

    fn error_lines(dir: &Path) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir.join("errors/p"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = fs::read_to_string(entry.path()).unwrap_or_default();
            out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
        }
        out
    }

    /// What replaying a file gave: the records handed on, the error records, the counters.
    struct Replayed {
        sink: Collect,
        errors: Vec<serde_json::Value>,
        counters: Arc<Counters>,
    }

    impl Replayed {
        fn keys(&self) -> Vec<String> {
            self.sink
                .0
                .iter()
                .map(|r| r.partition_key.as_deref().unwrap_or_default().to_string())
                .collect()
        }
    }

    /// Replays `text` through a producer of [`SPEC`] into a [`Collect`] sink.
    fn replay(text: &str) -> Replayed {
        let dir = std::env::temp_dir().join(format!("kin-producer-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).expect("dir");
        let input = dir.join("in.jsonl");
        fs::write(&input, text).expect("write");
        let mut sink = Collect::default();
        let mut p = producer(&dir);
        p.run(&Input::File(input), 0, &mut sink).expect("run");
        let errors = error_lines(&dir);
        let _ = fs::remove_dir_all(&dir);
        Replayed {
            sink,
            errors,
            counters: p.counters,
        }
    }

    #[test]
    fn accepted_records_carry_the_maps_of_their_fields() {
        // Enough records for the check to run on two threads, each noting its own maps, and
        // every seventh refused (its bounds must not shift the maps of those after it).
        let text: String = (0..5000)
            .map(|i| match i % 7 {
                3 => format!("{{\"x\":{i}}}\n"),
                _ => format!("{{ \"k\" :\"k{i}\"}}\n"),
            })
            .collect();
        let replayed = replay(&text);
        assert_eq!(replayed.sink.0.len(), 5000 - 714);
        assert_eq!(replayed.errors.len(), 714);
        for record in &replayed.sink.0 {
            let map = record.fields.as_ref().expect("a checked record is mapped");
            let key = record.partition_key.as_deref().unwrap_or_default();
            assert_eq!(
                map.value(&record.data, 0, &FIELDS[0]),
                Some(Value::Str(key.into())),
                "{}",
                String::from_utf8_lossy(&record.data)
            );
        }
    }

    #[test]
    fn a_read_buffer_is_reused_only_after_its_last_record_is_dropped() {
        let pool = ChunkPool::default();
        let mut buffer = pool.take(64);
        buffer.extend_from_slice(b"one\ntwo\n");
        let address = buffer.as_ptr();
        let chunk = pool.share(buffer);
        let second = chunk.slice(4..8);
        drop(chunk);
        assert_eq!(lock(&pool.0).len(), 0, "a record still uses the buffer");
        assert_eq!(&second[..], b"two\n");
        drop(second);
        assert_eq!(lock(&pool.0).len(), 1);
        let again = pool.take(16);
        assert!(again.is_empty() && again.capacity() >= 64);
        assert_eq!(again.as_ptr(), address);
        for _ in 0..SPARE_CHUNKS + 2 {
            drop(pool.share(vec![0; 8]));
        }
        assert_eq!(lock(&pool.0).len(), SPARE_CHUNKS);
    }

    #[test]
    fn records_no_analytics_reads_carry_no_maps() {
        let dir = std::env::temp_dir().join(format!("kin-producer-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).expect("dir");
        let input = dir.join("in.jsonl");
        let text: String = (0..3000).map(|i| format!("{{\"k\":\"k{i}\"}}\n")).collect();
        fs::write(&input, text).expect("write");
        let mut sink = Collect::default();
        let mut p = Producer {
            map_fields: false,
            ..producer(&dir)
        };
        p.run(&Input::File(input), 0, &mut sink).expect("run");
        let mut synthetic = Vec::new();
        p.accept(bytes::Bytes::from_static(b"{\"k\":\"s\"}"), &mut synthetic)
            .expect("accept");
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(sink.0.len(), 3000);
        assert_eq!(synthetic.len(), 1);
        assert!(sink.0.iter().chain(&synthetic).all(|r| r.fields.is_none()));
        assert_eq!(sink.0[2999].partition_key.as_deref(), Some("k2999"));
    }

    #[test]
    fn replay_accepts_valid_lines_and_writes_the_rest_as_error_records() {
        let replayed = replay(
            "{\"k\":\"a\"}\n\n{\"x\":1}\nnot json\n{\"k\":\"a-very-long-key\"}\n{\"k\":\"b\"}",
        );
        assert_eq!(replayed.keys(), ["a", "b"]);
        assert!(replayed.sink.0.iter().all(|r| r.data.ends_with(b"\n")));
        let errors = &replayed.errors;
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(errors[0]["errorCode"], "SchemaMismatch");
        assert!(errors[0]["errorMessage"]
            .as_str()
            .unwrap_or("")
            .contains("unknown field `x`"));
        assert_eq!(errors[2]["errorCode"], "PutRejected");
        let counters = &replayed.counters;
        assert_eq!(counters.records_in.load(Ordering::Relaxed), 5);
        assert_eq!(counters.records_out.load(Ordering::Relaxed), 2);
        assert_eq!(counters.errors.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn replay_keeps_lines_across_read_chunks_and_longer_than_one() {
        // Short records over three read chunks (so lines straddle chunk ends), then one
        // record longer than a chunk (refused by the sink for its size), then a last one
        // without a newline.
        let mut text = String::new();
        let mut keys = Vec::new();
        let mut i = 0;
        while text.len() < 2 * READ_CHUNK + 1000 {
            let key = format!("k{i}");
            text.push_str(&format!("{{\"k\":\"{key}\"}}\n"));
            keys.push(key);
            i += 1;
        }
        text.push_str(&format!("{{\"k\":\"{}\"}}\n", "x".repeat(READ_CHUNK + 10)));
        text.push_str("{\"k\":\"end\"}");
        keys.push("end".to_string());
        let replayed = replay(&text);
        let kept = replayed.keys();
        assert_eq!(kept.len(), keys.len());
        assert!(kept == keys, "records lost, split or reordered");
        assert_eq!(
            replayed.errors.len(),
            1,
            "the long record is refused, not split"
        );
    }

    #[test]
    fn records_checked_on_several_threads_keep_their_order() {
        let (mut text, mut keys, mut bad) = (String::new(), Vec::new(), Vec::new());
        for i in 0..10 * PARALLEL_CHECK_MIN {
            if i % 7 == 3 {
                text.push_str(&format!("{{\"x\":{i}}}\n"));
                bad.push(format!("{{\"x\":{i}}}\n"));
            } else {
                text.push_str(&format!("{{\"k\":\"{i}\"}}\n"));
                keys.push(i.to_string());
            }
        }
        let replayed = replay(&text);
        assert!(replayed.keys() == keys, "records lost or reordered");
        let raw: Vec<String> = replayed
            .errors
            .iter()
            .map(|e| {
                let data = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    e["rawData"].as_str().unwrap_or_default(),
                )
                .unwrap_or_default();
                String::from_utf8_lossy(&data).into_owned()
            })
            .collect();
        assert!(raw == bad, "error records lost or reordered");
    }

    #[test]
    fn synthetic_records_are_deterministic_for_a_seed() {
        let make = |seed| {
            let mut synth = Synth::new(seed);
            let mut out = Vec::new();
            for _ in 0..20 {
                generate(&mut synth, &mut out);
            }
            out
        };
        assert_eq!(make(7), make(7));
        assert_ne!(make(7), make(8));
    }

    #[test]
    fn synthetic_producer_stops_when_told() {
        let dir = std::env::temp_dir().join(format!("kin-producer-{}", uuid::Uuid::new_v4()));
        let mut p = producer(&dir);
        let stop = p.stop.clone();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            stop.store(true, Ordering::Relaxed);
        });
        let mut sink = Collect::default();
        p.run(&Input::Synthetic, 1, &mut sink).expect("run");
        let _ = stopper.join();
        // 2,000/s for about 0.3 s: some records, all valid.
        assert!(!sink.0.is_empty());
        assert_eq!(p.counters.errors.load(Ordering::Relaxed), 0);
    }
}
