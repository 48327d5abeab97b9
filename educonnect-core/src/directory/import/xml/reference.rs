//! The cursor as it read before it read from a window: the reference the
//! cursor is checked against, event by event, on generated documents.
#![allow(dead_code, reason = "a test oracle")]

use std::borrow::Cow;
use std::io::{self, BufRead};
use std::ops::Range;

use encoding_rs::{Encoding, UTF_8};
use quick_xml::events::Event;

use super::super::{MalformedXml, Unreadable};
use super::{Fatal, Item, RecordSpec, TooLargeMarker, resolve_reference};

/// The longest run of markup passed through after an overflow, per tag.
const TAG_PASS: usize = 512;

/// A `BufRead` that gives at most `limit` bytes per event (between two
/// [`mark`](Self::mark)s). Past the limit it drops every byte but those that
/// end markup ([`STRUCTURAL`]) and passes the next tags through, so that
/// the oversized event ends where it should and the reader goes on; it
/// remembers that it overflowed (the importer skips the record). Markup that keeps overflowing turns into
/// an I/O error of kind [`io::ErrorKind::InvalidData`] carrying
/// [`TooLargeMarker`].
pub(super) struct Bounded<R> {
    inner: R,
    limit: usize,
    used: usize,
    passed: usize,
    state: BoundState,
    overflowed: bool,
    /// Bytes read from the input (dropped ones included).
    pub(super) offset: u64,
}

#[derive(Clone, Copy)]
enum BoundState {
    Normal,
    Drop,
    /// Passing a tag through: bytes left, and whether the slice last handed
    /// out ends with `>` (and its length).
    Tag {
        left: usize,
        pending: usize,
        closes: bool,
    },
}

impl<R: BufRead> Bounded<R> {
    fn new(inner: R, limit: usize) -> Self {
        Self {
            inner,
            limit: limit.max(TAG_PASS),
            used: 0,
            passed: 0,
            state: BoundState::Normal,
            overflowed: false,
            offset: 0,
        }
    }

    /// A new event starts: the budget is renewed, the overflow forgotten.
    fn mark(&mut self) {
        self.overflowed = false;
        self.used = 0;
        self.passed = 0;
        self.state = BoundState::Normal;
    }

    /// Whether bytes were dropped since the last call.
    fn take_overflow(&mut self) -> bool {
        std::mem::take(&mut self.overflowed)
    }
}

impl<R: BufRead> io::Read for Bounded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        // The usual case, once per read of the XML reader: within budget.
        if let BoundState::Normal = self.state
            && self.used < self.limit
        {
            let budget = self.limit - self.used;
            let available = self.inner.fill_buf()?;
            let n = available.len().min(budget);
            return Ok(&available[..n]);
        }
        // Each arm decides how much to hand out, then the buffer is asked
        // again to return it (a second `fill_buf` does no I/O).
        let len = loop {
            match self.state {
                BoundState::Normal => {
                    let available = self.inner.fill_buf()?;
                    if available.is_empty() {
                        break 0;
                    }
                    if self.used < self.limit {
                        break available.len().min(self.limit - self.used);
                    }
                    self.overflowed = true;
                    self.state = BoundState::Drop;
                }
                BoundState::Drop => {
                    let available = self.inner.fill_buf()?;
                    if available.is_empty() {
                        break 0;
                    }
                    match available.iter().position(|b| STRUCTURAL.contains(b)) {
                        Some(0) => {
                            // A tag passes whole; another structural byte
                            // alone.
                            let left = if available[0] == b'<' { TAG_PASS } else { 1 };
                            self.state = BoundState::Tag {
                                left,
                                pending: 0,
                                closes: false,
                            }
                        }
                        Some(i) => {
                            self.inner.consume(i);
                            self.offset += i as u64;
                        }
                        None => {
                            let n = available.len();
                            self.inner.consume(n);
                            self.offset += n as u64;
                        }
                    }
                }
                BoundState::Tag { left, .. } => {
                    if self.passed > self.limit {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, TooLargeMarker));
                    }
                    let available = self.inner.fill_buf()?;
                    if available.is_empty() {
                        break 0;
                    }
                    let window = &available[..available.len().min(left)];
                    let (n, closes) = match window.iter().position(|&b| b == b'>') {
                        Some(i) => (i + 1, true),
                        None => (window.len(), false),
                    };
                    self.state = BoundState::Tag {
                        left,
                        pending: n,
                        closes,
                    };
                    break n;
                }
            }
        };
        let available = self.inner.fill_buf()?;
        Ok(&available[..len.min(available.len())])
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.offset += n as u64;
        self.used = self.used.saturating_add(n);
        if let BoundState::Tag {
            left,
            pending,
            closes,
        } = self.state
        {
            self.passed = self.passed.saturating_add(n);
            let left = left.saturating_sub(n);
            self.state = if (closes && n >= pending) || left == 0 {
                BoundState::Drop
            } else {
                BoundState::Tag {
                    left,
                    pending: pending.saturating_sub(n),
                    closes,
                }
            };
        }
    }
}

/// The bytes kept when an event overflows: those that end markup (a tag,
/// a quoted attribute value, a comment, CDATA, a processing instruction),
/// so that the reader finds where the oversized event ends.
const STRUCTURAL: &[u8] = b"<>\"'-]?";

/// Reads one file's events with an element stack and the file's encoding.
pub(super) struct Cursor<R> {
    reader: quick_xml::Reader<Bounded<R>>,
    buf: Vec<u8>,
    /// The buffer of the last start tag, and where its content (name and
    /// attributes) is in it: swapped with `buf` rather than copied.
    tag: Vec<u8>,
    tag_range: Range<usize>,
    name_len: usize,
    /// The buffer of the last text, and where its raw bytes are in it.
    text: Vec<u8>,
    text_range: Range<usize>,
    encoding: &'static Encoding,
    /// The encoding was forced by the caller: the declaration is not read.
    forced: bool,
    /// Names of the open elements, one after the other.
    names: Vec<u8>,
    /// Where each open element's name ends in `names`.
    ends: Vec<usize>,
    /// Levels opened past the maximum depth (not on the stack).
    too_deep: usize,
}

/// The deepest element kept on the stack; AAF and SIECLE need 5.
const MAX_DEPTH: usize = 32;

/// What one raw event was, with its data copied out of the reader's buffer.
enum Raw {
    Item(Item),
    Skip,
    Fatal(Fatal),
}

impl<R: BufRead> Cursor<R> {
    pub(super) fn new(input: R, max_event: usize, encoding: Option<&'static Encoding>) -> Self {
        let mut reader = quick_xml::Reader::from_reader(Bounded::new(input, max_event));
        let config = reader.config_mut();
        // End names are checked here, with a bounded stack.
        config.check_end_names = false;
        config.expand_empty_elements = true;
        Self {
            reader,
            buf: Vec::with_capacity(1024),
            tag: Vec::with_capacity(1024),
            tag_range: 0..0,
            name_len: 0,
            text: Vec::with_capacity(1024),
            text_range: 0..0,
            encoding: encoding.unwrap_or(UTF_8),
            forced: encoding.is_some(),
            names: Vec::with_capacity(256),
            ends: Vec::with_capacity(16),
            too_deep: 0,
        }
    }

    /// The encoding text is decoded with.
    pub(super) fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// The byte offset in the file of what was read last.
    pub(super) fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// Whether the input dropped bytes of the item just returned (it was too
    /// large).
    pub(super) fn overflowed(&mut self) -> bool {
        self.reader.get_mut().take_overflow()
    }

    /// The name of the element of the last [`Item::Start`].
    pub(super) fn name(&self) -> &[u8] {
        &self.tag[self.tag_range.start..][..self.name_len]
    }

    /// The raw bytes of the last [`Item::Text`].
    pub(super) fn text(&self) -> &[u8] {
        &self.text[self.text_range.clone()]
    }

    /// The raw value of the attribute `key` of the last start tag (entity
    /// references not resolved: see [`decode_attribute`]).
    pub(super) fn attribute(&self, key: &[u8]) -> Result<Option<&[u8]>, MalformedXml> {
        let mut rest = &self.tag[self.tag_range.clone()][self.name_len..];
        loop {
            rest = rest.trim_ascii_start();
            if rest.is_empty() || rest == b"/" {
                return Ok(None);
            }
            let eq = rest
                .iter()
                .position(|&b| b == b'=')
                .ok_or(MalformedXml::Attribute)?;
            let name = rest[..eq].trim_ascii_end();
            rest = rest[eq + 1..].trim_ascii_start();
            let quote = *rest.first().ok_or(MalformedXml::Attribute)?;
            if quote != b'"' && quote != b'\'' {
                return Err(MalformedXml::Attribute);
            }
            let close = rest[1..]
                .iter()
                .position(|&b| b == quote)
                .ok_or(MalformedXml::Attribute)?;
            let value = &rest[1..=close];
            if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace()) {
                return Err(MalformedXml::Attribute);
            }
            if name == key {
                return Ok(Some(value));
            }
            rest = &rest[close + 2..];
        }
    }

    /// The next item. Declarations, comments, processing instructions and
    /// the DOCTYPE are read through.
    pub(super) fn next(&mut self) -> Result<Item, Fatal> {
        loop {
            match self.read_raw() {
                Raw::Item(item) => return Ok(item),
                Raw::Skip => {}
                Raw::Fatal(fatal) => return Err(fatal),
            }
        }
    }

    fn read_raw(&mut self) -> Raw {
        self.reader.get_mut().mark();
        self.buf.clear();
        let event = match self.reader.read_event_into(&mut self.buf) {
            Ok(event) => event,
            Err(quick_xml::Error::Io(e)) => {
                let too_large = e
                    .get_ref()
                    .is_some_and(|inner| inner.is::<TooLargeMarker>());
                return Raw::Fatal(if too_large {
                    Fatal::Unreadable(Unreadable::TooLarge)
                } else {
                    Fatal::Io(io::Error::new(e.kind(), e.to_string()))
                });
            }
            Err(quick_xml::Error::Syntax(_)) => {
                return Raw::Fatal(Fatal::Unreadable(Unreadable::Syntax));
            }
            Err(quick_xml::Error::IllFormed(
                quick_xml::errors::IllFormedError::UnclosedReference,
            )) => {
                return Raw::Item(Item::Problem(MalformedXml::Reference));
            }
            Err(_) => return Raw::Item(Item::Problem(MalformedXml::IllFormed)),
        };
        match event {
            Event::Decl(decl) => {
                if self.forced {
                    return Raw::Skip;
                }
                let Some(label) = decl.encoding() else {
                    return Raw::Skip;
                };
                let Ok(label) = label else {
                    return Raw::Fatal(Fatal::Unreadable(Unreadable::Encoding));
                };
                match Encoding::for_label(&label) {
                    Some(encoding) if encoding.is_ascii_compatible() => {
                        self.encoding = encoding;
                        Raw::Skip
                    }
                    _ => Raw::Fatal(Fatal::Unreadable(Unreadable::Encoding)),
                }
            }
            Event::Start(start) => {
                let name = start.name();
                let name = name.as_ref();
                if self.too_deep > 0 || self.ends.len() >= MAX_DEPTH {
                    self.too_deep += 1;
                    return Raw::Item(Item::Problem(MalformedXml::TooDeep));
                }
                self.name_len = name.len();
                self.names.extend_from_slice(name);
                self.ends.push(self.names.len());
                // The event's bytes become the tag, by swapping the buffers
                // (a buffered reader's start tag is always in `buf`).
                let at = (start.as_ptr() as usize, start.len());
                drop(start);
                let Some(range) = within(&self.buf, at) else {
                    debug_assert!(false, "a start tag outside the buffer");
                    return Raw::Item(Item::Problem(MalformedXml::IllFormed));
                };
                std::mem::swap(&mut self.buf, &mut self.tag);
                self.tag_range = range;
                Raw::Item(Item::Start {
                    depth: self.ends.len(),
                })
            }
            Event::End(end) => {
                if self.too_deep > 0 {
                    self.too_deep -= 1;
                    return Raw::Skip;
                }
                let depth = self.ends.len();
                let Some(&top_end) = self.ends.last() else {
                    return Raw::Item(Item::Problem(MalformedXml::UnexpectedEndTag));
                };
                let top_start = if depth >= 2 { self.ends[depth - 2] } else { 0 };
                if &self.names[top_start..top_end] != end.name().as_ref() {
                    return Raw::Item(Item::Problem(MalformedXml::EndTagMismatch));
                }
                self.ends.pop();
                self.names.truncate(top_start);
                Raw::Item(Item::End { depth })
            }
            Event::Text(text) => {
                let (at, owned) = where_is(text.into_inner());
                let Some(range) = take(&mut self.buf, at, owned, &mut self.text) else {
                    debug_assert!(false, "a text outside the buffer");
                    return Raw::Item(Item::Problem(MalformedXml::IllFormed));
                };
                self.text_range = range;
                Raw::Item(Item::Text)
            }
            Event::CData(data) => {
                let (at, owned) = where_is(data.into_inner());
                let Some(range) = take(&mut self.buf, at, owned, &mut self.text) else {
                    debug_assert!(false, "a text outside the buffer");
                    return Raw::Item(Item::Problem(MalformedXml::IllFormed));
                };
                self.text_range = range;
                Raw::Item(Item::Text)
            }
            Event::GeneralRef(reference) => Raw::Item(match resolve_reference(&reference) {
                Some(c) => Item::Char(c),
                None => Item::Problem(MalformedXml::Reference),
            }),
            Event::Eof => Raw::Item(Item::Eof),
            Event::Empty(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => Raw::Skip,
        }
    }

    /// Skips to the next start of one of `records`, whatever the stack says
    /// (it may be wrong after a malformed record), and resets the stack to
    /// that record's container, with the record open. Returns the index of
    /// the record's spec, or `None` at the end of the file.
    pub(super) fn resync(&mut self, records: &[RecordSpec]) -> Result<Option<usize>, Fatal> {
        loop {
            match self.read_raw() {
                Raw::Fatal(fatal) => return Err(fatal),
                Raw::Item(Item::Eof) => return Ok(None),
                Raw::Item(Item::Start { .. }) => {
                    let Some(i) = records.iter().position(|r| r.name == self.name()) else {
                        continue;
                    };
                    self.too_deep = 0;
                    self.names.clear();
                    self.ends.clear();
                    for part in records[i].container.iter().chain([&records[i].name]) {
                        self.names.extend_from_slice(part);
                        self.ends.push(self.names.len());
                    }
                    return Ok(Some(i));
                }
                Raw::Item(_) | Raw::Skip => {}
            }
        }
    }

    /// Reads to the end of the element at the top of the stack (depth
    /// `depth`), ignoring what is inside. Problems inside are returned.
    pub(super) fn skip_element(&mut self, depth: usize) -> Result<Option<Item>, Fatal> {
        loop {
            match self.next()? {
                Item::End { depth: d } if d == depth => return Ok(None),
                item @ (Item::Problem(_) | Item::Eof) => return Ok(Some(item)),
                _ => {}
            }
        }
    }
}

/// Where the bytes at `ptr` (`len` of them) are in `buf`, if they are.
fn within(buf: &[u8], (ptr, len): (usize, usize)) -> Option<Range<usize>> {
    if len == 0 {
        return Some(0..0);
    }
    let start = ptr.wrapping_sub(buf.as_ptr() as usize);
    let end = start.checked_add(len)?;
    (end <= buf.len()).then_some(start..end)
}

/// An event's bytes: their address and length if borrowed from the
/// reader's buffer, or the bytes themselves (ending the borrow either way).
fn where_is(bytes: Cow<'_, [u8]>) -> ((usize, usize), Option<Vec<u8>>) {
    let at = (bytes.as_ptr() as usize, bytes.len());
    match bytes {
        Cow::Borrowed(_) => (at, None),
        Cow::Owned(v) => (at, Some(v)),
    }
}

/// Moves an event's bytes into `target`: by swapping `buf` (the event was
/// read into it) and `target` when they are in `buf`, the usual case, else
/// by copying. Returns where they are in `target`; `None` if borrowed bytes
/// are not in `buf` (a buffered reader's never are).
fn take(
    buf: &mut Vec<u8>,
    at: (usize, usize),
    owned: Option<Vec<u8>>,
    target: &mut Vec<u8>,
) -> Option<Range<usize>> {
    match owned {
        None => {
            let range = within(buf, at)?;
            std::mem::swap(buf, target);
            Some(range)
        }
        Some(bytes) => {
            target.clear();
            target.extend_from_slice(&bytes);
            Some(0..bytes.len())
        }
    }
}
