//! Record types: the type language of schemas (`string`, `decimal(10,2)`, `list<T>`, structs, `?`).

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    String,
    /// 64-bit signed.
    Int,
    /// 64-bit IEEE float.
    Float,
    Bool,
    /// RFC 3339 string or epoch milliseconds in JSON.
    Timestamp,
    Date,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Bytes,
    List(Box<FieldType>),
    Struct(Vec<Field>),
}

/// A type with its nullability (`T?`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldType {
    pub ty: Type,
    pub nullable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
}

/// The record type of a stream or node: its ordered fields.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct RecordType {
    pub fields: Vec<Field>,
}

impl RecordType {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Looks a dotted path (`device.os`) up through nested structs.
    pub fn path(&self, path: &str) -> Option<&FieldType> {
        let mut parts = path.split('.');
        let mut current = &self.field(parts.next()?)?.ty;
        for part in parts {
            match &current.ty {
                Type::Struct(fields) => current = &fields.iter().find(|f| f.name == part)?.ty,
                _ => return None,
            }
        }
        Some(current)
    }

    /// Estimated size in bytes of one record encoded as a JSON object (see spec/reference.md).
    pub fn estimated_json_size(&self) -> u64 {
        struct_size(&self.fields)
    }
}

impl Type {
    pub const SCALAR_NAMES: &'static [&'static str] = &[
        "string",
        "int",
        "float",
        "bool",
        "timestamp",
        "date",
        "decimal(p,s)",
        "bytes",
        "list<T>",
    ];

    pub fn is_scalar(&self) -> bool {
        !matches!(self, Type::List(_) | Type::Struct(_))
    }
}

fn struct_size(fields: &[Field]) -> u64 {
    // {"name":value,...}: braces, and per field quotes, colon, comma.
    2 + fields
        .iter()
        .map(|f| f.name.len() as u64 + 4 + value_size(&f.ty.ty))
        .sum::<u64>()
}

/// Typical encoded size of a value: strings are assumed 24 characters, lists 3 elements.
fn value_size(ty: &Type) -> u64 {
    match ty {
        Type::String => 26,
        Type::Int => 10,
        Type::Float => 12,
        Type::Bool => 5,
        Type::Timestamp => 26,
        Type::Date => 12,
        Type::Decimal { precision, .. } => u64::from(*precision) + 2,
        Type::Bytes => 46,
        Type::List(item) => 2 + 3 * (value_size(&item.ty) + 1),
        Type::Struct(fields) => struct_size(fields),
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::Bool => f.write_str("bool"),
            Type::Timestamp => f.write_str("timestamp"),
            Type::Date => f.write_str("date"),
            Type::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            Type::Bytes => f.write_str("bytes"),
            Type::List(item) => write!(f, "list<{item}>"),
            Type::Struct(fields) => {
                f.write_str("struct<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{}", field.name, field.ty)?;
                }
                f.write_str(">")
            }
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.ty, if self.nullable { "?" } else { "" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_in_the_spec_language() {
        let device = Type::Struct(vec![
            Field {
                name: "os".into(),
                ty: FieldType {
                    ty: Type::String,
                    nullable: false,
                },
            },
            Field {
                name: "version".into(),
                ty: FieldType {
                    ty: Type::String,
                    nullable: true,
                },
            },
        ]);
        assert_eq!(device.to_string(), "struct<os:string,version:string?>");
        let list = Type::List(Box::new(FieldType {
            ty: Type::Decimal {
                precision: 10,
                scale: 2,
            },
            nullable: false,
        }));
        assert_eq!(list.to_string(), "list<decimal(10,2)>");
    }
}
