//! Per schema: a typed record struct that borrows from the record's bytes, its decoder (JSON
//! through serde, CSV by column), a generator of random valid records, and its Arrow schema.

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::ast::{RecordFormat, Schema};
use crate::ir::types::{Field, FieldType, RecordType, Type};
use crate::sql::arrow_type;

/// A Rust identifier for a field: the name itself when it is one, else `field_N`.
pub fn field_ident(name: &str, index: usize) -> syn::Ident {
    match syn::parse_str::<syn::Ident>(name) {
        Ok(ident) => ident,
        Err(_) => format_ident!("field_{}", index),
    }
}

/// `Click` → `Click`; `page_views` → `PageViews`.
pub fn type_ident(name: &str) -> syn::Ident {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert(0, 'R');
    }
    format_ident!("{}", out)
}

/// The snake-case function prefix of a name: `page-views` → `page_views`.
pub fn fn_ident(prefix: &str, name: &str) -> syn::Ident {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format_ident!("{}_{}", prefix, clean)
}

fn has_strings(fields: &[Field]) -> bool {
    fields.iter().any(|f| type_has_strings(&f.ty.ty))
}

fn type_has_strings(ty: &Type) -> bool {
    match ty {
        Type::String => true,
        Type::List(item) => type_has_strings(&item.ty),
        Type::Struct(fields) => has_strings(fields),
        _ => false,
    }
}

/// A record struct (and its nested structs) for `fields`, named `name`.
pub fn record_structs(name: &syn::Ident, fields: &[Field], out: &mut Vec<TokenStream>) {
    let lifetime = has_strings(fields).then(|| quote!(<'a>));
    let mut members = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let ident = field_ident(&field.name, index);
        let original = &field.name;
        let ty = rust_type(name, field, &field.ty, out);
        let borrow = borrows(&field.ty).then(|| quote!(#[serde(borrow)]));
        members.push(quote! {
            #[serde(rename = #original)]
            #borrow
            pub #ident: #ty
        });
    }
    out.push(quote! {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        pub struct #name #lifetime {
            #(#members,)*
        }
    });
}

/// Whether serde should borrow the field from the input (`Cow<str>` or a struct with strings).
fn borrows(ty: &FieldType) -> bool {
    matches!(&ty.ty, Type::String) || matches!(&ty.ty, Type::Struct(f) if has_strings(f))
}

fn rust_type(
    owner: &syn::Ident,
    field: &Field,
    ty: &FieldType,
    out: &mut Vec<TokenStream>,
) -> TokenStream {
    let inner = match &ty.ty {
        Type::String => quote!(std::borrow::Cow<'a, str>),
        Type::Int => quote!(i64),
        Type::Float => quote!(f64),
        Type::Bool => quote!(bool),
        Type::Timestamp => quote!(kin_runtime::records::Timestamp),
        Type::Date => quote!(kin_runtime::records::Date),
        Type::Decimal { precision, scale } => {
            let (p, s) = (
                Literal::u8_unsuffixed(*precision),
                Literal::u8_unsuffixed(*scale),
            );
            quote!(kin_runtime::records::Decimal<#p, #s>)
        }
        Type::Bytes => quote!(kin_runtime::records::Bytes),
        Type::List(item) => {
            let item = rust_type(owner, field, item, out);
            quote!(Vec<#item>)
        }
        Type::Struct(fields) => {
            let nested = format_ident!("{}{}", owner, type_ident(&field.name));
            record_structs(&nested, fields, out);
            if has_strings(fields) {
                quote!(#nested<'a>)
            } else {
                quote!(#nested)
            }
        }
    };
    if ty.nullable {
        quote!(Option<#inner>)
    } else {
        inner
    }
}

/// `impl Name { fn decode(data) }` for the schema's format.
pub fn decoder(name: &syn::Ident, schema: &Schema, record: &RecordType) -> TokenStream {
    let lifetime = has_strings(&record.fields).then(|| quote!(<'a>));
    let body = match schema.format.as_ref().map(|f| f.value) {
        Some(RecordFormat::Csv) => csv_decoder(name, schema, record),
        _ => quote! {
            // One UTF-8 check of the whole record, instead of one per string in it.
            let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
            serde_json::from_str(text).map_err(|e| e.to_string())
        },
    };
    let data_lifetime = if lifetime.is_some() {
        quote!(&'a [u8])
    } else {
        quote!(&[u8])
    };
    quote! {
        impl #lifetime #name #lifetime {
            /// Decodes and checks one record.
            pub fn decode(data: #data_lifetime) -> Result<Self, String> {
                #body
            }
        }
    }
}

/// The name of a flat schema's field table (`FIELDS_CLICK`).
pub fn fields_ident(schema: &str) -> syn::Ident {
    format_ident!("{}", fn_ident("fields", schema).to_string().to_uppercase())
}

/// `static FIELDS_NAME: &[Field]` for a JSON schema whose fields are all of a type
/// `kin_runtime::flat_json` reads (scalars, at most 64 of them): producers check its records
/// with that one-pass reader instead of serde. `None` for other schemas.
pub fn flat_fields(schema: &Schema, record: &RecordType) -> Option<TokenStream> {
    if schema.format.as_ref().map(|f| f.value) == Some(RecordFormat::Csv)
        || record.fields.len() > 64
    {
        return None;
    }
    let kind = quote!(kin_runtime::flat_json::Kind);
    let fields = record
        .fields
        .iter()
        .map(|field| {
            let ty = match &field.ty.ty {
                Type::String => quote!(#kind::String),
                Type::Int => quote!(#kind::Int),
                Type::Float => quote!(#kind::Float),
                Type::Bool => quote!(#kind::Bool),
                Type::Timestamp => quote!(#kind::Timestamp),
                Type::Date => quote!(#kind::Date),
                Type::Bytes => quote!(#kind::Bytes),
                Type::Decimal { .. } | Type::List(_) | Type::Struct(_) => return None,
            };
            let (name, nullable) = (&field.name, field.ty.nullable);
            Some(quote! {
                kin_runtime::flat_json::Field::new(#name, #ty, #nullable)
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let ident = fields_ident(&schema.name.value);
    Some(quote! {
        /// The schema's fields, as producers check its records (`kin_runtime::flat_json`); a
        /// static, so that the field maps of its records name it by one address.
        static #ident: &[kin_runtime::flat_json::Field<'static>] = &[#(#fields),*];
    })
}

fn csv_decoder(name: &syn::Ident, schema: &Schema, record: &RecordType) -> TokenStream {
    let delimiter = schema
        .delimiter
        .as_ref()
        .and_then(|d| d.value.chars().next())
        .unwrap_or(',');
    let count = record.fields.len();
    let mut members = Vec::new();
    for (index, field) in record.fields.iter().enumerate() {
        let ident = field_ident(&field.name, index);
        let label = format!("column {} ({})", index + 1, field.name);
        let parse = csv_parse(&field.ty.ty);
        let value = if field.ty.nullable {
            quote! {
                match columns.next() {
                    Some(text) if text.is_empty() => None,
                    Some(text) => Some(#parse.map_err(|e| format!("{}: {}", #label, e))?),
                    None => None,
                }
            }
        } else {
            quote! {
                {
                    let text = columns.next().unwrap_or_default();
                    #parse.map_err(|e| format!("{}: {}", #label, e))?
                }
            }
        };
        members.push(quote!(#ident: #value));
    }
    quote! {
        let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
        let columns = kin_runtime::records::split_csv(text, #delimiter)?;
        if columns.len() != #count {
            return Err(format!("expected {} columns, found {}", #count, columns.len()));
        }
        let mut columns = columns.into_iter();
        Ok(#name { #(#members,)* })
    }
}

/// An expression of type `Result<T, String>` reading `text` (a `Cow<str>`) as a CSV column.
fn csv_parse(ty: &Type) -> TokenStream {
    match ty {
        Type::String => quote!(Ok::<_, String>(text)),
        Type::Int => quote!(kin_runtime::records::parse_int(&text)),
        Type::Float => quote!(kin_runtime::records::parse_float(&text)),
        Type::Bool => quote!(kin_runtime::records::parse_bool(&text)),
        Type::Timestamp => quote!(kin_runtime::records::parse_timestamp(&text)),
        Type::Date => quote!(kin_runtime::records::parse_date(&text)),
        Type::Decimal { precision, scale } => {
            let (p, s) = (
                Literal::u8_unsuffixed(*precision),
                Literal::u8_unsuffixed(*scale),
            );
            quote!(kin_runtime::records::check_decimal(&text, #p, #s)
                .map(|()| kin_runtime::records::Decimal::<#p, #s>(text.to_string())))
        }
        Type::Bytes => quote!(kin_runtime::records::parse_bytes(&text)),
        // The checker allows only scalar columns in CSV schemas.
        Type::List(_) | Type::Struct(_) => {
            quote!(Err::<(), String>("not a CSV column type".to_string()))
        }
    }
}

/// What a generator knows besides the types: the event-time field, how much disorder to give
/// it, and string values the pipeline's SQL compares fields with (so filters match some rows).
pub struct Synthetic<'a> {
    pub event_time: Option<&'a str>,
    pub disorder_ms: i64,
    pub literals: &'a std::collections::BTreeMap<String, Vec<String>>,
}

/// `fn generate_NAME(synth, out)`: one random record of the schema, newline included.
pub fn generator(
    fn_name: &syn::Ident,
    schema: &Schema,
    record: &RecordType,
    literals: &std::collections::BTreeMap<String, Vec<String>>,
) -> TokenStream {
    let context = Synthetic {
        event_time: schema.event_time.as_ref().map(|e| e.value.as_str()),
        disorder_ms: schema.watermark.as_ref().map_or(0, |w| w.value.0 / 2) as i64,
        literals,
    };
    match schema.format.as_ref().map(|f| f.value) {
        Some(RecordFormat::Csv) => {
            let delimiter = schema
                .delimiter
                .as_ref()
                .map_or(",".to_string(), |d| d.value.clone());
            let columns = record.fields.iter().map(|f| {
                let value = json_value(f, &context, true);
                quote!(kin_runtime::records::csv_column(&#value, #delimiter))
            });
            quote! {
                pub fn #fn_name(s: &mut kin_runtime::producer::Synth, out: &mut Vec<u8>) {
                    let columns: Vec<String> = Vec::from([#(#columns),*]);
                    out.extend_from_slice(columns.join(#delimiter).as_bytes());
                    out.push(b'\n');
                }
            }
        }
        _ => {
            let object = json_object(&record.fields, &context, true);
            quote! {
                pub fn #fn_name(s: &mut kin_runtime::producer::Synth, out: &mut Vec<u8>) {
                    let record = #object;
                    let _ = serde_json::to_writer(&mut *out, &record);
                    out.push(b'\n');
                }
            }
        }
    }
}

fn json_object(fields: &[Field], context: &Synthetic, top: bool) -> TokenStream {
    let inserts = fields.iter().map(|f| {
        let name = &f.name;
        let value = json_value(f, context, top);
        quote!(map.insert(#name.to_string(), #value);)
    });
    quote! {{
        let mut map = serde_json::Map::new();
        #(#inserts)*
        serde_json::Value::Object(map)
    }}
}

fn json_value(field: &Field, context: &Synthetic, top: bool) -> TokenStream {
    let value = scalar_value(field, &field.ty.ty, context, top);
    if field.ty.nullable {
        quote!(if s.null() { serde_json::Value::Null } else { #value })
    } else {
        value
    }
}

fn scalar_value(field: &Field, ty: &Type, context: &Synthetic, top: bool) -> TokenStream {
    let name = &field.name;
    let is_event_time = top && context.event_time == Some(name.as_str());
    match ty {
        Type::String => {
            let literals = context.literals.get(name).cloned().unwrap_or_default();
            quote!(serde_json::Value::from(s.string_or(#name, &[#(#literals),*], 50)))
        }
        Type::Int => quote!(serde_json::Value::from(s.int(0, 1000))),
        Type::Float => quote!(serde_json::Value::from(s.float(0.0, 100.0))),
        Type::Bool => quote!(serde_json::Value::from(s.bool())),
        Type::Timestamp if is_event_time => {
            let disorder = context.disorder_ms;
            quote!(serde_json::Value::from(kin_runtime::records::format_timestamp(s.event_time(#disorder))))
        }
        Type::Timestamp => quote!(serde_json::Value::from(
            kin_runtime::records::format_timestamp(s.now_ms)
        )),
        Type::Date => quote!(serde_json::Value::from(kin_runtime::records::format_date(
            s.now_ms
        ))),
        Type::Decimal { precision, scale } => {
            let (p, sc) = (
                Literal::u8_unsuffixed(*precision),
                Literal::u8_unsuffixed(*scale),
            );
            quote!(serde_json::Value::from(s.decimal(#p, #sc)))
        }
        Type::Bytes => quote!(serde_json::Value::from("a2lu")),
        Type::List(item) => {
            let item = json_value(
                &Field {
                    name: field.name.clone(),
                    ty: (**item).clone(),
                },
                context,
                false,
            );
            quote!(serde_json::Value::Array(Vec::from([#item, #item])))
        }
        Type::Struct(fields) => json_object(fields, context, false),
    }
}

/// An expression building the Arrow schema of `record`.
pub fn arrow_schema(record: &RecordType) -> TokenStream {
    let fields = record.fields.iter().map(|f| arrow_field(&f.name, &f.ty));
    quote! {
        std::sync::Arc::new(kin_runtime::arrow::datatypes::Schema::new(Vec::from([#(#fields),*])))
    }
}

fn arrow_field(name: &str, ty: &FieldType) -> TokenStream {
    let data_type = data_type(&arrow_type(&ty.ty));
    let nullable = ty.nullable;
    quote!(kin_runtime::arrow::datatypes::Field::new(#name, #data_type, #nullable))
}

fn data_type(ty: &DataType) -> TokenStream {
    let dt = quote!(kin_runtime::arrow::datatypes::DataType);
    match ty {
        DataType::Utf8 => quote!(#dt::Utf8),
        DataType::Int64 => quote!(#dt::Int64),
        DataType::Float64 => quote!(#dt::Float64),
        DataType::Boolean => quote!(#dt::Boolean),
        DataType::Timestamp(TimeUnit::Millisecond, None) => {
            quote!(#dt::Timestamp(kin_runtime::arrow::datatypes::TimeUnit::Millisecond, None))
        }
        DataType::Date32 => quote!(#dt::Date32),
        DataType::Decimal128(p, s) => quote!(#dt::Decimal128(#p, #s)),
        DataType::Binary => quote!(#dt::Binary),
        DataType::List(item) => {
            let inner = data_type(item.data_type());
            let nullable = item.is_nullable();
            quote!(#dt::List(std::sync::Arc::new(
                kin_runtime::arrow::datatypes::Field::new("item", #inner, #nullable)
            )))
        }
        DataType::Struct(fields) => {
            let fields = fields.iter().map(|f| {
                let (name, inner, nullable) = (f.name(), data_type(f.data_type()), f.is_nullable());
                quote!(kin_runtime::arrow::datatypes::Field::new(#name, #inner, #nullable))
            });
            quote!(#dt::Struct(kin_runtime::arrow::datatypes::Fields::from(Vec::from([#(#fields),*]))))
        }
        // arrow_type produces only the types above.
        other => {
            let text = format!("{other:?}");
            quote!(compile_error!(
                concat!("kin cannot generate Arrow type ", #text)
            ))
        }
    }
}
