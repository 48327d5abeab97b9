//! AAF files: `ficAlimMENESR` requests applied to the builder in file order.

use std::collections::HashMap;
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
    RelatedPerson, Relationship, RelationshipCode, School,
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
    pub(super) const STRUCT_JOINTURE: u8 = 23;
    pub(super) const STRUCT_CLASSES: u8 = 24;
    pub(super) const ACADEMY: u8 = 25;
    pub(super) const ETAB_UAI: u8 = 26;
    pub(super) const STRUCT_CATEGORY: u8 = 27;
    pub(super) const NOM: u8 = 28;
    pub(super) const PRENOM: u8 = 29;
    pub(super) const CIVILITE: u8 = 30;
    pub(super) const PERSON_CLASSES: u8 = 31;
    pub(super) const LEVEL: u8 = 32;
    pub(super) const TEL_MOBILE: u8 = 33;
    pub(super) const TEL_PERSO: u8 = 34;
    pub(super) const PERSON_MAIL: u8 = 35;
}

/// The AAF attribute names, by field number.
const NAMES: [&str; 36] = [
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
    "ENTStructureJointure",
    "ENTStructureClasses",
    "ENTServAcAcademie",
    "ENTEtablissementUAI",
    "categorieStructure",
    "ENTPersonNom",
    "ENTPersonPrenom",
    "ENTPersonCivilite",
    "ENTPersonClasses",
    "ENTEleveNiveau",
    "ENTPersRelEleveTelMobile",
    "ENTPersonTelPerso",
    "ENTPersonMail",
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
        b"ENTStructureJointure" => f::STRUCT_JOINTURE,
        b"ENTStructureClasses" => f::STRUCT_CLASSES,
        b"ENTServAcAcademie" => f::ACADEMY,
        b"ENTEtablissementUAI" => f::ETAB_UAI,
        b"categorieStructure" => f::STRUCT_CATEGORY,
        b"ENTPersonNom" => f::NOM,
        b"ENTPersonPrenom" => f::PRENOM,
        b"ENTPersonCivilite" => f::CIVILITE,
        b"ENTPersonClasses" => f::PERSON_CLASSES,
        b"ENTEleveNiveau" => f::LEVEL,
        b"ENTPersRelEleveTelMobile" => f::TEL_MOBILE,
        b"ENTPersonTelPerso" => f::TEL_PERSO,
        b"ENTPersonMail" => f::PERSON_MAIL,
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

/// The academies (the BCN table `N_ACADEMIE`): code, and name as
/// `ENTServAcAcademie` writes it, folded by [`fold_name`].
const ACADEMIES: [(&str, &str); 32] = [
    ("01", "PARIS"),
    ("02", "AIXMARSEILLE"),
    ("03", "BESANCON"),
    ("04", "BORDEAUX"),
    ("05", "CAEN"),
    ("06", "CLERMONTFERRAND"),
    ("07", "DIJON"),
    ("08", "GRENOBLE"),
    ("09", "LILLE"),
    ("10", "LYON"),
    ("11", "MONTPELLIER"),
    ("12", "NANCYMETZ"),
    ("13", "POITIERS"),
    ("14", "RENNES"),
    ("15", "STRASBOURG"),
    ("16", "TOULOUSE"),
    ("17", "NANTES"),
    ("18", "ORLEANSTOURS"),
    ("19", "REIMS"),
    ("20", "AMIENS"),
    ("21", "ROUEN"),
    ("22", "LIMOGES"),
    ("23", "NICE"),
    ("24", "CRETEIL"),
    ("25", "VERSAILLES"),
    ("27", "CORSE"),
    ("28", "LAREUNION"),
    ("31", "MARTINIQUE"),
    ("32", "GUADELOUPE"),
    ("33", "GUYANE"),
    ("43", "MAYOTTE"),
    ("70", "NORMANDIE"),
];

/// A name in capital ASCII letters and digits only, accents dropped:
/// `Orléans-Tours` is `ORLEANSTOURS`.
fn fold_name(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            Some(match c {
                'à' | 'â' | 'ä' | 'À' | 'Â' | 'Ä' => 'A',
                'ç' | 'Ç' => 'C',
                'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'E',
                'î' | 'ï' | 'Î' | 'Ï' => 'I',
                'ô' | 'ö' | 'Ô' | 'Ö' => 'O',
                'ù' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'U',
                c if c.is_ascii_alphanumeric() => c.to_ascii_uppercase(),
                _ => return None,
            })
        })
        .collect()
}

/// The academy code (the BCN table `N_ACADEMIE`, as in `{AAF}<code>|...`
/// ids) of an academy's name as AAF structures give it in
/// `ENTServAcAcademie`: `RENNES` or `Rennes` is `14`, `Orléans-Tours` or
/// `ORLEANS-TOURS` is `18`, `Académie de Créteil` or `ac-creteil` is `24`,
/// `La Réunion` or `REUNION` is `28`. `None` for a name in no academy.
pub fn academy_code_from_name(name: &str) -> Option<&'static str> {
    let folded = fold_name(name);
    let mut key = folded.as_str();
    for prefix in ["ACADEMIEDE", "ACADEMIE", "AC"] {
        if let Some(rest) = key.strip_prefix(prefix)
            && !ACADEMIES.iter().any(|(_, n)| *n == key)
        {
            key = rest;
            break;
        }
    }
    if key == "REUNION" {
        return Some("28");
    }
    ACADEMIES
        .iter()
        .find(|(_, n)| *n == key)
        .map(|(code, _)| *code)
}

/// A structure's name without the `-ac-<ACADEMY>` suffix AAF exports add
/// (`COLLEGE JEAN MOULIN-ac-RENNES` is `COLLEGE JEAN MOULIN`).
fn structure_name(name: &str) -> &str {
    let bytes = name.as_bytes();
    let found = (0..bytes.len().saturating_sub(3))
        .rev()
        .find(|&i| bytes[i..i + 4].eq_ignore_ascii_case(b"-ac-"));
    match found {
        Some(i) if i > 0 && i + 4 < bytes.len() && !name[i + 4..].contains(' ') => {
            name[..i].trim_end()
        }
        _ => name,
    }
}

/// Whether a file name announces structures (`_EtabEducNat_`), where an
/// export names its academy (`ENTServAcAcademie`).
pub(super) fn is_structure_file(name: &str) -> bool {
    kind_from_file_name(name) == Some(Kind::School)
}

/// The part of an AAF file name that its export's other files share:
/// `ENT_0690078K_Complet_20250905` for
/// `ENT_0690078K_Complet_20250905_Eleve_0000.xml`.
pub(super) fn export_of_file_name(name: &str) -> &str {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let dir_len = name.len() - base.len();
    for kind in [
        "_Eleve_",
        "_PersRelEleve_",
        "_EtabEducNat_",
        "_PersEducNat_",
    ] {
        if let Some(i) = base.find(kind) {
            return &name[..dir_len + i];
        }
    }
    name
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

/// What the AAF files of one import share, settled when the import ends
/// ([`resolve`]): the structures (`EtabEducNat`) by jointure, and what
/// records named before the records they name were read (files of one
/// export come in any order).
#[derive(Default)]
pub(super) struct AafState {
    /// Structure keys (`ENTStructureJointure`, and the UAI) to their index
    /// in `structures`.
    index: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    /// Per key: the key, and the structure once defined.
    structures: Vec<(Box<str>, Option<Structure>)>,
    /// Pupils naming a structure not defined yet.
    pending: Vec<PendingPupil>,
    /// `ENTAuxPersRelEleveEleve` values naming a pupil not read yet.
    aux: Vec<PendingAux>,
    /// The academy the structures name (`ENTServAcAcademie`), as a code.
    academy: Option<&'static str>,
}

struct Structure {
    uai: Uai,
    /// `ENTStructureClasses`: code and label.
    classes: Vec<(Box<str>, Box<str>)>,
}

impl Structure {
    /// The label of the class `code`, else the code.
    fn label<'a>(&'a self, code: &'a str) -> &'a str {
        self.classes
            .iter()
            .find(|(c, _)| **c == *code)
            .map_or(code, |(_, label)| label)
    }
}

struct PendingPupil {
    pupil: PupilId,
    /// The structure of `ENTPersonStructRattach`, if not defined when read.
    structure: Option<u32>,
    file: usize,
    position: u64,
}

struct PendingAux {
    person: Box<str>,
    pupil: Box<str>,
    file: usize,
    position: u64,
}

impl AafState {
    /// The index of the structure `key`, defined or not.
    fn key(&mut self, key: &str) -> u32 {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = u32::try_from(self.structures.len()).expect("fewer than 2^32 structures");
        self.index.insert(key.into(), i);
        self.structures.push((key.into(), None));
        i
    }

    /// The structure `key` (a jointure or a UAI), if defined.
    fn find(&self, key: &str) -> Option<&Structure> {
        let i = *self.index.get(key)?;
        self.structures[i as usize].1.as_ref()
    }

    /// Defines (or redefines) the structure of `school`, under its
    /// jointure and its UAI.
    pub(super) fn define(&mut self, school: &School) {
        let classes: Vec<(Box<str>, Box<str>)> = school
            .classes
            .iter()
            .map(|(code, label)| (code.as_str().into(), label.as_str().into()))
            .collect();
        if let Some(jointure) = &school.jointure {
            let i = self.key(jointure) as usize;
            self.structures[i].1 = Some(Structure {
                uai: school.uai,
                classes: classes.clone(),
            });
        }
        let i = self.key(school.uai.as_str()) as usize;
        self.structures[i].1 = Some(Structure {
            uai: school.uai,
            classes,
        });
    }

    /// The academy code of the export's structures' `ENTServAcAcademie`.
    pub(super) fn academy(&self) -> Option<&'static str> {
        self.academy
    }
}

/// Settles what the import left pending: the schools and class labels of
/// pupils read before their structure (reported when no structure of the
/// export defines it), and related persons naming pupils the export does
/// not hold (reported).
pub(super) fn resolve(
    state: &mut AafState,
    builder: &mut DirectoryBuilder,
    report: &mut super::ImportReport,
    max_issues: usize,
) {
    let pending = std::mem::take(&mut state.pending);
    let state_ref = &*state;
    for p in pending {
        let mut problem = None;
        builder.update_pupil(&p.pupil, |pupil| {
            if let Some(i) = p.structure
                && pupil.school.is_none()
            {
                let (key, structure) = &state_ref.structures[i as usize];
                match structure {
                    Some(s) => pupil.school = Some(s.uai),
                    None => problem = Some(unknown_structure(key)),
                }
            }
            for class in &mut pupil.classes {
                if let Some((key, code)) = class.split_once('$') {
                    let label = state_ref.find(key).map_or(code, |s| s.label(code));
                    *class = label.to_owned();
                }
            }
        });
        if let Some(reason) = problem {
            super::push_issue(
                report,
                max_issues,
                super::ImportIssue {
                    file: report.files[p.file].file.clone(),
                    record_id: Some(p.pupil.local().to_owned()),
                    position: p.position,
                    reason,
                    effect: IssueEffect::ValueIgnored,
                },
            );
        }
    }
    for aux in std::mem::take(&mut state.aux) {
        if !builder.contains_pupil(&aux.pupil) {
            super::push_issue(
                report,
                max_issues,
                super::ImportIssue {
                    file: report.files[aux.file].file.clone(),
                    record_id: Some(aux.person.into()),
                    position: aux.position,
                    reason: IssueReason::UnknownPupil(NAMES[f::AUX_PUPILS as usize]),
                    effect: IssueEffect::ValueIgnored,
                },
            );
        }
    }
}

/// Why a structure key no structure defines is wrong: a UAI with a wrong
/// key letter, or an unknown jointure.
fn unknown_structure(key: &str) -> IssueReason {
    let field = NAMES[f::STRUCT as usize];
    let b = key.as_bytes();
    if b.len() == 8
        && b[..7].iter().all(u8::is_ascii_digit)
        && b[7].is_ascii_alphabetic()
        && let Err(e) = Uai::parse(key)
    {
        return IssueReason::InvalidUai(field, e);
    }
    IssueReason::UnknownStructure(field)
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
    if matches!(kind, Kind::Pupil | Kind::Person)
        && request.op == Op::Add
        && fields.first(f::JOINTURE).0.is_none_or(str::is_empty)
    {
        // Kept under its `identifier/id`, but the join key EduConnect's
        // `{AAF}` ids name is not confirmed.
        ctx.issue(
            Some(id),
            position,
            IssueReason::MissingAttribute(NAMES[f::JOINTURE as usize]),
            IssueEffect::ValueIgnored,
        );
    }
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
    if let (Some(category), _) = fields.first(f::STRUCT_CATEGORY)
        && !category.is_empty()
    {
        return Some(Kind::School);
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
    if [
        f::LINKS,
        f::INE,
        f::CLASSES,
        f::STRUCT_ID,
        f::AUTHORITY,
        f::LEVEL,
    ]
    .into_iter()
    .any(|k| fields.is_given(k))
    {
        Some(Kind::Pupil)
    } else if fields.is_given(f::AUX_PUPILS) || fields.is_given(f::TEL_MOBILE) {
        Some(Kind::Person)
    } else if [f::UAI, f::ETAB_UAI, f::STRUCT_JOINTURE, f::STRUCT_CLASSES]
        .into_iter()
        .any(|k| fields.is_given(k))
    {
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
    // First degree (ONDE) feeds name people in `ENTPersonNom` and
    // `ENTPersonPrenom`.
    let sn_field = either(fields, f::SN, f::NOM);
    let given_field = either(fields, f::GIVEN, f::PRENOM);
    let sn = if fields.is_given(sn_field) {
        single(ctx, request, sn_field).unwrap_or("")
    } else {
        old_usage.unwrap_or(old_birth)
    };
    let birth = if fields.is_given(f::BIRTH_NAME) {
        single(ctx, request, f::BIRTH_NAME)
    } else if fields.is_given(sn_field) && old_usage.is_none() {
        // The birth name followed `sn`: it still does.
        None
    } else {
        Some(old_birth)
    };
    let (birth, usage) = fields::names(sn, birth);
    if birth.is_empty() {
        return Err(IssueReason::MissingAttribute("sn"));
    }
    let first = if fields.is_given(given_field) {
        single(ctx, request, given_field).unwrap_or("")
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
    } else if !fields.is_given(given_field) || old_given.first().is_some_and(|g| g == first) {
        given.extend(old_given.iter().skip(1).cloned());
    }
    Ok(Names {
        birth,
        usage,
        given,
    })
}

/// `field` if the record gives it, else `fallback` (a first-degree
/// attribute).
fn either(fields: &Fields, field: u8, fallback: u8) -> u8 {
    if !fields.is_given(field) && fields.is_given(fallback) {
        fallback
    } else {
        field
    }
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
            if fields.is_given(f::STRUCT_ID) {
                pupil.school_local_id = single(ctx, request, f::STRUCT_ID)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned);
            }
            if fields.is_given(f::LEVEL) {
                pupil.level = single(ctx, request, f::LEVEL)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned);
            }
            let pending = attach(ctx, request, &mut pupil);
            if pending.0.is_some() || pending.1 {
                let file = ctx.report.files.len();
                ctx.aaf.pending.push(PendingPupil {
                    pupil: id.clone(),
                    structure: pending.0,
                    file,
                    position,
                });
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
            } else if fields.is_given(f::AUTHORITY) {
                // First degree: the guardians with legal authority are the
                // links.
                add_authority_links(ctx, request, &id);
            } else {
                for link in old_links {
                    let _ = ctx.builder.add_link(link);
                }
            }
        }
    }
}

/// The pupil's school and classes, from `ENTPersonStructRattach` (a
/// structure's jointure, or a UAI), `ENTEleveClasses`
/// (`<structure>$<code>`, stored by the structure's label for the code) or
/// the first degree's `ENTPersonClasses` (`UAI$...$classId$className`).
/// Returns what waits for structures not read yet: the structure of
/// `ENTPersonStructRattach`, and whether classes are kept as
/// `<structure>$<code>` until the import ends.
fn attach(ctx: &mut Context<'_>, request: &Request, pupil: &mut Pupil) -> (Option<u32>, bool) {
    let fields = &request.fields;
    let mut structure = None;
    if fields.is_given(f::STRUCT) {
        pupil.school = None;
        if let Some(value) = single(ctx, request, f::STRUCT).filter(|v| !v.is_empty()) {
            match Uai::parse(value) {
                Ok(uai) => pupil.school = Some(uai),
                Err(_) => match ctx.aaf.find(value) {
                    Some(s) => pupil.school = Some(s.uai),
                    None => structure = Some(ctx.aaf.key(value)),
                },
            }
        }
    }
    let mut unresolved = false;
    if fields.is_given(f::CLASSES) {
        pupil.classes.clear();
        for value in fields.all(f::CLASSES).filter(|v| !v.is_empty()) {
            let class = match value.split_once('$') {
                None => value,
                Some((key, code)) => match ctx.aaf.find(key) {
                    Some(s) => s.label(code),
                    None if Uai::parse(key).is_ok() => code,
                    None => {
                        unresolved = true;
                        value
                    }
                },
            };
            pupil.classes.push(class.to_owned());
        }
    } else if fields.is_given(f::PERSON_CLASSES) {
        pupil.classes.clear();
        for value in fields.all(f::PERSON_CLASSES).filter(|v| !v.is_empty()) {
            let mut parts = value.rsplit('$');
            let name = parts.next().unwrap_or_default().trim();
            let class = match parts.next().map(str::trim) {
                Some(id) if name.is_empty() => id,
                _ => name,
            };
            if !class.is_empty() {
                pupil.classes.push(class.to_owned());
            }
            if !fields.is_given(f::STRUCT)
                && pupil.school.is_none()
                && let Some((uai, _)) = value.split_once('$')
                && let Ok(uai) = Uai::parse(uai.trim())
            {
                pupil.school = Some(uai);
            }
        }
    }
    (structure, unresolved)
}

/// First degree: one link with legal authority per
/// `ENTEleveAutoriteParentale` value (its first `$` field is the person's
/// jointure), the relationship unknown (`Other`): ONDE exports give none.
/// Ranks follow the order of the values.
fn add_authority_links(ctx: &mut Context<'_>, request: &Request, pupil: &PupilId) {
    let position = request.position;
    let mut rank = LegalRank::First;
    for value in request.fields.all(f::AUTHORITY) {
        let person = value.split('$').next().unwrap_or_default().trim();
        if person.is_empty() {
            continue;
        }
        let Ok(person) = PersonId::new(pupil.source().clone(), person) else {
            ctx.issue(
                Some(pupil.local()),
                position,
                IssueReason::InvalidLink(LinkProblem::Person),
                IssueEffect::LinkSkipped,
            );
            continue;
        };
        let link = Link::new(
            pupil.clone(),
            person,
            RelationshipCode::of(Relationship::Other),
        )
        .with_legal(rank);
        rank = LegalRank::Second;
        add_counted_link(ctx, link, pupil, position);
    }
}

/// Adds `link` and counts it; a second link between the same pupil and
/// person is reported instead.
fn add_counted_link(ctx: &mut Context<'_>, link: Link, pupil: &PupilId, position: u64) {
    match ctx.builder.add_link(link) {
        Ok(None) => ctx.file.counts.links += 1,
        Ok(Some(_)) => ctx.issue(
            Some(pupil.local()),
            position,
            IssueReason::DuplicateLink,
            IssueEffect::LinkSkipped,
        ),
        // Only a builder past its capacity refuses a link of its source.
        Err(_) => {}
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
                add_counted_link(ctx, link, pupil, position);
            }
            Err(problem) => ctx.issue(
                Some(pupil.local()),
                position,
                IssueReason::InvalidLink(problem),
                IssueEffect::LinkSkipped,
            ),
        }
    }
    for value in request.fields.all(f::AUTHORITY) {
        let person = value.split('$').next().unwrap_or_default().trim();
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
    let title = either(fields, f::TITLE, f::CIVILITE);
    if fields.is_given(title) {
        person.civility = single(ctx, request, title)
            .filter(|v| !v.is_empty())
            .and_then(|v| {
                let civility = Civility::from_code(v);
                if civility.is_none() {
                    ctx.issue(
                        Some(local),
                        position,
                        IssueReason::UnknownValue(NAMES[title as usize]),
                        IssueEffect::ValueIgnored,
                    );
                }
                civility
            });
    }
    // Second degree attributes, then the first degree's (ONDE).
    for (kind, fields_of_kind) in [
        (PhoneKind::Mobile, [f::MOBILE, f::TEL_MOBILE]),
        (PhoneKind::Sms, [f::SMS, f::SMS]),
        (PhoneKind::Home, [f::HOME, f::TEL_PERSO]),
        (PhoneKind::Work, [f::WORK, f::WORK]),
    ] {
        let [first, second] = fields_of_kind;
        if !fields.is_given(first) && !fields.is_given(second) {
            continue;
        }
        person.phones.retain(|p| p.kind != kind);
        let distinct = if first == second { 1 } else { 2 };
        let numbers = fields_of_kind[..distinct]
            .iter()
            .flat_map(|&field| fields.all(field));
        for number in numbers.filter(|v| !v.is_empty()) {
            if !person
                .phones
                .iter()
                .any(|p| p.kind == kind && p.number == number)
            {
                person
                    .phones
                    .push(crate::directory::Phone::new(kind, number));
            }
        }
    }
    let mail = either(fields, f::MAIL, f::PERSON_MAIL);
    if fields.is_given(mail) {
        person.email = single(ctx, request, mail)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
    }
    // The pupils' side of the links, read from the pupils: a pupil named
    // here that the export does not hold is reported when it ends.
    for pupil in fields.all(f::AUX_PUPILS).filter(|v| !v.is_empty()) {
        if !ctx.builder.contains_pupil(pupil) {
            let file = ctx.report.files.len();
            ctx.aaf.aux.push(PendingAux {
                person: local.into(),
                pupil: pupil.into(),
                file,
                position,
            });
        }
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
    let uai_field = either(&request.fields, f::UAI, f::ETAB_UAI);
    let field = NAMES[uai_field as usize];
    let uai = match single(ctx, request, uai_field).filter(|v| !v.is_empty()) {
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
                school.name =
                    structure_name(single(ctx, request, f::SCHOOL_NAME).unwrap_or("")).to_owned();
            }
            define_structure(ctx, request, id, &mut school);
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

/// Notes the structure's jointure (`ENTStructureJointure`, else the
/// record's id when it is not the UAI) and its classes
/// (`ENTStructureClasses`, `code$label`) on the school, for the pupils that
/// name it, and the academy it names.
fn define_structure(ctx: &mut Context<'_>, request: &Request, id: &str, school: &mut School) {
    let fields = &request.fields;
    if fields.is_given(f::STRUCT_CLASSES) {
        school.classes = fields
            .all(f::STRUCT_CLASSES)
            .filter(|v| !v.is_empty())
            .map(|v| {
                let (code, label) = v.split_once('$').unwrap_or((v, v));
                let label = if label.trim().is_empty() { code } else { label };
                (code.trim().to_owned(), label.trim().to_owned())
            })
            .collect();
    }
    let jointure = single(ctx, request, f::STRUCT_JOINTURE).filter(|v| !v.is_empty());
    if let Some(jointure) = jointure {
        school.jointure = Some(jointure.to_owned());
    } else if school.jointure.is_none() && id != school.uai.as_str() {
        school.jointure = Some(id.to_owned());
    }
    ctx.aaf.define(school);
    if let Some(name) = single(ctx, request, f::ACADEMY).filter(|v| !v.is_empty()) {
        match academy_code_from_name(name) {
            Some(code) => ctx.aaf.academy = Some(code),
            None => ctx.issue(
                Some(id),
                request.position,
                IssueReason::UnknownValue(NAMES[f::ACADEMY as usize]),
                IssueEffect::ValueIgnored,
            ),
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
    fn academies_from_names() {
        for (name, code) in [
            ("RENNES", Some("14")),
            ("Rennes", Some("14")),
            ("Orléans-Tours", Some("18")),
            ("ORLEANS-TOURS", Some("18")),
            ("Aix-Marseille", Some("02")),
            ("Académie de Créteil", Some("24")),
            ("ac-creteil", Some("24")),
            ("La Réunion", Some("28")),
            ("REUNION", Some("28")),
            ("Besançon", Some("03")),
            ("NORMANDIE", Some("70")),
            ("Clermont-Ferrand", Some("06")),
            ("", None),
            ("Atlantide", None),
            ("14", None),
        ] {
            assert_eq!(academy_code_from_name(name), code, "{name}");
        }
        // Every code of the table is read back from its name.
        for (code, name) in ACADEMIES {
            assert_eq!(academy_code_from_name(name), Some(code));
        }
    }

    #[test]
    fn structure_names_lose_their_academy_suffix() {
        for (name, want) in [
            ("COLLEGE VOLTAIRE-ac-PARIS", "COLLEGE VOLTAIRE"),
            ("LYCEE DU PARC -AC-LYON", "LYCEE DU PARC"),
            ("ECOLE PRIMAIRE-ac-ORLEANS-TOURS", "ECOLE PRIMAIRE"),
            ("COLLEGE VOLTAIRE", "COLLEGE VOLTAIRE"),
            ("-ac-PARIS", "-ac-PARIS"),
            ("ECOLE-ac-", "ECOLE-ac-"),
            ("LYCEE X-ac-une phrase", "LYCEE X-ac-une phrase"),
            ("", ""),
        ] {
            assert_eq!(structure_name(name), want, "{name}");
        }
    }

    #[test]
    fn exports_from_file_names() {
        assert_eq!(
            export_of_file_name("/in/ENT_0690078K_Complet_20250905_Eleve_0000.xml"),
            "/in/ENT_0690078K_Complet_20250905"
        );
        assert_eq!(
            export_of_file_name("ENT_0690078K_Complet_20250905_EtabEducNat_0001.xml"),
            "ENT_0690078K_Complet_20250905"
        );
        assert_eq!(export_of_file_name("x.xml"), "x.xml");
        assert!(is_structure_file("ENT_X_Complet_EtabEducNat_0000.xml"));
        assert!(!is_structure_file("ENT_X_Complet_Eleve_0000.xml"));
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
