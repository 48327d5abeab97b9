//! What both formats share: a record's values kept in one reused buffer,
//! and the readers of dates, names and flags.

use std::ops::Range;

use crate::birthdate::BirthDate;

/// The values of one record, by field number (each format numbers the
/// fields it reads), in one reused text buffer.
pub(super) struct Fields {
    text: String,
    values: Vec<(u8, Range<usize>)>,
    /// Fields given (even with no value), one bit per field number.
    given: u64,
    /// Text bytes plus a fixed cost per value.
    size: usize,
}

/// Bytes counted per value on top of its text, for the record size limit.
const VALUE_COST: usize = 16;

impl Fields {
    pub(super) fn new() -> Self {
        Self {
            text: String::with_capacity(4096),
            values: Vec::with_capacity(64),
            given: 0,
            size: 0,
        }
    }

    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.values.clear();
        self.given = 0;
        self.size = 0;
    }

    /// The buffer a value is decoded into: call [`start_value`], append to
    /// [`text_mut`], then [`end_value`].
    pub(super) fn start_value(&self) -> usize {
        self.text.len()
    }

    pub(super) fn text_mut(&mut self) -> &mut String {
        &mut self.text
    }

    /// The length of the value being read.
    pub(super) fn value_len(&self, start: usize) -> usize {
        self.text.len() - start
    }

    /// Ends the value started at `start` for `field`, trimmed. Returns the
    /// record's size so far.
    pub(super) fn end_value(&mut self, field: u8, start: usize) -> usize {
        let value = &self.text[start..];
        let trimmed = value.trim();
        let lead = value.len() - value.trim_start().len();
        let range = start + lead..start + lead + trimmed.len();
        self.size += self.text.len() - start + VALUE_COST;
        self.values.push((field, range));
        self.given |= 1 << field;
        self.size
    }

    /// Marks `field` given, with or without values.
    pub(super) fn mark_given(&mut self, field: u8) {
        self.given |= 1 << field;
    }

    pub(super) fn is_given(&self, field: u8) -> bool {
        self.given & (1 << field) != 0
    }

    /// The values of `field`, in order.
    pub(super) fn all(&self, field: u8) -> impl Iterator<Item = &str> {
        self.values
            .iter()
            .filter(move |(f, _)| *f == field)
            .map(|(_, r)| &self.text[r.clone()])
    }

    /// The first value of `field`, and whether there were more.
    pub(super) fn first(&self, field: u8) -> (Option<&str>, bool) {
        let mut all = self.all(field);
        let first = all.next();
        (first, all.next().is_some())
    }
}

/// Reads `dd/mm/yyyy`, or a presumed date `00/mm/yyyy`, `00/00/yyyy`.
pub(super) fn french_date(s: &str) -> Option<BirthDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[2] != b'/' || b[5] != b'/' {
        return None;
    }
    let num = |r: &[u8]| -> Option<u16> {
        r.iter().try_fold(0u16, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0'))
        })
    };
    let (day, month, year) = (num(&b[..2])?, num(&b[3..5])?, num(&b[6..])?);
    // Two digits are at most 99.
    let (day, month) = (day as u8, month as u8);
    match (day, month) {
        (0, 0) => BirthDate::presumed_month_and_day(year).ok(),
        (0, m) => BirthDate::presumed_day(year, m).ok(),
        (_, 0) => None,
        (d, m) => BirthDate::new(year, m, d).ok(),
    }
}

/// A `0` or `1` flag.
pub(super) fn flag(s: &str) -> Option<bool> {
    match s {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// A small decimal code (at most 3 digits).
pub(super) fn code(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Birth and usage names from a usage name (AAF `sn`) and a birth name
/// (`ENTPersonNomPatro`): the birth name is `sn` when missing, the usage
/// name is kept only when it differs.
pub(super) fn names(usage: &str, birth: Option<&str>) -> (String, Option<String>) {
    match birth.filter(|b| !b.is_empty()) {
        Some(birth) if birth != usage && !usage.is_empty() => {
            (birth.to_owned(), Some(usage.to_owned()))
        }
        Some(birth) => (birth.to_owned(), None),
        None => (usage.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::birthdate::DatePrecision;

    #[test]
    fn dates() {
        let d = french_date("14/03/2012").unwrap();
        assert_eq!((d.year(), d.month(), d.day()), (2012, 3, 14));
        assert_eq!(d.precision(), DatePrecision::Day);
        let d = french_date("00/03/2012").unwrap();
        assert_eq!(
            (d.year(), d.month(), d.precision()),
            (2012, 3, DatePrecision::Month)
        );
        let d = french_date("00/00/1975").unwrap();
        assert_eq!((d.year(), d.precision()), (1975, DatePrecision::Year));
        for bad in [
            "",
            "2012-03-14",
            "14/3/2012",
            "31/02/2012",
            "14/13/2012",
            "14/00/2012",
            "14/03/12",
            "14-03-2012",
            "aa/03/2012",
            "00/00/0000",
            " 14/03/2012",
        ] {
            assert!(french_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn name_pairs() {
        assert_eq!(names("Martin", None), ("Martin".into(), None));
        assert_eq!(names("Martin", Some("")), ("Martin".into(), None));
        assert_eq!(names("Martin", Some("Martin")), ("Martin".into(), None));
        assert_eq!(
            names("Martin-Dubois", Some("Dubois")),
            ("Dubois".into(), Some("Martin-Dubois".into()))
        );
        assert_eq!(names("", Some("Dubois")), ("Dubois".into(), None));
    }

    #[test]
    fn fields_trim_and_group() {
        let mut f = Fields::new();
        let s = f.start_value();
        f.text_mut().push_str("  Hélène ");
        f.end_value(3, s);
        let s = f.start_value();
        f.text_mut().push('x');
        f.end_value(4, s);
        let s = f.start_value();
        f.text_mut().push('y');
        f.end_value(3, s);
        assert_eq!(f.all(3).collect::<Vec<_>>(), ["Hélène", "y"]);
        assert_eq!(f.first(4), (Some("x"), false));
        assert_eq!(f.first(3), (Some("Hélène"), true));
        assert!(f.is_given(4) && !f.is_given(5));
    }
}
