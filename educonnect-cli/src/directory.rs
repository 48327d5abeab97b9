//! `educonnect directory check`: import export files as the library does,
//! and print what it found, as text or as one JSON object.
//! `educonnect directory compile`: the same import, written as snapshot
//! files.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use educonnect_core::directory::import::{
    FilesError, ImportIssue, ImportReport, ImportedSource, IssueEffect, IssueReason, SourceHints,
    import_files_in_parallel,
};
use educonnect_core::directory::{Anomaly, DirectorySnapshot};
use educonnect_core::ids::Uai;
use serde_json::{Value, json};

use crate::cli::{CheckArgs, CheckFormat, CompileArgs};
use crate::failure::Failure;
use crate::output;

/// Imports the export files with the CLI's hints, grouped by source (in
/// the order first met).
fn import(
    files: &[PathBuf],
    academy: Option<String>,
    uai: Option<Uai>,
    threads: NonZeroUsize,
) -> Result<Vec<ImportedSource>, Failure> {
    let hints = SourceHints { academy, uai };
    import_files_in_parallel(files, &hints, threads).map_err(|e| match e {
        FilesError::AcademyNeeded { .. } => Failure::usage(format_args!("{e}: use --academy")),
        FilesError::SchoolNeeded { .. } => Failure::usage(format_args!("{e}: use --uai")),
        e => Failure::usage(format_args!("{e}")),
    })
}

/// Whether `path` names a snapshot file (`.snap`) rather than an export.
fn is_snapshot(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "snap")
}

/// Imports the files, grouped by source (in the order first met), prints
/// each file's counts, each issue and anomaly, each source's totals.
/// Snapshot files are opened (mapped, checked whole) and count as sources
/// of their own, with their anomalies.
pub(crate) fn check(args: &CheckArgs) -> Result<(), Failure> {
    let (snapshots, exports): (Vec<PathBuf>, Vec<PathBuf>) =
        args.files.iter().cloned().partition(|f| is_snapshot(f));
    let mut sources = if exports.is_empty() {
        Vec::new()
    } else {
        import(&exports, args.academy.clone(), args.uai, NonZeroUsize::MIN)?
    };
    for path in &snapshots {
        let snapshot = educonnect_mmap::open_snapshot(path)
            .map_err(|e| Failure::usage(format_args!("{e}")))?;
        let mut report = ImportReport::default();
        report.anomalies = snapshot.anomalies().to_vec();
        sources.push(ImportedSource { snapshot, report });
    }
    if args.format == CheckFormat::Json {
        return check_json(&sources);
    }

    let mut issues = 0;
    let mut anomalies = 0;
    let mut totals = [0usize; 4];
    for ImportedSource { snapshot, report } in sources {
        print_report(&snapshot, &report)?;
        issues += report.issue_count();
        anomalies += report.anomalies.len();
        for (t, n) in totals.iter_mut().zip(counts(&snapshot)) {
            *t += n;
        }
    }
    output::line(&format!(
        "total: {} pupils, {} persons, {} links, {} schools; {issues} issues, {anomalies} anomalies",
        totals[0], totals[1], totals[2], totals[3]
    ))?;
    if issues > 0 || anomalies > 0 {
        return Err(Failure::problems(format_args!(
            "{issues} issues, {anomalies} anomalies"
        )));
    }
    Ok(())
}

/// Imports the files and writes each source's snapshot file.
pub(crate) fn compile(args: &CompileArgs) -> Result<(), Failure> {
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));
    let sources = import(&args.files, args.academy.clone(), args.uai, threads)?;
    if let Some(output) = &args.output
        && sources.len() > 1
    {
        let names: Vec<&str> = sources
            .iter()
            .map(|s| s.snapshot.source().as_str())
            .collect();
        return Err(Failure::usage(format_args!(
            "the files hold {} sources ({}): use --output-dir to write one snapshot each, \
             not --output {}",
            sources.len(),
            names.join(", "),
            output.display()
        )));
    }
    for ImportedSource { snapshot, report } in &sources {
        let path = match (&args.output, &args.output_dir) {
            (Some(output), _) => output.clone(),
            (None, Some(dir)) => dir.join(format!(
                "{}_{}.snap",
                snapshot.source().kind(),
                snapshot.source().code()
            )),
            (None, None) => return Err(Failure::usage("use --output FILE or --output-dir DIR")),
        };
        educonnect_mmap::write_snapshot(snapshot, &path)
            .map_err(|e| Failure::usage(format_args!("{e}")))?;
        let [pupils, persons, links, schools] = counts(snapshot);
        output::line(&format!(
            "source {}: {pupils} pupils, {persons} persons, {links} links, {schools} schools; \
             {} issues, {} anomalies; snapshot {} ({} bytes)",
            snapshot.source(),
            report.issue_count(),
            report.anomalies.len(),
            path.display(),
            snapshot.byte_len(),
        ))?;
    }
    Ok(())
}

fn counts(snapshot: &DirectorySnapshot) -> [usize; 4] {
    [
        snapshot.pupil_count(),
        snapshot.person_count(),
        snapshot.link_count(),
        snapshot.school_count(),
    ]
}

fn print_report(snapshot: &DirectorySnapshot, report: &ImportReport) -> Result<(), Failure> {
    for file in &report.files {
        let c = &file.counts;
        let format = file
            .format
            .map_or_else(|| "unknown format".to_owned(), |f| f.to_string());
        output::line(&format!(
            "file {}: {format}, {}, {} records: {} added, {} modified, {} deleted, {} skipped, {} ignored{}",
            file.file,
            file.encoding,
            c.records,
            c.added,
            c.modified,
            c.deleted,
            c.skipped,
            c.ignored,
            if file.complete { "" } else { " (incomplete)" },
        ))?;
    }
    for issue in &report.issues {
        output::line(&format!("issue {issue}"))?;
    }
    if report.issues_omitted > 0 {
        output::line(&format!(
            "issue ... and {} more not kept",
            report.issues_omitted
        ))?;
    }
    let source = snapshot.source();
    for anomaly in &report.anomalies {
        output::line(&format!("anomaly {source}: {}", describe(anomaly)))?;
    }
    let [pupils, persons, links, schools] = counts(snapshot);
    output::line(&format!(
        "source {source}: {pupils} pupils, {persons} persons, {links} links, {schools} schools"
    ))
}

/// An anomaly in words, with ids only.
fn describe(anomaly: &Anomaly) -> String {
    match anomaly {
        Anomaly::DanglingLink { pupil, person } => format!(
            "link of pupil {} to person {}: one of them is not in the export (link dropped)",
            pupil.local(),
            person.local()
        ),
        Anomaly::SameLegalRank { pupil, rank } => format!(
            "pupil {}: two legal guardians of rank {}",
            pupil.local(),
            rank.code()
        ),
        other => format!("{other:?}"),
    }
}

/// The whole check as one JSON object on standard output: `schools`,
/// `problems`, `files`, `totals`. Exit 1 (and the `problems:` line on
/// standard error) when there is any problem.
fn check_json(sources: &[ImportedSource]) -> Result<(), Failure> {
    let mut schools = Vec::new();
    let mut problems = Vec::new();
    let mut files = Vec::new();
    let (mut issues, mut omitted, mut anomalies) = (0u64, 0u64, 0usize);
    let mut without_school = 0usize;
    let mut totals = [0usize; 4];
    for ImportedSource { snapshot, report } in sources {
        let source = snapshot.source().as_str();
        let (per_school, unattached) = school_counts(snapshot)?;
        without_school += unattached;
        for (uai, c) in per_school {
            schools.push(json!({
                "source": source,
                "uai": uai.as_str(),
                "name": c.name,
                "pupils": c.pupils,
                "guardians": c.guardians,
                "links": c.links,
            }));
        }
        for file in &report.files {
            let c = &file.counts;
            files.push(json!({
                "file": file.file,
                "source": source,
                "format": file.format.map(|f| f.to_string()),
                "encoding": file.encoding,
                "records": c.records,
                "added": c.added,
                "modified": c.modified,
                "deleted": c.deleted,
                "skipped": c.skipped,
                "ignored": c.ignored,
                "complete": file.complete,
            }));
        }
        problems.extend(report.issues.iter().map(|i| issue_json(source, i)));
        problems.extend(report.anomalies.iter().map(|a| anomaly_json(source, a)));
        issues += report.issue_count();
        omitted += report.issues_omitted;
        anomalies += report.anomalies.len();
        for (t, n) in totals.iter_mut().zip(counts(snapshot)) {
            *t += n;
        }
    }
    let object = json!({
        "schools": schools,
        "problems": problems,
        "files": files,
        "totals": {
            "sources": sources.len(),
            "files": files.len(),
            "pupils": totals[0],
            "persons": totals[1],
            "links": totals[2],
            "schools": totals[3],
            "pupils_without_school": without_school,
            "issues": issues,
            "issues_not_listed": omitted,
            "anomalies": anomalies,
        },
    });
    output::line(&object.to_string())?;
    if issues > 0 || anomalies > 0 {
        return Err(Failure::problems(format_args!(
            "{issues} issues, {anomalies} anomalies"
        )));
    }
    Ok(())
}

/// One school's counts in a source.
#[derive(Default)]
struct SchoolCounts {
    name: Option<String>,
    pupils: usize,
    guardians: usize,
    links: usize,
}

/// The counts of every school of `snapshot` (those it describes and those
/// its pupils are attached to), by UAI; and the number of pupils attached
/// to no school. A guardian is a related person with a link (legal
/// authority or not) to a pupil of the school, counted once per school.
fn school_counts(
    snapshot: &DirectorySnapshot,
) -> Result<(BTreeMap<Uai, SchoolCounts>, usize), Failure> {
    let mut schools: BTreeMap<Uai, SchoolCounts> = BTreeMap::new();
    for school in snapshot.schools() {
        schools.entry(school.uai).or_default().name = Some(school.name.clone());
    }
    let mut without_school = 0;
    for pupil in snapshot.pupils() {
        match pupil.school {
            Some(uai) => schools.entry(uai).or_default().pupils += 1,
            None => without_school += 1,
        }
    }
    let mut seen: Vec<Uai> = Vec::new();
    for person in snapshot.persons() {
        let linked = snapshot
            .pupils_of(&person.id)
            .map_err(|e| Failure::usage(format_args!("{e}")))?;
        seen.clear();
        for l in &linked {
            let Some(uai) = l.pupil.school else { continue };
            let counts = schools.entry(uai).or_default();
            counts.links += 1;
            if !seen.contains(&uai) {
                seen.push(uai);
                counts.guardians += 1;
            }
        }
    }
    Ok((schools, without_school))
}

/// An issue: its file, record id (or byte position), codes and reason in
/// words; never a value of the record.
fn issue_json(source: &str, issue: &ImportIssue) -> Value {
    let (code, attribute) = issue_code(&issue.reason);
    json!({
        "kind": "issue",
        "code": code,
        "attribute": attribute,
        "effect": effect_code(issue.effect),
        "source": source,
        "file": issue.file,
        "record": issue.record_id,
        "position": issue.position,
        "reason": format!("{} ({})", issue.reason, issue.effect),
    })
}

/// An anomaly: found across the files of a source, so no file; the record
/// is the pupil's id.
fn anomaly_json(source: &str, anomaly: &Anomaly) -> Value {
    let (code, record) = match anomaly {
        Anomaly::DanglingLink { pupil, .. } => ("dangling_link", Some(pupil.local())),
        Anomaly::SameLegalRank { pupil, .. } => ("same_legal_rank", Some(pupil.local())),
        _ => ("other", None),
    };
    json!({
        "kind": "anomaly",
        "code": code,
        "source": source,
        "file": null,
        "record": record,
        "reason": describe(anomaly),
    })
}

/// The machine-readable code of an issue's reason, and the attribute it
/// names when it names one.
fn issue_code(reason: &IssueReason) -> (&'static str, Option<&'static str>) {
    match reason {
        IssueReason::MalformedXml(_) => ("malformed_xml", None),
        IssueReason::Unreadable(_) => ("unreadable", None),
        IssueReason::UnexpectedRoot(_) => ("unexpected_root", None),
        IssueReason::InvalidText => ("invalid_text", None),
        IssueReason::TooLarge => ("too_large", None),
        IssueReason::MissingId => ("missing_id", None),
        IssueReason::InvalidId => ("invalid_id", None),
        IssueReason::JoinKeyMismatch => ("join_key_mismatch", None),
        IssueReason::UnknownRecordKind => ("unknown_record_kind", None),
        IssueReason::MissingAttribute(a) => ("missing_attribute", Some(*a)),
        IssueReason::RepeatedValue(a) => ("repeated_value", Some(*a)),
        IssueReason::InvalidDate(a) => ("invalid_date", Some(*a)),
        IssueReason::InvalidUai(a, _) => ("invalid_uai", Some(*a)),
        IssueReason::InvalidIne(a) => ("invalid_ine", Some(*a)),
        IssueReason::UnknownValue(a) => ("unknown_value", Some(*a)),
        IssueReason::InvalidLink(_) => ("invalid_link", None),
        IssueReason::DuplicateLink => ("duplicate_link", None),
        IssueReason::AuthorityWithoutLink => ("authority_without_link", None),
        IssueReason::DuplicateId => ("duplicate_id", None),
        IssueReason::UnknownRecord => ("unknown_record", None),
        _ => ("other", None),
    }
}

fn effect_code(effect: IssueEffect) -> &'static str {
    match effect {
        IssueEffect::RecordSkipped => "record_skipped",
        IssueEffect::ValueIgnored => "value_ignored",
        IssueEffect::LinkSkipped => "link_skipped",
        IssueEffect::RecordReplaced => "record_replaced",
        IssueEffect::RestOfFileSkipped => "rest_of_file_skipped",
        _ => "other",
    }
}
