//! Sequence numbers: 56 decimal digits, unique and increasing per shard.

use std::fmt;
use std::str::FromStr;

/// The fixed 17 digits every kin sequence number starts with (AWS's start with `49` too).
pub(super) const SEQUENCE_PREFIX: &str = "49000000000000000";
/// Offsets per shard in the numeric value: 10^20, more than `u64::MAX`.
const OFFSETS_PER_SHARD: u128 = 100_000_000_000_000_000_000;
/// Digits of the numeric value as printed (zero-padded): `u128::MAX` has 39.
const SEQUENCE_VALUE_DIGITS: usize = 39;

/// A record's sequence number, unique and strictly increasing within its shard.
///
/// Layout: the value is `shard · 10^20 + offset`, where `offset` counts the shard's records
/// from 0. It prints as 56 decimal digits, like AWS's: the prefix `49000000000000000`, then the
/// value zero-padded to 39 digits — so the last 20 digits are the offset and the 19 before them
/// the shard index, and string order, numeric order and (shard, offset) order all agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SequenceNumber(pub u128);

impl SequenceNumber {
    /// The sequence number of the record at `offset` in shard `shard` (below [`MAX_SHARDS`]).
    pub fn new(shard: usize, offset: u64) -> SequenceNumber {
        SequenceNumber(shard as u128 * OFFSETS_PER_SHARD + u128::from(offset))
    }

    /// The (shard, offset) this number was made from; `None` if kin cannot have issued it.
    pub fn shard_and_offset(self) -> Option<(usize, u64)> {
        let shard = usize::try_from(self.0 / OFFSETS_PER_SHARD).ok()?;
        let offset = u64::try_from(self.0 % OFFSETS_PER_SHARD).ok()?;
        Some((shard, offset))
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SEQUENCE_PREFIX}{:0width$}",
            self.0,
            width = SEQUENCE_VALUE_DIGITS
        )
    }
}

impl FromStr for SequenceNumber {
    type Err = String;

    fn from_str(text: &str) -> Result<SequenceNumber, String> {
        let value_digits = text.strip_prefix(SEQUENCE_PREFIX).filter(|rest| {
            rest.len() == SEQUENCE_VALUE_DIGITS && rest.bytes().all(|b| b.is_ascii_digit())
        });
        let Some(value_digits) = value_digits else {
            return Err(format!(
                "sequence number \"{text}\" was not issued by this stream: kin's sequence numbers are \
                 {} decimal digits starting with {SEQUENCE_PREFIX}",
                SEQUENCE_PREFIX.len() + SEQUENCE_VALUE_DIGITS
            ));
        };
        value_digits
            .parse::<u128>()
            .map(SequenceNumber)
            .map_err(|_| format!("sequence number \"{text}\" is out of range"))
    }
}
