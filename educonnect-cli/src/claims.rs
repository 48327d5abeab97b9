//! Claims to sign, read strictly: a JSON object, and no member name twice
//! at any depth. `serde_json` alone keeps the last of two equal names, so
//! `{"sub":"a","sub":"b"}` would be signed as `"b"` without a word; the
//! verifier refuses duplicates for the same reason.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `bytes` as a JSON object without duplicate member names. The
/// error is a short description fit for one line.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Strict>(bytes) {
        Ok(Strict(Value::Object(map))) => Ok(map),
        Ok(_) => Err("the claims are not a JSON object".into()),
        Err(e) => Err(format!("the claims are not valid JSON: {e}")),
    }
}

/// A JSON value built by [`StrictVisitor`].
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

/// Builds a [`Value`], refusing duplicate member names.
struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that JSON cannot hold"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            list.push(v);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if object.contains_key(&name) {
                return Err(de::Error::custom(format_args!(
                    "member {name:?} appears twice"
                )));
            }
            let Strict(v) = map.next_value()?;
            object.insert(name, v);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_only_without_duplicates() {
        let map = parse_object(br#"{"sub":"a","n":[1,-2,3.5,null,true,{"x":{}}]}"#).unwrap();
        assert_eq!(
            Value::Object(map),
            serde_json::json!({"sub":"a","n":[1,-2,3.5,null,true,{"x":{}}]})
        );
        assert!(
            parse_object(br#"{"sub":"a","sub":"b"}"#)
                .unwrap_err()
                .contains("twice")
        );
        assert!(parse_object(br#"{"o":{"a":1,"a":2}}"#).is_err());
        assert!(
            parse_object(b"[1]")
                .unwrap_err()
                .contains("not a JSON object")
        );
        assert!(parse_object(b"{").is_err());
        assert!(parse_object(b"{} {}").is_err());
        assert!(parse_object(b"").is_err());
    }
}
