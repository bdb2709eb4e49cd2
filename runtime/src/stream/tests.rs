use super::sequence::SEQUENCE_PREFIX;
use super::*;
use std::collections::HashSet;
use std::thread;

fn stream_with(config: StreamConfig) -> Arc<Stream> {
    Arc::new(Stream::in_memory(config).expect("valid config"))
}

fn stream(shards: usize) -> Arc<Stream> {
    stream_with(StreamConfig::new("clicks", shards))
}

fn entry(key: &str, data: &str) -> PutEntry {
    PutEntry::new(key, data.to_string())
}

fn accepted(
    results: Vec<Result<(usize, SequenceNumber), PutError>>,
) -> Vec<(usize, SequenceNumber)> {
    results
        .into_iter()
        .map(|result| result.expect("accepted"))
        .collect()
}

fn data_of(records: &[StoredRecord]) -> Vec<String> {
    records
        .iter()
        .map(|record| String::from_utf8_lossy(&record.data).into_owned())
        .collect()
}

#[test]
fn same_partition_key_goes_to_the_same_shard_in_order() {
    let stream = stream(4);
    let entries = (0..50)
        .map(|i| entry(&format!("user-{}", i % 5), &i.to_string()))
        .collect();
    let placed = accepted(stream.put(entries, 0));
    for key in 0..5 {
        let shards: HashSet<usize> = placed
            .iter()
            .skip(key)
            .step_by(5)
            .map(|&(shard, _)| shard)
            .collect();
        assert_eq!(shards.len(), 1, "user-{key} went to {shards:?}");
        let expected_shard = stream
            .hash_ranges()
            .shard_for(hash_key(&format!("user-{key}")));
        assert!(shards.contains(&expected_shard));
    }
    let mut seen = 0;
    for shard in 0..4 {
        let records = stream.read(shard, 0, 100).expect("read").records;
        seen += records.len();
        for key in 0..5 {
            let values: Vec<u32> = records
                .iter()
                .filter(|record| *record.partition_key == *format!("user-{key}"))
                .map(|record| {
                    String::from_utf8_lossy(&record.data)
                        .parse()
                        .expect("number")
                })
                .collect();
            assert!(
                values.windows(2).all(|pair| pair[0] < pair[1]),
                "{values:?}"
            );
        }
    }
    assert_eq!(seen, 50);
}

#[test]
fn cached_shards_equal_the_md5_ranges_past_the_cache_size() {
    // More distinct keys than the cache holds, each put twice (a hit the second time, or a miss
    // once the cache is full): every record lands where the MD5 of its key says.
    let stream = stream(7);
    let ranges = ShardRanges::uniform(7);
    // Keys of every length a partition key may have (1 to 256): short ones are cached inline,
    // longer ones never; keys that differ only past the inline length are told apart.
    let long = "k".repeat(250);
    let keys: Vec<String> = (0..SHARD_CACHE_KEYS + 5_000)
        .map(|i| match i % 3 {
            0 => format!("session-{i}"),
            1 => format!("{}{i}", &long[..i % 250]),
            _ => i.to_string(),
        })
        .collect();
    for _ in 0..2 {
        let entries = keys.iter().map(|k| entry(k, "x")).collect();
        let placed = accepted(stream.put(entries, 0));
        for (key, (shard, _)) in keys.iter().zip(placed) {
            assert_eq!(shard, ranges.shard_for(hash_key(key)), "key {key}");
        }
    }
    // An explicit hash key still wins over a cached partition key.
    let mut explicit = entry("session-1", "y");
    explicit.explicit_hash_key = Some(u128::MAX);
    let placed = accepted(stream.put(vec![explicit], 0));
    assert_eq!(placed[0].0, 6);
}

#[test]
fn explicit_hash_key_overrides_the_md5_of_the_partition_key() {
    let stream = stream(2);
    let mut low = entry("same", "a");
    low.explicit_hash_key = Some(0);
    let mut high = entry("same", "b");
    high.explicit_hash_key = Some(1u128 << 127);
    let placed = accepted(stream.put(vec![low, high], 0));
    assert_eq!(placed[0].0, 0);
    assert_eq!(placed[1].0, 1);
}

#[test]
fn sequence_numbers_increase_per_shard_and_parse_back() {
    let stream = stream(3);
    let entries = (0..60).map(|i| entry(&format!("k{i}"), "x")).collect();
    let placed = accepted(stream.put(entries, 0));
    let more = accepted(stream.put((0..60).map(|i| entry(&format!("k{i}"), "y")).collect(), 1));
    for shard in 0..3 {
        let numbers: Vec<SequenceNumber> = placed
            .iter()
            .chain(&more)
            .filter(|(s, _)| *s == shard)
            .map(|&(_, number)| number)
            .collect();
        assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]));
        for (offset, number) in numbers.iter().enumerate() {
            assert_eq!(number.shard_and_offset(), Some((shard, offset as u64)));
            let text = number.to_string();
            assert_eq!(text.len(), 56);
            assert_eq!(text.parse::<SequenceNumber>(), Ok(*number));
        }
    }
}

#[test]
fn sequence_number_text_shows_prefix_shard_and_offset() {
    let number = SequenceNumber::new(3, 42);
    assert_eq!(
        number.to_string(),
        "49000000000000000000000000000000000300000000000000000042"
    );
    assert!(SequenceNumber::new(0, 9) < SequenceNumber::new(0, 10));
    assert!(SequenceNumber::new(0, 9).to_string() < SequenceNumber::new(0, 10).to_string());
}

#[test]
fn sequence_number_parse_rejects_what_kin_did_not_issue() {
    let too_large = format!("{SEQUENCE_PREFIX}{}", "9".repeat(39));
    let aws_issued = "49600871682957036442365024926191073437251060580128653314";
    for bad in [
        "",
        "49",
        "4900000000000000000000000000000000000000000000000000004x",
        aws_issued,
        &too_large,
    ] {
        assert!(bad.parse::<SequenceNumber>().is_err(), "{bad:?}");
    }
    let max = format!("{SEQUENCE_PREFIX}{}", u128::MAX);
    assert_eq!(max.parse::<SequenceNumber>(), Ok(SequenceNumber(u128::MAX)));
    assert_eq!(
        SequenceNumber(u128::MAX)
            .shard_and_offset()
            .map(|(_, offset)| offset),
        None
    );
}

#[test]
fn every_consumer_sees_every_record_exactly_once_with_concurrent_producers() {
    const PRODUCERS: usize = 4;
    const PER_PRODUCER: usize = 2000;
    let stream = stream(4);
    let consumers: Vec<Consumer> = ["firehose", "analytics"]
        .iter()
        .map(|name| stream.consumer(name).expect("consumer"))
        .collect();
    let readers: Vec<_> = consumers
        .into_iter()
        .map(|mut consumer| {
            thread::spawn(move || {
                let mut records = Vec::new();
                while !consumer.is_drained() {
                    consumer.wait_for_data(Duration::from_secs(5));
                    records.extend(consumer.poll(97).expect("poll"));
                }
                records
            })
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|producer| {
            let stream = Arc::clone(&stream);
            thread::spawn(move || {
                for batch in 0..PER_PRODUCER / 100 {
                    let entries = (0..100)
                        .map(|i| {
                            let n = batch * 100 + i;
                            entry(
                                &format!("p{producer}-k{}", n % 7),
                                &format!("{producer}:{n}"),
                            )
                        })
                        .collect();
                    accepted(stream.put(entries, batch as i64));
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().expect("producer");
    }
    stream.close();
    for reader in readers {
        let records = reader.join().expect("reader");
        let data = data_of(&records);
        assert_eq!(data.len(), PRODUCERS * PER_PRODUCER);
        assert_eq!(
            data.iter().collect::<HashSet<_>>().len(),
            data.len(),
            "duplicates"
        );
        // Within a shard, records come in sequence order.
        for shard in 0..4 {
            let numbers: Vec<SequenceNumber> = records
                .iter()
                .map(|record| record.sequence_number)
                .filter(|number| number.shard_and_offset().map(|(s, _)| s) == Some(shard))
                .collect();
            assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]));
        }
    }
    assert_eq!(
        stream.counters().records_in(),
        (PRODUCERS * PER_PRODUCER) as u64
    );
}

#[test]
fn retention_trims_old_records_and_consumers_skip_them() {
    let stream = stream_with(StreamConfig {
        retention_ms: 1000,
        ..StreamConfig::new("clicks", 1)
    });
    let mut consumer = stream.consumer("archive").expect("consumer");
    accepted(stream.put(vec![entry("k", "a"), entry("k", "b")], 0));
    accepted(stream.put(vec![entry("k", "c")], 500));
    accepted(stream.put(vec![entry("k", "d")], 2000));
    // An older arrival time is raised to the shard's last one.
    accepted(stream.put(vec![entry("k", "e")], 100));
    assert_eq!(stream.trim_expired(1500), Ok(2));
    assert_eq!(stream.trim_expired(1600), Ok(1));
    assert_eq!(stream.trim_expired(1600), Ok(0));
    assert_eq!(
        stream.bounds(0),
        Ok(ShardBounds {
            earliest: 3,
            next: 5
        })
    );
    let records = consumer.poll(10).expect("poll");
    assert_eq!(data_of(&records), ["d", "e"]);
    assert_eq!(records[1].arrival_ms, 2000);
    assert_eq!(stream.trim_expired(3001), Ok(2));
    assert_eq!(
        stream.bounds(0),
        Ok(ShardBounds {
            earliest: 5,
            next: 5
        })
    );
}

#[test]
fn iterator_offsets_for_the_five_kinds() {
    let stream = stream(2);
    let mut placed = Vec::new();
    for (time, data) in [(10, "a"), (10, "b"), (10, "c"), (20, "d"), (20, "e")] {
        let mut put = entry("k", data);
        put.explicit_hash_key = Some(0);
        placed.extend(accepted(stream.put(vec![put], time)));
    }
    let offset = |start| stream.iterator_offset(0, start);
    assert_eq!(offset(ShardIteratorStart::TrimHorizon), Ok(0));
    assert_eq!(offset(ShardIteratorStart::Latest), Ok(5));
    assert_eq!(
        offset(ShardIteratorStart::AtSequenceNumber(placed[2].1)),
        Ok(2)
    );
    assert_eq!(
        offset(ShardIteratorStart::AfterSequenceNumber(placed[2].1)),
        Ok(3)
    );
    assert_eq!(
        offset(ShardIteratorStart::AfterSequenceNumber(placed[4].1)),
        Ok(5)
    );
    assert_eq!(offset(ShardIteratorStart::AtTimestamp(5)), Ok(0));
    assert_eq!(offset(ShardIteratorStart::AtTimestamp(15)), Ok(3));
    assert_eq!(offset(ShardIteratorStart::AtTimestamp(20)), Ok(3));
    assert_eq!(offset(ShardIteratorStart::AtTimestamp(99)), Ok(5));
    assert_eq!(stream.iterator_offset(1, ShardIteratorStart::Latest), Ok(0));

    let other_shard = stream.iterator_offset(1, ShardIteratorStart::AtSequenceNumber(placed[0].1));
    let error = other_shard.expect_err("wrong shard");
    assert_eq!(error.code, "InvalidArgumentException");
    assert!(
        error.message.contains("belongs to shardId-000000000000"),
        "{}",
        error.message
    );
    let future = offset(ShardIteratorStart::AtSequenceNumber(SequenceNumber::new(
        0, 5,
    )));
    assert!(future
        .expect_err("future")
        .message
        .contains("no record has it yet"));
    let missing = stream
        .iterator_offset(2, ShardIteratorStart::TrimHorizon)
        .expect_err("no shard 2");
    assert_eq!(missing.code, "ResourceNotFoundException");

    // A trimmed sequence number starts at the trim horizon.
    assert_eq!(stream.trim_expired(10 + DEFAULT_RETENTION_MS + 1), Ok(3));
    assert_eq!(
        offset(ShardIteratorStart::AtSequenceNumber(placed[0].1)),
        Ok(3)
    );
    assert_eq!(offset(ShardIteratorStart::TrimHorizon), Ok(3));
}

#[test]
fn oversize_record_is_rejected_and_the_rest_of_the_batch_accepted() {
    let stream = stream_with(StreamConfig {
        max_record_bytes: 10,
        ..StreamConfig::new("clicks", 2)
    });
    let results = stream.put(
        vec![
            entry("k", "123456789"),
            entry("k", "1234567890"),
            entry("k", "x"),
        ],
        0,
    );
    assert!(results[0].is_ok());
    assert!(results[2].is_ok());
    let error = results[1].clone().expect_err("too large");
    assert_eq!(error.code, "ValidationException");
    assert!(
        error.message.contains("'records.2.member.data'"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("this one has 11"),
        "{}",
        error.message
    );
    assert_eq!(
        data_of(
            &stream
                .read(results[0].clone().expect("ok").0, 0, 10)
                .expect("read")
                .records
        ),
        ["123456789", "x"]
    );
    assert_eq!(stream.counters().records_rejected, 1);
}

#[test]
fn partition_keys_must_be_1_to_256_characters() {
    let stream = stream(1);
    let results = stream.put(
        vec![
            entry("", "a"),
            entry(&"k".repeat(257), "b"),
            entry(&"é".repeat(256), "c"),
            entry(&"k".repeat(256), "d"),
        ],
        0,
    );
    let empty = results[0].clone().expect_err("empty key");
    assert!(
        empty.message.contains("greater than or equal to 1"),
        "{}",
        empty.message
    );
    let long = results[1].clone().expect_err("long key");
    assert!(
        long.message.contains("less than or equal to 256"),
        "{}",
        long.message
    );
    assert!(results[2].is_ok(), "256 characters of 2 bytes each");
    assert!(results[3].is_ok());
}

#[test]
fn close_refuses_puts_and_consumers_drain() {
    let stream = stream(2);
    let mut consumer = stream.consumer("archive").expect("consumer");
    accepted(stream.put((0..10).map(|i| entry(&format!("k{i}"), "x")).collect(), 0));
    assert_eq!(consumer.poll(100).expect("poll").len(), 10);
    assert!(!consumer.is_drained(), "the stream is still open");
    accepted(stream.put(vec![entry("k", "y")], 0));
    stream.close();
    assert!(stream.is_closed());
    let refused = stream.put(vec![entry("k", "z")], 0);
    assert_eq!(refused[0].clone().expect_err("closed").code, "StreamClosed");
    assert!(!consumer.is_drained(), "one record left");
    assert_eq!(data_of(&consumer.poll(100).expect("poll")), ["y"]);
    assert!(consumer.is_drained());
    assert!(
        consumer.wait_for_data(Duration::from_secs(30)),
        "a closed stream does not block"
    );
}

#[test]
fn wait_for_data_wakes_on_put_and_on_close_and_times_out_otherwise() {
    let stream = stream(1);
    let consumer = stream.consumer("reader").expect("consumer");
    assert!(!consumer.wait_for_data(Duration::from_millis(10)));
    let waiter = thread::spawn(move || consumer.wait_for_data(Duration::from_secs(60)));
    thread::sleep(Duration::from_millis(20));
    accepted(stream.put(vec![entry("k", "x")], 0));
    assert!(waiter.join().expect("waiter"), "woken by the put");

    let waiting_stream = Arc::clone(&stream);
    let waiter = thread::spawn(move || waiting_stream.wait_for_data(Duration::from_secs(60)));
    thread::sleep(Duration::from_millis(20));
    stream.close();
    assert!(waiter.join().expect("waiter"), "woken by close");
}

#[test]
fn counters_count_records_and_bytes_per_shard() {
    let stream = stream(2);
    let mut low = entry("ab", "123");
    low.explicit_hash_key = Some(0);
    let mut high = entry("c", "4567");
    high.explicit_hash_key = Some(u128::MAX);
    accepted(stream.put(vec![low.clone(), low, high], 0));
    let counters = stream.counters();
    assert_eq!(
        counters.shards,
        [
            ShardCounters {
                records_in: 2,
                bytes_in: 10
            },
            ShardCounters {
                records_in: 1,
                bytes_in: 5
            }
        ]
    );
    assert_eq!((counters.records_in(), counters.bytes_in()), (3, 15));
}

#[test]
fn a_consumer_resumes_from_its_saved_positions() {
    let stream = stream(1);
    accepted(stream.put((0..5).map(|i| entry("k", &i.to_string())).collect(), 0));
    let mut first = stream.consumer("archive").expect("consumer");
    assert_eq!(data_of(&first.poll(2).expect("poll")), ["0", "1"]);
    drop(first);
    let mut again = stream.consumer("archive").expect("consumer");
    assert_eq!(again.positions(), [2]);
    assert_eq!(data_of(&again.poll(10).expect("poll")), ["2", "3", "4"]);
    let mut other = stream.consumer("analytics").expect("consumer");
    assert_eq!(other.poll(10).expect("poll").len(), 5);
}

#[test]
fn consumer_polls_shards_fairly_and_fills_up_from_busy_shards() {
    let stream = stream(2);
    let put_to = |hash: u128, count: usize| {
        let entries = (0..count)
            .map(|i| PutEntry {
                explicit_hash_key: Some(hash),
                ..entry("k", &format!("{hash}-{i}"))
            })
            .collect();
        accepted(stream.put(entries, 0));
    };
    put_to(0, 10);
    put_to(u128::MAX, 2);
    let mut consumer = stream.consumer("reader").expect("consumer");
    let first = consumer.poll(8).expect("poll");
    let from_shard = |records: &[StoredRecord], shard| {
        records
            .iter()
            .filter(|r| r.sequence_number.shard_and_offset().map(|(s, _)| s) == Some(shard))
            .count()
    };
    assert_eq!((from_shard(&first, 0), from_shard(&first, 1)), (6, 2));
    assert_eq!(consumer.poll(8).expect("poll").len(), 4);
}

#[test]
fn a_lending_poll_visits_what_a_cloning_poll_returns() {
    let stream = stream(3);
    let keys = ["a", "b", "c", "d", "e", "f", "g"];
    for round in 0..4 {
        let entries = keys
            .iter()
            .map(|k| entry(k, &format!("{k}{round}")))
            .collect();
        accepted(stream.put(entries, round));
    }
    let mut cloning = stream.consumer("cloning").expect("consumer");
    let mut lending = stream.consumer("lending").expect("consumer");
    for max in [5, 1, 9, 100, 10] {
        let cloned = cloning.poll(max).expect("poll");
        let mut lent = Vec::new();
        let count = lending
            .poll_with(max, &mut |record| lent.push(record.clone()))
            .expect("poll");
        assert_eq!(count, lent.len());
        assert_eq!(lent, cloned, "max {max}");
        assert_eq!(lending.positions(), cloning.positions());
    }
    assert_eq!(lending.positions().iter().sum::<u64>(), 28);
}

#[test]
fn trimming_read_records_keeps_what_a_slow_consumer_still_needs() {
    let stream = stream(1);
    let mut fast = stream.consumer("fast").expect("consumer");
    let mut slow = stream.consumer("slow").expect("consumer");
    accepted(stream.put((0..5).map(|i| entry("k", &i.to_string())).collect(), 0));
    fast.poll(10).expect("poll");
    slow.poll(2).expect("poll");
    assert_eq!(stream.trim_read_by_all_consumers(), Ok(2));
    assert_eq!(data_of(&slow.poll(10).expect("poll")), ["2", "3", "4"]);
    assert_eq!(stream.trim_read_by_all_consumers(), Ok(3));
}

#[test]
fn read_reports_how_far_behind_the_newest_record_it_is() {
    let stream = stream(1);
    accepted(stream.put(vec![entry("k", "a"), entry("k", "b")], 1000));
    accepted(stream.put(vec![entry("k", "c")], 1100));
    let first = stream.read(0, 0, 1).expect("read");
    assert_eq!((first.next_offset, first.millis_behind_latest), (1, 100));
    let rest = stream.read(0, first.next_offset, 10).expect("read");
    assert_eq!(
        (
            rest.records.len(),
            rest.next_offset,
            rest.millis_behind_latest
        ),
        (2, 3, 0)
    );
    assert_eq!(stream.read(0, 3, 10).expect("read").records.len(), 0);
}

#[test]
fn new_rejects_bad_configs() {
    assert!(Stream::in_memory(StreamConfig::new("clicks", 0)).is_err());
    assert!(Stream::in_memory(StreamConfig::new("no spaces", 1)).is_err());
    assert!(Stream::in_memory(StreamConfig::new("", 1)).is_err());
    let error = Stream::new(
        StreamConfig::new("clicks", 2),
        Box::new(MemoryStore::new(3)),
    )
    .err()
    .expect("mismatch");
    assert!(
        error.message.contains("its store holds 3"),
        "{}",
        error.message
    );
    let stream = stream(3);
    assert_eq!(
        stream.shard_ids(),
        [
            "shardId-000000000000",
            "shardId-000000000001",
            "shardId-000000000002"
        ]
    );
    assert_eq!(stream.name(), "clicks");
}

/// A store whose shard 1 refuses every append.
struct BrokenShard(MemoryStore);

impl StreamStore for BrokenShard {
    fn shard_count(&self) -> usize {
        self.0.shard_count()
    }
    fn append(
        &self,
        shard: usize,
        arrival_ms: i64,
        records: Vec<NewRecord>,
    ) -> Result<u64, (StoreError, Vec<NewRecord>)> {
        if shard == 1 {
            return Err((StoreError("the disk is full".into()), records));
        }
        self.0.append(shard, arrival_ms, records)
    }
    fn read_with(
        &self,
        shard: usize,
        from_offset: u64,
        max_records: usize,
        visit: &mut dyn FnMut(&StoredRecord),
    ) -> Result<ReadProgress, StoreError> {
        self.0.read_with(shard, from_offset, max_records, visit)
    }
    fn bounds(&self, shard: usize) -> Result<ShardBounds, StoreError> {
        self.0.bounds(shard)
    }
    fn offset_at_or_after(&self, shard: usize, timestamp_ms: i64) -> Result<u64, StoreError> {
        self.0.offset_at_or_after(shard, timestamp_ms)
    }
    fn trim(&self, shard: usize, bound: TrimBound) -> Result<u64, StoreError> {
        self.0.trim(shard, bound)
    }
    fn load_positions(&self, name: &str) -> Result<Option<Vec<u64>>, StoreError> {
        self.0.load_positions(name)
    }
    fn save_positions(&self, name: &str, positions: &[u64]) -> Result<(), StoreError> {
        self.0.save_positions(name, positions)
    }
    fn consumer_names(&self) -> Result<Vec<String>, StoreError> {
        self.0.consumer_names()
    }
}

#[test]
fn refused_entries_come_back_whole_and_accepted_ones_are_taken() {
    let config = StreamConfig::new("clicks", 2);
    let stream = Stream::new(config, Box::new(BrokenShard(MemoryStore::new(2)))).expect("valid");
    let mut entries: Vec<PutEntry> = (0..40)
        .map(|i| entry(&format!("user-{i}"), &format!("record-{i}")))
        .collect();
    entries.push(entry("", "no key"));
    let (results, back) = stream.put_returning(entries, 0);
    assert_eq!(back.len(), 41);
    let mut refused = 0;
    for (i, (result, entry)) in results.iter().zip(&back).enumerate() {
        match result {
            Ok((shard, _)) => {
                assert_eq!(*shard, 0);
                assert!(
                    entry.data.is_empty() && entry.partition_key.is_empty(),
                    "taken"
                );
            }
            Err(_) if i == 40 => assert_eq!(&entry.data[..], b"no key"),
            Err(_) => {
                refused += 1;
                assert_eq!(&*entry.partition_key, format!("user-{i}"));
                assert_eq!(entry.data, format!("record-{i}").as_bytes());
            }
        }
    }
    assert!(
        refused > 0 && refused < 40,
        "both shards were used: {refused}"
    );
}
