//! SIECLE files: `ElevesSansAdresses.xml` (`BEE_ELEVES`) and
//! `ResponsablesAvecAdresses.xml` (`BEE_RESPONSABLES`).

use std::io::{self, BufRead};
use std::ops::ControlFlow;

use super::fields::{self, Fields};
use super::xml::{self, Cursor, Item, RecordSpec};
use super::{
    Context, ExportFormat, ExportFormatExpected, ImportMode, IssueEffect, IssueReason, LinkProblem,
    Read, Unreadable,
};
use crate::birthdate::BirthDate;
use crate::directory::{
    Civility, LegalRank, Link, PersonId, Phone, PhoneKind, Pupil, PupilId, RelatedPerson,
    RelationshipCode,
};
use crate::ids::{Ine, Uai};

const ELEVES: &[u8] = b"BEE_ELEVES";
const RESPONSABLES: &[u8] = b"BEE_RESPONSABLES";

/// The records, each in its container (`<root>/DONNEES/<container>`).
const ELEVES_RECORDS: [RecordSpec; 2] = [
    RecordSpec {
        name: b"ELEVE",
        container: &[ELEVES, b"DONNEES", b"ELEVES"],
    },
    RecordSpec {
        name: b"STRUCTURES_ELEVE",
        container: &[ELEVES, b"DONNEES", b"STRUCTURES"],
    },
];
const RESPONSABLES_RECORDS: [RecordSpec; 2] = [
    RecordSpec {
        name: b"PERSONNE",
        container: &[RESPONSABLES, b"DONNEES", b"PERSONNES"],
    },
    RecordSpec {
        name: b"RESPONSABLE_ELEVE",
        container: &[RESPONSABLES, b"DONNEES", b"RESPONSABLES"],
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Pupil,
    Classes,
    Person,
    Link,
}

/// The elements read, by field number.
const NAMES: [&str; 21] = [
    "ID_NATIONAL",
    "NOM_DE_FAMILLE",
    "NOM_USAGE",
    "PRENOM",
    "PRENOM2",
    "PRENOM3",
    "DATE_NAISS",
    "CODE_MEF",
    "CODE_STRUCTURE",
    "LC_CIVILITE",
    "TEL_PERSONNEL",
    "TEL_PORTABLE",
    "TEL_PROFESSIONNEL",
    "MEL",
    "ELEVE_ID",
    "PERSONNE_ID",
    "RESP_LEGAL",
    "CODE_PARENTE",
    "RESP_FINANCIER",
    "PERS_PAIMENT",
    "PERS_CONTACT",
];

mod f {
    pub(super) const INE: u8 = 0;
    pub(super) const FAMILY: u8 = 1;
    pub(super) const USAGE: u8 = 2;
    pub(super) const GIVEN: u8 = 3;
    pub(super) const GIVEN2: u8 = 4;
    pub(super) const GIVEN3: u8 = 5;
    pub(super) const BIRTH_DATE: u8 = 6;
    pub(super) const MEF: u8 = 7;
    pub(super) const STRUCTURE: u8 = 8;
    pub(super) const CIVILITY: u8 = 9;
    pub(super) const HOME: u8 = 10;
    pub(super) const MOBILE: u8 = 11;
    pub(super) const WORK: u8 = 12;
    pub(super) const MAIL: u8 = 13;
    pub(super) const PUPIL: u8 = 14;
    pub(super) const PERSON: u8 = 15;
    pub(super) const LEGAL: u8 = 16;
    pub(super) const CODE: u8 = 17;
    pub(super) const FINANCIAL: u8 = 18;
    pub(super) const PAYMENT: u8 = 19;
    pub(super) const CONTACT: u8 = 20;
}

fn field_of(name: &[u8]) -> Option<u8> {
    NAMES
        .iter()
        .position(|n| n.as_bytes() == name)
        .map(|i| i as u8)
}

/// One record, as read.
struct Element {
    record: Record,
    position: u64,
    /// The id attribute (`ELEVE_ID`, `PERSONNE_ID`), if any.
    id: Option<String>,
    fields: Fields,
}

impl Element {
    fn id(&self) -> Option<&str> {
        self.id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
    }
}

pub(super) fn read(ctx: &mut Context<'_>, input: impl BufRead) -> io::Result<()> {
    let Some(mut cursor) = ctx.open(input)? else {
        return Ok(());
    };
    let format = ExportFormat::from_root(cursor.name());
    ctx.file.format = format;
    let (specs, kinds): (&[RecordSpec], [Record; 2]) = match format {
        Some(ExportFormat::SiecleEleves) => (&ELEVES_RECORDS, [Record::Pupil, Record::Classes]),
        Some(ExportFormat::SiecleResponsables) => {
            (&RESPONSABLES_RECORDS, [Record::Person, Record::Link])
        }
        _ => {
            let position = cursor.position();
            ctx.issue(
                None,
                position,
                IssueReason::UnexpectedRoot(ExportFormatExpected::Siecle),
                IssueEffect::RestOfFileSkipped,
            );
            return Ok(());
        }
    };
    let school = (ctx.builder.source().kind() == crate::directory::SourceId::SIECLE)
        .then(|| Uai::parse(ctx.builder.source().code()).ok())
        .flatten();
    let mut element = Element {
        record: Record::Pupil,
        position: 0,
        id: None,
        fields: Fields::new(),
    };
    // The container open at depth 3, as an index in `specs`.
    let mut container: Option<usize> = None;
    let mut pending: Option<usize> = None;
    'records: loop {
        let spec = match pending.take() {
            Some(i) => i,
            None => 'found: {
                let item = match cursor.next() {
                    Ok(item) => item,
                    Err(fatal) => return ctx.fatal(fatal, cursor.position()),
                };
                let overflowed = cursor.overflowed();
                let problem = match item {
                    Item::Start { depth } => {
                        let name = cursor.name();
                        let descend = !overflowed
                            && match depth {
                                2 => name == b"DONNEES",
                                3 => {
                                    container = specs
                                        .iter()
                                        .position(|s| s.container.last() == Some(&name));
                                    container.is_some()
                                }
                                _ => false,
                            };
                        match container {
                            _ if descend => continue 'records,
                            Some(_) if overflowed && depth == 4 => {
                                ctx.file.counts.records += 1;
                                IssueReason::TooLarge
                            }
                            _ if overflowed => IssueReason::TooLarge,
                            Some(i) if depth == 4 && specs[i].name == name => break 'found i,
                            // Not a record: ignored, with what it holds.
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
                    Item::End { depth: 3 } => {
                        container = None;
                        continue 'records;
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
                match cursor.resync(specs) {
                    Ok(Some(i)) => {
                        container = Some(i);
                        pending = Some(i);
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
        element.record = kinds[spec];
        element.position = cursor.position();
        element.fields.clear();
        let id_attribute: &[u8] = match element.record {
            Record::Pupil | Record::Classes => b"ELEVE_ID",
            Record::Person => b"PERSONNE_ID",
            Record::Link => b"",
        };
        element.id = None;
        let mut outcome = None;
        if !id_attribute.is_empty() {
            match cursor.attribute(id_attribute) {
                Ok(Some(raw)) => match xml::decode_attribute(cursor.encoding(), raw) {
                    Some(id) => element.id = Some(id),
                    None => outcome = Some(Read::Bad(IssueReason::InvalidText)),
                },
                Ok(None) => {}
                Err(p) => outcome = Some(Read::Bad(IssueReason::MalformedXml(p))),
            }
        }
        let outcome = match outcome {
            Some(outcome) => outcome,
            None => read_element(&mut cursor, &mut element, ctx),
        };
        match outcome {
            Read::Done => apply(ctx, &element, school),
            failed => match ctx.record_failed(&mut cursor, element.id(), failed, specs) {
                ControlFlow::Continue(next) => {
                    if let Some(i) = next {
                        container = Some(i);
                        pending = Some(i);
                    }
                }
                ControlFlow::Break(result) => return result,
            },
        }
    }
}

/// Reads the fields of the record element open at depth 4: its children
/// at depth 5, and for classes `STRUCTURE/CODE_STRUCTURE` at depth 6.
fn read_element<R: BufRead>(
    cursor: &mut Cursor<R>,
    element: &mut Element,
    ctx: &Context<'_>,
) -> Read {
    let max_value = ctx.options.max_value_len;
    let max_record = ctx.options.max_record_len;
    let encoding = cursor.encoding();
    // The field being read, its depth and where its text starts.
    let mut value: Option<(u8, usize, usize)> = None;
    loop {
        if let Some((_, _, start)) = value
            && element.fields.value_len(start) > max_value
        {
            return Read::Bad(IssueReason::TooLarge);
        }
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
                let wrapper =
                    element.record == Record::Classes && depth == 5 && name == b"STRUCTURE";
                if wrapper {
                    continue;
                }
                let expected = match element.record {
                    Record::Classes => depth == 6,
                    _ => depth == 5,
                };
                match field_of(name) {
                    Some(field) if expected && value.is_none() => {
                        value = Some((field, depth, element.fields.start_value()));
                    }
                    _ => match cursor.skip_element(depth) {
                        Ok(None) | Ok(Some(Item::Start { .. })) => {}
                        Ok(Some(Item::Eof)) => return Read::Eof,
                        Ok(Some(Item::Problem(p))) => {
                            return Read::Bad(IssueReason::MalformedXml(p));
                        }
                        Ok(Some(_)) => {}
                        Err(fatal) => return Read::Fatal(fatal),
                    },
                }
            }
            Item::Text => {
                if value.is_some()
                    && xml::decode_into(encoding, cursor.text(), element.fields.text_mut())
                        .is_none()
                {
                    return Read::Bad(IssueReason::InvalidText);
                }
            }
            Item::Char(c) => {
                if value.is_some() {
                    element.fields.text_mut().push(c);
                }
            }
            Item::End { depth } => {
                if depth == 4 {
                    return Read::Done;
                }
                if let Some((field, d, start)) = value
                    && d == depth
                {
                    value = None;
                    if element.fields.value_len(start) > max_value
                        || element.fields.end_value(field, start) > max_record
                    {
                        return Read::Bad(IssueReason::TooLarge);
                    }
                }
            }
            Item::Problem(p) => return Read::Bad(IssueReason::MalformedXml(p)),
            Item::Eof => return Read::Eof,
        }
    }
}

/// The first value of a single-valued field, reporting extra values.
fn single<'e>(ctx: &mut Context<'_>, element: &'e Element, field: u8) -> Option<&'e str> {
    let (first, more) = element.fields.first(field);
    if more {
        ctx.issue(
            element.id(),
            element.position,
            IssueReason::RepeatedValue(NAMES[field as usize]),
            IssueEffect::ValueIgnored,
        );
    }
    first.filter(|v| !v.is_empty())
}

fn apply(ctx: &mut Context<'_>, element: &Element, school: Option<Uai>) {
    let position = element.position;
    if element.record == Record::Link {
        return apply_link(ctx, element);
    }
    let Some(id) = element.id() else {
        ctx.issue(
            None,
            position,
            IssueReason::MissingId,
            IssueEffect::RecordSkipped,
        );
        return;
    };
    let skip = |ctx: &mut Context<'_>, reason| {
        ctx.issue(Some(id), position, reason, IssueEffect::RecordSkipped);
    };
    let source = ctx.builder.source().clone();
    match element.record {
        Record::Pupil => {
            let Ok(pupil_id) = PupilId::new(source, id) else {
                return skip(ctx, IssueReason::InvalidId);
            };
            let Some(family) = single(ctx, element, f::FAMILY) else {
                return skip(
                    ctx,
                    IssueReason::MissingAttribute(NAMES[f::FAMILY as usize]),
                );
            };
            let Some(given) = single(ctx, element, f::GIVEN) else {
                return skip(ctx, IssueReason::MissingAttribute(NAMES[f::GIVEN as usize]));
            };
            let mut given_names = vec![given.to_owned()];
            for field in [f::GIVEN2, f::GIVEN3] {
                given_names.extend(single(ctx, element, field).map(str::to_owned));
            }
            let mut pupil = Pupil::new(pupil_id, family, given_names);
            pupil.usage_name = single(ctx, element, f::USAGE)
                .filter(|u| *u != family)
                .map(str::to_owned);
            pupil.birth_date = date(ctx, element);
            pupil.ine = single(ctx, element, f::INE).and_then(|v| match Ine::parse(v) {
                Ok(ine) => Some(ine),
                Err(_) => {
                    ctx.issue(
                        Some(id),
                        position,
                        IssueReason::InvalidIne(NAMES[f::INE as usize]),
                        IssueEffect::ValueIgnored,
                    );
                    None
                }
            });
            pupil.level = single(ctx, element, f::MEF).map(str::to_owned);
            pupil.school = school;
            // `ELEVE_ID`: what AAF's `ENTEleveStructRattachId` holds.
            pupil.school_local_id = Some(id.to_owned());
            let replaced = ctx.builder.add_pupil(pupil).ok().flatten().is_some();
            if replaced && ctx.mode == ImportMode::Full {
                ctx.issue(
                    Some(id),
                    position,
                    IssueReason::DuplicateId,
                    IssueEffect::RecordReplaced,
                );
            }
            ctx.file.counts.added += 1;
            ctx.file.counts.pupils += 1;
        }
        Record::Classes => {
            let Ok(pupil_id) = PupilId::new(source, id) else {
                return skip(ctx, IssueReason::InvalidId);
            };
            let links = ctx.builder.remove_links_of_pupil(&pupil_id);
            let Some(mut pupil) = ctx.builder.remove_pupil(&pupil_id) else {
                for link in links {
                    let _ = ctx.builder.add_link(link);
                }
                return skip(ctx, IssueReason::UnknownRecord);
            };
            for class in element.fields.all(f::STRUCTURE).filter(|c| !c.is_empty()) {
                if !pupil.classes.iter().any(|c| c == class) {
                    pupil.classes.push(class.to_owned());
                }
            }
            let _ = ctx.builder.add_pupil(pupil);
            for link in links {
                let _ = ctx.builder.add_link(link);
            }
            ctx.file.counts.modified += 1;
        }
        Record::Person => {
            let Ok(person_id) = PersonId::new(source, id) else {
                return skip(ctx, IssueReason::InvalidId);
            };
            let Some(family) = single(ctx, element, f::FAMILY) else {
                return skip(
                    ctx,
                    IssueReason::MissingAttribute(NAMES[f::FAMILY as usize]),
                );
            };
            let Some(given) = single(ctx, element, f::GIVEN) else {
                return skip(ctx, IssueReason::MissingAttribute(NAMES[f::GIVEN as usize]));
            };
            let mut person = RelatedPerson::new(person_id, family, [given]);
            person.usage_name = single(ctx, element, f::USAGE)
                .filter(|u| *u != family)
                .map(str::to_owned);
            if let Some(code) = single(ctx, element, f::CIVILITY) {
                person.civility = Civility::from_code(code);
                if person.civility.is_none() {
                    ctx.issue(
                        Some(id),
                        position,
                        IssueReason::UnknownValue(NAMES[f::CIVILITY as usize]),
                        IssueEffect::ValueIgnored,
                    );
                }
            }
            for (field, kind) in [
                (f::MOBILE, PhoneKind::Mobile),
                (f::HOME, PhoneKind::Home),
                (f::WORK, PhoneKind::Work),
            ] {
                if let Some(number) = single(ctx, element, field) {
                    person.phones.push(Phone::new(kind, number));
                }
            }
            person.email = single(ctx, element, f::MAIL).map(str::to_owned);
            if ctx.builder.add_person(person).ok().flatten().is_some()
                && ctx.mode == ImportMode::Full
            {
                ctx.issue(
                    Some(id),
                    position,
                    IssueReason::DuplicateId,
                    IssueEffect::RecordReplaced,
                );
            }
            ctx.file.counts.added += 1;
            ctx.file.counts.persons += 1;
        }
        Record::Link => {}
    }
}

fn date(ctx: &mut Context<'_>, element: &Element) -> Option<BirthDate> {
    let value = single(ctx, element, f::BIRTH_DATE)?;
    let date = fields::french_date(value);
    if date.is_none() {
        ctx.issue(
            element.id(),
            element.position,
            IssueReason::InvalidDate(NAMES[f::BIRTH_DATE as usize]),
            IssueEffect::ValueIgnored,
        );
    }
    date
}

fn apply_link(ctx: &mut Context<'_>, element: &Element) {
    let fields = &element.fields;
    let pupil = fields.first(f::PUPIL).0.unwrap_or("");
    let person = fields.first(f::PERSON).0.unwrap_or("");
    let record_id = format!("{pupil}/{person}");
    let link = (|| {
        let source = ctx.builder.source().clone();
        let pupil = PupilId::new(source.clone(), pupil).map_err(|_| LinkProblem::Pupil)?;
        let person = PersonId::new(source, person).map_err(|_| LinkProblem::Person)?;
        let code = fields.first(f::CODE).0.unwrap_or("");
        let code = fields::code(code).ok_or(LinkProblem::RelationshipCode)?;
        let relationship = u8::try_from(code)
            .ok()
            .and_then(RelationshipCode::siecle)
            .ok_or(LinkProblem::UnknownRelationship(code))?;
        let legal = fields::code(fields.first(f::LEGAL).0.unwrap_or(""))
            .and_then(|c| u8::try_from(c).ok())
            .ok_or(LinkProblem::Legal)
            .and_then(|c| LegalRank::from_code(c).map_err(|_| LinkProblem::Legal))?;
        let flag = |field: u8| match fields.first(field).0.unwrap_or("") {
            "" => Ok(false),
            v => fields::flag(v).ok_or(LinkProblem::Flag),
        };
        let mut link = Link::new(pupil, person, relationship)
            .with_financial(flag(f::FINANCIAL)?)
            .with_payment(flag(f::PAYMENT)?)
            .with_contact(flag(f::CONTACT)?);
        link.legal = legal;
        Ok(link)
    })();
    match link {
        Ok(link) => {
            if let Ok(Some(_)) = ctx.builder.add_link(link) {
                ctx.issue(
                    Some(&record_id),
                    element.position,
                    IssueReason::DuplicateLink,
                    IssueEffect::RecordReplaced,
                );
            }
            ctx.file.counts.added += 1;
            ctx.file.counts.links += 1;
        }
        Err(problem) => ctx.issue(
            Some(&record_id),
            element.position,
            IssueReason::InvalidLink(problem),
            IssueEffect::RecordSkipped,
        ),
    }
}
