//! Strict JSON for headers, payloads and key sets.
//!
//! `serde_json` on its own keeps the last of two members with the same name,
//! which lets a token say two things at once (one to this parser, another to a
//! different one down the line). Here duplicate names are an error, nesting is
//! bounded well below `serde_json`'s own recursion limit, and the top level
//! must be an object. [`parse_object`] builds the object under these rules;
//! it is also the reference that the token path's own scanner
//! ([`walk_object`](super::scan::walk_object), which builds nothing) is
//! tested against.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Malformed, Part};

/// Default bound on nesting: a claim set several objects deep is already unusual.
pub(crate) const DEFAULT_MAX_DEPTH: usize = 16;

/// Parses `bytes` as a JSON object with no duplicate member names and at most
/// `max_depth` levels of nesting (the top-level object is level 1).
pub(crate) fn parse_object(
    bytes: &[u8],
    part: Part,
    max_depth: usize,
) -> Result<Map<String, Value>, Malformed> {
    // UTF-8 checked once for the whole document, rather than string by
    // string as serde_json does over bytes.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(Malformed::Json(part));
    };
    let violation = Cell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = Strict {
        depth: 0,
        max_depth,
        violation: &violation,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match (parsed, violation.get()) {
        (_, Some(Violation::Duplicate)) => Err(Malformed::DuplicateMember(part)),
        (_, Some(Violation::TooDeep)) => Err(Malformed::TooDeep {
            part,
            limit: max_depth,
        }),
        (Err(_), None) => Err(Malformed::Json(part)),
        (Ok(Value::Object(map)), None) => Ok(map),
        (Ok(_), None) => Err(Malformed::NotAnObject(part)),
    }
}

#[derive(Clone, Copy)]
enum Violation {
    Duplicate,
    TooDeep,
}

/// A seed that builds a [`Value`] while enforcing the rules above. The reason
/// for a failure is recorded in `violation`, since serde's error type only
/// carries text.
#[derive(Clone, Copy)]
struct Strict<'a> {
    depth: usize,
    max_depth: usize,
    violation: &'a Cell<Option<Violation>>,
}

impl Strict<'_> {
    fn fail<E: de::Error>(self, v: Violation) -> E {
        self.violation.set(Some(v));
        E::custom(match v {
            Violation::Duplicate => "duplicate member name",
            Violation::TooDeep => "nested too deep",
        })
    }

    fn child<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= self.max_depth {
            return Err(self.fail(Violation::TooDeep));
        }
        Ok(Self {
            depth: self.depth + 1,
            ..self
        })
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(child)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut object = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(child)?;
            if object.insert(name, value).is_some() {
                return Err(self.fail(Violation::Duplicate));
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Map<String, Value>, Malformed> {
        parse_object(s.as_bytes(), Part::Payload, 4)
    }

    #[test]
    fn accepts_plain_objects() {
        let m = parse(r#"{"a":1,"b":[true,null,"x"],"c":{"d":1.5}}"#).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m["c"]["d"], 1.5);
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        assert_eq!(
            parse(r#"{"a":1,"a":2}"#),
            Err(Malformed::DuplicateMember(Part::Payload))
        );
        assert_eq!(
            parse(r#"{"a":{"b":1,"b":1}}"#),
            Err(Malformed::DuplicateMember(Part::Payload))
        );
        // The same name written with an escape is the same name.
        assert_eq!(
            parse(r#"{"alg":1,"\u0061lg":2}"#),
            Err(Malformed::DuplicateMember(Part::Payload))
        );
    }

    #[test]
    fn bounds_depth() {
        assert!(parse(r#"{"a":{"b":{"c":[1]}}}"#).is_ok());
        assert_eq!(
            parse(r#"{"a":{"b":{"c":{"d":[1]}}}}"#),
            Err(Malformed::TooDeep {
                part: Part::Payload,
                limit: 4
            })
        );
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse(&deep), Err(Malformed::TooDeep { .. })));
    }

    #[test]
    fn rejects_non_objects_and_garbage() {
        assert_eq!(parse("[1]"), Err(Malformed::NotAnObject(Part::Payload)));
        assert_eq!(parse("\"x\""), Err(Malformed::NotAnObject(Part::Payload)));
        assert_eq!(parse("{} x"), Err(Malformed::Json(Part::Payload)));
        assert_eq!(parse("{\"a\":1"), Err(Malformed::Json(Part::Payload)));
        assert_eq!(
            parse_object(b"{\"a\":\"\xff\"}", Part::Header, 4),
            Err(Malformed::Json(Part::Header))
        );
        assert_eq!(parse(""), Err(Malformed::Json(Part::Payload)));
    }
}
