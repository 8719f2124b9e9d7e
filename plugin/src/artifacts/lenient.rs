//! Deserializers that accept the shapes dbt versions disagree on (null where a
//! string or list is expected, a string where a list is expected) instead of
//! failing a whole artifact over one field.

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use std::fmt;

/// A string, or none for null, numbers, booleans and containers.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
            while s.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A string, empty for anything else.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

/// A list of strings; a single string becomes a one-element list; null and
/// non-string elements are dropped.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of strings")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = s.next_element::<Lenient>()? {
                if let Some(v) = item.0 {
                    out.push(v);
                }
            }
            Ok(out)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V)
}

/// A number as f64, none for anything else.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v: serde_json::Value = de::Deserialize::deserialize(d)?;
    Ok(v.as_f64())
}

/// A non-negative integer, none for anything else.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v: serde_json::Value = de::Deserialize::deserialize(d)?;
    Ok(v.as_u64().or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)))
}

/// A value deserialized with [`opt_string`].
pub struct Lenient(pub Option<String>);

impl<'de> de::Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        opt_string(d).map(Lenient)
    }
}

/// Deserializes a JSON object's values into a list, ignoring keys (which dbt
/// repeats as `unique_id` inside each value); null is an empty list, and a
/// list is taken as it is.
pub fn map_values<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: de::Deserialize<'de>,
{
    Ok(entries::<D, IgnoredAny, T>(d)?.into_iter().map(|(_, v)| v).collect())
}

/// Like [`map_values`] but keeps the keys (empty for the items of a list).
pub fn map_entries<'de, D, T>(d: D) -> Result<Vec<(String, T)>, D::Error>
where
    D: Deserializer<'de>,
    T: de::Deserialize<'de>,
{
    entries::<D, String, T>(d)
}

/// The one visitor of both: an object's entries with keys read as `K`.
fn entries<'de, D, K, T>(d: D) -> Result<Vec<(K, T)>, D::Error>
where
    D: Deserializer<'de>,
    K: de::Deserialize<'de> + Default,
    T: de::Deserialize<'de>,
{
    struct V<K, T>(std::marker::PhantomData<(K, T)>);
    impl<'de, K: de::Deserialize<'de> + Default, T: de::Deserialize<'de>> Visitor<'de> for V<K, T> {
        type Value = Vec<(K, T)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = m.next_entry::<K, T>()? {
                out.push(entry);
            }
            Ok(out)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = s.next_element::<T>()? {
                out.push((K::default(), v));
            }
            Ok(out)
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Doc {
        #[serde(default, deserialize_with = "super::string_list")]
        tags: Vec<String>,
        #[serde(default, deserialize_with = "super::opt_string")]
        description: Option<String>,
    }

    #[test]
    fn accepts_what_versions_disagree_on() {
        let d: Doc = serde_json::from_str(r#"{"tags":"nightly","description":null}"#).unwrap();
        assert_eq!(d.tags, vec!["nightly"]);
        assert_eq!(d.description, None);
        let d: Doc = serde_json::from_str(r#"{"tags":["a",null,3],"description":{"x":1}}"#).unwrap();
        assert_eq!(d.tags, vec!["a", "3"]);
        assert_eq!(d.description, None);
    }
}
