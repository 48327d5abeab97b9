//! Name normalization and matching: how a FranceConnect identity is compared
//! with the names a school recorded. The rules are documented on the public
//! items: [`normalize`], [`family_name_key`], [`NameQuery`].
//!
//! Matching yields candidates, never a decision: homonyms are common
//! (thousands of `MARTIN Marie` in France), so a match only makes a record a
//! [`Candidate`]; the confirmation challenge (the children's birth dates, a
//! one-time code) decides.

use std::fmt;
use std::sync::Arc;

use super::model::RelatedPerson;

/// How one character folds.
enum Fold {
    /// A separator between words.
    Separator,
    /// Dropped (a combining mark).
    Drop,
    /// One upper-case ASCII letter or digit.
    Ascii(u8),
    /// Several ASCII letters (a ligature).
    Ligature(&'static str),
    /// A letter of another script, upper-cased.
    Other(char),
}

/// The base letters of U+00C0 to U+00FF, `*` where the character is not a
/// plain letter (handled separately).
const LATIN_1: &[u8; 64] = b"AAAAAA*CEEEEIIIIDNOOOOO*OUUUUY**AAAAAA*CEEEEIIIIDNOOOOO*OUUUUY*Y";

/// The base letters of U+0100 to U+017F (Latin Extended-A), `*` for the
/// ligatures ĳ and œ.
const LATIN_EXTENDED_A: &[u8; 128] = b"AAAAAACCCCCCCCDDDDEEEEEEEEEEGGGGGGGGHHHHIIIIIIIIII**JJKKKLLLLLLLLLLNNNNNNNNNOOOOOO**RRRRRRSSSSSSSSTTTTTTUUUUUUUUUUUUWWYYYZZZZZZS";

fn fold(c: char) -> Fold {
    if c.is_ascii() {
        return if c.is_ascii_alphanumeric() {
            Fold::Ascii(c.to_ascii_uppercase() as u8)
        } else {
            Fold::Separator
        };
    }
    let code = u32::from(c);
    match code {
        // Combining diacritical marks: a decomposed accent.
        0x0300..=0x036F => Fold::Drop,
        // Modifier letters used as apostrophes (ʹ ʻ ʼ ʽ), letters to Unicode
        // but apostrophes in names.
        0x02B9 | 0x02BB | 0x02BC | 0x02BD => Fold::Separator,
        0x00C6 | 0x00E6 => Fold::Ligature("AE"),
        0x00DE | 0x00FE => Fold::Ligature("TH"),
        0x00DF => Fold::Ligature("SS"),
        0x0132 | 0x0133 => Fold::Ligature("IJ"),
        0x0152 | 0x0153 => Fold::Ligature("OE"),
        0x1E9E => Fold::Ligature("SS"),
        0x00C0..=0x00FF => match LATIN_1[(code - 0xC0) as usize] {
            b'*' => Fold::Separator, // × and ÷
            b => Fold::Ascii(b),
        },
        0x0100..=0x017F => Fold::Ascii(LATIN_EXTENDED_A[(code - 0x100) as usize]),
        0x01A0 | 0x01A1 => Fold::Ascii(b'O'),
        0x01AF | 0x01B0 => Fold::Ascii(b'U'),
        0x0218 | 0x0219 => Fold::Ascii(b'S'),
        0x021A | 0x021B => Fold::Ascii(b'T'),
        // Precomposed Vietnamese letters, in blocks by base letter.
        0x1EA0..=0x1EB7 => Fold::Ascii(b'A'),
        0x1EB8..=0x1EC7 => Fold::Ascii(b'E'),
        0x1EC8..=0x1ECB => Fold::Ascii(b'I'),
        0x1ECC..=0x1EE3 => Fold::Ascii(b'O'),
        0x1EE4..=0x1EF1 => Fold::Ascii(b'U'),
        0x1EF2..=0x1EF9 => Fold::Ascii(b'Y'),
        _ if c.is_alphanumeric() => Fold::Other(c),
        // Apostrophes, dashes, spaces of every kind, other punctuation.
        _ => Fold::Separator,
    }
}

/// What remains to emit of the current input character.
enum Tail {
    None,
    Char(char),
    Str(&'static str),
    Upper(std::char::ToUppercase),
}

/// The characters of a normalized name, computed on the fly: what
/// [`normalize`] (with `Some(' ')` as separator) or [`family_name_key`]
/// (with `None`) would return, without allocating. Lookups compare record
/// names through it, so that a lookup allocates nothing per record it
/// checks.
///
/// Built over several names ([`Folded::names`]), the names are separated
/// like words: `["Anne-Marie", "Claire"]` reads `ANNE MARIE CLAIRE`.
pub(crate) struct Folded<'a> {
    chars: std::str::Chars<'a>,
    rest: std::slice::Iter<'a, String>,
    separator: Option<char>,
    started: bool,
    pending: bool,
    tail: Tail,
}

impl<'a> Folded<'a> {
    pub(crate) fn new(name: &'a str, separator: Option<char>) -> Self {
        Self {
            chars: name.chars(),
            rest: [].iter(),
            separator,
            started: false,
            pending: false,
            tail: Tail::None,
        }
    }

    /// The words of several names, in order, separated by `separator`.
    pub(crate) fn names(names: &'a [String], separator: Option<char>) -> Self {
        let mut rest = names.iter();
        let first = rest.next().map_or("", String::as_str);
        Self {
            rest,
            ..Self::new(first, separator)
        }
    }
}

impl Iterator for Folded<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        loop {
            match &mut self.tail {
                Tail::None => {}
                &mut Tail::Char(c) => {
                    self.tail = Tail::None;
                    return Some(c);
                }
                Tail::Str(s) => {
                    let mut chars = s.chars();
                    if let Some(c) = chars.next() {
                        *s = chars.as_str();
                        return Some(c);
                    }
                    self.tail = Tail::None;
                }
                Tail::Upper(upper) => {
                    if let Some(c) = upper.next() {
                        return Some(c);
                    }
                    self.tail = Tail::None;
                }
            }
            let Some(c) = self.chars.next() else {
                // The end of one name separates it from the next.
                let next = self.rest.next()?;
                self.chars = next.chars();
                self.pending |= self.started;
                continue;
            };
            let out = match fold(c) {
                Fold::Separator => {
                    self.pending |= self.started;
                    continue;
                }
                Fold::Drop => continue,
                Fold::Ascii(b) => Tail::Char(char::from(b)),
                Fold::Ligature(l) => Tail::Str(l),
                Fold::Other(c) => Tail::Upper(c.to_uppercase()),
            };
            self.started = true;
            self.tail = out;
            if std::mem::take(&mut self.pending)
                && let Some(separator) = self.separator
            {
                return Some(separator);
            }
        }
    }
}

/// Pushes the normalized words of `s` onto `out`, separated by `separator`
/// (`None`: no separator at all).
fn normalize_into(s: &str, out: &mut String, separator: Option<char>) {
    out.extend(Folded::new(s, separator));
}

/// A name in upper-case ASCII words separated by single spaces.
///
/// The rules:
///
/// - case is folded (`Zoé` → `ZOE`);
/// - accents are removed: the French ones (é è ê ë à â ä î ï ô ö ù û ü ç ÿ
///   ñ and their capitals), the rest of Latin-1 and Latin Extended-A (ą ł ř
///   š ő...), Romanian ș ț, Vietnamese ơ ư and the precomposed Vietnamese
///   letters (ễ ộ...), and any combining mark (a name sent decomposed, `e` +
///   U+0301, folds like a precomposed `é`);
/// - ligatures are spelled out: œ → `OE`, æ → `AE`, ß → `SS`, ĳ → `IJ`,
///   þ → `TH`;
/// - hyphens (`-` and the Unicode dashes), apostrophes (`'`, `’`, `ʼ`...),
///   spaces of any kind and any other punctuation separate words; runs of
///   separators count as one, and leading or trailing ones are dropped.
///
/// **Apostrophes separate words**: `D'Artagnan` is `D ARTAGNAN`, like
/// `Lefèvre-Dupont` is `LEFEVRE DUPONT`. In French the apostrophe marks an
/// elision between two words (d'Artagnan, N'Diaye, L'Hôte), and schools'
/// software often replaces it with a space.
///
/// Letters of other scripts are kept, upper-cased, with their accents
/// (a Greek tonos stays); digits are kept.
///
///
/// ```
/// use educonnect_core::directory::normalize;
///
/// assert_eq!(normalize("Lefèvre-Dupont"), "LEFEVRE DUPONT");
/// assert_eq!(normalize("D’Artagnan"), "D ARTAGNAN");
/// assert_eq!(normalize("  Cœur  "), "COEUR");
/// ```
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    normalize_into(name, &mut out, Some(' '));
    out
}

/// A family name as compared: [`normalize`]d, separators removed, so that
/// `LE GOFF` = `LEGOFF` and `D'Artagnan` = `DARTAGNAN`.
///
/// Registries and schools split family names differently: `LE GOFF` and
/// `LEGOFF`, `D'ARTAGNAN`, `D ARTAGNAN` and `DARTAGNAN`, `LEFEVRE-DUPONT`
/// and `LEFEVRE DUPONT`. [`family_name_key`] is the normalized name with its
/// separators removed, and family names are compared on it. Given names are
/// compared word by word (see [`NameQuery`]).
///
///
/// ```
/// use educonnect_core::directory::family_name_key;
///
/// assert_eq!(family_name_key("Le Goff"), family_name_key("LEGOFF"));
/// assert_eq!(family_name_key("d'Artagnan"), "DARTAGNAN");
/// ```
pub fn family_name_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    normalize_into(name, &mut out, None);
    out
}

/// The words of a list of first names, normalized, in order:
/// `["Zoé", "Anne-Marie"]` → `ZOE`, `ANNE`, `MARIE`.
pub fn given_name_tokens<I>(given_names: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    given_names
        .into_iter()
        .flat_map(|name| {
            normalize(name.as_ref())
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Which of a person's two family names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FamilyName {
    /// The birth name (FranceConnect's `family_name`).
    Birth,
    /// The usage name (FranceConnect's `preferred_username`).
    Usage,
}

/// How a record's first names fit the query's, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GivenNameMatch {
    /// The same first names, word for word.
    All,
    /// The record's first names are the first words of the query's (the
    /// school holds the first given name only, or the first two).
    Prefix,
    /// The record's first given name is one of the query's, not in first
    /// position (the person uses a second given name).
    OneOf,
}

/// Why a record is a candidate for a [`NameQuery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameMatch {
    /// The record's family name that matched.
    pub record: FamilyName,
    /// The query's family name it matched.
    pub query: FamilyName,
    /// How the first names fit.
    pub given: GivenNameMatch,
}

/// A related person whose names fit a [`NameQuery`]: a candidate, never a
/// decision (homonyms are expected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The record.
    pub person: Arc<RelatedPerson>,
    /// How its names fit.
    pub name_match: NameMatch,
}

/// The names of a person to look for among related persons: a birth name,
/// all first names, and an optional usage name, normalized once.
///
/// A record is a candidate when
///
/// 1. its birth name or usage name equals the query's birth name or usage
///    name (compared by [`family_name_key`]), and
/// 2. its first given name equals one of the query's given names (each
///    [`normalize`]d), or the words of its given names are the first words
///    of the query's.
///
/// So a school record `DUPONT Marie` (usage name, first given name only)
/// fits FranceConnect's `family_name` `MARTIN`, `preferred_username`
/// `DUPONT`, `given_name` `Marie Claire`; and `MARTIN Claire` fits it too
/// (a person using her second given name).
///
/// `Debug` shows no name.
#[derive(Clone, PartialEq, Eq)]
pub struct NameQuery {
    birth: String,
    usage: Option<String>,
    /// Each given name, normalized.
    given: Vec<String>,
    /// All given names' words, space-separated.
    words: String,
    /// The given-name keys to look up, computed once.
    keys: Vec<String>,
}

impl NameQuery {
    /// A query from raw names (normalized here).
    pub fn new<I>(birth_name: &str, given_names: I, usage_name: Option<&str>) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let given: Vec<String> = given_names
            .into_iter()
            .map(|g| normalize(g.as_ref()))
            .filter(|g| !g.is_empty())
            .collect();
        let words = given.join(" ");
        // Each given name, and each run of first words: see `IndexKeys`.
        let mut keys = given.clone();
        keys.extend(
            words
                .match_indices(' ')
                .map(|(i, _)| words[..i].to_owned())
                .chain((!words.is_empty()).then(|| words.clone())),
        );
        keys.sort_unstable();
        keys.dedup();
        let birth = family_name_key(birth_name);
        let usage = usage_name
            .map(family_name_key)
            .filter(|u| !u.is_empty() && *u != birth);
        Self {
            birth,
            usage,
            given,
            words,
            keys,
        }
    }

    /// Whether the query can match anything: a family name and a first name
    /// left after normalization.
    pub fn is_searchable(&self) -> bool {
        !self.birth.is_empty() && !self.words.is_empty()
    }

    /// The query's family name keys, birth name first.
    pub(crate) fn family_keys(&self) -> impl Iterator<Item = (FamilyName, &str)> {
        std::iter::once((FamilyName::Birth, self.birth.as_str()))
            .filter(|(_, k)| !k.is_empty())
            .chain(self.usage.as_deref().map(|u| (FamilyName::Usage, u)))
    }

    /// The given-name keys under which a fitting record is indexed: each
    /// given name, and each run of first words (see [`IndexKeys`]).
    pub(crate) fn given_keys(&self) -> &[String] {
        &self.keys
    }

    /// How `person`'s names fit this query, if they do. Allocates nothing:
    /// the record's names are normalized on the fly as they are compared.
    pub fn matches(&self, person: &RelatedPerson) -> Option<NameMatch> {
        let (record, query) = self.family_match(person)?;
        let given = self.given_match(person)?;
        Some(NameMatch {
            record,
            query,
            given,
        })
    }

    fn family_match(&self, person: &RelatedPerson) -> Option<(FamilyName, FamilyName)> {
        fn key(name: &str) -> Folded<'_> {
            Folded::new(name, None)
        }
        let birth = person.birth_name.as_str();
        // A usage name that reads as the birth name is no second name.
        let usage = person
            .usage_name
            .as_deref()
            .filter(|usage| !key(usage).eq(key(birth)));
        let record = [(FamilyName::Birth, Some(birth)), (FamilyName::Usage, usage)];
        let query = [
            (FamilyName::Birth, Some(self.birth.as_str())),
            (FamilyName::Usage, self.usage.as_deref()),
        ];
        // Birth with birth first, then usage with usage, then crossed.
        let pairs = [(0, 0), (1, 1), (0, 1), (1, 0)];
        pairs.iter().find_map(|&(r, q)| {
            let (rk, rv) = record[r];
            let (qk, qv) = query[q];
            match (rv, qv) {
                (Some(a), Some(b)) if !b.is_empty() && key(a).eq(b.chars()) => Some((rk, qk)),
                _ => None,
            }
        })
    }

    fn given_match(&self, person: &RelatedPerson) -> Option<GivenNameMatch> {
        // The record's words against the query's: equal, or a prefix ending
        // at a word boundary.
        let mut record = Folded::names(&person.given_names, Some(' '));
        let mut query = self.words.chars();
        let mut any = false;
        loop {
            match (record.next(), query.next()) {
                (None, None) if any => return Some(GivenNameMatch::All),
                (None, Some(' ')) if any => return Some(GivenNameMatch::Prefix),
                (Some(a), Some(b)) if a == b => any = true,
                _ => break,
            }
        }
        // The record's first given name among the query's.
        let first = person
            .given_names
            .iter()
            .find(|g| Folded::new(g, None).next().is_some())?;
        self.given
            .iter()
            .any(|g| Folded::new(first, Some(' ')).eq(g.chars()))
            .then_some(GivenNameMatch::OneOf)
    }
}

impl fmt::Debug for NameQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameQuery")
            .field("given_names", &self.given.len())
            .field("usage_name", &self.usage.is_some())
            .finish_non_exhaustive()
    }
}

/// Computes the keys a related person is indexed under, reusing its
/// buffers from one record to the next (no allocation per record).
///
/// A record is indexed under each of its family names (birth, and usage when
/// different), paired with its first given name, normalized. One given-name
/// key suffices for both rules of [`NameQuery`]: when the record's given-name
/// words are the first words of the query's, so are the words of its first
/// given name, and the query looks up each run of its first words.
#[derive(Debug, Default)]
pub(crate) struct IndexKeys {
    birth: String,
    usage: String,
    given: String,
}

impl IndexKeys {
    /// Calls `f(family_key, given_key)` for each key of `person`; never for
    /// a person without a family name or a given name.
    #[cfg(test)]
    pub(crate) fn for_each(&mut self, person: &RelatedPerson, f: impl FnMut(&str, &str)) {
        self.for_each_of(
            &person.birth_name,
            person.usage_name.as_deref(),
            person.given_names.iter().map(String::as_str),
            f,
        );
    }

    /// [`for_each`](Self::for_each) on a person's names as borrowed
    /// strings (a record still encoded).
    pub(crate) fn for_each_of<'n>(
        &mut self,
        birth_name: &str,
        usage_name: Option<&str>,
        given_names: impl Iterator<Item = &'n str>,
        mut f: impl FnMut(&str, &str),
    ) {
        self.given.clear();
        for name in given_names {
            normalize_into(name, &mut self.given, Some(' '));
            if !self.given.is_empty() {
                break;
            }
        }
        if self.given.is_empty() {
            return;
        }
        self.birth.clear();
        normalize_into(birth_name, &mut self.birth, None);
        if !self.birth.is_empty() {
            f(&self.birth, &self.given);
        }
        if let Some(usage) = usage_name {
            self.usage.clear();
            normalize_into(usage, &mut self.usage, None);
            if !self.usage.is_empty() && self.usage != self.birth {
                f(&self.usage, &self.given);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{PersonId, SourceId};

    #[test]
    fn french_names_fold_to_upper_case_ascii_words() {
        let cases = [
            ("Lefèvre-Dupont", "LEFEVRE DUPONT"),
            ("LEFEVRE DUPONT", "LEFEVRE DUPONT"),
            ("lefevre--dupont", "LEFEVRE DUPONT"),
            ("D'Artagnan", "D ARTAGNAN"),
            ("D’Artagnan", "D ARTAGNAN"),
            ("Dʼartagnan", "D ARTAGNAN"),
            ("d ' artagnan", "D ARTAGNAN"),
            ("Cœur", "COEUR"),
            ("CŒUR", "COEUR"),
            ("Lætitia", "LAETITIA"),
            ("ÆLIS", "AELIS"),
            ("Strauß", "STRAUSS"),
            ("Zoé Anne-Marie", "ZOE ANNE MARIE"),
            ("Hélène", "HELENE"),
            ("François", "FRANCOIS"),
            ("Noël", "NOEL"),
            ("Anaïs", "ANAIS"),
            ("Jérôme", "JEROME"),
            ("Maëlys", "MAELYS"),
            ("L'Haÿ", "L HAY"),
            ("Nuñez", "NUNEZ"),
            ("Müller", "MULLER"),
            // Every French accent, lower and upper case.
            ("éèêëàâäîïôöùûüçÿñ", "EEEEAAAIIOOUUUCYN"),
            ("ÉÈÊËÀÂÄÎÏÔÖÙÛÜÇŸÑ", "EEEEAAAIIOOUUUCYN"),
            // Beyond French: Latin Extended-A, Romanian, Vietnamese, Nordic.
            ("Łukasz Wałęsa", "LUKASZ WALESA"),
            ("Dvořák", "DVORAK"),
            ("Ștefan Țurcanu", "STEFAN TURCANU"),
            ("Nguyễn Thị Ánh", "NGUYEN THI ANH"),
            ("Trương", "TRUONG"),
            ("Ørsted", "ORSTED"),
            ("İlkay Şahin", "ILKAY SAHIN"),
            // Decomposed accents: e + U+0301.
            ("Zoe\u{301}", "ZOE"),
            // Spaces of every kind, leading and trailing separators.
            ("  Jean \u{a0}\t Pierre\u{202f} ", "JEAN PIERRE"),
            ("-Jean–Pierre—", "JEAN PIERRE"),
            ("St. Jean, Marie", "ST JEAN MARIE"),
            ("Louis XIV 2", "LOUIS XIV 2"),
            ("", ""),
            (" -'’ ", ""),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn other_scripts_are_kept_upper_cased() {
        // Only Latin accents are folded: a Greek tonos stays.
        assert_eq!(normalize("Σοφία"), "ΣΟΦΊΑ");
        assert_eq!(normalize("Мария-Анна"), "МАРИЯ АННА");
    }

    #[test]
    fn family_name_keys_ignore_separators() {
        assert_eq!(family_name_key("D'Artagnan"), "DARTAGNAN");
        assert_eq!(family_name_key("D ARTAGNAN"), "DARTAGNAN");
        assert_eq!(family_name_key("DARTAGNAN"), "DARTAGNAN");
        assert_eq!(family_name_key("Le Goff"), family_name_key("LEGOFF"));
        assert_eq!(family_name_key("Lefèvre-Dupont"), "LEFEVREDUPONT");
        assert_ne!(family_name_key("Lefèvre"), family_name_key("Lefebvre"));
    }

    #[test]
    fn given_names_tokenize_into_words() {
        assert_eq!(
            given_name_tokens(["Zoé", "Anne-Marie"]),
            ["ZOE", "ANNE", "MARIE"]
        );
        assert_eq!(given_name_tokens(["Jean Pierre  "]), ["JEAN", "PIERRE"]);
        assert!(given_name_tokens(["", " - "]).is_empty());
    }

    fn person(birth: &str, usage: Option<&str>, given: &[&str]) -> RelatedPerson {
        let id = PersonId::new(SourceId::aaf("14").unwrap(), "P1").unwrap();
        let mut p = RelatedPerson::new(id, birth, given.iter().copied());
        p.usage_name = usage.map(str::to_owned);
        p
    }

    fn fit(
        query: &NameQuery,
        p: &RelatedPerson,
    ) -> Option<(FamilyName, FamilyName, GivenNameMatch)> {
        query.matches(p).map(|m| (m.record, m.query, m.given))
    }

    #[test]
    fn given_names_fit_all_prefix_or_one_of() {
        use FamilyName::Birth;
        let q = NameQuery::new("MARTIN", ["Marie", "Claire", "Louise"], None);
        let all = person("Martin", None, &["Marie", "Claire", "Louise"]);
        let all_in_one_field = person("Martin", None, &["Marie Claire Louise"]);
        let first_only = person("MARTIN", None, &["marie"]);
        let first_two = person("MARTIN", None, &["Marie", "Claire"]);
        let second = person("MARTIN", None, &["Claire"]);
        let other = person("MARTIN", None, &["Sophie"]);
        let out_of_order = person("MARTIN", None, &["Claire", "Marie"]);
        let none = person("MARTIN", None, &[]);
        assert_eq!(fit(&q, &all), Some((Birth, Birth, GivenNameMatch::All)));
        assert_eq!(
            fit(&q, &all_in_one_field),
            Some((Birth, Birth, GivenNameMatch::All))
        );
        assert_eq!(
            fit(&q, &first_only),
            Some((Birth, Birth, GivenNameMatch::Prefix))
        );
        assert_eq!(
            fit(&q, &first_two),
            Some((Birth, Birth, GivenNameMatch::Prefix))
        );
        assert_eq!(
            fit(&q, &second),
            Some((Birth, Birth, GivenNameMatch::OneOf))
        );
        assert_eq!(
            fit(&q, &out_of_order),
            Some((Birth, Birth, GivenNameMatch::OneOf))
        );
        assert_eq!(fit(&q, &other), None);
        assert_eq!(fit(&q, &none), None);
        assert_eq!(fit(&q, &person("MARTINS", None, &["Marie"])), None);
    }

    #[test]
    fn compound_given_names_compare_word_by_word() {
        // FranceConnect without given_name_array splits "Anne Marie" in two;
        // the school wrote the compound name.
        let q = NameQuery::new("DURAND", ["Anne", "Marie"], None);
        let compound = person("DURAND", None, &["Anne-Marie"]);
        assert_eq!(
            q.matches(&compound).map(|m| m.given),
            Some(GivenNameMatch::All)
        );
        // The school holds the first word of a compound name.
        let q = NameQuery::new("DURAND", ["Anne-Marie", "Louise"], None);
        let anne = person("DURAND", None, &["Anne"]);
        assert_eq!(
            q.matches(&anne).map(|m| m.given),
            Some(GivenNameMatch::Prefix)
        );
        // The second word alone is not a given name of the query.
        let marie = person("DURAND", None, &["Marie"]);
        assert_eq!(q.matches(&marie), None);
    }

    #[test]
    fn usage_and_birth_names_fit_either_way() {
        use FamilyName::{Birth, Usage};
        // Born Martin, married Dupont: FranceConnect sends both.
        let q = NameQuery::new("MARTIN", ["Marie"], Some("Dupont"));
        // A school that put the usage name as family name.
        let school_usage_only = person("DUPONT", None, &["Marie"]);
        assert_eq!(
            fit(&q, &school_usage_only),
            Some((Birth, Usage, GivenNameMatch::All))
        );
        // A school that has both.
        let both = person("MARTIN", Some("DUPONT"), &["Marie"]);
        assert_eq!(fit(&q, &both), Some((Birth, Birth, GivenNameMatch::All)));
        // FranceConnect without the usage name: only the record's usage name
        // can still fit the birth name.
        let q = NameQuery::new("DUPONT", ["Marie"], None);
        let usage_is_birth = person("MARTIN", Some("Dupont"), &["Marie"]);
        assert_eq!(
            fit(&q, &usage_is_birth),
            Some((Usage, Birth, GivenNameMatch::All))
        );
        assert_eq!(
            fit(&NameQuery::new("LEGRAND", ["Marie"], None), &both),
            None
        );
    }

    #[test]
    fn accents_and_ligatures_fit() {
        let q = NameQuery::new("LOEUILLET-LEFEVRE", ["ZOE", "ANNE MARIE"], None);
        let p = person("Lœuillet Lefèvre", None, &["Zoé"]);
        assert_eq!(q.matches(&p).map(|m| m.given), Some(GivenNameMatch::Prefix));
        let q = NameQuery::new("d'Artagnan", ["Charles"], None);
        assert!(
            q.matches(&person("DARTAGNAN", None, &["CHARLES"]))
                .is_some()
        );
        assert!(
            q.matches(&person("D ARTAGNAN", None, &["charles"]))
                .is_some()
        );
    }

    #[test]
    fn index_keys_cover_every_match() {
        // Whatever matches, the record has a key that the query looks up.
        let q = NameQuery::new("MARTIN", ["Anne-Marie", "Claire"], Some("DUPONT"));
        let qkeys = q.given_keys();
        let qfam: Vec<&str> = q.family_keys().map(|(_, k)| k).collect();
        for p in [
            person("MARTIN", None, &["Anne-Marie", "Claire"]),
            person("DUPONT", None, &["Anne"]),
            person("X", Some("DUPONT"), &["Claire"]),
            person("MARTIN", None, &["Anne", "Marie"]),
            person("MARTIN", None, &["Anne Marie Claire"]),
            person("MARTIN", None, &["Anne-Marie Claire"]),
            person("DUPONT", None, &["Anne-Marie"]),
            person("DUPONT", None, &["Claire", "Anne"]),
        ] {
            assert!(q.matches(&p).is_some());
            let mut found = false;
            IndexKeys::default().for_each(&p, |family, given| {
                found |= qfam.contains(&family) && qkeys.iter().any(|g| g == given);
            });
            assert!(found, "{p:?} {qkeys:?}");
        }
    }

    #[test]
    fn folded_names_read_as_words() {
        let names = [
            "Anne-Marie".to_owned(),
            String::new(),
            " claire' ".to_owned(),
        ];
        let words: String = Folded::names(&names, Some(' ')).collect();
        assert_eq!(words, "ANNE MARIE CLAIRE");
        let key: String = Folded::names(&names, None).collect();
        assert_eq!(key, "ANNEMARIECLAIRE");
        assert_eq!(Folded::names(&[], Some(' ')).count(), 0);
        // The ligature's second letter and an upper-cased letter of another
        // script come out of the iterator's tail.
        assert_eq!(Folded::new("œß ǆ", Some('_')).collect::<String>(), "OESS_Ǆ");
    }

    #[test]
    fn empty_given_names_are_skipped() {
        let q = NameQuery::new("MARTIN", ["Marie", "Claire"], None);
        let p = person("MARTIN", None, &["", "Claire"]);
        assert_eq!(q.matches(&p).map(|m| m.given), Some(GivenNameMatch::OneOf));
        let p = person("MARTIN", None, &[" ", "Marie"]);
        assert_eq!(q.matches(&p).map(|m| m.given), Some(GivenNameMatch::Prefix));
        // A usage name that reads as the birth name is not a second name.
        let p = person("Martin", Some("MARTIN"), &["Marie"]);
        let m = q.matches(&p).unwrap();
        assert_eq!((m.record, m.query), (FamilyName::Birth, FamilyName::Birth));
    }

    #[test]
    fn unsearchable_queries() {
        assert!(!NameQuery::new("", ["Marie"], None).is_searchable());
        assert!(!NameQuery::new("MARTIN", ["-"], None).is_searchable());
        assert!(NameQuery::new("MARTIN", ["Marie"], None).is_searchable());
    }

    #[test]
    fn query_debug_shows_no_name() {
        let q = NameQuery::new("Lefèvre", ["Zoé"], Some("Dupont"));
        let debug = format!("{q:?}");
        for word in ["LEFEVRE", "Lef", "ZOE", "Zo", "DUPONT", "Dup"] {
            assert!(!debug.contains(word), "{debug}");
        }
    }
}
