//! The strict JSON scanner every token verification goes through: the
//! header's `alg`, `kid` and `crit`, and the registered claims.
//!
//! It accepts and refuses exactly what [`parse_object`](super::json::parse_object)
//! (serde_json under the same rules) does: one object, no member name twice in
//! any object (after unescaping), at most `max_depth` levels of nesting, strict
//! JSON otherwise (no trailing commas, no control characters in strings,
//! paired surrogates, numbers serde_json can represent). It builds nothing but
//! the members its caller asks for. A hand-written scanner rather than a serde
//! visitor because on an HS256 token the HMAC costs about 0.5 µs and the
//! serde walk cost more than that again; the two are kept in agreement by the
//! tests below and by the `verify_claims` fuzz target, which compares every
//! payload's outcome with `parse_object`'s.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::Number;

use super::{Malformed, Part};

/// What [`walk_object`] keeps of a wanted top-level member's value: a string,
/// a number (a plain integer's value, any other's literal), an array's
/// strings, or only the fact that it was something else. Everything borrows
/// from the input and was checked: a string is unescaped, and a literal
/// parsed, only by the caller that reads it, so the scan itself moves little
/// more than positions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member<'de> {
    Str(Text<'de>),
    /// A plain integer of up to 19 digits: no sign, fraction or exponent.
    Int(u64),
    /// Any other number as written, valid JSON and representable by serde_json.
    Number(&'de str),
    /// An array, with its elements if every one is a string.
    Array(Option<Vec<Text<'de>>>),
    /// `null`, a boolean or an object.
    Other,
}

/// A string as written between its quotes, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Text<'de> {
    raw: &'de str,
    escaped: bool,
}

impl<'de> Text<'de> {
    /// The string's value: borrowed from the input unless it had an escape.
    #[inline]
    pub(crate) fn value(self) -> Cow<'de, str> {
        if self.escaped {
            Cow::Owned(unescape(self.raw))
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// A value already unescaped, as a string without escapes.
    pub(crate) fn unescaped(value: &'de str) -> Self {
        Self {
            raw: value,
            escaped: false,
        }
    }

    /// Whether the string is `""` (an escape is never empty).
    pub(crate) fn is_empty(self) -> bool {
        self.raw.is_empty()
    }

    /// The string's length as written, never less than its value's.
    pub(crate) fn raw_len(self) -> usize {
        self.raw.len()
    }

    /// Appends the string's value to `out`.
    #[inline]
    pub(crate) fn push_to(self, out: &mut String) {
        if self.escaped {
            out.push_str(&unescape(self.raw));
        } else {
            out.push_str(self.raw);
        }
    }
}

/// The value of a string's text, checked by [`Scanner::string`]: its escapes
/// are well-formed, so every one decodes. Were one not to (a bug), it would
/// become U+FFFD rather than a panic, and the `verify_claims` fuzz target,
/// which compares kept values with serde_json's, would find it.
fn unescape(raw: &str) -> String {
    let scanner = Scanner {
        text: raw,
        bytes: raw.as_bytes(),
        pos: 0,
        max_depth: 0,
    };
    let mut out = String::with_capacity(raw.len());
    let mut run = 0;
    let mut at = 0;
    while let Some(backslash) = raw.get(at..).and_then(|rest| rest.find('\\')) {
        let backslash = at + backslash;
        out.push_str(raw.get(run..backslash).unwrap_or_default());
        let (c, len) = scanner
            .escape(backslash + 1)
            .unwrap_or((char::REPLACEMENT_CHARACTER, 1));
        out.push(c);
        at = backslash + 1 + len;
        run = at;
    }
    out.push_str(raw.get(run..).unwrap_or_default());
    out
}

/// serde_json's own nesting limit: it refuses, as malformed and whatever our
/// `max_depth`, a container inside this many others (its 128th level).
const SERDE_JSON_DEPTH: usize = 127;

/// Checks `text` as [`parse_object`](super::json::parse_object) does, without
/// building it. `wanted` names the top-level members the caller reads, each
/// with its own key below 64 (an index, so that the name is compared once,
/// and a second member of a wanted name is found by its key); `member` then
/// gets each of them, key and value. Every other value is checked and
/// dropped.
pub(crate) fn walk_object<'de>(
    text: &'de str,
    part: Part,
    max_depth: usize,
    wanted: impl Fn(&str) -> Option<usize>,
    mut member: impl FnMut(usize, Member<'de>),
) -> Result<(), Malformed> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        max_depth,
    };
    match scanner.document(&wanted, &mut member) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Malformed::NotAnObject(part)),
        Err(Fail::Syntax) => Err(Malformed::Json(part)),
        Err(Fail::Duplicate) => Err(Malformed::DuplicateMember(part)),
        Err(Fail::TooDeep) => Err(Malformed::TooDeep {
            part,
            limit: max_depth,
        }),
    }
}

/// Why a document is refused; the first reason met, in document order, wins,
/// as with serde_json (a duplicate name is seen once its value is read).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fail {
    Syntax,
    Duplicate,
    TooDeep,
}

struct Scanner<'de> {
    text: &'de str,
    bytes: &'de [u8],
    pos: usize,
    max_depth: usize,
}

impl<'de> Scanner<'de> {
    /// `Ok(true)` for an object, `Ok(false)` for any other valid value.
    fn document(
        &mut self,
        wanted: &impl Fn(&str) -> Option<usize>,
        member: &mut impl FnMut(usize, Member<'de>),
    ) -> Result<bool, Fail> {
        self.whitespace();
        let is_object = if self.peek() == Some(b'{') {
            self.top_object(wanted, member)?;
            true
        } else {
            self.value(0)?;
            false
        };
        self.whitespace();
        if self.pos != self.bytes.len() {
            return Err(Fail::Syntax);
        }
        Ok(is_object)
    }

    fn top_object(
        &mut self,
        wanted: &impl Fn(&str) -> Option<usize>,
        member: &mut impl FnMut(usize, Member<'de>),
    ) -> Result<(), Fail> {
        if self.open(0, b'}')? {
            return Ok(());
        }
        // Wanted names are told apart by their keys, one bit each; only the
        // others go through `Names`.
        let mut kept = 0u64;
        // Made at the first name not wanted: in a token, often never.
        let mut names: Option<Names<'de>> = None;
        loop {
            let name = self.name()?;
            // A name with an escape is unescaped before it is compared; the
            // rest (nearly all) are compared as written.
            let unescaped = name.escaped.then(|| unescape(name.raw));
            match wanted(unescaped.as_deref().unwrap_or(name.raw)) {
                Some(key) => {
                    let value = self.keep(1)?;
                    // A key past 63 would share a bit: a false duplicate,
                    // refused, never a duplicate let through.
                    let bit = 1u64 << (key % 64);
                    if kept & bit != 0 {
                        return Err(Fail::Duplicate);
                    }
                    kept |= bit;
                    member(key, value);
                }
                None => {
                    self.value(1)?;
                    let names = names.get_or_insert_with(Names::default);
                    if !names.insert(name.raw, unescaped) {
                        return Err(Fail::Duplicate);
                    }
                }
            }
            if self.end_of_member(b'}')? {
                return Ok(());
            }
        }
    }

    /// A member's name and the `:` after it, at the opening quote (after
    /// whitespace).
    #[inline(always)]
    fn name(&mut self) -> Result<Text<'de>, Fail> {
        if self.peek() != Some(b'"') {
            return Err(Fail::Syntax);
        }
        let name = self.text()?;
        self.whitespace();
        if !self.eat(b':') {
            return Err(Fail::Syntax);
        }
        self.whitespace();
        Ok(name)
    }

    /// After a member or element: `true` at the closing `close`, `false`
    /// after a `,` (and the whitespace that follows).
    #[inline]
    fn end_of_member(&mut self, close: u8) -> Result<bool, Fail> {
        self.whitespace();
        match self.next() {
            Some(b',') => {
                self.whitespace();
                Ok(false)
            }
            Some(b) if b == close => Ok(true),
            _ => Err(Fail::Syntax),
        }
    }

    /// A top-level member's value, at `depth` (1), kept as a [`Member`].
    fn keep(&mut self, depth: usize) -> Result<Member<'de>, Fail> {
        match self.peek() {
            Some(b'"') => Ok(Member::Str(self.text()?)),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                Ok(match self.number()? {
                    Some(int) => Member::Int(int),
                    None => Member::Number(self.text.get(start..self.pos).ok_or(Fail::Syntax)?),
                })
            }
            Some(b'[') => {
                let mut strings = Some(Vec::new());
                if self.open(depth, b']')? {
                    return Ok(Member::Array(strings));
                }
                loop {
                    match (self.peek(), &mut strings) {
                        (Some(b'"'), Some(list)) => list.push(self.text()?),
                        _ => {
                            self.value(depth + 1)?;
                            strings = None;
                        }
                    }
                    if self.end_of_member(b']')? {
                        return Ok(Member::Array(strings));
                    }
                }
            }
            _ => {
                self.value(depth)?;
                Ok(Member::Other)
            }
        }
    }

    /// Any value at `depth` (the number of containers around it), checked
    /// and dropped.
    fn value(&mut self, depth: usize) -> Result<(), Fail> {
        match self.peek() {
            Some(b'"') => {
                self.string()?;
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
            }
            Some(b'{') => {
                if self.open(depth, b'}')? {
                    return Ok(());
                }
                let mut names = Names::default();
                loop {
                    let name = self.name()?;
                    self.value(depth + 1)?;
                    let unescaped = name.escaped.then(|| unescape(name.raw));
                    if !names.insert(name.raw, unescaped) {
                        return Err(Fail::Duplicate);
                    }
                    if self.end_of_member(b'}')? {
                        return Ok(());
                    }
                }
            }
            Some(b'[') => {
                if self.open(depth, b']')? {
                    return Ok(());
                }
                loop {
                    self.value(depth + 1)?;
                    if self.end_of_member(b']')? {
                        return Ok(());
                    }
                }
            }
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => self.literal(b"null")?,
            _ => return Err(Fail::Syntax),
        }
        Ok(())
    }

    /// At the opening bracket of a container nested in `depth` others:
    /// steps in, and says whether it closes at once (`{}`, `[]`).
    fn open(&mut self, depth: usize, close: u8) -> Result<bool, Fail> {
        self.enter(depth)?;
        self.pos += 1;
        self.whitespace();
        Ok(self.eat(close))
    }

    /// Whether a container nested in `depth` others may open. The recursion
    /// is bounded here, so the scanner's stack is too.
    fn enter(&self, depth: usize) -> Result<(), Fail> {
        if depth >= SERDE_JSON_DEPTH {
            return Err(Fail::Syntax);
        }
        if depth >= self.max_depth {
            return Err(Fail::TooDeep);
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Fail> {
        if self.bytes.get(self.pos..self.pos + word.len()) != Some(word) {
            return Err(Fail::Syntax);
        }
        self.pos += word.len();
        Ok(())
    }

    /// A string at its opening quote, as a [`Text`].
    #[inline(always)]
    fn text(&mut self) -> Result<Text<'de>, Fail> {
        let start = self.pos + 1;
        let escaped = self.string()?;
        // Both ends are ASCII quotes, so char boundaries.
        let raw = self.text.get(start..self.pos - 1).ok_or(Fail::Syntax)?;
        Ok(Text { raw, escaped })
    }

    /// A string at its opening quote, checked and stepped over; whether it
    /// had an escape. Only positions and a flag come back: a kept string is
    /// cut from the input by its caller, and unescaped only when read.
    #[inline(always)]
    fn string(&mut self) -> Result<bool, Fail> {
        let mut at = self.plain_run(self.pos + 1);
        let mut escaped = false;
        loop {
            match self.bytes.get(at) {
                Some(b'"') => {
                    self.pos = at + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    let (_, len) = self.escape(at + 1)?;
                    at = self.plain_run(at + 1 + len);
                }
                // A control character, or the end of the input.
                _ => return Err(Fail::Syntax),
            }
        }
    }

    /// The character of the escape whose letter is at `at`, and how many
    /// bytes it takes after the backslash. A `\u` escape of a UTF-16
    /// surrogate must be the first of a pair (`\uD83D\uDE00`), as serde_json
    /// requires of text.
    fn escape(&self, at: usize) -> Result<(char, usize), Fail> {
        let c = match self.bytes.get(at) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let first = self.hex4(at + 1)?;
                return match first {
                    0xDC00..=0xDFFF => Err(Fail::Syntax),
                    0xD800..=0xDBFF => {
                        if self.bytes.get(at + 5..at + 7) != Some(b"\\u") {
                            return Err(Fail::Syntax);
                        }
                        let second = self.hex4(at + 7)?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(Fail::Syntax);
                        }
                        let code = 0x1_0000 + ((first - 0xD800) << 10 | (second - 0xDC00));
                        Ok((char::from_u32(code).ok_or(Fail::Syntax)?, 11))
                    }
                    _ => Ok((char::from_u32(first).ok_or(Fail::Syntax)?, 5)),
                };
            }
            _ => return Err(Fail::Syntax),
        };
        Ok((c, 1))
    }

    fn hex4(&self, at: usize) -> Result<u32, Fail> {
        let digits = self.bytes.get(at..at + 4).ok_or(Fail::Syntax)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            let v = (d as char).to_digit(16).ok_or(Fail::Syntax)?;
            Ok(acc << 4 | v)
        })
    }

    /// The end of the run of plain string bytes from `from`: the index of the
    /// first quote, backslash or control character, or the input's length.
    /// Eight bytes at a time (SWAR), the position of the first such byte
    /// read from the lowest marked lane: a lane below the first marked one
    /// is never marked, since no borrow comes from a lane that does not
    /// match.
    #[inline]
    fn plain_run(&self, from: usize) -> usize {
        const ONES: u64 = u64::from_le_bytes([0x01; 8]);
        const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
        const SPACES: u64 = u64::from_le_bytes([0x20; 8]);
        const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
        const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
        let below = |v: u64, n: u64| v.wrapping_sub(n) & !v & HIGHS;
        let mut at = from;
        while let Some(chunk) = self.bytes.get(at..at + 8) {
            let Ok(chunk) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            let v = u64::from_le_bytes(chunk);
            let marked = below(v, SPACES) | below(v ^ QUOTES, ONES) | below(v ^ BACKSLASHES, ONES);
            if marked != 0 {
                return at + (marked.trailing_zeros() / 8) as usize;
            }
            at += 8;
        }
        while let Some(&b) = self.bytes.get(at) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                break;
            }
            at += 1;
        }
        at
    }

    /// A number at its first character, checked and stepped over; its value
    /// if it is a plain integer of up to 19 digits. Anything else (a sign, a
    /// fraction, an exponent, more digits) is checked by serde_json's own
    /// number reader, which refuses what it cannot represent (`1e400`) as it
    /// would in a document.
    #[inline]
    fn number(&mut self) -> Result<Option<u64>, Fail> {
        let start = self.pos;
        let negative = self.eat(b'-');
        // The integer part, its value accumulated as it is read (wrapping:
        // the value is only used when there are at most 19 digits).
        let mut value = 0u64;
        match self.peek() {
            // A leading zero is refused here, inside the value, as serde_json
            // does: were it left to the next token, a duplicate name before
            // it would be reported instead.
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(Fail::Syntax);
                }
            }
            Some(b'1'..=b'9') => value = self.digits(),
            _ => return Err(Fail::Syntax),
        }
        let mut plain = !negative && self.pos - start <= 19;
        if self.eat(b'.') {
            plain = false;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(Fail::Syntax);
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            plain = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(Fail::Syntax);
            }
            self.digits();
        }
        if plain {
            return Ok(Some(value));
        }
        let literal = self.text.get(start..self.pos).ok_or(Fail::Syntax)?;
        literal.parse::<Number>().map_err(|_| Fail::Syntax)?;
        Ok(None)
    }

    /// Steps over a run of digits and returns its value (wrapping: only
    /// used for an integer part of up to 19 digits; a fraction's or an
    /// exponent's is dropped). Eight at a time (SWAR) while eight bytes
    /// remain: a date's ten digits take two steps and no branch per digit.
    fn digits(&mut self) -> u64 {
        const ZEROS: u64 = u64::from_le_bytes([b'0'; 8]);
        const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
        const BELOW_TEN: u64 = u64::from_le_bytes([0x76; 8]);
        const POWERS: [u64; 9] = [
            1,
            10,
            100,
            1_000,
            10_000,
            100_000,
            1_000_000,
            10_000_000,
            100_000_000,
        ];
        let mut value = 0u64;
        while let Some(Ok(chunk)) = self
            .bytes
            .get(self.pos..self.pos + 8)
            .map(<[u8; 8]>::try_from)
        {
            // Each lane's digit value; a lane that is not a digit has its
            // high bit set in `x` or in `x + 0x76`. A carry out of a lane
            // only comes from such a lane, so the lowest marked lane is the
            // first non-digit.
            let x = u64::from_le_bytes(chunk) ^ ZEROS;
            let marked = (x | x.wrapping_add(BELOW_TEN)) & HIGHS;
            let count = (marked.trailing_zeros() / 8) as usize;
            if count == 0 {
                return value;
            }
            // The digits moved to the high lanes (the first digit is the
            // lowest byte, so zeros come in as leading zeros), then summed
            // pairwise: 2 digits a lane, 4, 8.
            let digits = x << (8 * (8 - count));
            let pairs = digits.wrapping_mul(10).wrapping_add(digits >> 8) & 0x00FF_00FF_00FF_00FF;
            let quads = pairs.wrapping_mul(100).wrapping_add(pairs >> 16) & 0x0000_FFFF_0000_FFFF;
            let eight = quads.wrapping_mul(10_000).wrapping_add(quads >> 32) & 0xFFFF_FFFF;
            value = value.wrapping_mul(POWERS[count]).wrapping_add(eight);
            self.pos += count;
            if count < 8 {
                return value;
            }
        }
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            value = value.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
            self.pos += 1;
        }
        value
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
}

/// The names of one object, to refuse a second member of the same name
/// (after unescaping, as `"\u0061lg"` is `"alg"`). A 64-bit filter on each
/// name's length and ends skips the comparisons for a name unlike any seen.
/// The first names are kept in place without allocating (a header or a claim
/// set has about ten, all without escapes); names that had an escape are
/// kept apart, owned; past [`Names::FEW`] of either, all go to a set.
struct Names<'de> {
    filter: u64,
    few: [&'de str; Names::FEW],
    len: usize,
    escaped: Vec<String>,
    many: BTreeSet<Cow<'de, str>>,
}

impl Default for Names<'_> {
    fn default() -> Self {
        Self {
            filter: 0,
            few: [""; Names::FEW],
            len: 0,
            escaped: Vec::new(),
            many: BTreeSet::new(),
        }
    }
}

impl<'de> Names<'de> {
    const FEW: usize = 16;

    /// False if the name was already there. `raw` is the name as written;
    /// `unescaped`, its value when it had an escape.
    fn insert(&mut self, raw: &'de str, unescaped: Option<String>) -> bool {
        if !self.many.is_empty() {
            return self
                .many
                .insert(unescaped.map_or(Cow::Borrowed(raw), Cow::Owned));
        }
        let name = unescaped.as_deref().unwrap_or(raw);
        let bytes = name.as_bytes();
        let (first, last) = match bytes {
            [] => (0, 0),
            [first, .., last] => (*first, *last),
            [only] => (*only, *only),
        };
        let bit = 1u64 << ((bytes.len() ^ usize::from(first) ^ usize::from(last) << 2) & 63);
        let seen_alike = self.filter & bit != 0;
        self.filter |= bit;
        if seen_alike
            && (self.few[..self.len].contains(&name) || self.escaped.iter().any(|e| e == name))
        {
            return false;
        }
        match unescaped {
            None if self.len < Self::FEW => {
                self.few[self.len] = raw;
                self.len += 1;
                true
            }
            Some(name) if self.escaped.len() < Self::FEW => {
                self.escaped.push(name);
                true
            }
            unescaped => {
                self.many
                    .extend(self.few[..self.len].iter().map(|&n| Cow::Borrowed(n)));
                self.many.extend(self.escaped.drain(..).map(Cow::Owned));
                self.many
                    .insert(unescaped.map_or(Cow::Borrowed(raw), Cow::Owned))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::super::json::parse_object;
    use super::*;

    /// A kept member read as its caller would read it.
    #[derive(Debug, PartialEq)]
    enum Read {
        Str(String),
        Number(Number),
        Strings(Vec<String>),
        NotStrings,
        Other,
    }

    fn read(member: Member<'_>) -> Read {
        match member {
            Member::Str(s) => Read::Str(s.value().into_owned()),
            Member::Int(n) => Read::Number(n.into()),
            Member::Number(n) => Read::Number(n.parse().expect("a checked number")),
            Member::Array(Some(list)) => {
                Read::Strings(list.into_iter().map(|s| s.value().into_owned()).collect())
            }
            Member::Array(None) => Read::NotStrings,
            Member::Other => Read::Other,
        }
    }

    /// Walks with no member wanted, then with every top-level name wanted
    /// (each with its own key), and requires the two to agree.
    fn walk(input: &[u8], max_depth: usize) -> Result<(), Malformed> {
        let text = std::str::from_utf8(input).map_err(|_| Malformed::Json(Part::Payload))?;
        let none = walk_object(text, Part::Payload, max_depth, |_| None, |_, _| {});
        let names = RefCell::new(Vec::new());
        let all = walk_object(
            text,
            Part::Payload,
            max_depth,
            |name| key_of(&names, name),
            |_, _| {},
        );
        assert_eq!(none, all, "{text:.60}: kept or not");
        none
    }

    /// A key for each name, in the order they are first met.
    fn key_of(names: &RefCell<Vec<String>>, name: &str) -> Option<usize> {
        let mut names = names.borrow_mut();
        let key = match names.iter().position(|n| n == name) {
            Some(key) => key,
            None => {
                names.push(name.to_owned());
                names.len() - 1
            }
        };
        (key < 64).then_some(key)
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
        let escaped = many.replace("\"k", "\"\\u006b");
        let escaped_dup = format!("{}, \"k39\":0}}", &escaped[..escaped.len() - 1]);
        let half_escaped_dup = format!("{{\"\\u006b1\":1,{}", &many[1..]);
        let many_nested = format!("{{\"o\":{many}}}");
        let many_nested_dup = format!("{{\"o\":{many_dup}}}");
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
            br#"{"a":{"b":{"c":{"d":x}}}}"#,
            br#"{"a":1,"a":[}"#,
            br#"{"a":{"b":1,"b":[}}"#,
            b"[1]",
            b"[{\"a\":1,\"a\":1}]",
            b"\"x\"",
            b"1",
            b"null",
            b"{} x",
            b"{\"a\":1",
            b"{\"a\":\"\xff\"}",
            b"",
            b" ",
            b"{}",
            b" {\t}\r\n",
            b"{\"a\":1,}",
            b"{,}",
            b"{\"a\" 1}",
            b"{\"a\":1 \"b\":2}",
            b"{a:1}",
            b"{'a':1}",
            b"{\"a\":[1,]}",
            b"{\"a\":[,1]}",
            b"{\"a\":[1 2]}",
            b"{\"a\":tru}",
            b"{\"a\":truex}",
            b"{\"a\":nul}",
            b"{\"a\":True}",
            b"{\"a\":\"tab\there\"}",
            b"{\"a\":\"nl\nhere\"}",
            b"{\"a\":\"del\x7fhere\"}",
            b"{\"a\":\"caf\xc3\xa9\"}",
            br#"{"a":"\"\\\/\b\f\n\r\t"}"#,
            br#"{"a":"\x"}"#,
            br#"{"a":"\u00e9\u00E9"}"#,
            br#"{"a":"\u00g9"}"#,
            br#"{"a":"\u00e"}"#,
            br#"{"a":"\uD83D\uDE00"}"#,
            br#"{"a":"\uD83D"}"#,
            br#"{"a":"\uD83Dx"}"#,
            br#"{"a":"\uD83D\n"}"#,
            br#"{"a":"\uD83D\u0041"}"#,
            br#"{"a":"\uD83D\uD83D\uDE00"}"#,
            br#"{"a":"\uDE00"}"#,
            br#"{"a":"\u0000"}"#,
            br#"{"a":"end\"#,
            br#"{"a":"unterminated}"#,
            br#"{"\u0000":1,"\u0000":2}"#,
            b"{\"a\":0,\"b\":-0,\"c\":-1,\"d\":1.5,\"e\":1e5,\"f\":1E+5,\"g\":-1.5e-5}",
            b"{\"a\":01}",
            b"{\"a\":1,\"a\":01}",
            b"{\"a\":1,\"a\":-01}",
            b"{\"a\":1,\"a\":1.5.3}",
            b"{\"a\":1,\"a\":truex}",
            b"{\"a\":1,\"a\":1e}",
            b"{\"a\":1,\"a\":\"x\ty\"}",
            b"{\"a\":-}",
            b"{\"a\":+1}",
            b"{\"a\":1.}",
            b"{\"a\":.5}",
            b"{\"a\":1e}",
            b"{\"a\":1e+}",
            b"{\"a\":1e400}",
            b"{\"a\":-1e400}",
            b"{\"a\":1e-400}",
            b"{\"a\":18446744073709551615}",
            b"{\"a\":18446744073709551616}",
            b"{\"a\":9999999999999999999}",
            b"{\"a\":99999999999999999999}",
            b"{\"a\":-9223372036854775808}",
            b"{\"a\":-9223372036854775809}",
            b"{\"a\":Infinity}",
            b"{\"a\":NaN}",
            b"{\"a\":\"\\u0061\",\"\\u0061\":1}",
            b"{\"\":1,\"\":2}",
            b"{\"\":1,\"a\":2}",
            deep.as_bytes(),
            many.as_bytes(),
            many_dup.as_bytes(),
            many_nested.as_bytes(),
            escaped.as_bytes(),
            escaped_dup.as_bytes(),
            half_escaped_dup.as_bytes(),
            many_nested_dup.as_bytes(),
        ];
        for input in inputs {
            for max_depth in [0, 1, 4, 16] {
                assert_eq!(
                    walk(input, max_depth),
                    parse_object(input, Part::Payload, max_depth).map(|_| ()),
                    "{} at depth {max_depth}",
                    String::from_utf8_lossy(&input[..input.len().min(60)])
                );
            }
        }
    }

    /// Past serde_json's own nesting limit both refuse the document as
    /// malformed, even under a larger `max_depth`.
    #[test]
    fn serde_json_depth_limit_agrees() {
        for levels in [127, 128, 129, 130] {
            let input = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
            assert_eq!(
                walk(input.as_bytes(), 200),
                parse_object(input.as_bytes(), Part::Payload, 200).map(|_| ()),
                "{levels} levels"
            );
        }
    }

    /// The eight-bytes-at-a-time string scan finds a quote, a backslash or
    /// a control character at any offset, next to plain ASCII and UTF-8.
    #[test]
    fn string_scan_finds_specials_at_every_offset() {
        for len in 0..24 {
            for at in 0..len {
                for special in [
                    "\"", "\\n", "\\u00e9", "\u{1}", "\u{1f}", "\\", "\u{7f}", "é",
                ] {
                    let text: String = (0..len)
                        .map(|i| {
                            if i == at {
                                special.to_owned()
                            } else {
                                ((b'a' + i as u8 % 26) as char).to_string()
                            }
                        })
                        .collect();
                    let input = format!("{{\"k\":\"{text}\",\"n\":\"{text}x\"}}");
                    assert_eq!(
                        walk(input.as_bytes(), 4),
                        parse_object(input.as_bytes(), Part::Payload, 4).map(|_| ()),
                        "{input:?}"
                    );
                    let mut kept = None;
                    let _ = walk_object(
                        &input,
                        Part::Payload,
                        4,
                        |name| (name == "k").then_some(0),
                        |_, member| kept = Some(read(member)),
                    );
                    if let Ok(map) = parse_object(input.as_bytes(), Part::Payload, 4) {
                        assert_eq!(
                            kept,
                            Some(Read::Str(map["k"].as_str().unwrap().to_owned())),
                            "{input:?}"
                        );
                    }
                }
            }
        }
    }

    /// Plain integers of every length, read eight digits at a time, then
    /// one by one: the value kept is serde_json's, and what follows the
    /// digits is read as what it is.
    #[test]
    fn integers_of_every_length() {
        let digits = "9876543210123456789012345";
        for len in 1..=digits.len() {
            for after in ["}", " }", ".5}", "e2}", "E-1}", "x}", "", ",\"m\":0}"] {
                for sign in ["", "-"] {
                    let input = format!("{{\"n\":{sign}{}{after}", &digits[..len]);
                    let reference = parse_object(input.as_bytes(), Part::Payload, 4);
                    assert_eq!(
                        walk(input.as_bytes(), 4),
                        reference.as_ref().map(|_| ()).map_err(Clone::clone),
                        "{input}"
                    );
                    let mut kept = None;
                    let walked = walk_object(
                        &input,
                        Part::Payload,
                        4,
                        |name| (name == "n").then_some(0),
                        |_, member| kept = Some(read(member)),
                    );
                    if let (Ok(map), Ok(())) = (&reference, walked) {
                        let expected = map["n"].as_number().unwrap().clone();
                        assert_eq!(kept, Some(Read::Number(expected)), "{input}");
                    }
                }
            }
        }
    }

    #[test]
    fn keeps_only_wanted_members() {
        const KEPT: [&str; 9] = ["s", "e", "n", "u", "f", "l", "m", "o", "z"];
        let mut seen = Vec::new();
        walk_object(
            r#"{"s":"v","e":"\u0061","n":-3,"u":7,"f":1.5,"l":["a","b"],"m":["a",1],"o":{"x":1},"z":null,"skipped":"\u00e9"}"#,
            Part::Payload,
            4,
            |name| KEPT.iter().position(|kept| *kept == name),
            |key, member| seen.push((KEPT[key].to_owned(), read(member))),
        )
        .unwrap();
        assert_eq!(
            seen,
            vec![
                ("s".to_owned(), Read::Str("v".to_owned())),
                ("e".to_owned(), Read::Str("a".to_owned())),
                ("n".to_owned(), Read::Number((-3).into())),
                ("u".to_owned(), Read::Number(7.into())),
                ("f".to_owned(), Read::Number(Number::from_f64(1.5).unwrap())),
                (
                    "l".to_owned(),
                    Read::Strings(vec!["a".to_owned(), "b".to_owned()])
                ),
                ("m".to_owned(), Read::NotStrings),
                ("o".to_owned(), Read::Other),
                ("z".to_owned(), Read::Other),
            ]
        );
    }

    /// Kept strings and numbers are the values serde_json reads.
    #[test]
    fn kept_values_equal_serde_json_values() {
        let text = r#"{"a":"x\"y\\z\/\u00e9\uD83D\uDE00","b":18446744073709551615,"c":-9223372036854775808,"d":2.5e3,"e":99999999999999999999,"f":["\n",""]}"#;
        let map = parse_object(text.as_bytes(), Part::Payload, 4).unwrap();
        let names = RefCell::new(Vec::new());
        let mut count = 0;
        walk_object(
            text,
            Part::Payload,
            4,
            |name| key_of(&names, name),
            |key, member| {
                count += 1;
                let name = names.borrow()[key].clone();
                let expected = &map[&name];
                match read(member) {
                    Read::Str(s) => assert_eq!(expected.as_str(), Some(&*s)),
                    Read::Number(n) => assert_eq!(expected.as_number(), Some(&n)),
                    Read::Strings(list) => assert_eq!(
                        expected.as_array().unwrap(),
                        &list
                            .iter()
                            .map(|s| serde_json::Value::from(s.as_str()))
                            .collect::<Vec<_>>()
                    ),
                    other => panic!("{name}: {other:?}"),
                }
            },
        )
        .unwrap();
        assert_eq!(count, map.len());
    }

    #[test]
    fn names_filter_finds_every_duplicate() {
        // More names than the in-place list holds, and names alike in length
        // and ends, so that the filter's bits collide.
        let names: Vec<String> = (0..40).map(|i| format!("a{i:02}a")).collect();
        let mut set = Names::default();
        for name in &names {
            assert!(set.insert(name, None));
        }
        for name in &names {
            assert!(!set.insert(name, None), "{name} twice");
        }
        // Escaped (owned) names, beyond the in-place count too, against
        // plain ones.
        let mut mixed = Names::default();
        for name in &names {
            assert!(mixed.insert("\\u0061", Some(name.clone())));
        }
        assert!(mixed.insert("other", None));
        for name in &names {
            assert!(!mixed.insert(name, None), "{name} twice");
        }
        let mut both = Names::default();
        assert!(both.insert("\\u0061lg", Some("alg".to_owned())));
        assert!(!both.insert("alg", None));
        assert!(both.insert("kid", None));
        assert!(!both.insert("\\u006bid", Some("kid".to_owned())));
        let mut few = Names::default();
        assert!(few.insert("ab", None));
        assert!(few.insert("ba", None));
        assert!(few.insert("", None));
        assert!(!few.insert("", None));
        assert!(!few.insert("ab", None));
    }
}
