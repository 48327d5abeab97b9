//! Access rules by path prefix, and the one way a request's path is read
//! to match them.
//!
//! A prefix is matched segment by segment (`/eleves` covers `/eleves` and
//! `/eleves/x`, never `/elevesX`), ASCII case-insensitively, and a segment
//! is compared without its `;parameters`; `*` stands for any one segment,
//! `{pupil}` for the segment naming the pupil. The first rule that matches,
//! in the file's order, decides; a path that no rule matches is refused.
//!
//! The request's path is percent-decoded before matching, and refused (400)
//! when an upstream could read it as another path than the proxy did: a
//! dot segment (`.`, `..`, also encoded, also with `;parameters`), an
//! encoded `/` or `\`, a backslash, an empty segment (`//`), a NUL.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;

/// What a rule requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Anyone: the session is not read, no identity is sent.
    Public,
    /// A logged-in user; anonymous requests are sent to the login.
    LoggedIn,
    /// A user who may act for the pupil the request names
    /// ([`PupilRight::ActFor`](educonnect_core::flow::access::PupilRight::ActFor)).
    ActFor,
    /// A user holding legal authority over the pupil the request names
    /// ([`PupilRight::LegalAuthority`](educonnect_core::flow::access::PupilRight::LegalAuthority)).
    LegalAuthority,
}

impl Access {
    fn needs_pupil(self) -> bool {
        matches!(self, Self::ActFor | Self::LegalAuthority)
    }
}

/// What a rule answers a request without a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anonymous {
    /// A redirect to the login, then back (303): for pages.
    #[default]
    Login,
    /// `401 Unauthorized`: for APIs called by scripts.
    Unauthorized,
}

/// Where a rule finds the pupil a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PupilSource {
    /// The path segment at this index (from 0), `{pupil}` in the prefix.
    Segment(usize),
    /// The query parameter of this name (given exactly once).
    Query(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Lowercase.
    Literal(String),
    Any,
    Pupil,
}

/// One rule of the file.
#[derive(Debug, Clone)]
pub struct Rule {
    prefix: String,
    segments: Vec<Segment>,
    access: Access,
    pupil: Option<PupilSource>,
    anonymous: Anonymous,
    line: usize,
}

/// Which key of a rule a problem is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum At {
    Prefix,
    Access,
    Query,
}

/// Why a rule cannot be used.
#[derive(Debug)]
pub(crate) struct RuleError {
    pub(crate) at: At,
    pub(crate) reason: String,
}

fn fail<T>(at: At, reason: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError {
        at,
        reason: reason.into(),
    })
}

impl Rule {
    /// Checks one rule: `line` is where its prefix is written.
    pub(crate) fn parse(
        prefix: &str,
        access: Access,
        pupil_query: Option<&str>,
        line: usize,
    ) -> Result<Self, RuleError> {
        if !prefix.starts_with('/') {
            return fail(At::Prefix, format!("prefix {prefix:?} must start with '/'"));
        }
        if let Some(c) = prefix.chars().find(|c| {
            matches!(c, '?' | '#' | '%' | ';' | '\\') || c.is_whitespace() || c.is_control()
        }) {
            return fail(
                At::Prefix,
                format!(
                    "prefix {prefix:?}: {c:?} cannot match a path (write the path as decoded, without query)"
                ),
            );
        }
        let trimmed = if prefix.len() > 1 {
            prefix.trim_end_matches('/')
        } else {
            prefix
        };
        let mut segments = Vec::new();
        if trimmed != "/" {
            for segment in trimmed[1..].split('/') {
                segments.push(match segment {
                    "" => {
                        return fail(
                            At::Prefix,
                            format!("prefix {prefix:?}: an empty segment (//) never matches: the proxy refuses such paths"),
                        );
                    }
                    "." | ".." => {
                        return fail(
                            At::Prefix,
                            format!("prefix {prefix:?}: a dot segment never matches: the proxy refuses such paths"),
                        );
                    }
                    "*" => Segment::Any,
                    "{pupil}" => Segment::Pupil,
                    s if s.contains(['{', '}', '*']) => {
                        return fail(
                            At::Prefix,
                            format!("prefix {prefix:?}: {s:?}: only {{pupil}} and * are placeholders, each a whole segment"),
                        );
                    }
                    s => Segment::Literal(s.to_ascii_lowercase()),
                });
            }
        }
        let pupil_segments: Vec<usize> = segments
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == Segment::Pupil)
            .map(|(i, _)| i)
            .collect();
        let name = |a: Access| match a {
            Access::Public => "public",
            Access::LoggedIn => "logged_in",
            Access::ActFor => "act_for",
            Access::LegalAuthority => "legal_authority",
        };
        let pupil = match (access.needs_pupil(), pupil_segments.as_slice(), pupil_query) {
            (false, [], None) => None,
            (false, _, Some(_)) => {
                return fail(
                    At::Query,
                    format!(
                        "pupil_query is for access = \"act_for\" or \"legal_authority\", not {:?}",
                        name(access)
                    ),
                );
            }
            (false, _, None) => {
                return fail(
                    At::Prefix,
                    format!(
                        "prefix {prefix:?}: {{pupil}} is for access = \"act_for\" or \"legal_authority\", not {:?}",
                        name(access)
                    ),
                );
            }
            (true, [], None) => {
                return fail(
                    At::Access,
                    format!(
                        "access = {:?} needs the pupil: a {{pupil}} segment in the prefix, or pupil_query",
                        name(access)
                    ),
                );
            }
            (true, [_, _, ..], _) => {
                return fail(
                    At::Prefix,
                    format!("prefix {prefix:?}: {{pupil}} more than once"),
                );
            }
            (true, [_], Some(_)) => {
                return fail(
                    At::Query,
                    "the pupil is named twice: {pupil} in the prefix and pupil_query; keep one",
                );
            }
            (true, [index], None) => Some(PupilSource::Segment(*index)),
            (true, [], Some(query)) => {
                if query.is_empty()
                    || !query
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                {
                    return fail(
                        At::Query,
                        format!(
                            "pupil_query {query:?}: a parameter name of letters, digits, '_', '-', '.'"
                        ),
                    );
                }
                Some(PupilSource::Query(query.to_owned()))
            }
        };
        Ok(Self {
            prefix: prefix.to_owned(),
            segments,
            access,
            pupil,
            anonymous: Anonymous::default(),
            line,
        })
    }

    /// The same rule answering `anonymous` to a request without a session.
    pub(crate) fn with_anonymous(mut self, anonymous: Anonymous) -> Self {
        self.anonymous = anonymous;
        self
    }

    /// What it answers a request without a session.
    pub fn anonymous(&self) -> Anonymous {
        self.anonymous
    }

    /// The prefix as written.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// What it requires.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Where it finds the pupil (for `act_for` and `legal_authority`).
    pub fn pupil(&self) -> Option<&PupilSource> {
        self.pupil.as_ref()
    }

    /// The line of the file where it is written.
    pub fn line(&self) -> usize {
        self.line
    }

    fn matches(&self, path: &RequestPath) -> bool {
        path.segments.len() >= self.segments.len()
            && self
                .segments
                .iter()
                .zip(&path.segments)
                .all(|(rule, segment)| match rule {
                    Segment::Literal(literal) => segment.eq_ignore_ascii_case(literal),
                    Segment::Any | Segment::Pupil => !segment.is_empty(),
                })
    }

    /// Whether `self`, written first, matches every path `later` matches,
    /// leaving it nothing.
    fn covers(&self, later: &Rule) -> bool {
        self.segments.len() <= later.segments.len()
            && self
                .segments
                .iter()
                .zip(&later.segments)
                .all(|(first, second)| match (first, second) {
                    (Segment::Any | Segment::Pupil, _) => true,
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    (Segment::Literal(_), _) => false,
                })
    }
}

/// The rules of a file, checked: none duplicated, none that an earlier one
/// leaves nothing to.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    pub(crate) fn new(rules: Vec<(Rule, Range<usize>)>) -> Result<Self, (Range<usize>, String)> {
        for (j, (later, span)) in rules.iter().enumerate() {
            for (first, _) in &rules[..j] {
                if first.segments == later.segments {
                    return Err((
                        span.clone(),
                        format!(
                            "duplicated prefix {:?}: the rule at line {} has it already",
                            later.prefix, first.line
                        ),
                    ));
                }
                if first.covers(later) {
                    return Err((
                        span.clone(),
                        format!(
                            "this rule can never match: the rule at line {} (prefix {:?}) comes first and matches every path it does; put the longer prefix first",
                            first.line, first.prefix
                        ),
                    ));
                }
            }
        }
        Ok(Self {
            rules: rules.into_iter().map(|(rule, _)| rule).collect(),
        })
    }

    /// The rules, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none (never, once checked).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first rule matching `path`.
    pub fn find(&self, path: &RequestPath) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.matches(path))
    }
}

/// A request's path as the rules read it: decoded segments, without their
/// `;parameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPath {
    segments: Vec<String>,
}

/// A path the proxy refuses to judge, since an upstream might read it as
/// another one (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a path that could name another path upstream")]
pub struct AmbiguousPath;

impl RequestPath {
    /// Reads `path` (the request target's path, still percent-encoded).
    pub fn parse(path: &str) -> Result<Self, AmbiguousPath> {
        let rest = path.strip_prefix('/').ok_or(AmbiguousPath)?;
        let mut segments = Vec::new();
        if rest.is_empty() {
            return Ok(Self { segments });
        }
        let mut raw = rest.split('/').peekable();
        while let Some(segment) = raw.next() {
            let decoded = percent_decode(segment)?;
            // Before its first `;` (a byte search: cheaper than a `str` pattern).
            let bare = match decoded.bytes().position(|b| b == b';') {
                Some(end) => &decoded[..end],
                None => &decoded[..],
            };
            if bare == "." || bare == ".." {
                return Err(AmbiguousPath);
            }
            if decoded.is_empty() {
                if raw.peek().is_none() {
                    break; // a trailing slash
                }
                return Err(AmbiguousPath);
            }
            segments.push(bare.to_owned());
        }
        Ok(Self { segments })
    }

    /// The segment at `index`, decoded, without `;parameters`.
    pub fn segment(&self, index: usize) -> Option<&str> {
        self.segments.get(index).map(String::as_str)
    }
}

fn percent_decode(segment: &str) -> Result<Cow<'_, str>, AmbiguousPath> {
    let bytes = segment.as_bytes();
    if !bytes.contains(&b'%') {
        // Nothing to decode (most paths): only the refused bytes to look for.
        if bytes.iter().any(|&b| matches!(b, b'\\' | 0)) {
            return Err(AmbiguousPath);
        }
        return Ok(Cow::Borrowed(segment));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(AmbiguousPath)?;
            let hex = std::str::from_utf8(hex).map_err(|_| AmbiguousPath)?;
            let decoded = u8::from_str_radix(hex, 16).map_err(|_| AmbiguousPath)?;
            if matches!(decoded, b'/' | b'\\' | 0) {
                return Err(AmbiguousPath);
            }
            out.push(decoded);
            i += 3;
        } else {
            if matches!(b, b'\\' | 0) {
                return Err(AmbiguousPath);
            }
            out.push(b);
            i += 1;
        }
    }
    Ok(Cow::Owned(String::from_utf8_lossy(&out).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, access: Access, query: Option<&str>) -> Rule {
        Rule::parse(prefix, access, query, 1).unwrap()
    }

    fn path(p: &str) -> RequestPath {
        RequestPath::parse(p).unwrap()
    }

    #[test]
    fn prefixes_match_whole_segments_case_insensitively() {
        let r = rule("/eleves/", Access::LoggedIn, None);
        assert!(r.matches(&path("/eleves")));
        assert!(r.matches(&path("/eleves/")));
        assert!(r.matches(&path("/ELEVES/x")));
        assert!(r.matches(&path("/%65leves/x")));
        assert!(r.matches(&path("/eleves;jsessionid=1/x")));
        assert!(!r.matches(&path("/elevesX")));
        assert!(!r.matches(&path("/")));
        let root = rule("/", Access::Public, None);
        assert!(root.matches(&path("/")) && root.matches(&path("/a/b")));
        let pupil = rule("/classes/*/eleves/{pupil}", Access::ActFor, None);
        assert_eq!(pupil.pupil(), Some(&PupilSource::Segment(3)));
        assert!(pupil.matches(&path("/classes/3A/eleves/XYZ/bulletin")));
        assert!(!pupil.matches(&path("/classes/3A/eleves")));
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        for bad in [
            "/a/../b",
            "/a/./b",
            "/a/%2e%2E/b",
            "/a/..;x/b",
            "/a%2fb",
            "/a%5Cb",
            "/a\\b",
            "/a//b",
            "/a%00",
            "/a%zz",
            "/a%2",
            "*",
        ] {
            assert_eq!(RequestPath::parse(bad), Err(AmbiguousPath), "{bad}");
        }
        assert!(RequestPath::parse("/a/b/").is_ok());
        assert!(RequestPath::parse("/a/..b").is_ok());
    }

    #[test]
    fn segments_are_decoded_without_parameters() {
        let segments = |p: &str| {
            let parsed = path(p);
            (0..)
                .map_while(|i| parsed.segment(i).map(str::to_owned))
                .collect::<Vec<_>>()
        };
        assert_eq!(segments("/a;p=1/b/"), ["a", "b"]);
        assert_eq!(segments("/%C3%A9l%C3%A8ves;x/%41"), ["élèves", "A"]);
        assert_eq!(segments("/%FF"), ["\u{FFFD}"]);
        assert!(segments("/").is_empty());
    }

    #[test]
    fn rules_that_cannot_match_are_errors() {
        for (prefix, access, query) in [
            ("eleves", Access::Public, None),
            ("/a//b", Access::Public, None),
            ("/a/../b", Access::Public, None),
            ("/a?b", Access::Public, None),
            ("/{pupil}", Access::LoggedIn, None),
            ("/a", Access::Public, Some("eleve")),
            ("/a", Access::ActFor, None),
            ("/a/{pupil}", Access::ActFor, Some("eleve")),
            ("/{pupil}/{pupil}", Access::ActFor, None),
            ("/a/{eleve}", Access::ActFor, None),
            ("/a", Access::ActFor, Some("")),
            ("/a", Access::ActFor, Some("a b")),
        ] {
            assert!(Rule::parse(prefix, access, query, 1).is_err(), "{prefix}");
        }
        let ok = |p: &str| (rule(p, Access::LoggedIn, None), 0..1);
        assert!(Rules::new(vec![ok("/a/b"), ok("/a"), ok("/")]).is_ok());
        let e = Rules::new(vec![ok("/a"), ok("/a/b")]).unwrap_err().1;
        assert!(e.contains("can never match"), "{e}");
        let e = Rules::new(vec![ok("/a"), ok("/A/")]).unwrap_err().1;
        assert!(e.contains("duplicated"), "{e}");
        let e = Rules::new(vec![ok("/*"), ok("/a/b")]).unwrap_err().1;
        assert!(e.contains("can never match"), "{e}");
        assert!(Rules::new(vec![ok("/a/b"), ok("/*")]).is_ok());
    }
}
