//! AAF files: `ficAlimMENESR` requests applied to the builder in file order.

use std::io::{self, BufRead};
use std::ops::ControlFlow;

use super::fields::{self, Fields};
use super::xml::{self, Cursor, Item, RecordSpec};
use super::{
    Context, ExportFormat, ExportFormatExpected, ImportMode, IssueEffect, IssueReason, LinkProblem,
    Read, Unreadable,
};
use crate::directory::{
    Civility, DirectoryBuilder, LegalRank, Link, PersonId, PhoneKind, Pupil, PupilId,
    RelatedPerson, RelationshipCode, School,
};
use crate::ids::{Ine, Uai};

const ROOT: &[u8] = b"ficAlimMENESR";
const CONTAINER: &[&[u8]] = &[ROOT];
const RECORDS: [RecordSpec; 3] = [
    RecordSpec {
        name: b"addRequest",
        container: CONTAINER,
    },
    RecordSpec {
        name: b"modifyRequest",
        container: CONTAINER,
    },
    RecordSpec {
        name: b"deleteRequest",
        container: CONTAINER,
    },
];
const OPS: [Op; 3] = [Op::Add, Op::Modify, Op::Delete];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Modify,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pupil,
    Person,
    School,
    /// A kind a directory does not hold (`PersEducNat`...).
    Other,
}

/// The attributes read, by field number (below 64).
mod f {
    pub(super) const JOINTURE: u8 = 0;
    pub(super) const SN: u8 = 1;
    pub(super) const GIVEN: u8 = 2;
    pub(super) const OTHER_GIVEN: u8 = 3;
    pub(super) const BIRTH_NAME: u8 = 4;
    pub(super) const BIRTH_DATE: u8 = 5;
    pub(super) const INE: u8 = 6;
    pub(super) const CLASSES: u8 = 7;
    pub(super) const STRUCT_ID: u8 = 8;
    pub(super) const STRUCT: u8 = 9;
    pub(super) const LINKS: u8 = 10;
    pub(super) const AUTHORITY: u8 = 11;
    pub(super) const TITLE: u8 = 12;
    pub(super) const MOBILE: u8 = 13;
    pub(super) const SMS: u8 = 14;
    pub(super) const HOME: u8 = 15;
    pub(super) const WORK: u8 = 16;
    pub(super) const MAIL: u8 = 17;
    pub(super) const AUX_PUPILS: u8 = 18;
    pub(super) const PROFILES: u8 = 19;
    pub(super) const UAI: u8 = 20;
    pub(super) const SCHOOL_NAME: u8 = 21;
    pub(super) const CATEGORY: u8 = 22;
}

/// The AAF attribute names, by field number.
const NAMES: [&str; 23] = [
    "ENTPersonJointure",
    "sn",
    "givenName",
    "ENTPersonAutresPrenoms",
    "ENTPersonNomPatro",
    "ENTPersonDateNaissance",
    "ENTEleveINE",
    "ENTEleveClasses",
    "ENTEleveStructRattachId",
    "ENTPersonStructRattach",
    "ENTElevePersRelEleve",
    "ENTEleveAutoriteParentale",
    "personalTitle",
    "mobile",
    "ENTPersonMobileSMS",
    "homePhone",
    "telephoneNumber",
    "mail",
    "ENTAuxPersRelEleveEleve",
    "ENTPersonProfils",
    "ENTStructureUAI",
    "ENTStructureNomCourant",
    "categoriePersonne",
];

fn field_of(name: &[u8]) -> Option<u8> {
    // A match compares lengths first, then bytes: one comparison or two.
    Some(match name {
        b"ENTPersonJointure" => f::JOINTURE,
        b"sn" => f::SN,
        b"givenName" => f::GIVEN,
        b"ENTPersonAutresPrenoms" => f::OTHER_GIVEN,
        b"ENTPersonNomPatro" => f::BIRTH_NAME,
        b"ENTPersonDateNaissance" => f::BIRTH_DATE,
        b"ENTEleveINE" => f::INE,
        b"ENTEleveClasses" => f::CLASSES,
        b"ENTEleveStructRattachId" => f::STRUCT_ID,
        b"ENTPersonStructRattach" => f::STRUCT,
        b"ENTElevePersRelEleve" => f::LINKS,
        b"ENTEleveAutoriteParentale" => f::AUTHORITY,
        b"personalTitle" => f::TITLE,
        b"mobile" => f::MOBILE,
        b"ENTPersonMobileSMS" => f::SMS,
        b"homePhone" => f::HOME,
        b"telephoneNumber" => f::WORK,
        b"mail" => f::MAIL,
        b"ENTAuxPersRelEleveEleve" => f::AUX_PUPILS,
        b"ENTPersonProfils" => f::PROFILES,
        b"ENTStructureUAI" => f::UAI,
        b"ENTStructureNomCourant" => f::SCHOOL_NAME,
        b"categoriePersonne" => f::CATEGORY,
        _ => return None,
    })
}

/// The academy code in an AAF file name, `ENT_<code>_...` (1 to 3 digits),
/// e.g. `14` in `ENT_14_Complet_20250905_Eleve_0000.xml`. Only the last
/// component of a path is looked at.
pub fn academy_from_file_name(name: &str) -> Option<&str> {
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut rest = name;
    while let Some(i) = rest.find("ENT_") {
        let after = &rest[i + 4..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if (1..=3).contains(&digits) && after.as_bytes().get(digits) == Some(&b'_') {
            return Some(&after[..digits]);
        }
        rest = after;
    }
    None
}

/// The kind of records a file name announces: one of its `_`- or
/// `.`-separated words is `Eleve`, `PersRelEleve`, `EtabEducNat` or
/// `PersEducNat`.
fn kind_from_file_name(name: &str) -> Option<Kind> {
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    name.split(['_', '.']).find_map(|word| match word {
        "Eleve" => Some(Kind::Pupil),
        "PersRelEleve" => Some(Kind::Person),
        "EtabEducNat" => Some(Kind::School),
        "PersEducNat" => Some(Kind::Other),
        _ => None,
    })
}

/// The fewest bytes an exported record takes (a pupil's takes about 1 KiB
/// with only the attributes read here), to presize the builder from a file's
/// size.
const RECORD_BYTES: u64 = 1024;

/// The most records presized for one file, whatever its size: exports come
/// in chunks of 100,000 records.
const MAX_RESERVED: u64 = 1 << 20;

/// Presizes the builder for the records a file of `len` bytes named `name`
/// likely holds (by the kind its name announces), so that its tables do not
/// grow record by record. At most [`MAX_RESERVED`] records.
pub(super) fn reserve(builder: &mut DirectoryBuilder, name: &str, len: u64) {
    let records = usize::try_from((len / RECORD_BYTES).min(MAX_RESERVED)).unwrap_or(0);
    match kind_from_file_name(name) {
        Some(Kind::Pupil) => builder.reserve(records, 0),
        Some(Kind::Person) => builder.reserve(0, records),
        _ => {}
    }
}

/// One request, as read.
struct Request {
    op: Op,
    position: u64,
    id: String,
    fields: Fields,
}

impl Request {
    fn id(&self) -> Option<&str> {
        let id = self.id.trim();
        (!id.is_empty()).then_some(id)
    }
}

pub(super) fn read(ctx: &mut Context<'_>, input: impl BufRead) -> io::Result<()> {
    let Some(mut cursor) = ctx.open(input)? else {
        return Ok(());
    };
    if cursor.name() != ROOT {
        ctx.file.format = ExportFormat::from_root(cursor.name());
        let position = cursor.position();
        ctx.issue(
            None,
            position,
            IssueReason::UnexpectedRoot(ExportFormatExpected::Aaf),
            IssueEffect::RestOfFileSkipped,
        );
        return Ok(());
    }
    ctx.file.format = Some(ExportFormat::Aaf);
    let hint = kind_from_file_name(&ctx.file.file);
    let mut request = Request {
        op: Op::Add,
        position: 0,
        id: String::new(),
        fields: Fields::new(),
    };
    let mut pending: Option<Op> = None;
    'records: loop {
        // What to do with an item outside a request: `None` to read on,
        // `Some(reason)` to report it and resynchronize.
        let op = match pending.take() {
            Some(op) => op,
            None => 'found: {
                let item = match cursor.next() {
                    Ok(item) => item,
                    Err(fatal) => return ctx.fatal(fatal, cursor.position()),
                };
                let overflowed = cursor.overflowed();
                let problem = match item {
                    Item::Start { depth } if overflowed => {
                        // A start tag too large to read: a record if at
                        // the top, in any case something to skip.
                        if depth == 2 {
                            ctx.file.counts.records += 1;
                        }
                        IssueReason::TooLarge
                    }
                    Item::Start { depth } => {
                        match RECORDS.iter().position(|r| r.name == cursor.name()) {
                            Some(i) if depth == 2 => break 'found OPS[i],
                            // Not a request: ignored, with what it holds.
                            _ => match cursor.skip_element(depth) {
                                Ok(None) => continue 'records,
                                Ok(Some(Item::Problem(p))) => IssueReason::MalformedXml(p),
                                Ok(Some(_)) => IssueReason::Unreadable(Unreadable::Truncated),
                                Err(fatal) => return ctx.fatal(fatal, cursor.position()),
                            },
                        }
                    }
                    Item::End { depth: 1 } => {
                        ctx.file.complete = true;
                        return Ok(());
                    }
                    Item::Eof => IssueReason::Unreadable(Unreadable::Truncated),
                    Item::Problem(p) => IssueReason::MalformedXml(p),
                    Item::End { .. } | Item::Text | Item::Char(_) => continue 'records,
                };
                let position = cursor.position();
                if problem == IssueReason::Unreadable(Unreadable::Truncated) {
                    ctx.issue(None, position, problem, IssueEffect::RestOfFileSkipped);
                    return Ok(());
                }
                ctx.issue(None, position, problem, IssueEffect::RecordSkipped);
                match cursor.resync(&RECORDS) {
                    Ok(Some(i)) => {
                        pending = Some(OPS[i]);
                        continue 'records;
                    }
                    Ok(None) => {
                        ctx.file.complete = true;
                        return Ok(());
                    }
                    Err(fatal) => return ctx.fatal(fatal, cursor.position()),
                }
            }
        };
        ctx.file.counts.records += 1;
        request.op = op;
        request.position = cursor.position();
        request.id.clear();
        request.fields.clear();
        let outcome = read_request(&mut cursor, &mut request, ctx);
        match outcome {
            Read::Done => apply(ctx, &request, hint),
            failed => match ctx.record_failed(&mut cursor, request.id(), failed, &RECORDS) {
                ControlFlow::Continue(next) => pending = next.map(|i| OPS[i]),
                ControlFlow::Break(result) => return result,
            },
        }
    }
}

/// Where a request's reader is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Identifier,
    Attributes,
}

fn read_request<R: BufRead>(
    cursor: &mut Cursor<R>,
    request: &mut Request,
    ctx: &Context<'_>,
) -> Read {
    let max_value = ctx.options.max_value_len;
    let max_record = ctx.options.max_record_len;
    let encoding = cursor.encoding();
    let mut section = Section::None;
    // The attribute being read (`Some(None)`: one not read), and the value.
    let mut attr: Option<Option<u8>> = None;
    let mut value: Option<usize> = None;
    let mut in_id = false;
    loop {
        let item = match cursor.next() {
            Ok(item) => item,
            Err(fatal) => return Read::Fatal(fatal),
        };
        if cursor.overflowed() {
            return Read::Bad(IssueReason::TooLarge);
        }
        match item {
            Item::Start { depth } => {
                let name = cursor.name();
                let known = match (depth, section, attr) {
                    (3, _, _) => match name {
                        b"identifier" => {
                            section = Section::Identifier;
                            true
                        }
                        b"attributes" | b"operationalAttributes" => {
                            section = Section::Attributes;
                            true
                        }
                        _ => false,
                    },
                    (4, Section::Identifier, _) if name == b"id" => {
                        in_id = true;
                        true
                    }
                    (4, Section::Attributes, _) if name == b"attr" => {
                        let field = match cursor.attribute(b"name") {
                            Ok(Some(raw)) => field_of(raw.trim_ascii()),
                            Ok(None) => None,
                            Err(p) => return Read::Bad(IssueReason::MalformedXml(p)),
                        };
                        if let Some(field) = field {
                            request.fields.mark_given(field);
                        }
                        attr = Some(field);
                        true
                    }
                    (5, Section::Attributes, Some(Some(_))) if name == b"value" => {
                        value = Some(request.fields.start_value());
                        true
                    }
                    _ => false,
                };
                if !known {
                    match cursor.skip_element(depth) {
                        Ok(None) => {}
                        Ok(Some(Item::Eof)) => return Read::Eof,
                        Ok(Some(Item::Problem(p))) => {
                            return Read::Bad(IssueReason::MalformedXml(p));
                        }
                        Ok(Some(_)) => {}
                        Err(fatal) => return Read::Fatal(fatal),
                    }
                }
            }
            Item::Text => {
                let target = if in_id {
                    &mut request.id
                } else if value.is_some() {
                    request.fields.text_mut()
                } else {
                    continue;
                };
                if xml::decode_into(encoding, cursor.text(), target).is_none() {
                    return Read::Bad(IssueReason::InvalidText);
                }
                if target.len() > max_record {
                    return Read::Bad(IssueReason::TooLarge);
                }
            }
            Item::Char(c) => {
                let target = if in_id {
                    &mut request.id
                } else if value.is_some() {
                    request.fields.text_mut()
                } else {
                    continue;
                };
                target.push(c);
                if target.len() > max_record {
                    return Read::Bad(IssueReason::TooLarge);
                }
            }
            Item::End { depth } => match depth {
                2 => return Read::Done,
                3 => section = Section::None,
                4 => {
                    in_id = false;
                    attr = None;
                    if request.id.len() > max_value {
                        return Read::Bad(IssueReason::TooLarge);
                    }
                }
                5 => {
                    if let (Some(start), Some(Some(field))) = (value.take(), attr)
                        && (request.fields.value_len(start) > max_value
                            || request.fields.end_value(field, start) > max_record)
                    {
                        return Read::Bad(IssueReason::TooLarge);
                    }
                }
                _ => {}
            },
            Item::Problem(p) => return Read::Bad(IssueReason::MalformedXml(p)),
            Item::Eof => return Read::Eof,
        }
    }
}

fn apply(ctx: &mut Context<'_>, request: &Request, hint: Option<Kind>) {
    let position = request.position;
    let Some(id) = request.id() else {
        ctx.issue(
            None,
            position,
            IssueReason::MissingId,
            IssueEffect::RecordSkipped,
        );
        return;
    };
    let fields = &request.fields;
    let skip = |ctx: &mut Context<'_>, reason| {
        ctx.issue(Some(id), position, reason, IssueEffect::RecordSkipped);
    };
    if let (Some(join), _) = fields.first(f::JOINTURE)
        && !join.is_empty()
        && join != id
    {
        return skip(ctx, IssueReason::JoinKeyMismatch);
    }
    let Some(kind) = kind_of(fields, hint) else {
        return skip(ctx, IssueReason::UnknownRecordKind);
    };
    let source = ctx.builder.source().clone();
    match kind {
        Kind::Other => ctx.file.counts.ignored += 1,
        Kind::Pupil => {
            let Ok(pupil_id) = PupilId::new(source, id) else {
                return skip(ctx, IssueReason::InvalidId);
            };
            apply_pupil(ctx, request, pupil_id);
        }
        Kind::Person => {
            let Ok(person_id) = PersonId::new(source, id) else {
                return skip(ctx, IssueReason::InvalidId);
            };
            apply_person(ctx, request, person_id);
        }
        Kind::School => apply_school(ctx, request, id),
    }
}

fn kind_of(fields: &Fields, hint: Option<Kind>) -> Option<Kind> {
    if let (Some(category), _) = fields.first(f::CATEGORY) {
        return Some(match category {
            "Eleve" => Kind::Pupil,
            "PersRelEleve" => Kind::Person,
            "EtabEducNat" => Kind::School,
            _ => Kind::Other,
        });
    }
    for profile in fields.all(f::PROFILES) {
        match profile {
            "National_ELV" => return Some(Kind::Pupil),
            "National_TUT" => return Some(Kind::Person),
            _ => {}
        }
    }
    if hint.is_some() {
        return hint;
    }
    if [f::LINKS, f::INE, f::CLASSES, f::STRUCT_ID, f::AUTHORITY]
        .into_iter()
        .any(|k| fields.is_given(k))
    {
        Some(Kind::Pupil)
    } else if fields.is_given(f::AUX_PUPILS) {
        Some(Kind::Person)
    } else if fields.is_given(f::UAI) {
        Some(Kind::School)
    } else if fields.all(f::PROFILES).next().is_some() {
        Some(Kind::Other)
    } else {
        None
    }
}

/// The first value of a single-valued field, reporting extra values.
fn single<'r>(ctx: &mut Context<'_>, request: &'r Request, field: u8) -> Option<&'r str> {
    let (first, more) = request.fields.first(field);
    if more {
        ctx.issue(
            request.id(),
            request.position,
            IssueReason::RepeatedValue(NAMES[field as usize]),
            IssueEffect::ValueIgnored,
        );
    }
    first
}

/// What the name fields of a request make of a record's names: `None` if
/// the record would be left without a family name or a first name.
struct Names {
    birth: String,
    usage: Option<String>,
    given: Vec<String>,
}

fn names(
    ctx: &mut Context<'_>,
    request: &Request,
    old: Option<(&str, Option<&str>, &[String])>,
) -> Result<Names, IssueReason> {
    let fields = &request.fields;
    let (old_birth, old_usage, old_given) = old.unwrap_or(("", None, &[]));
    let sn = if fields.is_given(f::SN) {
        single(ctx, request, f::SN).unwrap_or("")
    } else {
        old_usage.unwrap_or(old_birth)
    };
    let birth = if fields.is_given(f::BIRTH_NAME) {
        single(ctx, request, f::BIRTH_NAME)
    } else if fields.is_given(f::SN) && old_usage.is_none() {
        // The birth name followed `sn`: it still does.
        None
    } else {
        Some(old_birth)
    };
    let (birth, usage) = fields::names(sn, birth);
    if birth.is_empty() {
        return Err(IssueReason::MissingAttribute("sn"));
    }
    let first = if fields.is_given(f::GIVEN) {
        single(ctx, request, f::GIVEN).unwrap_or("")
    } else {
        old_given.first().map_or("", String::as_str)
    };
    if first.is_empty() {
        return Err(IssueReason::MissingAttribute("givenName"));
    }
    let mut given = vec![first.to_owned()];
    if fields.is_given(f::OTHER_GIVEN) {
        given.extend(
            fields
                .all(f::OTHER_GIVEN)
                .filter(|g| !g.is_empty() && *g != first)
                .map(str::to_owned),
        );
    } else if !fields.is_given(f::GIVEN) || old_given.first().is_some_and(|g| g == first) {
        given.extend(old_given.iter().skip(1).cloned());
    }
    Ok(Names {
        birth,
        usage,
        given,
    })
}

fn birth_date(ctx: &mut Context<'_>, request: &Request) -> Option<crate::birthdate::BirthDate> {
    let value = single(ctx, request, f::BIRTH_DATE).filter(|v| !v.is_empty())?;
    let date = fields::french_date(value);
    if date.is_none() {
        ctx.issue(
            request.id(),
            request.position,
            IssueReason::InvalidDate(NAMES[f::BIRTH_DATE as usize]),
            IssueEffect::ValueIgnored,
        );
    }
    date
}

fn is_duplicate(ctx: &Context<'_>, replaced: bool) -> bool {
    replaced && ctx.mode == ImportMode::Full
}

fn apply_pupil(ctx: &mut Context<'_>, request: &Request, id: PupilId) {
    let fields = &request.fields;
    let position = request.position;
    let local = id.local();
    let skip = |ctx: &mut Context<'_>, reason| {
        ctx.issue(Some(local), position, reason, IssueEffect::RecordSkipped);
    };
    match request.op {
        Op::Delete => {
            if ctx.builder.remove_pupil(&id).is_some() {
                ctx.file.counts.deleted += 1;
            } else {
                skip(ctx, IssueReason::UnknownRecord);
            }
        }
        Op::Add | Op::Modify => {
            let (old, old_links) = if request.op == Op::Modify {
                let links = ctx.builder.remove_links_of_pupil(&id);
                match ctx.builder.remove_pupil(&id) {
                    Some(old) => (Some(old), links),
                    None => {
                        for link in links {
                            let _ = ctx.builder.add_link(link);
                        }
                        return skip(ctx, IssueReason::UnknownRecord);
                    }
                }
            } else {
                (None, Vec::new())
            };
            let names = names(
                ctx,
                request,
                old.as_ref().map(|p| {
                    (
                        p.birth_name.as_str(),
                        p.usage_name.as_deref(),
                        p.given_names.as_slice(),
                    )
                }),
            );
            let names = match names {
                Ok(names) => names,
                Err(reason) => {
                    // Put a modified record back as it was.
                    if let Some(old) = old {
                        let _ = ctx.builder.add_pupil(old);
                        for link in old_links {
                            let _ = ctx.builder.add_link(link);
                        }
                    }
                    return skip(ctx, reason);
                }
            };
            let mut pupil = old.unwrap_or_else(|| Pupil::new(id.clone(), "", [""; 0]));
            pupil.birth_name = names.birth;
            pupil.usage_name = names.usage;
            pupil.given_names = names.given;
            if fields.is_given(f::BIRTH_DATE) {
                pupil.birth_date = birth_date(ctx, request);
            }
            if fields.is_given(f::INE) {
                pupil.ine = single(ctx, request, f::INE)
                    .filter(|v| !v.is_empty())
                    .and_then(|v| match Ine::parse(v) {
                        Ok(ine) => Some(ine),
                        Err(_) => {
                            ctx.issue(
                                Some(local),
                                position,
                                IssueReason::InvalidIne(NAMES[f::INE as usize]),
                                IssueEffect::ValueIgnored,
                            );
                            None
                        }
                    });
            }
            if fields.is_given(f::STRUCT_ID) || fields.is_given(f::STRUCT) {
                pupil.school = school_of(ctx, request);
            }
            if fields.is_given(f::CLASSES) {
                pupil.classes = fields
                    .all(f::CLASSES)
                    .filter(|v| !v.is_empty())
                    .map(|v| v.split_once('$').map_or(v, |(_, class)| class).to_owned())
                    .collect();
            }
            let replaced = ctx.builder.add_pupil(pupil).ok().flatten().is_some();
            if is_duplicate(ctx, replaced) {
                ctx.issue(
                    Some(local),
                    position,
                    IssueReason::DuplicateId,
                    IssueEffect::RecordReplaced,
                );
            }
            if request.op == Op::Add {
                ctx.file.counts.added += 1;
            } else {
                ctx.file.counts.modified += 1;
            }
            ctx.file.counts.pupils += 1;
            if request.op == Op::Add && replaced {
                // An added record replaces the whole pupil, links included.
                ctx.builder.remove_links_of_pupil(&id);
            }
            if fields.is_given(f::LINKS) {
                add_links(ctx, request, &id);
            } else {
                for link in old_links {
                    let _ = ctx.builder.add_link(link);
                }
            }
        }
    }
}

/// The pupil's school: `ENTEleveStructRattachId`, else
/// `ENTPersonStructRattach`.
fn school_of(ctx: &mut Context<'_>, request: &Request) -> Option<Uai> {
    let from_id = single(ctx, request, f::STRUCT_ID).filter(|v| !v.is_empty());
    let (field, value) = match from_id {
        Some(v) => (f::STRUCT_ID, v),
        None => (
            f::STRUCT,
            single(ctx, request, f::STRUCT).filter(|v| !v.is_empty())?,
        ),
    };
    match Uai::parse(value) {
        Ok(uai) => Some(uai),
        Err(e) => {
            ctx.issue(
                request.id(),
                request.position,
                IssueReason::InvalidUai(NAMES[field as usize], e),
                IssueEffect::ValueIgnored,
            );
            None
        }
    }
}

/// One `ENTElevePersRelEleve` value:
/// `<personId>$<link code>$<financial>$<legal>$<contact>$<payment>`.
fn parse_link(value: &str, pupil: &PupilId) -> Result<Link, LinkProblem> {
    let mut parts = value.split('$');
    let mut part = || parts.next().ok_or(LinkProblem::FieldCount);
    let (person, code, financial, legal, contact, payment) =
        (part()?, part()?, part()?, part()?, part()?, part()?);
    if parts.next().is_some() {
        return Err(LinkProblem::FieldCount);
    }
    let person =
        PersonId::new(pupil.source().clone(), person.trim()).map_err(|_| LinkProblem::Person)?;
    let code = fields::code(code.trim()).ok_or(LinkProblem::RelationshipCode)?;
    let relationship = u8::try_from(code)
        .ok()
        .and_then(RelationshipCode::from_aaf)
        .ok_or(LinkProblem::UnknownRelationship(code))?;
    let flag = |s: &str| fields::flag(s.trim()).ok_or(LinkProblem::Flag);
    let legal = fields::code(legal.trim())
        .and_then(|c| u8::try_from(c).ok())
        .ok_or(LinkProblem::Legal)
        .and_then(|c| LegalRank::from_code(c).map_err(|_| LinkProblem::Legal))?;
    let mut link = Link::new(pupil.clone(), person, relationship)
        .with_financial(flag(financial)?)
        .with_contact(flag(contact)?)
        .with_payment(flag(payment)?);
    link.legal = legal;
    Ok(link)
}

fn add_links(ctx: &mut Context<'_>, request: &Request, pupil: &PupilId) {
    let position = request.position;
    // The local ids of the persons with legal authority, as parsed (the
    // first part of the link, trimmed).
    let mut legal_persons: Vec<&str> = Vec::new();
    for value in request.fields.all(f::LINKS) {
        if value.is_empty() {
            continue;
        }
        match parse_link(value, pupil) {
            Ok(link) => {
                if link.has_legal_authority() {
                    legal_persons.push(value.split('$').next().unwrap_or_default().trim());
                }
                if let Ok(Some(_)) = ctx.builder.add_link(link) {
                    ctx.issue(
                        Some(pupil.local()),
                        position,
                        IssueReason::DuplicateLink,
                        IssueEffect::LinkSkipped,
                    );
                } else {
                    ctx.file.counts.links += 1;
                }
            }
            Err(problem) => ctx.issue(
                Some(pupil.local()),
                position,
                IssueReason::InvalidLink(problem),
                IssueEffect::LinkSkipped,
            ),
        }
    }
    for person in request.fields.all(f::AUTHORITY) {
        if !person.is_empty() && !legal_persons.contains(&person) {
            ctx.issue(
                Some(pupil.local()),
                position,
                IssueReason::AuthorityWithoutLink,
                IssueEffect::ValueIgnored,
            );
        }
    }
}

fn apply_person(ctx: &mut Context<'_>, request: &Request, id: PersonId) {
    let fields = &request.fields;
    let position = request.position;
    let local = id.local();
    let skip = |ctx: &mut Context<'_>, reason| {
        ctx.issue(Some(local), position, reason, IssueEffect::RecordSkipped);
    };
    if request.op == Op::Delete {
        if ctx.builder.remove_person(&id).is_some() {
            ctx.file.counts.deleted += 1;
        } else {
            skip(ctx, IssueReason::UnknownRecord);
        }
        return;
    }
    let old = if request.op == Op::Modify {
        match ctx.builder.remove_person(&id) {
            Some(old) => Some(old),
            None => return skip(ctx, IssueReason::UnknownRecord),
        }
    } else {
        None
    };
    let names = names(
        ctx,
        request,
        old.as_ref().map(|p| {
            (
                p.birth_name.as_str(),
                p.usage_name.as_deref(),
                p.given_names.as_slice(),
            )
        }),
    );
    let names = match names {
        Ok(names) => names,
        Err(reason) => {
            if let Some(old) = old {
                let _ = ctx.builder.add_person(old);
            }
            return skip(ctx, reason);
        }
    };
    let mut person = old.unwrap_or_else(|| RelatedPerson::new(id.clone(), "", [""; 0]));
    person.birth_name = names.birth;
    person.usage_name = names.usage;
    person.given_names = names.given;
    if fields.is_given(f::BIRTH_DATE) {
        person.birth_date = birth_date(ctx, request);
    }
    if fields.is_given(f::TITLE) {
        person.civility = single(ctx, request, f::TITLE)
            .filter(|v| !v.is_empty())
            .and_then(|v| {
                let civility = Civility::from_code(v);
                if civility.is_none() {
                    ctx.issue(
                        Some(local),
                        position,
                        IssueReason::UnknownValue(NAMES[f::TITLE as usize]),
                        IssueEffect::ValueIgnored,
                    );
                }
                civility
            });
    }
    for (field, kind) in [
        (f::MOBILE, PhoneKind::Mobile),
        (f::SMS, PhoneKind::Sms),
        (f::HOME, PhoneKind::Home),
        (f::WORK, PhoneKind::Work),
    ] {
        if fields.is_given(field) {
            person.phones.retain(|p| p.kind != kind);
            for number in fields.all(field).filter(|v| !v.is_empty()) {
                person
                    .phones
                    .push(crate::directory::Phone::new(kind, number));
            }
        }
    }
    if fields.is_given(f::MAIL) {
        person.email = single(ctx, request, f::MAIL)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
    }
    let replaced = ctx.builder.add_person(person).ok().flatten().is_some();
    if is_duplicate(ctx, replaced) {
        ctx.issue(
            Some(local),
            position,
            IssueReason::DuplicateId,
            IssueEffect::RecordReplaced,
        );
    }
    if request.op == Op::Add {
        ctx.file.counts.added += 1;
    } else {
        ctx.file.counts.modified += 1;
    }
    ctx.file.counts.persons += 1;
}

fn apply_school(ctx: &mut Context<'_>, request: &Request, id: &str) {
    let position = request.position;
    let skip = |ctx: &mut Context<'_>, reason| {
        ctx.issue(Some(id), position, reason, IssueEffect::RecordSkipped);
    };
    let field = NAMES[f::UAI as usize];
    let uai = match single(ctx, request, f::UAI).filter(|v| !v.is_empty()) {
        Some(v) => Uai::parse(v).map_err(|e| IssueReason::InvalidUai(field, e)),
        // A deletion may name the school by its id only.
        None if request.op != Op::Add => {
            Uai::parse(id).map_err(|_| IssueReason::MissingAttribute(field))
        }
        None => Err(IssueReason::MissingAttribute(field)),
    };
    let uai = match uai {
        Ok(uai) => uai,
        Err(reason) => return skip(ctx, reason),
    };
    match request.op {
        Op::Delete => {
            if ctx.builder.remove_school(&uai).is_some() {
                ctx.file.counts.deleted += 1;
            } else {
                skip(ctx, IssueReason::UnknownRecord);
            }
        }
        Op::Add | Op::Modify => {
            let old = if request.op == Op::Modify {
                match ctx.builder.remove_school(&uai) {
                    Some(old) => Some(old),
                    None => return skip(ctx, IssueReason::UnknownRecord),
                }
            } else {
                None
            };
            let mut school = old.unwrap_or_else(|| School::new(uai, ""));
            if request.fields.is_given(f::SCHOOL_NAME) {
                school.name = single(ctx, request, f::SCHOOL_NAME)
                    .unwrap_or("")
                    .to_owned();
            }
            let replaced = ctx.builder.add_school(school).is_some();
            if is_duplicate(ctx, replaced) {
                ctx.issue(
                    Some(id),
                    position,
                    IssueReason::DuplicateId,
                    IssueEffect::RecordReplaced,
                );
            }
            if request.op == Op::Add {
                ctx.file.counts.added += 1;
            } else {
                ctx.file.counts.modified += 1;
            }
            ctx.file.counts.schools += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn academies_from_file_names() {
        assert_eq!(
            academy_from_file_name("ENT_14_Complet_20250905_Eleve_0000.xml"),
            Some("14")
        );
        assert_eq!(
            academy_from_file_name("/data/in/ENT_025_Delta_20250906_PersRelEleve_0001.xml"),
            Some("025")
        );
        assert_eq!(academy_from_file_name("ENT_XX_Complet_Eleve.xml"), None);
        assert_eq!(academy_from_file_name("ENT_1234_Complet.xml"), None);
        assert_eq!(academy_from_file_name("ENT_/ENT_7_x.xml"), Some("7"));
        assert_eq!(academy_from_file_name("ElevesSansAdresses.xml"), None);
    }

    #[test]
    fn kinds_from_file_names() {
        for (name, kind) in [
            ("ENT_14_Complet_20250905_Eleve_0000.xml", Some(Kind::Pupil)),
            ("ENT_14_Delta_Eleve.xml", Some(Kind::Pupil)),
            ("dir_Eleve/ENT_14_PersRelEleve_0001.xml", Some(Kind::Person)),
            ("ENT_14_Complet_EtabEducNat_0000.xml", Some(Kind::School)),
            ("ENT_14_Complet_PersEducNat_0000.xml", Some(Kind::Other)),
            ("ENT_14_Eleves.xml", None),
        ] {
            assert_eq!(kind_from_file_name(name), kind, "{name}");
        }
    }

    #[test]
    fn fields_by_name() {
        for (i, name) in NAMES.iter().enumerate() {
            assert_eq!(field_of(name.as_bytes()), Some(i as u8), "{name}");
        }
        assert_eq!(field_of(b"SN"), None);
        assert_eq!(field_of(b""), None);
    }

    #[test]
    fn links() {
        let source = crate::directory::SourceId::aaf("14").unwrap();
        let pupil = PupilId::new(source, "E1").unwrap();
        let link = parse_link("P1$10$1$1$0$1", &pupil).unwrap();
        assert_eq!(link.person.local(), "P1");
        assert_eq!(link.relationship, RelationshipCode::siecle(10).unwrap());
        assert_eq!(link.legal, Some(LegalRank::First));
        assert!(link.financial && !link.contact && link.payment);
        let legacy = parse_link("P2$1$0$2$1$0", &pupil).unwrap();
        assert_eq!(
            legacy.relationship,
            RelationshipCode::legacy_aaf(1).unwrap()
        );
        assert_eq!(
            legacy.relationship.relationship(),
            crate::directory::Relationship::Father
        );
        assert_eq!(legacy.legal, Some(LegalRank::Second));
        assert_eq!(parse_link("P3$90$0$0$0$0", &pupil).unwrap().legal, None);
        for (value, problem) in [
            ("P1$10$1$1$1", LinkProblem::FieldCount),
            ("P1$10$1$1$1$1$1", LinkProblem::FieldCount),
            ("$10$1$1$1$1", LinkProblem::Person),
            ("P1$$1$1$1$1", LinkProblem::RelationshipCode),
            ("P1$x$1$1$1$1", LinkProblem::RelationshipCode),
            ("P1$8$1$1$1$1", LinkProblem::UnknownRelationship(8)),
            ("P1$99$1$1$1$1", LinkProblem::UnknownRelationship(99)),
            ("P1$0$1$1$1$1", LinkProblem::UnknownRelationship(0)),
            ("P1$10$1$3$1$1", LinkProblem::Legal),
            ("P1$10$2$1$1$1", LinkProblem::Flag),
            ("P1$10$1$1$1$", LinkProblem::Flag),
        ] {
            assert_eq!(parse_link(value, &pupil).unwrap_err(), problem, "{value}");
        }
    }
}
