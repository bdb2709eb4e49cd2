//! The type language of schema fields: `string`, `int`, `decimal(10,2)`, `list<T>`,
//! `struct<a:T,b:U>` and a trailing `?` for nullable.

use crate::ir::types::{Field, FieldType, Type};

/// Parses a type as written in a schema. The error says what was expected, for people.
pub fn parse_type(text: &str) -> Result<FieldType, String> {
    let mut parser = Parser {
        text,
        pos: 0,
        depth: 0,
    };
    let ty = parser.field_type()?;
    parser.skip_ws();
    if parser.pos < text.len() {
        return Err(format!(
            "unexpected `{}` after the type `{}`",
            &text[parser.pos..],
            ty
        ));
    }
    Ok(ty)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    /// How many `list<`/`struct<` are open: bounded, so that no input can exhaust the stack.
    depth: usize,
}

/// The deepest nesting of `list<…>` and `struct<…>` a type may have.
const MAX_DEPTH: usize = 32;

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.rest().starts_with(|c: char| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str, context: &str) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected `{token}` {context}"))
        }
    }

    fn word(&mut self) -> &str {
        self.skip_ws();
        let start = self.pos;
        while self
            .rest()
            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn number(&mut self, what: &str) -> Result<u8, String> {
        let word = self.word();
        word.parse::<u8>()
            .map_err(|_| format!("expected the {what} of the decimal as a number, found `{word}`"))
    }

    fn field_type(&mut self) -> Result<FieldType, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "the type is nested more than {MAX_DEPTH} levels deep"
            ));
        }
        let ty = self.ty()?;
        let nullable = self.eat("?");
        self.depth -= 1;
        Ok(FieldType { ty, nullable })
    }

    fn ty(&mut self) -> Result<Type, String> {
        let word = self.word().to_string();
        Ok(match word.as_str() {
            "string" => Type::String,
            "int" => Type::Int,
            "float" => Type::Float,
            "bool" => Type::Bool,
            "timestamp" => Type::Timestamp,
            "date" => Type::Date,
            "bytes" => Type::Bytes,
            "decimal" => {
                self.expect(
                    "(",
                    "after `decimal`: write `decimal(precision,scale)`, e.g. `decimal(10,2)`",
                )?;
                let precision = self.number("precision")?;
                self.expect(
                    ",",
                    "between the precision and the scale, e.g. `decimal(10,2)`",
                )?;
                let scale = self.number("scale")?;
                self.expect(")", "to close `decimal(`")?;
                Type::Decimal { precision, scale }
            }
            "list" => {
                self.expect("<", "after `list`: write `list<T>`, e.g. `list<string>`")?;
                let item = self.field_type()?;
                self.expect(">", "to close `list<`")?;
                Type::List(Box::new(item))
            }
            "struct" => {
                self.expect("<", "after `struct`: write `struct<name:T,...>`")?;
                let mut fields = Vec::new();
                loop {
                    let name = self.word().to_string();
                    if name.is_empty() {
                        return Err("expected a field name inside `struct<…>`".to_string());
                    }
                    self.expect(":", "after a struct field's name")?;
                    fields.push(Field {
                        name,
                        ty: self.field_type()?,
                    });
                    if !self.eat(",") {
                        break;
                    }
                }
                self.expect(">", "to close `struct<`")?;
                Type::Struct(fields)
            }
            "" => return Err("expected a type".to_string()),
            other => return Err(unknown_type_message(other)),
        })
    }
}

fn unknown_type_message(word: &str) -> String {
    format!("`{word}` is not a type")
}

/// The help line for an unknown type name: a close built-in name or a known alias.
pub fn type_help(text: &str) -> String {
    let head: String = text
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let alias = match head.to_ascii_lowercase().as_str() {
        "integer" | "long" | "bigint" | "int64" | "i64" | "int32" | "smallint" | "number" => {
            Some("int")
        }
        "double" | "real" | "f64" | "float64" | "numeric_float" => Some("float"),
        "boolean" => Some("bool"),
        "str" | "text" | "varchar" | "char" => Some("string"),
        "datetime" | "timestamptz" | "time" => Some("timestamp"),
        "numeric" => Some("decimal(p,s)"),
        "binary" | "blob" => Some("bytes"),
        "array" | "vec" => Some("list<T>"),
        "map" | "object" | "record" => Some("struct<name:T,...> or a nested mapping"),
        _ => None,
    };
    let names = [
        "string",
        "int",
        "float",
        "bool",
        "timestamp",
        "date",
        "decimal",
        "bytes",
        "list",
        "struct",
    ];
    match alias.or_else(|| crate::diagnostic::nearest(&head, names)) {
        Some(suggestion) => format!(
            "did you mean `{suggestion}`? types are: {}",
            Type::SCALAR_NAMES.join(", ")
        ),
        None => format!(
            "types are: {}, or a nested mapping for a struct",
            Type::SCALAR_NAMES.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        for text in [
            "string",
            "int?",
            "decimal(10,2)",
            "list<string>",
            "struct<os:string,version:string?>",
            "list<struct<a:int>>?",
        ] {
            assert_eq!(
                parse_type(text).map(|t| t.to_string()),
                Ok(text.to_string())
            );
        }
    }

    #[test]
    fn rejects_with_reasons() {
        assert!(parse_type("integer").unwrap_err().contains("not a type"));
        assert!(parse_type("decimal(10)").unwrap_err().contains("`,`"));
        assert!(parse_type("list<string").unwrap_err().contains("close"));
        assert!(parse_type("string extra").is_err());
        assert!(type_help("integer").contains("`int`"));
        let deep = format!("{}int{}", "list<".repeat(10_000), ">".repeat(10_000));
        assert!(parse_type(&deep).unwrap_err().contains("nested"));
    }
}
