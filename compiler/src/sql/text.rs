//! Positions in SQL text: sqlparser's line/column ↔ byte offsets, and the map from the SQL kin
//! hands to DataFusion (window functions rewritten) back to the SQL the user wrote.

/// Byte offsets of line starts in one SQL text.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// The byte offset of a 1-based line and character column (sqlparser's `Location`).
    pub fn offset(&self, line: u64, column: u64) -> usize {
        let Some(&start) = self.starts.get((line as usize).saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        let rest = &rest[..rest.find('\n').unwrap_or(rest.len())];
        start
            + rest
                .char_indices()
                .nth((column as usize).saturating_sub(1))
                .map_or(rest.len(), |(i, _)| i)
    }
}

/// One replacement: `original[orig.0..orig.1]` became `rewritten[new.0..new.1]`.
#[derive(Clone, Debug)]
pub(crate) struct Edit {
    pub orig: (usize, usize),
    pub new: (usize, usize),
}

/// The SQL as rewritten for DataFusion, with the edits that map it back.
#[derive(Clone, Debug)]
pub(crate) struct Rewritten {
    pub sql: String,
    pub edits: Vec<Edit>,
}

impl Rewritten {
    /// Applies non-overlapping replacements `(start, end, text)` (in original offsets) to `original`.
    pub fn apply(original: &str, mut replacements: Vec<(usize, usize, String)>) -> Self {
        replacements.sort_by_key(|r| r.0);
        let mut sql = String::with_capacity(original.len() + 256);
        let mut edits = Vec::new();
        let mut at = 0;
        for (start, end, text) in replacements {
            if start < at {
                continue; // overlapping: keep the first
            }
            sql.push_str(&original[at..start]);
            let new_start = sql.len();
            sql.push_str(&text);
            edits.push(Edit {
                orig: (start, end),
                new: (new_start, sql.len()),
            });
            at = end;
        }
        sql.push_str(&original[at..]);
        Rewritten { sql, edits }
    }

    /// The original offset of a rewritten offset; inside a replacement, the replaced text's start.
    pub fn original(&self, offset: usize) -> usize {
        let mut delta: isize = 0;
        for e in &self.edits {
            if offset < e.new.0 {
                break;
            }
            if offset < e.new.1 {
                return e.orig.0;
            }
            delta = e.orig.1 as isize - e.new.1 as isize;
        }
        (offset as isize + delta).max(0) as usize
    }

    /// Whether a rewritten offset lies inside kin's replacement text.
    pub fn in_replacement(&self, offset: usize) -> Option<&Edit> {
        self.edits
            .iter()
            .find(|e| e.new.0 <= offset && offset < e.new.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_rewritten_offsets_back() {
        let r = Rewritten::apply(
            "SELECT a FROM T(x) WHERE b",
            vec![(14, 18, "(SELECT * FROM x) AS x".into())],
        );
        assert_eq!(r.sql, "SELECT a FROM (SELECT * FROM x) AS x WHERE b");
        assert_eq!(r.original(7), 7);
        assert_eq!(r.original(20), 14);
        let where_at = r.sql.find("WHERE").unwrap_or(0);
        assert_eq!(r.original(where_at), "SELECT a FROM T(x) ".len());
        let lines = Lines::new("ab\ncdé\n");
        assert_eq!(lines.offset(2, 3), 5);
        assert_eq!(lines.offset(2, 4), 7);
    }
}
