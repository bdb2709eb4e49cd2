//! Kinesis's partition-key → hash-key → shard mapping, computed exactly as AWS does: MD5 of the
//! key read as a 128-bit unsigned integer, and a new stream's hash space split into contiguous
//! equal ranges, one per shard.

use md5::{Digest, Md5};

/// The highest hash key, 2^128 − 1 (the last shard's `EndingHashKey`).
pub const MAX_HASH_KEY: u128 = u128::MAX;

/// AWS's pattern for an `ExplicitHashKey`, quoted in parse errors.
const EXPLICIT_HASH_KEY_PATTERN: &str = r"0|([1-9]\d{0,38})";

/// The hash key of a partition key: MD5 of its UTF-8 bytes as a big-endian unsigned integer.
pub fn hash_key(partition_key: &str) -> u128 {
    let digest: [u8; 16] = Md5::digest(partition_key.as_bytes()).into();
    u128::from_be_bytes(digest)
}

/// The shard id AWS prints for the shard at `index`: `shardId-000000000000`, `shardId-000000000001`, ….
pub fn shard_id(index: usize) -> String {
    format!("shardId-{index:012}")
}

/// Parses an `ExplicitHashKey`: a decimal `0|([1-9]\d{0,38})` no greater than 2^128 − 1.
pub fn parse_explicit_hash_key(text: &str) -> Result<u128, String> {
    let well_formed = !text.is_empty()
        && text.len() <= 39
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !well_formed {
        return Err(format!(
            "explicit hash key \"{text}\" must match the pattern {EXPLICIT_HASH_KEY_PATTERN}: \
             a decimal number without sign, spaces or leading zeros"
        ));
    }
    text.parse::<u128>().map_err(|_| {
        format!("explicit hash key {text} is out of range: it must be between 0 and {MAX_HASH_KEY} (2^128 - 1)")
    })
}

/// The hash-key ranges of a stream's shards, contiguous and covering 0 … 2^128 − 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardRanges {
    /// `starts[i]` is shard i's `StartingHashKey`; shard i ends one below `starts[i + 1]`
    /// (the last one at [`MAX_HASH_KEY`]). `starts[0]` is always 0.
    starts: Vec<u128>,
}

impl ShardRanges {
    /// The ranges of a new `shards`-shard stream: shard i starts at ⌊i·2^128/N⌋.
    /// A stream has at least one shard, so 0 is treated as 1.
    pub fn uniform(shards: usize) -> ShardRanges {
        let shards = shards.max(1) as u128;
        let (quotient, remainder) = two_pow_128_div_rem(shards);
        let starts = (0..shards)
            // i·2^128/N = i·q + i·r/N with i·r < N², so nothing overflows.
            .map(|i| i * quotient + (i * remainder) / shards)
            .collect();
        ShardRanges { starts }
    }

    /// How many shards the ranges split the hash space into.
    pub fn shard_count(&self) -> usize {
        self.starts.len()
    }

    /// The shard whose range contains `hash`.
    pub fn shard_for(&self, hash: u128) -> usize {
        // starts[0] == 0, so at least one start is ≤ hash.
        self.starts.partition_point(|&start| start <= hash) - 1
    }

    /// Shard `shard`'s (`StartingHashKey`, `EndingHashKey`), both inclusive.
    ///
    /// # Panics
    /// If `shard` is not below [`ShardRanges::shard_count`].
    pub fn range(&self, shard: usize) -> (u128, u128) {
        let start = self.starts[shard];
        let end = match self.starts.get(shard + 1) {
            Some(next_start) => next_start - 1,
            None => MAX_HASH_KEY,
        };
        (start, end)
    }
}

/// 2^128 divided by `divisor` (≥ 1): (⌊2^128/N⌋, 2^128 mod N). The quotient of N = 1, 2^128,
/// does not fit, so it is returned as 0 with remainder 1 — which still gives ⌊0·2^128/1⌋ = 0,
/// the only start a one-shard stream needs.
fn two_pow_128_div_rem(divisor: u128) -> (u128, u128) {
    if divisor == 1 {
        return (0, 1);
    }
    // 2^128 = MAX + 1 = (MAX / N)·N + (MAX % N) + 1.
    let quotient = MAX_HASH_KEY / divisor;
    let remainder = MAX_HASH_KEY % divisor + 1;
    if remainder == divisor {
        (quotient + 1, 0)
    } else {
        (quotient, remainder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that the ranges start at 0, end at 2^128 − 1, touch without gaps and differ in
    /// size by at most one.
    fn assert_contiguous_and_even(ranges: &ShardRanges, shards: usize) {
        assert_eq!(ranges.shard_count(), shards);
        assert_eq!(ranges.range(0).0, 0);
        assert_eq!(ranges.range(shards - 1).1, MAX_HASH_KEY);
        for shard in 1..shards {
            assert_eq!(ranges.range(shard).0, ranges.range(shard - 1).1 + 1);
        }
        let sizes: Vec<u128> = (0..shards)
            .map(|s| ranges.range(s).1 - ranges.range(s).0)
            .collect();
        let smallest = sizes.iter().min().copied().unwrap_or_default();
        let largest = sizes.iter().max().copied().unwrap_or_default();
        assert!(largest - smallest <= 1, "sizes {sizes:?}");
    }

    #[test]
    fn three_shards_match_the_aws_describe_stream_example() {
        let ranges = ShardRanges::uniform(3);
        assert_eq!(
            ranges.range(0),
            (0, 113427455640312821154458202477256070484)
        );
        assert_eq!(
            ranges.range(1),
            (
                113427455640312821154458202477256070485,
                226854911280625642308916404954512140969
            )
        );
        assert_eq!(
            ranges.range(2),
            (
                226854911280625642308916404954512140970,
                340282366920938463463374607431768211455
            )
        );
    }

    #[test]
    fn two_shards_split_at_two_to_the_127() {
        let ranges = ShardRanges::uniform(2);
        assert_eq!(ranges.range(0), (0, (1u128 << 127) - 1));
        assert_eq!(ranges.range(1), (1u128 << 127, MAX_HASH_KEY));
    }

    #[test]
    fn one_shard_covers_everything_and_zero_means_one() {
        assert_eq!(ShardRanges::uniform(1).range(0), (0, MAX_HASH_KEY));
        assert_eq!(ShardRanges::uniform(0), ShardRanges::uniform(1));
        assert_eq!(ShardRanges::uniform(1).shard_for(MAX_HASH_KEY), 0);
    }

    #[test]
    fn four_and_seven_shards_are_contiguous_and_start_at_floor_i_times_2_128_over_n() {
        // Starts computed with python3: [i * 2**128 // n for i in range(n)].
        let four = ShardRanges::uniform(4);
        assert_contiguous_and_even(&four, 4);
        assert_eq!(four.range(3).0, 255211775190703847597530955573826158592);
        let seven = ShardRanges::uniform(7);
        assert_contiguous_and_even(&seven, 7);
        assert_eq!(seven.range(1).0, 48611766702991209066196372490252601636);
        assert_eq!(seven.range(3).0, 145835300108973627198589117470757804909);
        assert_eq!(seven.range(6).0, 291670600217947254397178234941515609819);
        for shards in [5, 16, 100, 1000] {
            assert_contiguous_and_even(&ShardRanges::uniform(shards), shards);
        }
    }

    #[test]
    fn shard_for_maps_every_range_boundary_to_its_shard() {
        let ranges = ShardRanges::uniform(7);
        for shard in 0..7 {
            let (start, end) = ranges.range(shard);
            assert_eq!(ranges.shard_for(start), shard);
            assert_eq!(ranges.shard_for(end), shard);
            assert_eq!(ranges.shard_for(start + (end - start) / 2), shard);
        }
    }

    #[test]
    fn hash_key_is_md5_read_big_endian() {
        // Each value computed with: python3 -c "import hashlib;print(int(hashlib.md5(b'key').hexdigest(),16))"
        assert_eq!(hash_key("key"), 80325066489831061459460196859901989661);
        assert_eq!(hash_key("user-42"), 157107139746365290205026809710278036035);
        assert_eq!(hash_key(""), 281949768489412648962353822266799178366);
        // hashlib.md5('ünïcode'.encode()) — the UTF-8 bytes are hashed.
        assert_eq!(hash_key("ünïcode"), 272617993107095573161805975375084130852);
    }

    #[test]
    fn explicit_hash_keys_accept_aws_pattern_up_to_the_max() {
        assert_eq!(parse_explicit_hash_key("0"), Ok(0));
        assert_eq!(parse_explicit_hash_key("7"), Ok(7));
        assert_eq!(
            parse_explicit_hash_key("340282366920938463463374607431768211455"),
            Ok(MAX_HASH_KEY)
        );
    }

    #[test]
    fn explicit_hash_keys_reject_malformed_and_too_large_values() {
        for bad in ["", "00", "01", "-1", "+1", " 1", "1 ", "12a", "1e3", "１"] {
            let error = parse_explicit_hash_key(bad).expect_err(bad);
            assert!(error.contains("must match the pattern"), "{bad:?}: {error}");
        }
        // 2^128: 39 digits, matches the pattern, one over the max.
        let error =
            parse_explicit_hash_key("340282366920938463463374607431768211456").expect_err("2^128");
        assert!(error.contains("out of range"), "{error}");
        assert!(parse_explicit_hash_key("999999999999999999999999999999999999999").is_err());
        // 40 digits never match the pattern.
        let error = parse_explicit_hash_key("1000000000000000000000000000000000000000")
            .expect_err("40 digits");
        assert!(error.contains("must match the pattern"), "{error}");
    }

    #[test]
    fn shard_ids_are_padded_to_twelve_digits() {
        assert_eq!(shard_id(0), "shardId-000000000000");
        assert_eq!(shard_id(12), "shardId-000000000012");
    }
}
