//! Strict JSON for headers, payloads and key sets.
//!
//! `serde_json` on its own keeps the last of two members with the same name,
//! which lets a token say two things at once (one to this parser, another to a
//! different one down the line). Here duplicate names are an error, nesting is
//! bounded well below `serde_json`'s own recursion limit, and the top level
//! must be an object. No second parser: [`parse_object`] builds the object
//! under these rules; [`walk_object`] checks the same rules without building
//! it, keeping only the members a token's verification reads (header `alg`,
//! `kid`, `crit`; the registered claims), after which serde_json may read the
//! checked bytes again into the caller's own type.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

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

/// What [`walk_object`] keeps of a top-level member's value: a string
/// (borrowed from the input unless it had an escape), a number, an array's
/// strings, or only the fact that it was something else.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member<'de> {
    Str(Cow<'de, str>),
    Number(Number),
    /// An array, with its elements if every one is a string.
    Array(Option<Vec<Cow<'de, str>>>),
    /// `null`, a boolean or an object.
    Other,
}

/// Checks `bytes` exactly as [`parse_object`] does (a single object, no
/// duplicate member names at any depth, at most `max_depth` levels) but
/// without building it: `member` gets each top-level name and what its value
/// holds. For the header and the registered claims, which only need a few
/// members; a token's own claims type is then read by serde from the same,
/// already checked, bytes.
///
/// The text is a `str`: its UTF-8 was checked once, whole (see
/// [`utf8`]), which costs less than serde_json's check of each string.
pub(crate) fn walk_object<'de>(
    text: &'de str,
    part: Part,
    max_depth: usize,
    member: impl FnMut(Cow<'de, str>, Member<'de>),
) -> Result<(), Malformed> {
    let violation = Cell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let top = TopLevel {
        strict: Strict {
            depth: 0,
            max_depth,
            violation: &violation,
        },
        member,
    };
    let walked = de::Deserializer::deserialize_any(&mut de, top).and_then(|is_object| {
        de.end()?;
        Ok(is_object)
    });
    match (walked, violation.get()) {
        (_, Some(Violation::Duplicate)) => Err(Malformed::DuplicateMember(part)),
        (_, Some(Violation::TooDeep)) => Err(Malformed::TooDeep {
            part,
            limit: max_depth,
        }),
        (Err(_), None) => Err(Malformed::Json(part)),
        (Ok(true), None) => Ok(()),
        (Ok(false), None) => Err(Malformed::NotAnObject(part)),
    }
}

/// A decoded part as text: JSON is UTF-8, and anything else is malformed.
pub(crate) fn utf8(bytes: Vec<u8>, part: Part) -> Result<String, Malformed> {
    String::from_utf8(bytes).map_err(|_| Malformed::Json(part))
}

/// A member name, borrowed when it has no escape.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The names of one object, to refuse a second member of the same name (after
/// unescaping, as `"\u0061lg"` is `"alg"`). The first few in place, compared
/// one by one, without allocating: a header or a claim set has about ten.
struct Names<'de> {
    few: [Cow<'de, str>; Names::FEW],
    len: usize,
    many: BTreeSet<Cow<'de, str>>,
}

impl Default for Names<'_> {
    fn default() -> Self {
        Self {
            few: [const { Cow::Borrowed("") }; Names::FEW],
            len: 0,
            many: BTreeSet::new(),
        }
    }
}

impl<'de> Names<'de> {
    const FEW: usize = 16;

    /// False if the name was already there.
    fn insert(&mut self, name: Cow<'de, str>) -> bool {
        if self.many.is_empty() {
            if self.few[..self.len].contains(&name) {
                return false;
            }
            if self.len < Self::FEW {
                self.few[self.len] = name;
                self.len += 1;
                return true;
            }
            self.many.extend(self.few.iter_mut().map(std::mem::take));
        }
        self.many.insert(name)
    }
}

/// Walks the top-level value: an object, whose members go to the callback.
/// `Ok(false)` for a valid value that is not an object.
struct TopLevel<'a, F> {
    strict: Strict<'a>,
    member: F,
}

impl<'de, F: FnMut(Cow<'de, str>, Member<'de>)> Visitor<'de> for TopLevel<'_, F> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        Check(self.strict).visit_seq(seq)?;
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<bool, A::Error> {
        let child = self.strict.child()?;
        let mut names = Names::default();
        while let Some(name) = map.next_key_seed(Name)? {
            let value = map.next_value_seed(Keep(child))?;
            if !names.insert(name.clone()) {
                return Err(self.strict.fail(Violation::Duplicate));
            }
            (self.member)(name, value);
        }
        Ok(true)
    }
}

/// A top-level member's value, kept as a [`Member`].
#[derive(Clone, Copy)]
struct Keep<'a>(Strict<'a>);

impl<'de> DeserializeSeed<'de> for Keep<'_> {
    type Value = Member<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Keep<'_> {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Member::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Member::Other)
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Member::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Member::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Number::from_f64(v).map_or(Member::Other, Member::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Member::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Member::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Member::Str(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let child = self.0.child()?;
        let mut strings = Some(Vec::new());
        while let Some(item) = seq.next_element_seed(Keep(child))? {
            match (item, &mut strings) {
                (Member::Str(s), Some(list)) => list.push(s),
                _ => strings = None,
            }
        }
        Ok(Member::Array(strings))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Check(self.0).visit_map(map)?;
        Ok(Member::Other)
    }
}

/// Any value, checked under the rules and dropped.
#[derive(Clone, Copy)]
struct Check<'a>(Strict<'a>);

impl<'de> DeserializeSeed<'de> for Check<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Check<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let child = Check(self.0.child()?);
        while seq.next_element_seed(child)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let child = Check(self.0.child()?);
        let mut names = Names::default();
        while let Some(name) = map.next_key_seed(Name)? {
            map.next_value_seed(child)?;
            if !names.insert(name) {
                return Err(self.0.fail(Violation::Duplicate));
            }
        }
        Ok(())
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

    /// The walk accepts and refuses exactly what `parse_object` does.
    #[test]
    fn walk_agrees_with_parse() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let many = format!(
            "{{{}}}",
            (0..40)
                .map(|i| format!("\"k{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let many_dup = format!("{}, \"k3\":0}}", &many[..many.len() - 1]);
        let inputs: Vec<&[u8]> = vec![
            br#"{"a":1,"b":[true,null,"x"],"c":{"d":1.5}}"#,
            br#"{"a":1,"a":2}"#,
            br#"{"a":{"b":1,"b":1}}"#,
            br#"{"a":[{"b":1,"b":1}]}"#,
            br#"{"alg":1,"\u0061lg":2}"#,
            br#"{"a":{"b":{"c":[1]}}}"#,
            br#"{"a":{"b":{"c":{"d":[1]}}}}"#,
            br#"{"a":[[[[1]]]]}"#,
            br#"{"a":[[[1]]]}"#,
            b"[1]",
            b"[{\"a\":1,\"a\":1}]",
            b"\"x\"",
            b"1",
            b"null",
            b"{} x",
            b"{\"a\":1",
            b"{\"a\":\"\xff\"}",
            b"",
            b"{}",
            deep.as_bytes(),
            many.as_bytes(),
            many_dup.as_bytes(),
        ];
        for input in inputs {
            let walked = std::str::from_utf8(input)
                .map_err(|_| Malformed::Json(Part::Payload))
                .and_then(|text| walk_object(text, Part::Payload, 4, |_, _| {}));
            assert_eq!(
                walked,
                parse_object(input, Part::Payload, 4).map(|_| ()),
                "{}",
                String::from_utf8_lossy(&input[..input.len().min(60)])
            );
        }
    }

    #[test]
    fn walk_keeps_strings_numbers_and_string_arrays() {
        let mut seen = Vec::new();
        walk_object(
            r#"{"s":"v","e":"\u0061","n":-3,"u":7,"f":1.5,"l":["a","b"],"m":["a",1],"o":{"x":1},"z":null}"#,
            Part::Payload,
            4,
            |name, member| seen.push((name.into_owned(), member)),
        )
        .unwrap();
        assert_eq!(
            seen,
            vec![
                ("s".to_owned(), Member::Str(Cow::Borrowed("v"))),
                ("e".to_owned(), Member::Str(Cow::Borrowed("a"))),
                ("n".to_owned(), Member::Number((-3).into())),
                ("u".to_owned(), Member::Number(7.into())),
                (
                    "f".to_owned(),
                    Member::Number(Number::from_f64(1.5).unwrap())
                ),
                (
                    "l".to_owned(),
                    Member::Array(Some(vec!["a".into(), "b".into()]))
                ),
                ("m".to_owned(), Member::Array(None)),
                ("o".to_owned(), Member::Other),
                ("z".to_owned(), Member::Other),
            ]
        );
    }
}
