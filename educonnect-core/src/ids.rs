//! Identifiers of the French education system and of INSEE, checked on the
//! way in.
//!
//! The same types are read from provider claims (EduConnect's `FrEduCtEleveUAI`,
//! FranceConnect's `birthplace`) and from directory exports (SIECLE, AAF), so
//! that a value from either side compares equal only when it is the same
//! identifier. Parsing is exact and case-sensitive, as in the published
//! patterns: no trimming, no case folding. A caller that wants to be lenient
//! with a sloppy source normalizes before parsing.
//!
//! An [`Ine`] is a pupil's national identifier, personal data: its `Debug`
//! output is redacted and it has no `Display`. A [`Uai`] names a school and
//! is public.

use std::fmt;
use std::str::FromStr;

/// Why a value is not a valid identifier. Messages never repeat the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not 7 digits followed by an upper-case letter.
    #[error("a UAI is 7 digits and an upper-case key letter")]
    UaiShape,
    /// The key letter does not match the 7 digits.
    #[error("the UAI key letter does not match its digits")]
    UaiCheckLetter,
    /// Not one of the INE shapes in use (RNIE, BEA, base 36, apprenticeship,
    /// provisional).
    #[error("not an INE: 11 characters in one of the known shapes")]
    IneShape,
    /// Not a 5-character INSEE commune code.
    #[error("not an INSEE commune code (2A/2B or 2 digits, then 3 digits)")]
    InseeCodeShape,
    /// Not a 5-digit INSEE country code starting with `99`.
    #[error("not an INSEE country code (99 and 3 digits)")]
    InseeCountryCodeShape,
    /// Not `{AAF}<academy>|<x>|<join key>` with a 1 to 3 digit academy code
    /// and a join key.
    #[error("not an AAF id ({{AAF}}<academy>|<x>|<join key>)")]
    AafIdShape,
}

/// The characters are ASCII by construction: every constructor checks them.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("identifiers hold ASCII only")
}

fn fixed<const N: usize>(s: &str) -> Option<[u8; N]> {
    s.as_bytes().try_into().ok()
}

/// A school's UAI (unité administrative immatriculée, formerly RNE): 7 digits
/// and a key letter, e.g. `0750654D`.
///
/// The key is `"ABCDEFGHJKLMNPRSTUVWXYZ"[n % 23]` where `n` is the 7-digit
/// number; it is checked, so a typo in a directory or a forged claim does not
/// name another school.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uai([u8; 8]);

impl Uai {
    const KEYS: &'static [u8; 23] = b"ABCDEFGHJKLMNPRSTUVWXYZ";

    /// Reads a UAI, checking its shape and its key letter.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let bytes: [u8; 8] = fixed(s).ok_or(IdError::UaiShape)?;
        let (digits, key) = bytes.split_at(7);
        if !digits.iter().all(u8::is_ascii_digit) || !key[0].is_ascii_uppercase() {
            return Err(IdError::UaiShape);
        }
        let n = digits
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        if Self::KEYS[(n % 23) as usize] != key[0] {
            return Err(IdError::UaiCheckLetter);
        }
        Ok(Self(bytes))
    }

    /// The UAI as written, e.g. `0750654D`.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }
}

impl FromStr for Uai {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl fmt::Display for Uai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Uai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Uai").field(&self.as_str()).finish()
    }
}

/// Which of the INE shapes in use an [`Ine`] has. The shapes do not overlap,
/// so every valid INE has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IneKind {
    /// RNIE: 9 digits and 2 letters from `A-H`, `J`, `K`.
    Rnie,
    /// BEA: 10 digits and a letter (not `I`, `O`, `Q`).
    Bea,
    /// Base 36: 10 digits or upper-case letters, then a digit.
    Base36,
    /// Apprenticeship: 4 digits, `A`, 5 digits, a letter (not `I`, `O`, `Q`).
    Apprenticeship,
    /// Provisional: 4 digits, `D`, 5 digits, a letter (not `I`, `O`, `Q`).
    Provisional,
}

/// A pupil's national identifier (identifiant national élève), 11 characters.
///
/// Only the shape is checked: the check-character algorithms are not reliably
/// public. Personal data: `Debug` prints `Ine(..)` and there is no `Display`;
/// read it with [`as_str`](Self::as_str) where it is really needed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ine([u8; 11]);

impl Ine {
    /// Reads an INE in one of the shapes in use.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let bytes: [u8; 11] = fixed(s).ok_or(IdError::IneShape)?;
        Self::kind_of(&bytes).ok_or(IdError::IneShape)?;
        Ok(Self(bytes))
    }

    /// The INE as written.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }

    /// Which shape this INE has.
    pub fn kind(&self) -> IneKind {
        Self::kind_of(&self.0).expect("checked at construction")
    }

    fn kind_of(b: &[u8; 11]) -> Option<IneKind> {
        let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
        // A-H, J-N, P, R-Z: upper-case letters except I, O and Q.
        let key = |c: u8| c.is_ascii_uppercase() && !matches!(c, b'I' | b'O' | b'Q');
        let rnie = |c: u8| matches!(c, b'A'..=b'H' | b'J' | b'K');
        if digits(&b[..9]) && rnie(b[9]) && rnie(b[10]) {
            Some(IneKind::Rnie)
        } else if digits(&b[..10]) && key(b[10]) {
            Some(IneKind::Bea)
        } else if b[..10]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            && b[10].is_ascii_digit()
        {
            Some(IneKind::Base36)
        } else if digits(&b[..4]) && digits(&b[5..10]) && key(b[10]) {
            match b[4] {
                b'A' => Some(IneKind::Apprenticeship),
                b'D' => Some(IneKind::Provisional),
                _ => None,
            }
        } else {
            None
        }
    }
}

impl FromStr for Ine {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl fmt::Debug for Ine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ine(..)")
    }
}

/// An INSEE commune code (code officiel géographique), 5 characters:
/// `^(2[AB]|[0-9]{2})[0-9]{3}$`, e.g. `75107` (Paris 7e) or `2A004` (Ajaccio).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InseeCode([u8; 5]);

impl InseeCode {
    /// Reads a commune code.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let b: [u8; 5] = fixed(s).ok_or(IdError::InseeCodeShape)?;
        let department = b[..2].iter().all(u8::is_ascii_digit) || matches!(&b[..2], b"2A" | b"2B");
        if !department || !b[2..].iter().all(u8::is_ascii_digit) {
            return Err(IdError::InseeCodeShape);
        }
        Ok(Self(b))
    }

    /// The code as written.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }
}

impl FromStr for InseeCode {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl fmt::Display for InseeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for InseeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("InseeCode").field(&self.as_str()).finish()
    }
}

/// An INSEE country code, 5 digits starting with `99`; `99100` is France.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InseeCountryCode([u8; 5]);

impl InseeCountryCode {
    /// France, `99100`.
    pub const FRANCE: Self = Self(*b"99100");

    /// Reads a country code.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let b: [u8; 5] = fixed(s).ok_or(IdError::InseeCountryCodeShape)?;
        if !b.starts_with(b"99") || !b.iter().all(u8::is_ascii_digit) {
            return Err(IdError::InseeCountryCodeShape);
        }
        Ok(Self(b))
    }

    /// The code as written.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }

    /// Whether this is France (`99100`).
    pub fn is_france(&self) -> bool {
        *self == Self::FRANCE
    }
}

impl FromStr for InseeCountryCode {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl fmt::Display for InseeCountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for InseeCountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("InseeCountryCode")
            .field(&self.as_str())
            .finish()
    }
}

/// An AAF identity from `FrEduCtRefId`: `{AAF}<academy code>|<x>|<join key>`.
/// The join key is the person's `ENTPersonJointure` in that academy's AAF
/// export, by which the directory finds the person and their family links.
///
/// `Debug` shows the academy only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AafId {
    academy: String,
    qualifier: String,
    join_key: String,
}

impl AafId {
    /// Reads a `{AAF}` value: the prefix exactly, then three `|`-separated
    /// fields. The academy code is 1 to 3 ASCII digits (e.g. `14` Rennes,
    /// `25` Versailles), the middle field is kept as it is (its meaning is
    /// not public; it may be empty), the join key must not be empty.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let malformed = IdError::AafIdShape;
        let rest = value.strip_prefix("{AAF}").ok_or(malformed)?;
        let mut fields = rest.split('|');
        let (Some(academy), Some(qualifier), Some(join_key), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(malformed);
        };
        if !(1..=3).contains(&academy.len()) || !academy.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed);
        }
        if join_key.trim().is_empty() || value.chars().any(char::is_control) {
            return Err(malformed);
        }
        Ok(Self {
            academy: academy.to_owned(),
            qualifier: qualifier.to_owned(),
            join_key: join_key.to_owned(),
        })
    }

    /// The academy code, as written (e.g. `14`).
    pub fn academy(&self) -> &str {
        &self.academy
    }

    /// The middle field, as written.
    pub fn qualifier(&self) -> &str {
        &self.qualifier
    }

    /// The AAF `ENTPersonJointure` in that academy.
    pub fn join_key(&self) -> &str {
        &self.join_key
    }
}

impl fmt::Debug for AafId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AafId")
            .field("academy", &self.academy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uai_accepts_the_reference_examples() {
        for s in ["0750654D", "0870003F", "0920131T"] {
            assert_eq!(Uai::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Uai::parse("0750654D").unwrap().to_string(), "0750654D");
    }

    #[test]
    fn uai_checks_the_key_letter() {
        // One off, and a letter outside the key alphabet.
        assert_eq!(Uai::parse("0750654E"), Err(IdError::UaiCheckLetter));
        assert_eq!(Uai::parse("0750655D"), Err(IdError::UaiCheckLetter));
        assert_eq!(Uai::parse("0750654I"), Err(IdError::UaiCheckLetter));
        // The public EduConnect fixture's fake UAI: 379142 % 23 = 10, key L.
        assert_eq!(Uai::parse("0379142G"), Err(IdError::UaiCheckLetter));
        assert!(Uai::parse("0379142L").is_ok());
    }

    #[test]
    fn uai_checks_the_shape() {
        for s in [
            "",
            "0750654",
            "0750654DD",
            "075065AD",
            "0750654d",
            "0750654-",
            " 0750654D",
            "０750654D",
        ] {
            assert_eq!(Uai::parse(s), Err(IdError::UaiShape), "{s:?}");
        }
    }

    #[test]
    fn ine_shapes() {
        let cases = [
            ("123456789AB", IneKind::Rnie),
            ("123456789JK", IneKind::Rnie),
            ("1234567890A", IneKind::Bea),
            ("1234567890Z", IneKind::Bea),
            ("12345ABCDE7", IneKind::Base36),
            ("12345678901", IneKind::Base36),
            ("1234A56789B", IneKind::Apprenticeship),
            ("1234D56789B", IneKind::Provisional),
        ];
        for (s, kind) in cases {
            let ine = Ine::parse(s).unwrap();
            assert_eq!(ine.as_str(), s);
            assert_eq!(ine.kind(), kind, "{s}");
        }
    }

    #[test]
    fn ine_rejects_other_shapes() {
        for s in [
            "",
            "1234567890",   // the EduConnect fixture's fake value: 10 characters
            "123456789012", // 12
            "123456789AL",  // RNIE letters stop at K
            "1234567890I",  // BEA key excludes I, O, Q
            "1234567890O",
            "1234567890Q",
            "123456789ab", // lower case
            "1234B56789B", // neither apprenticeship nor provisional
            "1234A56789I",
            "1234567890-",
        ] {
            assert_eq!(Ine::parse(s), Err(IdError::IneShape), "{s:?}");
        }
    }

    #[test]
    fn ine_debug_is_redacted() {
        let ine = Ine::parse("123456789AB").unwrap();
        assert_eq!(format!("{ine:?}"), "Ine(..)");
    }

    #[test]
    fn insee_commune_codes() {
        for s in ["75107", "2A004", "2B033", "97411", "01001", "20004"] {
            assert_eq!(InseeCode::parse(s).unwrap().as_str(), s);
        }
        for s in [
            "", "7510", "751070", "2C004", "2a004", "A2004", "7510A", "75 07",
        ] {
            assert_eq!(InseeCode::parse(s), Err(IdError::InseeCodeShape), "{s:?}");
        }
    }

    #[test]
    fn insee_country_codes() {
        let fr = InseeCountryCode::parse("99100").unwrap();
        assert!(fr.is_france());
        assert_eq!(fr, InseeCountryCode::FRANCE);
        let dz = InseeCountryCode::parse("99352").unwrap();
        assert!(!dz.is_france());
        assert_eq!(dz.as_str(), "99352");
        for s in ["", "9910", "991000", "98100", "99A00", "75107", "09100"] {
            assert_eq!(
                InseeCountryCode::parse(s),
                Err(IdError::InseeCountryCodeShape),
                "{s:?}"
            );
        }
    }
}
