//! Importers for the schools' exports: AAF (`ficAlimMENESR` files, the
//! directory feeds of ENTs, per academy) and SIECLE (`ElevesSansAdresses.xml`
//! and `ResponsablesAvecAdresses.xml`, per secondary school).
//!
//! An [`Import`] streams files into a [`DirectoryBuilder`] in file order, then
//! [`finish`](Import::finish)es into a [`DirectorySnapshot`] and an
//! [`ImportReport`]:
//!
//! - a full export starts from an empty builder ([`Import::full`]);
//! - a delta starts from the current snapshot ([`Import::delta`]) and its
//!   `addRequest`, `modifyRequest` and `deleteRequest` are applied in file
//!   order: add (or replace) a record, replace the attributes a
//!   modification gives (the others are kept), delete a record.
//!
//! ```
//! use educonnect_core::directory::{PupilId, SourceId};
//! use educonnect_core::directory::import::Import;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let eleves = "<?xml version='1.0' encoding='ISO-8859-15'?>
//! <ficAlimMENESR><addRequest>
//!   <identifier><id>E1</id></identifier>
//!   <attributes>
//!     <attr name='ENTPersonJointure'><value>E1</value></attr>
//!     <attr name='sn'><value>Lef&#232;vre</value></attr>
//!     <attr name='givenName'><value>Zo&#233;</value></attr>
//!     <attr name='ENTPersonDateNaissance'><value>14/03/2012</value></attr>
//!     <attr name='ENTPersonStructRattach'><value>1234</value></attr>
//!     <attr name='ENTEleveStructRattachId'><value>70012</value></attr>
//!     <attr name='ENTEleveClasses'><value>1234$5B</value></attr>
//!     <attr name='ENTElevePersRelEleve'><value>P1$10$1$1$1$1</value></attr>
//!   </attributes>
//! </addRequest></ficAlimMENESR>";
//! let parents = "<ficAlimMENESR><addRequest>
//!   <identifier><id>P1</id></identifier>
//!   <attributes>
//!     <attr name='ENTPersonJointure'><value>P1</value></attr>
//!     <attr name='sn'><value>Lefevre</value></attr>
//!     <attr name='givenName'><value>Anne</value></attr>
//!   </attributes>
//! </addRequest></ficAlimMENESR>";
//! // Structures may come after the pupils that name them.
//! let schools = "<ficAlimMENESR><addRequest>
//!   <identifier><id>1234</id></identifier>
//!   <attributes>
//!     <attr name='ENTStructureJointure'><value>1234</value></attr>
//!     <attr name='ENTStructureUAI'><value>0750654D</value></attr>
//!     <attr name='ENTStructureNomCourant'><value>COLLEGE VOLTAIRE-ac-PARIS</value></attr>
//!     <attr name='ENTStructureClasses'><value>5B$5EME B</value></attr>
//!   </attributes>
//! </addRequest></ficAlimMENESR>";
//!
//! let mut import = Import::full(SourceId::aaf("01")?);
//! import.aaf("ENT_01_Complet_Eleve_0000.xml", eleves.as_bytes())?;
//! import.aaf("ENT_01_Complet_PersRelEleve_0000.xml", parents.as_bytes())?;
//! import.aaf("ENT_01_Complet_EtabEducNat_0000.xml", schools.as_bytes())?;
//! let (snapshot, report) = import.finish();
//! assert!(report.is_clean(), "{report:?}");
//! assert_eq!((snapshot.pupil_count(), snapshot.person_count(), snapshot.link_count()), (1, 1, 1));
//! let uai = "0750654D".parse()?;
//! assert_eq!(snapshot.school(&uai).unwrap().name, "COLLEGE VOLTAIRE");
//! let pupil = snapshot.pupil(&PupilId::new(SourceId::aaf("01")?, "E1")?)?.unwrap();
//! assert_eq!((pupil.school, pupil.school_local_id.as_deref()), (Some(uai), Some("70012")));
//! assert_eq!(pupil.classes, ["5EME B"]);
//! # Ok(())
//! # }
//! ```
//!
//! # Nothing is lost silently
//!
//! A bad record never stops an import: it is skipped, or the bad value is
//! left out of it, and an [`ImportIssue`] says which file, which record and
//! why ([`IssueReason`], typed). What the builder finds wrong across records
//! (a link to a pupil or person that is not there, two legal guardians of
//! the same rank) comes out as [`Anomaly`]s in the report. Malformed XML
//! inside a record skips that record and reading resumes at the next one;
//! XML that cannot be read any further (an unclosed tag at the end of the
//! file, an unknown encoding) ends that file with an issue, keeping every
//! record read before it.
//!
//! # Bounded memory
//!
//! Files are read as a stream of events, in chunks of 256 KiB through one
//! reused window and one reused event buffer, never as a document: the size
//! of a file does not matter, only the size of one record. A value longer
//! than [`ImportOptions::max_value_len`] (64 KiB) or a record longer than
//! [`ImportOptions::max_record_len`] (1 MiB) is skipped and reported; the
//! event buffer never holds more than about one value.
//! The report keeps at most [`ImportOptions::max_issues`] issues (and counts
//! the others).
//!
//! # Encodings
//!
//! Text is decoded in the encoding the XML declaration names (AAF files are
//! ISO-8859-15, SIECLE files ISO-8859-1 or UTF-8), any ASCII-compatible
//! encoding of the WHATWG Encoding Standard (as `encoding_rs` reads labels:
//! `ISO-8859-1` and `latin1` read as windows-1252, a superset). A file
//! without a declaration is UTF-8, as XML says, unless
//! [`ImportOptions::encoding`] forces one. Bytes that are not valid in the
//! encoding skip their record ([`IssueReason::InvalidText`]).
//!
//! # Personal data
//!
//! Issues name files, record ids (export ids, not names), attribute names
//! and codes; never a name, a birth date or any other value of a record.
//!
//! The formats and codes, and the choices made where exports differ, are
//! described in [`aaf`](self#aaf) and [`siecle`](self#siecle) below.
//!
//! # AAF
//!
//! The root `ficAlimMENESR` holds `addRequest`, `modifyRequest` and
//! `deleteRequest` elements, each with `identifier/id` (the record id, also
//! the AAF join key `ENTPersonJointure`: when both are given and differ the
//! record is skipped, [`IssueReason::JoinKeyMismatch`]) and
//! `attributes/attr[@name]/value*` (`operationalAttributes` is read the same
//! way). The kind of a record is, in this order: its operational attribute
//! `categoriePersonne` (`Eleve`, `PersRelEleve`, anything else is ignored
//! and counted), its profile `ENTPersonProfils` (`National_ELV`,
//! `National_TUT`), the file name (`_Eleve_`, `_PersRelEleve_`,
//! `_EtabEducNat_`, `_PersEducNat_`), its attributes (`ENTEleve*` for a
//! pupil, `ENTAuxPersRelEleveEleve` for a related person, `ENTStructureUAI`
//! for a school).
//!
//! - Pupils (`Eleve`): `sn` (usage name), `ENTPersonNomPatro` (birth name,
//!   `sn` when missing), `givenName` then `ENTPersonAutresPrenoms`,
//!   `ENTPersonDateNaissance`, `ENTEleveINE` (shape checked),
//!   `ENTEleveNiveau` (the level), `ENTEleveStructRattachId` (the pupil's
//!   id in the school's own system, the SIECLE `ELEVE_ID`:
//!   [`Pupil::school_local_id`]), and one link per `ENTElevePersRelEleve`
//!   value
//!   `<personId>$<link code>$<financial 0|1>$<legal 0|1|2>$<contact 0|1>$<payment 0|1>`.
//!   `ENTEleveAutoriteParentale` (deprecated) is only checked: an id there
//!   (its first `$` field) without a link with legal authority is reported.
//! - The school, `ENTPersonStructRattach`: a valid UAI (key letter right)
//!   is the school; anything else is a structure's `ENTStructureJointure`,
//!   resolved to its UAI through the export's `EtabEducNat` records,
//!   whichever file comes first: what is not resolved when a file is read
//!   is settled when the import ends ([`Import::finish`]). A jointure that
//!   no structure of the export defines is reported, naming the pupil
//!   ([`IssueReason::UnknownStructure`]; a UAI with a wrong key letter,
//!   [`IssueReason::InvalidUai`]).
//! - Classes, `ENTEleveClasses` (`<structure>$<class code>`): the label the
//!   structure's `ENTStructureClasses` (`code$label`) gives the code, else
//!   the code.
//! - Link codes: **one to nine are the legacy AAF table, ten and above the
//!   SIECLE table**, value by value ([`RelationshipCode::from_aaf`]). The
//!   two tables do not overlap (legacy 1 to 7, SIECLE 10 to 90), so a value
//!   is never ambiguous and a file mixing old and new values reads right;
//!   any other code skips the link ([`LinkProblem::UnknownRelationship`]).
//! - Related persons (`PersRelEleve`): names as for pupils,
//!   `personalTitle`, `ENTPersonDateNaissance`, `mobile`,
//!   `ENTPersonMobileSMS`, `homePhone`, `telephoneNumber`, `mail`. Their
//!   `ENTAuxPersRelEleveEleve` repeats the pupils' side: links come from
//!   the pupils, but a pupil named there that the export does not hold is
//!   reported ([`IssueReason::UnknownPupil`]).
//! - A pupil or related person added without `ENTPersonJointure` is kept
//!   under its `identifier/id`, and reported
//!   ([`IssueReason::MissingAttribute`]).
//! - Schools (`EtabEducNat`, or operational attribute
//!   `categorieStructure`): `ENTStructureUAI` (else `ENTEtablissementUAI`),
//!   `ENTStructureNomCourant` without its `-ac-<ACADEMY>` suffix,
//!   `ENTStructureJointure`, `ENTStructureClasses`, `ENTServAcAcademie`
//!   (the academy's name: [`Import::academy`], [`academy_code_from_name`]).
//! - First degree (écoles, fed from ONDE), read as fully as the second:
//!   names in `ENTPersonNom`, `ENTPersonPrenom` (when `sn`, `givenName` are
//!   missing), civility `ENTPersonCivilite`, classes `ENTPersonClasses`
//!   (`UAI$...$...$classId$className`: the class name, else its id; the UAI
//!   is the school when `ENTPersonStructRattach` is missing), level
//!   `ENTEleveNiveau`; without `ENTElevePersRelEleve`, each
//!   `ENTEleveAutoriteParentale` value (first `$` field: the person's
//!   jointure) is a link with legal authority (ranks in the order given),
//!   its relationship [`Relationship::Other`](super::Relationship::Other):
//!   1D exports code none. Related persons' `ENTPersRelEleveTelMobile`
//!   (mobile), `ENTPersonTelPerso` (home), `ENTPersonMail`.
//! - Other attributes are ignored; other kinds of records (`PersEducNat`...)
//!   are counted as ignored.
//!
//! A value is trimmed of surrounding white space. A single-valued attribute
//! given several values keeps the first ([`IssueReason::RepeatedValue`]).
//!
//! # Dates
//!
//! `dd/mm/yyyy`. The civil registry's presumed dates are read too, with `00`
//! for what is unknown: `00/mm/yyyy` (day unknown) and `00/00/yyyy` (day and
//! month unknown), as [`BirthDate::presumed_day`] and
//! [`BirthDate::presumed_month_and_day`]. Nothing else (`dd/00/yyyy`, ISO
//! dates, two-digit years) is accepted: [`IssueReason::InvalidDate`], the
//! record kept without its date. An empty value is no date, not an issue.
//!
//! # SIECLE
//!
//! `ElevesSansAdresses.xml` (root `BEE_ELEVES`): `DONNEES/ELEVES/ELEVE`
//! (`@ELEVE_ID`, `ID_NATIONAL`, `NOM_DE_FAMILLE`, `NOM_USAGE`, `PRENOM`,
//! `PRENOM2`, `PRENOM3`, `DATE_NAISS`, `CODE_MEF`) and
//! `DONNEES/STRUCTURES/STRUCTURES_ELEVE[@ELEVE_ID]/STRUCTURE/CODE_STRUCTURE`
//! (classes). `ResponsablesAvecAdresses.xml` (root `BEE_RESPONSABLES`):
//! `DONNEES/PERSONNES/PERSONNE` (`@PERSONNE_ID`, `NOM_DE_FAMILLE`,
//! `NOM_USAGE`, `PRENOM`, `LC_CIVILITE`, `TEL_PERSONNEL`, `TEL_PORTABLE`,
//! `TEL_PROFESSIONNEL`, `MEL`) and `DONNEES/RESPONSABLES/RESPONSABLE_ELEVE`
//! (`ELEVE_ID`, `PERSONNE_ID`, `RESP_LEGAL`, `CODE_PARENTE` in the SIECLE
//! table only, `RESP_FINANCIER`, `PERS_PAIMENT`, `PERS_CONTACT`). Addresses
//! are not read. Every pupil is attached to the school of the source
//! ([`SourceId::siecle`]).
//!
//! [`RelationshipCode::from_aaf`]: super::RelationshipCode::from_aaf
//! [`Pupil::school_local_id`]: super::Pupil::school_local_id
//! [`BirthDate::presumed_day`]: crate::birthdate::BirthDate::presumed_day
//! [`BirthDate::presumed_month_and_day`]: crate::birthdate::BirthDate::presumed_month_and_day

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::ops::ControlFlow;
use std::path::Path;

use encoding_rs::Encoding;

use super::{Anomaly, DirectoryBuilder, DirectorySnapshot, SourceId};
use crate::ids::IdError;

mod aaf;
mod fields;
mod files;
mod siecle;
mod xml;

pub use aaf::{academy_code_from_name, academy_from_file_name};
pub use files::{
    FilesError, ImportedSource, LoadError, SourceHints, import_files, import_files_in_parallel,
    load_export_files,
};

/// The limits and choices of an [`Import`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ImportOptions {
    /// The longest value (text of one element or attribute) read, in bytes
    /// of the file. Default 64 KiB.
    pub max_value_len: usize,
    /// The most a record may hold, in bytes of decoded text plus 16 per
    /// value. Default 1 MiB.
    pub max_record_len: usize,
    /// The most issues kept in the report; the others are only counted.
    /// Default 10,000.
    pub max_issues: usize,
    /// Decode every file in this encoding, whatever its declaration says.
    /// Default: the declaration's, UTF-8 without one.
    pub encoding: Option<&'static Encoding>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            max_value_len: 64 * 1024,
            max_record_len: 1024 * 1024,
            max_issues: 10_000,
            encoding: None,
        }
    }
}

impl ImportOptions {
    /// The default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// With another value limit.
    pub fn max_value_len(mut self, bytes: usize) -> Self {
        self.max_value_len = bytes;
        self
    }

    /// With another record limit.
    pub fn max_record_len(mut self, bytes: usize) -> Self {
        self.max_record_len = bytes;
        self
    }

    /// With another cap on the issues kept.
    pub fn max_issues(mut self, issues: usize) -> Self {
        self.max_issues = issues;
        self
    }

    /// Forcing an encoding.
    pub fn encoding(mut self, encoding: &'static Encoding) -> Self {
        self.encoding = Some(encoding);
        self
    }
}

/// Whether a builder starts empty or from the current snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// A full export: every record is new, and an id met twice is reported
    /// ([`IssueReason::DuplicateId`]; the later record replaces the earlier).
    Full,
    /// A delta over an existing snapshot: adding an existing id replaces it.
    Delta,
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExportFormat {
    /// An AAF file (`ficAlimMENESR`).
    Aaf,
    /// A SIECLE pupils file (`BEE_ELEVES`, `ElevesSansAdresses.xml`).
    SiecleEleves,
    /// A SIECLE related persons file (`BEE_RESPONSABLES`,
    /// `ResponsablesAvecAdresses.xml`).
    SiecleResponsables,
}

impl ExportFormat {
    /// The format whose root element is `root`.
    pub fn from_root(root: &[u8]) -> Option<Self> {
        match root {
            b"ficAlimMENESR" => Some(Self::Aaf),
            b"BEE_ELEVES" => Some(Self::SiecleEleves),
            b"BEE_RESPONSABLES" => Some(Self::SiecleResponsables),
            _ => None,
        }
    }

    /// Whether this is a SIECLE file.
    pub fn is_siecle(self) -> bool {
        matches!(self, Self::SiecleEleves | Self::SiecleResponsables)
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Aaf => "AAF",
            Self::SiecleEleves => "SIECLE pupils",
            Self::SiecleResponsables => "SIECLE related persons",
        })
    }
}

/// The format of an export, from its root element (the first element of
/// the stream; at most 64 KiB of prologue are read). `Ok(None)` for another
/// root or no element at all.
pub fn sniff(input: impl BufRead) -> io::Result<Option<ExportFormat>> {
    let mut cursor = xml::Cursor::new(input.take(64 * 1024), 64 * 1024, None);
    loop {
        match cursor.next() {
            Ok(xml::Item::Start { .. }) => return Ok(ExportFormat::from_root(cursor.name())),
            Ok(xml::Item::Eof) => return Ok(None),
            Ok(_) => {}
            Err(xml::Fatal::Io(e)) => return Err(e),
            Err(xml::Fatal::Unreadable(_)) => return Ok(None),
        }
    }
}

/// [`sniff`] on a file.
pub fn sniff_file(path: impl AsRef<Path>) -> io::Result<Option<ExportFormat>> {
    sniff(BufReader::new(File::open(path)?))
}

/// What was done with the records of one file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordCounts {
    /// Records read (requests, or SIECLE record elements).
    pub records: u64,
    /// Records added (or replacing one with the same id).
    pub added: u64,
    /// Records modified.
    pub modified: u64,
    /// Records deleted.
    pub deleted: u64,
    /// Records skipped because of an issue.
    pub skipped: u64,
    /// Records of kinds a directory does not hold (AAF `PersEducNat`...).
    pub ignored: u64,
    /// Pupils added or modified.
    pub pupils: u64,
    /// Related persons added or modified.
    pub persons: u64,
    /// Links added.
    pub links: u64,
    /// Schools added or modified.
    pub schools: u64,
}

/// One file's part of an [`ImportReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileReport {
    /// The file, as the caller named it.
    pub file: String,
    /// Its format, once its root element was read.
    pub format: Option<ExportFormat>,
    /// The encoding its text was decoded with.
    pub encoding: &'static str,
    /// The counts.
    pub counts: RecordCounts,
    /// Whether it was read to its end (not stopped by unreadable XML or an
    /// I/O error).
    pub complete: bool,
}

/// What an [`Import`] found: per-file counts, the issues met on the way and
/// the anomalies of the built snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportReport {
    /// One entry per file, in import order.
    pub files: Vec<FileReport>,
    /// The issues, in the order met, up to
    /// [`ImportOptions::max_issues`].
    pub issues: Vec<ImportIssue>,
    /// Issues met past the cap, counted only.
    pub issues_omitted: u64,
    /// What the snapshot's builder found wrong across records (set by
    /// [`Import::finish`]).
    pub anomalies: Vec<Anomaly>,
}

impl ImportReport {
    /// The name of the export these files make, for the snapshot's
    /// [`export`](DirectorySnapshot::export): each AAF export once
    /// (`ENT_14_Complet_20260901`, the file names without their kind and
    /// chunk), each SIECLE file's name, in import order, joined by ` + `.
    pub fn export_name(&self) -> Option<String> {
        let mut names: Vec<&str> = Vec::new();
        for file in &self.files {
            let base = file.file.rsplit(['/', '\\']).next().unwrap_or(&file.file);
            let name = match file.format {
                Some(ExportFormat::Aaf) => aaf::export_of_file_name(base),
                _ => base,
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        (!names.is_empty()).then(|| names.join(" + "))
    }

    /// No issue and no anomaly.
    pub fn is_clean(&self) -> bool {
        self.issues.is_empty() && self.issues_omitted == 0 && self.anomalies.is_empty()
    }

    /// All the issues met, kept or not.
    pub fn issue_count(&self) -> u64 {
        self.issues.len() as u64 + self.issues_omitted
    }

    /// The counts summed over every file.
    pub fn totals(&self) -> RecordCounts {
        let mut t = RecordCounts::default();
        for f in &self.files {
            let c = &f.counts;
            t.records += c.records;
            t.added += c.added;
            t.modified += c.modified;
            t.deleted += c.deleted;
            t.skipped += c.skipped;
            t.ignored += c.ignored;
            t.pupils += c.pupils;
            t.persons += c.persons;
            t.links += c.links;
            t.schools += c.schools;
        }
        t
    }

    /// Records the anomalies of `snapshot` (what [`Import::finish`] does).
    pub fn set_anomalies(&mut self, snapshot: &DirectorySnapshot) {
        self.anomalies = snapshot.anomalies().to_vec();
    }
}

/// A problem with one record (or one value of it) of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportIssue {
    /// The file, as the caller named it.
    pub file: String,
    /// The record's id in the export, when it was read (a SIECLE link is
    /// `ELEVE_ID/PERSONNE_ID`).
    pub record_id: Option<String>,
    /// The byte offset in the file where the problem was seen.
    pub position: u64,
    /// What is wrong.
    pub reason: IssueReason,
    /// What the importer did about it.
    pub effect: IssueEffect,
}

impl fmt::Display for ImportIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        match &self.record_id {
            Some(id) => write!(f, "record {id}: ")?,
            None => write!(f, "at byte {}: ", self.position)?,
        }
        write!(f, "{} ({})", self.reason, self.effect)
    }
}

/// What the importer did about an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssueEffect {
    /// The whole record was left out.
    RecordSkipped,
    /// The record was imported without the bad value.
    ValueIgnored,
    /// One link of the record was left out.
    LinkSkipped,
    /// An earlier record with the same id was replaced.
    RecordReplaced,
    /// Nothing more was read from the file; what was read before stays.
    RestOfFileSkipped,
}

impl fmt::Display for IssueEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RecordSkipped => "record skipped",
            Self::ValueIgnored => "value ignored",
            Self::LinkSkipped => "link skipped",
            Self::RecordReplaced => "earlier record replaced",
            Self::RestOfFileSkipped => "rest of the file skipped",
        })
    }
}

/// Why a record, a value or the rest of a file was not imported. Holds
/// attribute names and codes, never a record's values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueReason {
    /// Malformed XML inside the record.
    MalformedXml(MalformedXml),
    /// The rest of the file cannot be read.
    Unreadable(Unreadable),
    /// The file's root element is not one this importer reads.
    UnexpectedRoot(ExportFormatExpected),
    /// Text that is not valid in the file's encoding.
    InvalidText,
    /// A value or the record is larger than the limit.
    TooLarge,
    /// The record has no id.
    MissingId,
    /// The id is empty, longer than 256 bytes or holds control characters.
    InvalidId,
    /// AAF: `ENTPersonJointure` differs from `identifier/id`.
    JoinKeyMismatch,
    /// AAF: the record's kind (pupil, related person, school) cannot be
    /// told.
    UnknownRecordKind,
    /// A required attribute or element is missing or empty.
    MissingAttribute(&'static str),
    /// A single-valued attribute holds several values; the first is kept.
    RepeatedValue(&'static str),
    /// Not a date in one of the accepted forms.
    InvalidDate(&'static str),
    /// Not a UAI, or its key letter is wrong.
    InvalidUai(&'static str, IdError),
    /// Not an INE in one of the shapes in use.
    InvalidIne(&'static str),
    /// A value outside the attribute's code list (a civility...).
    UnknownValue(&'static str),
    /// A link that cannot be read (an AAF `ENTElevePersRelEleve` value, a
    /// SIECLE `RESPONSABLE_ELEVE`).
    InvalidLink(LinkProblem),
    /// Two links of one record name the same person; the later one is kept.
    DuplicateLink,
    /// AAF: a person listed in `ENTEleveAutoriteParentale` has no link with
    /// legal authority in `ENTElevePersRelEleve`.
    AuthorityWithoutLink,
    /// A full export holds the same id twice.
    DuplicateId,
    /// AAF: a pupil's structure (`ENTPersonStructRattach`) is neither a
    /// UAI nor the `ENTStructureJointure` of a structure of the export.
    UnknownStructure(&'static str),
    /// AAF: a related person's `ENTAuxPersRelEleveEleve` names a pupil the
    /// export does not hold.
    UnknownPupil(&'static str),
    /// A modification or deletion of a record the directory does not hold,
    /// or SIECLE classes of an unknown pupil.
    UnknownRecord,
}

/// Which format a file was expected to be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportFormatExpected {
    /// `ficAlimMENESR`.
    Aaf,
    /// `BEE_ELEVES` or `BEE_RESPONSABLES`.
    Siecle,
}

impl fmt::Display for IssueReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedXml(m) => write!(f, "malformed XML: {m}"),
            Self::Unreadable(u) => write!(f, "unreadable: {u}"),
            Self::UnexpectedRoot(ExportFormatExpected::Aaf) => {
                f.write_str("not an AAF file (root element is not ficAlimMENESR)")
            }
            Self::UnexpectedRoot(ExportFormatExpected::Siecle) => f.write_str(
                "not a SIECLE file (root element is not BEE_ELEVES or BEE_RESPONSABLES)",
            ),
            Self::InvalidText => f.write_str("text not valid in the file's encoding"),
            Self::TooLarge => f.write_str("larger than the size limit"),
            Self::MissingId => f.write_str("no record id"),
            Self::InvalidId => f.write_str("invalid record id"),
            Self::JoinKeyMismatch => f.write_str("ENTPersonJointure differs from identifier/id"),
            Self::UnknownRecordKind => f.write_str("cannot tell the kind of record"),
            Self::MissingAttribute(a) => write!(f, "{a} missing or empty"),
            Self::RepeatedValue(a) => write!(f, "{a} has several values"),
            Self::InvalidDate(a) => write!(f, "{a} is not a date dd/mm/yyyy"),
            Self::InvalidUai(a, e) => write!(f, "{a}: {e}"),
            Self::InvalidIne(a) => write!(f, "{a} is not an INE"),
            Self::UnknownValue(a) => write!(f, "{a} holds an unknown value"),
            Self::InvalidLink(p) => write!(f, "invalid link: {p}"),
            Self::DuplicateLink => f.write_str("two links to the same person"),
            Self::AuthorityWithoutLink => f.write_str(
                "ENTEleveAutoriteParentale names a person without a legal link in ENTElevePersRelEleve",
            ),
            Self::DuplicateId => f.write_str("id already read in this export"),
            Self::UnknownStructure(a) => {
                write!(f, "{a} names no structure of the export (EtabEducNat)")
            }
            Self::UnknownPupil(a) => write!(f, "{a} names a pupil the export does not hold"),
            Self::UnknownRecord => f.write_str("no such record"),
        }
    }
}

/// What is wrong with the XML of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MalformedXml {
    /// An end tag does not close the element open.
    EndTagMismatch,
    /// An end tag with no element open.
    UnexpectedEndTag,
    /// An unknown entity or an invalid character reference.
    Reference,
    /// An attribute that cannot be read.
    Attribute,
    /// Elements nested too deep.
    TooDeep,
    /// The file ended inside the record.
    UnexpectedEof,
    /// Another well-formedness error.
    IllFormed,
}

impl fmt::Display for MalformedXml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EndTagMismatch => "end tag does not match",
            Self::UnexpectedEndTag => "end tag without start tag",
            Self::Reference => "unknown entity or invalid character reference",
            Self::Attribute => "unreadable XML attribute",
            Self::TooDeep => "elements nested too deep",
            Self::UnexpectedEof => "file ends inside the record",
            Self::IllFormed => "not well-formed",
        })
    }
}

/// Why the rest of a file cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unreadable {
    /// XML that cannot be read on (an unclosed tag, comment or CDATA at
    /// the end of the file...).
    Syntax,
    /// Markup that stays larger than the limit.
    TooLarge,
    /// The declared encoding is unknown or not ASCII-compatible.
    Encoding,
    /// The input failed (the message is in the error returned).
    Io,
    /// The file ends before its root element is closed.
    Truncated,
    /// No root element.
    Empty,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Syntax => "XML syntax error",
            Self::TooLarge => "markup larger than the limit",
            Self::Encoding => "unknown or unsupported encoding",
            Self::Io => "read error",
            Self::Truncated => "file ends before its root element is closed",
            Self::Empty => "no root element",
        })
    }
}

/// What is wrong with a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkProblem {
    /// AAF: not six fields separated by `$`.
    FieldCount,
    /// The person's id is missing or invalid.
    Person,
    /// SIECLE: the pupil's id is missing or invalid.
    Pupil,
    /// The relationship code is missing or not a number.
    RelationshipCode,
    /// The relationship code is in no table (the code is given: codes are
    /// not personal data).
    UnknownRelationship(u16),
    /// The legal guardian code is not 0, 1 or 2.
    Legal,
    /// A flag (financial, contact, payment) is not 0 or 1.
    Flag,
}

impl fmt::Display for LinkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldCount => f.write_str("not six fields separated by $"),
            Self::Person => f.write_str("no valid person id"),
            Self::Pupil => f.write_str("no valid pupil id"),
            Self::RelationshipCode => f.write_str("relationship code missing or not a number"),
            Self::UnknownRelationship(code) => write!(f, "unknown relationship code {code}"),
            Self::Legal => f.write_str("legal guardian code is not 0, 1 or 2"),
            Self::Flag => f.write_str("a flag is not 0 or 1"),
        }
    }
}

/// Streams export files into a [`DirectoryBuilder`], collecting an
/// [`ImportReport`].
///
/// Call [`aaf`](Self::aaf) / [`siecle`](Self::siecle) (or their `_file`
/// forms) once per file, in the order the files must be applied, then
/// [`finish`](Self::finish). An I/O error stops the file (reported, and
/// returned); what was read before stays in the builder, and the import can
/// go on with other files.
pub struct Import {
    builder: DirectoryBuilder,
    mode: ImportMode,
    options: ImportOptions,
    report: ImportReport,
    aaf: aaf::AafState,
}

impl Import {
    /// A full export of `source`: an empty builder.
    pub fn full(source: SourceId) -> Self {
        Self::with_builder(DirectoryBuilder::new(source), ImportMode::Full)
    }

    /// A delta over `current`: a builder holding its records.
    pub fn delta(current: &DirectorySnapshot) -> Self {
        Self::with_builder(DirectoryBuilder::from_snapshot(current), ImportMode::Delta)
    }

    /// Into a builder of the caller's. The schools it holds are the
    /// structures that AAF pupils may name by jointure (a delta without its
    /// `EtabEducNat` file).
    pub fn with_builder(builder: DirectoryBuilder, mode: ImportMode) -> Self {
        let mut structures = aaf::AafState::default();
        for school in builder.schools() {
            structures.define(school);
        }
        Self {
            builder,
            mode,
            options: ImportOptions::default(),
            report: ImportReport::default(),
            aaf: structures,
        }
    }

    /// With other limits.
    pub fn options(mut self, options: ImportOptions) -> Self {
        self.options = options;
        self
    }

    /// The source imported.
    pub fn source(&self) -> &SourceId {
        self.builder.source()
    }

    /// The report so far.
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// The builder so far (pupils read before their structure are settled
    /// when the import ends).
    pub fn builder(&self) -> &DirectoryBuilder {
        &self.builder
    }

    /// The academy code that the AAF structures read so far name in
    /// `ENTServAcAcademie` (see [`academy_code_from_name`]), if any.
    pub fn academy(&self) -> Option<&'static str> {
        self.aaf.academy()
    }

    /// Reads an AAF file named `file` (a name for the report; its
    /// `_Eleve_`, `_PersRelEleve_`... part also tells the kind of records
    /// that do not say it).
    pub fn aaf(&mut self, file: &str, input: impl BufRead) -> io::Result<&FileReport> {
        self.run(file, |ctx| aaf::read(ctx, input))
    }

    /// Reads the AAF file at `path`.
    pub fn aaf_file(&mut self, path: impl AsRef<Path>) -> io::Result<&FileReport> {
        let path = path.as_ref();
        let name = display_name(path);
        self.run(&name, |ctx| {
            let file = File::open(path)?;
            if let Ok(meta) = file.metadata() {
                aaf::reserve(ctx.builder, &name, meta.len());
            }
            aaf::read(ctx, BufReader::with_capacity(64 * 1024, file))
        })
    }

    /// Reads a SIECLE file (pupils or related persons: the root element
    /// tells).
    pub fn siecle(&mut self, file: &str, input: impl BufRead) -> io::Result<&FileReport> {
        self.run(file, |ctx| siecle::read(ctx, input))
    }

    /// Reads the SIECLE file at `path`.
    pub fn siecle_file(&mut self, path: impl AsRef<Path>) -> io::Result<&FileReport> {
        let path = path.as_ref();
        self.run(&display_name(path), |ctx| {
            siecle::read(ctx, BufReader::with_capacity(64 * 1024, File::open(path)?))
        })
    }

    fn run(
        &mut self,
        file: &str,
        read: impl FnOnce(&mut Context<'_>) -> io::Result<()>,
    ) -> io::Result<&FileReport> {
        let mut ctx = Context {
            builder: &mut self.builder,
            aaf: &mut self.aaf,
            mode: self.mode,
            options: self.options,
            report: &mut self.report,
            file: FileReport {
                file: file.to_owned(),
                format: None,
                encoding: "UTF-8",
                counts: RecordCounts::default(),
                complete: false,
            },
        };
        let result = read(&mut ctx);
        let mut file_report = ctx.file;
        if result.is_err() {
            file_report.complete = false;
            push_issue(
                &mut self.report,
                self.options.max_issues,
                ImportIssue {
                    file: file.to_owned(),
                    record_id: None,
                    position: 0,
                    reason: IssueReason::Unreadable(Unreadable::Io),
                    effect: IssueEffect::RestOfFileSkipped,
                },
            );
        }
        self.report.files.push(file_report);
        result?;
        Ok(self.report.files.last().expect("just pushed"))
    }

    /// Builds the snapshot, and the report with its anomalies.
    pub fn finish(self) -> (DirectorySnapshot, ImportReport) {
        let (builder, mut report) = self.into_parts();
        let snapshot = builder.build();
        report.set_anomalies(&snapshot);
        (snapshot, report)
    }

    /// The builder and the report, to build later (anomalies not set).
    /// What waited for the end of the import (AAF structures read after
    /// their pupils) is settled and reported first.
    pub fn into_parts(mut self) -> (DirectoryBuilder, ImportReport) {
        aaf::resolve(
            &mut self.aaf,
            &mut self.builder,
            &mut self.report,
            self.options.max_issues,
        );
        // The export's name, after what the builder held already (a delta
        // applied to an earlier export).
        if let Some(name) = self.report.export_name() {
            let export = match self.builder.export() {
                Some(earlier) => format!("{earlier} + {name}"),
                None => name,
            };
            self.builder.set_export(export);
        }
        (self.builder, self.report)
    }
}

impl fmt::Debug for Import {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Import")
            .field("builder", &self.builder)
            .field("mode", &self.mode)
            .field("files", &self.report.files.len())
            .field("issues", &self.report.issue_count())
            .finish()
    }
}

fn display_name(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn push_issue(report: &mut ImportReport, max: usize, issue: ImportIssue) {
    if report.issues.len() < max {
        report.issues.push(issue);
    } else {
        report.issues_omitted += 1;
    }
}

/// What a format reader works with: the builder, and the file's report.
pub(super) struct Context<'a> {
    builder: &'a mut DirectoryBuilder,
    aaf: &'a mut aaf::AafState,
    mode: ImportMode,
    options: ImportOptions,
    report: &'a mut ImportReport,
    file: FileReport,
}

/// How reading one record ended, in either format.
enum Read {
    Done,
    Bad(IssueReason),
    Fatal(xml::Fatal),
    Eof,
}

impl Context<'_> {
    /// After a record that did not read cleanly (anything but
    /// [`Read::Done`]): reports it and finds the next record. `Continue`
    /// with the index in `specs` of the record found (`None` for `Done`),
    /// `Break` with what the file's reading returns.
    fn record_failed<R: BufRead>(
        &mut self,
        cursor: &mut xml::Cursor<R>,
        record_id: Option<&str>,
        outcome: Read,
        specs: &[xml::RecordSpec],
    ) -> ControlFlow<io::Result<()>, Option<usize>> {
        match outcome {
            Read::Done => ControlFlow::Continue(None),
            Read::Bad(reason) => {
                let position = cursor.position();
                self.issue(record_id, position, reason, IssueEffect::RecordSkipped);
                match cursor.resync(specs) {
                    Ok(Some(i)) => ControlFlow::Continue(Some(i)),
                    Ok(None) => {
                        self.file.complete = true;
                        ControlFlow::Break(Ok(()))
                    }
                    Err(fatal) => ControlFlow::Break(self.fatal(fatal, cursor.position())),
                }
            }
            Read::Fatal(fatal) => {
                self.file.counts.skipped += 1;
                ControlFlow::Break(self.fatal(fatal, cursor.position()))
            }
            Read::Eof => {
                let position = cursor.position();
                self.issue(
                    record_id,
                    position,
                    IssueReason::MalformedXml(MalformedXml::UnexpectedEof),
                    IssueEffect::RecordSkipped,
                );
                ControlFlow::Break(Ok(()))
            }
        }
    }

    /// Opens `input` and reads up to its root element, noting the encoding.
    /// `None` when the file ended or failed before one: that is already in
    /// the report.
    fn open<R: BufRead>(&mut self, input: R) -> io::Result<Option<xml::Cursor<R>>> {
        let mut cursor = xml::Cursor::new(
            input,
            self.options.max_value_len.saturating_add(1),
            self.options.encoding,
        );
        loop {
            let item = match cursor.next() {
                Ok(item) => item,
                Err(fatal) => return self.fatal(fatal, cursor.position()).map(|()| None),
            };
            self.file.encoding = cursor.encoding().name();
            match item {
                xml::Item::Start { .. } => return Ok(Some(cursor)),
                xml::Item::Eof => {
                    let position = cursor.position();
                    self.issue(
                        None,
                        position,
                        IssueReason::Unreadable(Unreadable::Empty),
                        IssueEffect::RestOfFileSkipped,
                    );
                    return Ok(None);
                }
                _ => {}
            }
        }
    }

    fn issue(
        &mut self,
        record_id: Option<&str>,
        position: u64,
        reason: IssueReason,
        effect: IssueEffect,
    ) {
        if effect == IssueEffect::RecordSkipped {
            self.file.counts.skipped += 1;
        }
        push_issue(
            self.report,
            self.options.max_issues,
            ImportIssue {
                file: self.file.file.clone(),
                record_id: record_id.map(str::to_owned),
                position,
                reason,
                effect,
            },
        );
    }

    /// Reports what ended the file early, or returns the I/O error.
    fn fatal(&mut self, fatal: xml::Fatal, position: u64) -> io::Result<()> {
        match fatal {
            xml::Fatal::Io(e) => Err(e),
            xml::Fatal::Unreadable(why) => {
                self.issue(
                    None,
                    position,
                    IssueReason::Unreadable(why),
                    IssueEffect::RestOfFileSkipped,
                );
                Ok(())
            }
        }
    }
}
