//! Rows as ClickHouse's `RowBinary` format, which every release from 18.16
//! on reads: each row's values back to back, in column order, with no
//! names and no text to parse. Integers and floats are little-endian,
//! strings a LEB128 length and the bytes, `Nullable` a flag byte (1 for
//! NULL) before the value, and `Array` a LEB128 count before the items.
//!
//! Since the bytes carry no types, each value is checked against the type
//! its table declares for the column ([`Columns`]): a struct that does
//! not match its table is refused with the column's name, never written as
//! garbage.

use serde::Serialize;
use serde::ser::{self, Impossible};

/// A table's columns and their types, from a `name Type, name Type` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns(Vec<(String, String)>);

impl Columns {
    /// Reads a column list such as a schema's `columns`; commas inside a
    /// type's parentheses do not split.
    pub fn parse(list: &str) -> Columns {
        let mut out = Vec::new();
        let (mut depth, mut start) = (0usize, 0usize);
        let mut push = |part: &str| {
            let part = part.trim();
            if let Some((name, ty)) = part.split_once(char::is_whitespace) {
                out.push((name.to_owned(), ty.trim().to_owned()));
            }
        };
        for (i, c) in list.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    push(&list[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        push(&list[start..]);
        Columns(out)
    }

    /// The names, comma-separated, for the `INSERT`.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
        names.join(", ")
    }
}

/// Why a row could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

/// Appends `row`, a struct whose fields are `columns` in order, to `out`.
pub fn write_row<T: Serialize>(out: &mut Vec<u8>, columns: &Columns, row: &T) -> Result<(), Error> {
    row.serialize(RowWriter { out, columns })
}

fn leb128(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct RowWriter<'a> {
    out: &'a mut Vec<u8>,
    columns: &'a Columns,
}

/// Writes one column's value, checking it against the column's type.
struct Value<'a> {
    out: &'a mut Vec<u8>,
    column: &'a str,
    ty: &'a str,
}

impl Value<'_> {
    fn expect(&self, want: &str) -> Result<(), Error> {
        if self.ty == want {
            Ok(())
        } else {
            Err(Error(format!(
                "column {} is {}, but the row holds {want}",
                self.column, self.ty
            )))
        }
    }
}

/// The type inside `wrapper(…)`, if `ty` is one.
fn inner<'t>(ty: &'t str, wrapper: &str) -> Option<&'t str> {
    ty.strip_prefix(wrapper)
        .and_then(|t| t.strip_prefix('('))
        .and_then(|t| t.strip_suffix(')'))
}

macro_rules! fixed {
    ($($method:ident: $t:ty => $name:literal),* $(,)?) => {
        $(fn $method(self, v: $t) -> Result<(), Error> {
            self.expect($name)?;
            self.out.extend_from_slice(&v.to_le_bytes());
            Ok(())
        })*
    };
}

/// Methods for values a row or column cannot hold: each fails with
/// `self.$why()`.
macro_rules! refusing {
    ($why:ident: $($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), Error> {
            Err(self.$why())
        })*
    };
}

/// The compound forms neither a row nor a column takes, failing alike.
macro_rules! refusing_compounds {
    ($why:ident) => {
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<(), Error> {
            Err(self.$why())
        }

        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
            Err(self.$why())
        }

        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Error> {
            Err(self.$why())
        }

        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err(self.$why())
        }

        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
            Err(self.$why())
        }

        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err(self.$why())
        }
    };
}

impl<'a> ser::Serializer for Value<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Items<'a>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fixed! {
        serialize_i8: i8 => "Int8",
        serialize_i16: i16 => "Int16",
        serialize_i32: i32 => "Int32",
        serialize_i64: i64 => "Int64",
        serialize_u8: u8 => "UInt8",
        serialize_u16: u16 => "UInt16",
        serialize_u32: u32 => "UInt32",
        serialize_u64: u64 => "UInt64",
        serialize_f32: f32 => "Float32",
        serialize_f64: f64 => "Float64",
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.expect("UInt8")?;
        self.out.push(u8::from(v));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.serialize_bytes(v.as_bytes())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.expect("String")?;
        leb128(self.out, v.len() as u64);
        self.out.extend_from_slice(v);
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Error> {
        if inner(self.ty, "Nullable").is_none() {
            return self.expect("Nullable(…)");
        }
        self.out.push(1);
        Ok(())
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        let Some(ty) = inner(self.ty, "Nullable") else {
            return self.expect("Nullable(…)");
        };
        self.out.push(0);
        value.serialize(Value {
            out: self.out,
            column: self.column,
            ty,
        })
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Items<'a>, Error> {
        let Some(ty) = inner(self.ty, "Array") else {
            return Err(Error(format!(
                "column {} is {}, but the row holds a list",
                self.column, self.ty
            )));
        };
        let Some(len) = len else {
            return Err(Error(format!(
                "column {}: a list of unknown length",
                self.column
            )));
        };
        leb128(self.out, len as u64);
        Ok(Items {
            out: self.out,
            column: self.column,
            ty,
        })
    }

    refusing! {
        refuse:
        serialize_char(char),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(self.refuse())
    }

    refusing_compounds!(refuse);
}

impl Value<'_> {
    fn refuse(&self) -> Error {
        Error(format!(
            "column {}: this kind of value has no RowBinary form here",
            self.column
        ))
    }
}

/// An array's items.
struct Items<'a> {
    out: &'a mut Vec<u8>,
    column: &'a str,
    ty: &'a str,
}

impl ser::SerializeSeq for Items<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Value {
            out: self.out,
            column: self.column,
            ty: self.ty,
        })
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// The row itself: a struct whose fields are the columns, in order.
struct Fields<'a> {
    out: &'a mut Vec<u8>,
    columns: &'a Columns,
    next: usize,
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let Some((name, ty)) = self.columns.0.get(self.next) else {
            return Err(Error(format!("field {key} is past the table's columns")));
        };
        if name != key {
            return Err(Error(format!(
                "field {key} stands where the table has column {name}"
            )));
        }
        self.next += 1;
        value.serialize(Value {
            out: self.out,
            column: name,
            ty,
        })
    }

    fn end(self) -> Result<(), Error> {
        match self.columns.0.get(self.next) {
            Some((name, _)) => Err(Error(format!("the row has no field for column {name}"))),
            None => Ok(()),
        }
    }
}

impl<'a> ser::Serializer for RowWriter<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, Error> {
        Ok(Fields {
            out: self.out,
            columns: self.columns,
            next: 0,
        })
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    refusing! {
        refuse:
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_f32(f32), serialize_f64(f64), serialize_char(char),
        serialize_str(&str), serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(self.refuse())
    }

    refusing_compounds!(refuse);
}

impl RowWriter<'_> {
    fn refuse(&self) -> Error {
        Error("a row must be a struct whose fields are the table's columns".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Span<'a> {
        id: &'a str,
        parent: Option<&'a str>,
        at: i64,
        error: u8,
        code: Option<i32>,
        bins: Vec<i32>,
    }

    fn columns() -> Columns {
        Columns::parse(
            "id String, parent Nullable(String), at Int64, error UInt8, \
             code Nullable(Int32), bins Array(Int32)",
        )
    }

    #[test]
    fn a_row_is_its_values_back_to_back_in_column_order() {
        let mut out = Vec::new();
        let row = Span {
            id: "ab",
            parent: None,
            at: -2,
            error: 1,
            code: Some(200),
            bins: vec![1, -1],
        };
        write_row(&mut out, &columns(), &row).expect("written");
        let mut want = vec![2, b'a', b'b', 1];
        want.extend_from_slice(&(-2i64).to_le_bytes());
        want.push(1);
        want.push(0);
        want.extend_from_slice(&200i32.to_le_bytes());
        want.push(2);
        want.extend_from_slice(&1i32.to_le_bytes());
        want.extend_from_slice(&(-1i32).to_le_bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn long_strings_take_a_multi_byte_length() {
        let mut out = Vec::new();
        leb128(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }

    #[test]
    fn a_row_that_does_not_match_its_table_is_refused_by_column() {
        let row = Span {
            id: "x",
            parent: Some("p"),
            at: 1,
            error: 0,
            code: None,
            bins: Vec::new(),
        };
        let mut out = Vec::new();
        let wrong = Columns::parse("id String, parent Nullable(String), at Int32");
        let e = write_row(&mut out, &wrong, &row).expect_err("Int32 is not i64");
        assert!(e.to_string().contains("column at is Int32"), "{e}");
        let short = Columns::parse("id String, parent String");
        let e = write_row(&mut out, &short, &row).expect_err("not nullable");
        assert!(e.to_string().contains("column parent"), "{e}");
        let renamed = Columns::parse("name String");
        let e = write_row(&mut out, &renamed, &row).expect_err("other name");
        assert!(e.to_string().contains("column name"), "{e}");
        let mut longer = columns();
        longer.0.push(("extra".into(), "String".into()));
        let e = write_row(&mut out, &longer, &row).expect_err("missing field");
        assert!(e.to_string().contains("column extra"), "{e}");
    }

    #[test]
    fn types_with_commas_stay_whole() {
        let c = Columns::parse("a String, b AggregateFunction(sum, UInt64),  c Int64");
        assert_eq!(c.names(), "a, b, c");
        assert_eq!(c.0[1].1, "AggregateFunction(sum, UInt64)");
    }
}
