//! How a stored type and the engine type it keeps convert: `Convert`, its impls for the
//! plain values and containers stored types are made of, and the macros that declare a
//! stored struct or enum field by field with both conversions.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use mercato_engine::inventory::Timestamp;
use rust_decimal::Decimal;

/// A stored type's conversions with the in-memory type `E` it keeps: from a borrowed value
/// when a record or part is written, into an owned one when it is read.
pub trait Convert<E>: Sized {
    fn from_engine(value: &E) -> Self;
    fn into_engine(self) -> E;
}

/// Values stored as they are held.
macro_rules! same {
    ($($ty:ty),* $(,)?) => {
        $(impl Convert<$ty> for $ty {
            fn from_engine(value: &$ty) -> Self {
                value.clone()
            }
            fn into_engine(self) -> $ty {
                self
            }
        })*
    };
}

same!(String, u8, u16, u32, u64, i64, bool, f64, NaiveDate, Decimal, [u8; 32]);

impl Convert<Arc<str>> for String {
    fn from_engine(value: &Arc<str>) -> Self {
        value.as_ref().to_owned()
    }
    fn into_engine(self) -> Arc<str> {
        Arc::from(self)
    }
}

impl Convert<Timestamp> for i64 {
    fn from_engine(value: &Timestamp) -> Self {
        value.0
    }
    fn into_engine(self) -> Timestamp {
        Timestamp(self)
    }
}

impl<S: Convert<E>, E> Convert<Vec<E>> for Vec<S> {
    fn from_engine(value: &Vec<E>) -> Self {
        value.iter().map(S::from_engine).collect()
    }
    fn into_engine(self) -> Vec<E> {
        self.into_iter().map(S::into_engine).collect()
    }
}

impl<S: Convert<E>, E> Convert<Option<E>> for Option<S> {
    fn from_engine(value: &Option<E>) -> Self {
        value.as_ref().map(S::from_engine)
    }
    fn into_engine(self) -> Option<E> {
        self.map(S::into_engine)
    }
}

impl<S: Convert<E>, E> Convert<Box<E>> for Box<S> {
    fn from_engine(value: &Box<E>) -> Self {
        Box::new(S::from_engine(value))
    }
    fn into_engine(self) -> Box<E> {
        Box::new((*self).into_engine())
    }
}

impl<A: Convert<EA>, B: Convert<EB>, EA, EB> Convert<(EA, EB)> for (A, B) {
    fn from_engine(value: &(EA, EB)) -> Self {
        (A::from_engine(&value.0), B::from_engine(&value.1))
    }
    fn into_engine(self) -> (EA, EB) {
        (self.0.into_engine(), self.1.into_engine())
    }
}

impl<S: Convert<E>, E> Convert<BTreeMap<String, E>> for BTreeMap<String, S> {
    fn from_engine(value: &BTreeMap<String, E>) -> Self {
        value.iter().map(|(key, value)| (key.clone(), S::from_engine(value))).collect()
    }
    fn into_engine(self) -> BTreeMap<String, E> {
        self.into_iter().map(|(key, value)| (key, value.into_engine())).collect()
    }
}

/// A small map the engine keeps as a sorted vector is stored as the map it is.
impl<S: Convert<E>, E> Convert<litemap::LiteMap<String, E>> for BTreeMap<String, S> {
    fn from_engine(value: &litemap::LiteMap<String, E>) -> Self {
        value.iter().map(|(key, value)| (key.clone(), S::from_engine(value))).collect()
    }
    fn into_engine(self) -> litemap::LiteMap<String, E> {
        // A map's entries, sorted and unique, in a vector of exactly their number (a
        // catalogue keeps millions of these maps; collecting into the map leaves room).
        let entries: Vec<(String, E)> = self.into_iter().map(|(key, value)| (key, value.into_engine())).collect();
        litemap::LiteMap::from_sorted_store_unchecked(entries)
    }
}

/// Declares a stored struct, field by field, with its conversions to and from the engine
/// struct of the same fields. An older format, only read, names after `fill` the engine
/// fields it did not hold and what they are when read (writing leaves them out).
macro_rules! stored_struct {
    (
        $(#[$meta:meta])*
        $name:ident => $engine:path {
            $($(#[$field_meta:meta])* $field:ident: $ty:ty),* $(,)?
        }
        $(fill { $($filled:ident: $value:expr),* $(,)? })?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty),*
        }

        impl $crate::stored::convert::Convert<$engine> for $name {
            fn from_engine(value: &$engine) -> Self {
                Self { $($field: $crate::stored::convert::Convert::from_engine(&value.$field)),* }
            }
            fn into_engine(self) -> $engine {
                type Engine = $engine;
                Engine {
                    $($field: $crate::stored::convert::Convert::into_engine(self.$field),)*
                    $($($filled: $value,)*)?
                }
            }
        }
    };
}

/// Declares a stored enum, variant by variant in the engine enum's order (the position is
/// what is stored), with its conversions. A variant is a unit or has named fields. An
/// older format, only read, says after `newer` what the engine's later variants would be
/// written as: never, since only the current format is written, but the conversion must
/// be total.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        $name:ident => $engine:path {
            $($variant:ident $({ $($(#[$field_meta:meta])* $field:ident: $ty:ty),* $(,)? })?),* $(,)?
        }
        $(newer { $($newer:pat => $written:expr),* $(,)? })?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($variant $({ $($(#[$field_meta])* $field: $ty),* })?),*
        }

        impl $crate::stored::convert::Convert<$engine> for $name {
            fn from_engine(value: &$engine) -> Self {
                type Engine = $engine;
                match value {
                    $(Engine::$variant $({ $($field),* })? => Self::$variant $({
                        $($field: $crate::stored::convert::Convert::from_engine($field)),*
                    })?,)*
                    $($($newer => $written,)*)?
                }
            }
            fn into_engine(self) -> $engine {
                type Engine = $engine;
                match self {
                    $(Self::$variant $({ $($field),* })? => Engine::$variant $({
                        $($field: $crate::stored::convert::Convert::into_engine($field)),*
                    })?),*
                }
            }
        }
    };
}

pub(crate) use {stored_enum, stored_struct};

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::Convert;

    // Proves a stored map read back (a snapshot's or the log's product) holds exactly its
    // entries, in order, with no spare room: collecting into the map left room for four.
    #[test]
    fn a_stored_map_is_read_back_with_no_spare_room() {
        let stored: BTreeMap<String, String> =
            [("es".to_owned(), "Amplio".to_owned()), ("en".to_owned(), "Roomy".to_owned())].into();
        let map: litemap::LiteMap<String, String> = stored.into_engine();
        let entries = map.into_tuple_vec();
        assert_eq!(entries.capacity(), 2);
        assert_eq!(entries, [("en".to_owned(), "Roomy".to_owned()), ("es".to_owned(), "Amplio".to_owned())]);
    }
}
