//! Birth dates, including the presumed ones of the civil registry.
//!
//! Some people's exact birth date is unknown to the registry: only the year, or
//! the year and month. FranceConnect sends such a date completed with `01`
//! (`1992-11-01`, `1992-01-01`) and the raw value with `00` in `idp_birthdate`
//! (`1992-11-00`, `1992-00-00`). A [`BirthDate`] keeps the completed value and
//! a [`DatePrecision`], so that matching against a school record compares only
//! what is known.
//!
//! A birth date is personal data: `Debug` shows only the precision and there is
//! no `Display`.

use std::fmt;

/// Why a text is not a birth date. Messages never repeat the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BirthDateError {
    /// Not `YYYY-MM-DD` with ASCII digits.
    #[error("not a date in the form YYYY-MM-DD")]
    Format,
    /// Well formed, but no such day in the calendar (February 30, month 13,
    /// year 0000...), or a presumed-date marker in an impossible place.
    #[error("no such day in the calendar")]
    NotInCalendar,
}

/// How much of a [`BirthDate`] is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatePrecision {
    /// The full date is known.
    Day,
    /// Year and month are known; the day is presumed (stored as `01`).
    Month,
    /// Only the year is known; month and day are presumed (stored as `01-01`).
    Year,
}

/// A birth date in the proleptic Gregorian calendar, years 0001 to 9999, with
/// how much of it is known.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BirthDate {
    year: u16,
    month: u8,
    day: u8,
    precision: DatePrecision,
}

impl BirthDate {
    /// An exactly known date.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, BirthDateError> {
        if !(1..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return Err(BirthDateError::NotInCalendar);
        }
        Ok(Self {
            year,
            month,
            day,
            precision: DatePrecision::Day,
        })
    }

    /// A date of which only the year and month are known; the day reads as 1.
    pub fn presumed_day(year: u16, month: u8) -> Result<Self, BirthDateError> {
        Ok(Self {
            precision: DatePrecision::Month,
            ..Self::new(year, month, 1)?
        })
    }

    /// A date of which only the year is known; month and day read as 1.
    pub fn presumed_month_and_day(year: u16) -> Result<Self, BirthDateError> {
        Ok(Self {
            precision: DatePrecision::Year,
            ..Self::new(year, 1, 1)?
        })
    }

    /// Reads an exactly known `YYYY-MM-DD` date.
    pub fn parse_iso(s: &str) -> Result<Self, BirthDateError> {
        let (year, month, day) = split_iso(s)?;
        Self::new(year, month, day)
    }

    /// Reads a raw registry date where `00` marks what is unknown:
    /// `YYYY-MM-DD`, `YYYY-MM-00` or `YYYY-00-00` (FranceConnect's
    /// `idp_birthdate`).
    pub fn parse_raw(s: &str) -> Result<Self, BirthDateError> {
        match split_iso(s)? {
            (year, 0, 0) => Self::presumed_month_and_day(year),
            (_, 0, _) => Err(BirthDateError::NotInCalendar),
            (year, month, 0) => Self::presumed_day(year, month),
            (year, month, day) => Self::new(year, month, day),
        }
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1 to 12 (1 when presumed).
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month (1 when presumed).
    pub fn day(&self) -> u8 {
        self.day
    }

    /// How much of the date is known.
    pub fn precision(&self) -> DatePrecision {
        self.precision
    }

    /// Whether part of the date is presumed.
    pub fn is_presumed(&self) -> bool {
        self.precision != DatePrecision::Day
    }

    /// Whether an exact date (a school record, a date typed by a parent) fits
    /// this one: equal on every part that is known.
    pub fn matches(&self, year: u16, month: u8, day: u8) -> bool {
        match self.precision {
            DatePrecision::Day => (self.year, self.month, self.day) == (year, month, day),
            DatePrecision::Month => (self.year, self.month) == (year, month),
            DatePrecision::Year => self.year == year,
        }
    }
}

impl fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BirthDate")
            .field("precision", &self.precision)
            .finish_non_exhaustive()
    }
}

fn split_iso(s: &str) -> Result<(u16, u8, u8), BirthDateError> {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(BirthDateError::Format);
    }
    let (y, m, d) = (&b[..4], &b[5..7], &b[8..]);
    if !digits(y) || !digits(m) || !digits(d) {
        return Err(BirthDateError::Format);
    }
    let n = |r: &[u8]| r.iter().fold(0u16, |n, c| n * 10 + u16::from(c - b'0'));
    // Two ASCII digits are at most 99: the narrowing cannot truncate.
    Ok((n(y), n(m) as u8, n(d) as u8))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_dates() {
        let d = BirthDate::parse_iso("1962-08-24").unwrap();
        assert_eq!((d.year(), d.month(), d.day()), (1962, 8, 24));
        assert_eq!(d.precision(), DatePrecision::Day);
        assert!(!d.is_presumed());
        assert!(d.matches(1962, 8, 24));
        assert!(!d.matches(1962, 8, 25));
    }

    #[test]
    fn leap_years() {
        assert!(BirthDate::parse_iso("2000-02-29").is_ok()); // divisible by 400
        assert!(BirthDate::parse_iso("2024-02-29").is_ok());
        assert_eq!(
            BirthDate::parse_iso("1900-02-29"),
            Err(BirthDateError::NotInCalendar)
        );
        assert_eq!(
            BirthDate::parse_iso("2023-02-29"),
            Err(BirthDateError::NotInCalendar)
        );
    }

    #[test]
    fn impossible_days() {
        for s in [
            "1992-02-30",
            "1992-04-31",
            "1992-13-01",
            "1992-00-10",
            "1992-11-00",
            "1992-00-00",
            "0000-01-01",
            "1992-01-32",
        ] {
            assert_eq!(
                BirthDate::parse_iso(s),
                Err(BirthDateError::NotInCalendar),
                "{s}"
            );
        }
        assert!(BirthDate::parse_iso("1992-12-31").is_ok());
    }

    #[test]
    fn malformed() {
        for s in [
            "",
            "24/08/1962",
            "1962-8-24",
            "1962-08-24T00:00:00",
            "62-08-24",
            "1962_08_24",
            "1962-08-2a",
            "+962-08-24",
            "1962-0８-24",
        ] {
            assert_eq!(BirthDate::parse_iso(s), Err(BirthDateError::Format), "{s}");
        }
    }

    #[test]
    fn raw_presumed_dates() {
        let month = BirthDate::parse_raw("1992-11-00").unwrap();
        assert_eq!(month.precision(), DatePrecision::Month);
        assert_eq!((month.year(), month.month(), month.day()), (1992, 11, 1));
        assert!(month.matches(1992, 11, 17));
        assert!(!month.matches(1992, 10, 17));

        let year = BirthDate::parse_raw("1992-00-00").unwrap();
        assert_eq!(year.precision(), DatePrecision::Year);
        assert_eq!((year.year(), year.month(), year.day()), (1992, 1, 1));
        assert!(year.matches(1992, 7, 3));
        assert!(!year.matches(1993, 1, 1));

        assert_eq!(
            BirthDate::parse_raw("1992-11-05").unwrap(),
            BirthDate::parse_iso("1992-11-05").unwrap()
        );
        assert_eq!(
            BirthDate::parse_raw("1992-00-05"),
            Err(BirthDateError::NotInCalendar)
        );
        assert_eq!(
            BirthDate::parse_raw("1992-13-00"),
            Err(BirthDateError::NotInCalendar)
        );
        assert_eq!(
            BirthDate::parse_raw("1992-02-30"),
            Err(BirthDateError::NotInCalendar)
        );
        assert_eq!(BirthDate::parse_raw("1992-11"), Err(BirthDateError::Format));
    }

    #[test]
    fn debug_shows_no_date() {
        let d = BirthDate::parse_iso("1962-08-24").unwrap();
        let shown = format!("{d:?}");
        assert_eq!(shown, "BirthDate { precision: Day, .. }");
    }
}
