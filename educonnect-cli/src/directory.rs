//! `educonnect directory check`: import export files as the library does,
//! and print what it found.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use educonnect_core::directory::import::{
    ExportFormat, Import, ImportReport, academy_from_file_name, sniff,
};
use educonnect_core::directory::{Anomaly, DirectorySnapshot, SourceId};

use crate::cli::CheckArgs;
use crate::failure::Failure;
use crate::output;

/// One source's files, imported together.
struct Group {
    source: SourceId,
    import: Import,
}

/// Imports the files, grouped by source (in the order first met), prints
/// each file's counts, each issue and anomaly, each source's totals.
pub(crate) fn check(args: &CheckArgs) -> Result<(), Failure> {
    let mut groups: Vec<Group> = Vec::new();
    for path in &args.files {
        let format = format_of(path)?;
        let source = source_of(args, path, format)?;
        let i = match groups.iter().position(|g| g.source == source) {
            Some(i) => i,
            None => {
                groups.push(Group {
                    import: Import::full(source.clone()),
                    source,
                });
                groups.len() - 1
            }
        };
        let import = &mut groups[i].import;
        let read = match format {
            ExportFormat::Aaf => import.aaf_file(path),
            _ => import.siecle_file(path),
        };
        read.map_err(|e| Failure::usage(format_args!("cannot read {path:?}: {e}")))?;
    }

    let mut issues = 0;
    let mut anomalies = 0;
    let mut totals = [0usize; 4];
    for group in groups {
        let (snapshot, report) = group.import.finish();
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

/// The format, from the root element, else from the file name.
fn format_of(path: &Path) -> Result<ExportFormat, Failure> {
    let file =
        File::open(path).map_err(|e| Failure::usage(format_args!("cannot read {path:?}: {e}")))?;
    let sniffed = sniff(BufReader::new(file))
        .map_err(|e| Failure::usage(format_args!("cannot read {path:?}: {e}")))?;
    if let Some(format) = sniffed {
        return Ok(format);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if academy_from_file_name(&name).is_some() {
        Ok(ExportFormat::Aaf)
    } else if name.starts_with("ElevesSansAdresses") {
        Ok(ExportFormat::SiecleEleves)
    } else if name.starts_with("ResponsablesAvecAdresses") {
        Ok(ExportFormat::SiecleResponsables)
    } else {
        Err(Failure::usage(format_args!(
            "{path:?} is neither an AAF nor a SIECLE export (root element or file name)"
        )))
    }
}

fn source_of(args: &CheckArgs, path: &Path, format: ExportFormat) -> Result<SourceId, Failure> {
    if format.is_siecle() {
        return args.uai.map(SourceId::siecle).ok_or_else(|| {
            Failure::usage(format_args!(
                "{path:?} is a SIECLE export: say which school with --uai"
            ))
        });
    }
    let name = path.to_string_lossy();
    let academy = match &args.academy {
        Some(academy) => academy.as_str(),
        None => academy_from_file_name(&name).ok_or_else(|| {
            Failure::usage(format_args!(
                "cannot tell the academy of {path:?} from its name (ENT_<code>_...): use --academy"
            ))
        })?,
    };
    SourceId::aaf(academy).map_err(|e| Failure::usage(format_args!("{path:?}: {e}")))
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
