//! `educonnect directory check`: import export files as the library does,
//! and print what it found.

use educonnect_core::directory::import::{
    FilesError, ImportReport, ImportedSource, SourceHints, import_files,
};
use educonnect_core::directory::{Anomaly, DirectorySnapshot};

use crate::cli::CheckArgs;
use crate::failure::Failure;
use crate::output;

/// Imports the files, grouped by source (in the order first met), prints
/// each file's counts, each issue and anomaly, each source's totals.
pub(crate) fn check(args: &CheckArgs) -> Result<(), Failure> {
    let hints = SourceHints {
        academy: args.academy.clone(),
        uai: args.uai,
    };
    let sources = import_files(&args.files, &hints).map_err(|e| match e {
        FilesError::AcademyNeeded { .. } => Failure::usage(format_args!("{e}: use --academy")),
        FilesError::SchoolNeeded { .. } => Failure::usage(format_args!("{e}: use --uai")),
        e => Failure::usage(format_args!("{e}")),
    })?;

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
