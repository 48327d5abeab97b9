//! Directory lookups at 10 thousand, 1 million and 10 million guardians:
//! the time per lookup must stay flat (every lookup is a hash lookup), and
//! the memory per guardian must stay small enough for the national
//! directory (20 million guardians, 12 million pupils) on one machine.
//!
//! `cargo bench -p educonnect-core --bench directory` measures 10 thousand
//! and 1 million guardians. The size comes from the environment:
//!
//! - `EDUCONNECT_BENCH_GUARDIANS=4000000` (or a comma-separated list) measures
//!   those sizes, after the 10 thousand reference that every other size is
//!   compared with (it takes a second). Each size has 3/4 as many pupils
//!   and 1.5 times as many links as guardians.
//! - `EDUCONNECT_BENCH_10M=1` adds 10 million to the defaults (the
//!   builder's peak is what limits the size: see the table); the same as
//!   `EDUCONNECT_BENCH_GUARDIANS=1000000,10000000`.
//! - `EDUCONNECT_BENCH_SIZES` is the former name of
//!   `EDUCONNECT_BENCH_GUARDIANS`, without the 10 thousand reference.
//!
//! For each size it prints, before criterion's measurements, then again as
//! one table at the end:
//!
//! - the snapshot's size: the bytes of its one buffer (records and
//!   indexes, see `DirectorySnapshot`), per million guardians; what a
//!   service that opens the snapshot file holds;
//! - resident memory per million guardians of a service that opens the
//!   snapshot file: this bench run again as a child process (a fresh
//!   heap: in this process, the buffer would reuse the heap the builder
//!   freed) reads the file, checks it and answers a lookup; its `VmRSS`
//!   growth (from `/proc/self/status`) is what the directory costs there;
//! - the resident growth after the build, counted from before the first
//!   directory of the run: the snapshot plus the heap the builder left
//!   behind (glibc keeps it); and the peak of the load, `VmHWM` (reset
//!   through `/proc/self/clear_refs` before each size) minus the same
//!   `VmRSS`: what compiling a snapshot of that size needs;
//! - the load time: records generated and added to the builder, then
//!   [`DirectoryBuilder::build`]; the time to write the snapshot file, and
//!   to open it (read it and check every byte: checksum, sections,
//!   records);
//! - the candidates lookup time (the median of 15 batches of 4 rounds of
//!   the same 1024 queries), and its ratio to the 10 thousand figure: in
//!   the child process that opened the file (a fresh heap: what a service
//!   sees), and in this process, on the opened snapshot but on the heap
//!   the builder left (a lookup allocates the records it returns, and
//!   glibc's allocator is slower on a heap of millions of freed blocks);
//!   criterion then measures lookups in this process.
//!
//! Snapshot files are written to `EDUCONNECT_BENCH_DIR` (default: the
//! system's temporary directory) and removed after each size, unless
//! `EDUCONNECT_BENCH_KEEP=1` (then their paths are printed: open one with
//! `educonnect directory check FILE.snap` to see a mapped one).
//!
//! Families are generated deterministically: two guardians (the mother
//! often with a usage name, her husband's), one or two children, names made
//! of syllables from small tables, with accents, ligatures, hyphens and
//! apostrophes. The number of distinct family names grows with the
//! directory, as in a real population, so homonyms (same family name and
//! same first given name) exist at every size in about the same proportion.
//! The school usually holds the first given name only; the queries are the
//! FranceConnect identities (birth name, all given names, usage name) of
//! guardians picked at random.
//!
//! Lookups run right after the build, on a heap that the builder left with
//! tens of millions of freed small blocks: a lookup that allocated per
//! record checked (an earlier version did, about 30 times per query) paid
//! for glibc's bin sorting and ran 20 times slower at 10 million than at 1
//! million. Matching now compares names without allocating.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group};
use educonnect_core::directory::{
    Directory, DirectoryBuilder, DirectorySnapshot, LegalRank, Link, MemoryDirectory, NameQuery,
    PersonId, PhoneKind, Pupil, PupilId, RelatedPerson, Relationship, School, SourceId,
};
use educonnect_core::ids::Uai;

const SYLLABLES: [&str; 32] = [
    "MAR", "TIN", "DU", "PONT", "LE", "FÈ", "VRE", "BER", "NARD", "RO", "BERT", "PE", "TIT",
    "RAND", "GOFF", "MO", "REAU", "LAU", "RENT", "SI", "MON", "MI", "CHEL", "GAR", "NIER", "FOU",
    "CHER", "BLAN", "CŒUR", "D'AR", "GUÉ", "RIN",
];

const GIVEN: [&str; 64] = [
    "Marie",
    "Anne-Marie",
    "Zoé",
    "Hélène",
    "Jean",
    "Jean-Pierre",
    "Léa",
    "Chloé",
    "François",
    "Noël",
    "Anaïs",
    "Jérôme",
    "Maëlys",
    "Lætitia",
    "Éloïse",
    "Benoît",
    "Claire",
    "Louise",
    "Paul",
    "Pierre",
    "Nathalie",
    "Isabelle",
    "Sophie",
    "Céline",
    "Nicolas",
    "Julien",
    "Thomas",
    "Camille",
    "Manon",
    "Inès",
    "Hugo",
    "Lucas",
    "Gaëlle",
    "Mathéo",
    "Aurélie",
    "Sébastien",
    "Stéphane",
    "Valérie",
    "Frédéric",
    "Cécile",
    "Amélie",
    "Joël",
    "Agnès",
    "Béatrice",
    "Raphaël",
    "Mickaël",
    "Anne",
    "Jeanne",
    "Marc",
    "Luc",
    "Emma",
    "Jade",
    "Louis",
    "Gabriel",
    "Arthur",
    "Alice",
    "Rose",
    "Léo",
    "Nina",
    "Yann",
    "Maïwenn",
    "Gwenaëlle",
    "Ségolène",
    "Françoise",
];

/// A 64-bit mix (splitmix64): deterministic pseudo-random choices.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Family name number `n` spelled in syllables (base 32, at least two).
fn family_name(n: u64) -> String {
    let mut out = String::new();
    let mut n = n;
    let mut count = 0;
    while n > 0 || count < 2 {
        if count > 0 && n % 7 == 3 {
            out.push('-');
        }
        out.push_str(SYLLABLES[(n % 32) as usize]);
        n /= 32;
        count += 1;
    }
    out
}

fn given_names(seed: u64) -> Vec<String> {
    let count = 1 + (seed % 3) as usize;
    (0..count)
        .map(|k| GIVEN[(mix(seed ^ (k as u64 + 1)) % 64) as usize].to_owned())
        .collect()
}

/// The guardians of family `f`, and what FranceConnect says about them.
struct Guardian {
    record: RelatedPerson,
    query: NameQuery,
}

struct Population {
    guardians: u64,
    /// Distinct family names: a quarter of the number of guardians, so that
    /// homonyms are as frequent at every size.
    family_names: u64,
    source: SourceId,
}

impl Population {
    fn new(guardians: u64) -> Self {
        Self {
            guardians,
            family_names: (guardians / 4).max(64),
            source: SourceId::aaf("14").unwrap(),
        }
    }

    fn families(&self) -> u64 {
        self.guardians / 2
    }

    fn children(&self, f: u64) -> u64 {
        1 + mix(f ^ 0xC0FFEE) % 2
    }

    fn surname(&self, seed: u64) -> String {
        family_name(mix(seed) % self.family_names)
    }

    /// Guardian `g`: `2f` is the father of family `f`, `2f + 1` the mother.
    fn guardian(&self, g: u64) -> Guardian {
        let f = g / 2;
        let family = self.surname(f);
        let id = PersonId::new(self.source.clone(), &format!("R{g}")).unwrap();
        let given = given_names(mix(g ^ 0xABCD));
        // The school holds the first given name only, two times in three.
        let held: Vec<String> = if g.is_multiple_of(3) {
            given.clone()
        } else {
            given[..1].to_vec()
        };
        let phone = format!("06{:08}", mix(g) % 100_000_000);
        if g.is_multiple_of(2) {
            let record =
                RelatedPerson::new(id, family.clone(), held).with_phone(PhoneKind::Mobile, phone);
            let query = NameQuery::new(&family, &given, None);
            Guardian { record, query }
        } else {
            let birth = self.surname(f ^ 0x5EED_0000_0000);
            let married = f.is_multiple_of(2);
            let mut record =
                RelatedPerson::new(id, birth.clone(), held).with_phone(PhoneKind::Mobile, phone);
            if married {
                record.usage_name = Some(family.clone());
            }
            let query = NameQuery::new(&birth, &given, married.then_some(family.as_str()));
            Guardian { record, query }
        }
    }

    fn school(&self, f: u64) -> Uai {
        // One school per 300 families, numbers from 0350001 on.
        let n = 350_001 + f / 300;
        let key = b"ABCDEFGHJKLMNPRSTUVWXYZ"[(n % 23) as usize];
        Uai::parse(&format!("{n:07}{}", char::from(key))).unwrap()
    }

    /// The directory, the time spent generating records into the builder,
    /// and the time [`DirectoryBuilder::build`] took (the indexes).
    fn build(&self) -> (MemoryDirectory, Duration, Duration) {
        let start = Instant::now();
        let mut builder = DirectoryBuilder::new(self.source.clone());
        builder.reserve((self.families() * 3 / 2) as usize, self.guardians as usize);
        for f in 0..self.families() {
            let father = self.guardian(2 * f).record;
            let mother = self.guardian(2 * f + 1).record;
            let family = self.surname(f);
            let school = self.school(f);
            if f.is_multiple_of(300) {
                builder.add_school(School::new(school, format!("Collège {f}")));
            }
            for c in 0..self.children(f) {
                let pupil = PupilId::new(self.source.clone(), &format!("E{f}-{c}")).unwrap();
                builder
                    .add_pupil(
                        Pupil::new(pupil.clone(), family.clone(), given_names(mix(f ^ c)))
                            .with_school(school),
                    )
                    .unwrap();
                builder
                    .add_link(
                        Link::new(pupil.clone(), father.id.clone(), Relationship::Father)
                            .with_legal(LegalRank::Second),
                    )
                    .unwrap();
                builder
                    .add_link(
                        Link::new(pupil, mother.id.clone(), Relationship::Mother)
                            .with_legal(LegalRank::First)
                            .with_financial(true),
                    )
                    .unwrap();
            }
            builder.add_person(father).unwrap();
            builder.add_person(mother).unwrap();
        }
        let filled = start.elapsed();
        let start = Instant::now();
        let snapshot = builder.build();
        (MemoryDirectory::new(snapshot), filled, start.elapsed())
    }
}

/// A field of `/proc/self/status` in MiB (Linux), or 0.
fn status_mib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// Resident set size of this process, in MiB.
fn rss_mib() -> u64 {
    status_mib("VmRSS")
}

/// Peak resident set size since the last [`reset_peak`], in MiB.
fn peak_mib() -> u64 {
    status_mib("VmHWM")
}

/// Resets `VmHWM` to the current resident size (Linux 4.0 on; ignored
/// elsewhere), so that each size's peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// What one size measured, for the table at the end.
struct Measured {
    guardians: u64,
    snapshot_mib: f64,
    opened_mib: u64,
    resident_mib: u64,
    peak_mib: u64,
    load: Duration,
    write: Duration,
    open: Duration,
    candidates_ns: f64,
    fresh_ns: f64,
}

/// Runs a `MemoryDirectory` future, documented to be ready at once.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("in-memory lookups are ready at once"),
    }
}

/// The sizes to measure, in guardians; see the module documentation.
fn sizes() -> Vec<u64> {
    let list = |name: &str| {
        std::env::var(name).ok().map(|list| {
            list.split(',')
                .map(|n| {
                    let n = n.trim().replace('_', "");
                    n.parse::<u64>()
                        .unwrap_or_else(|_| panic!("{name}: numbers of guardians"))
                })
                .collect::<Vec<u64>>()
        })
    };
    if let Some(mut sizes) = list("EDUCONNECT_BENCH_GUARDIANS") {
        sizes.retain(|&n| n != REFERENCE);
        sizes.push(REFERENCE);
        sizes.sort_unstable();
        sizes.dedup();
        return sizes;
    }
    if let Some(sizes) = list("EDUCONNECT_BENCH_SIZES") {
        return sizes;
    }
    let mut sizes = vec![REFERENCE, 1_000_000];
    if std::env::var_os("EDUCONNECT_BENCH_10M").is_some_and(|v| v == "1") {
        sizes.push(10_000_000);
    }
    sizes
}

/// The size every other is compared with.
const REFERENCE: u64 = 10_000;

/// Time of one candidates lookup: the median of 15 batches, each the mean
/// over 4 rounds of `queries` (a median, so that a neighbour's burst on a
/// shared machine does not count).
fn candidates_ns<D: Directory + ?Sized>(directory: &D, queries: &[NameQuery]) -> f64 {
    let rounds = 4;
    let mut batches: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..rounds {
                for q in queries {
                    black_box(ready(directory.guardian_candidates(black_box(q))).unwrap());
                }
            }
            start.elapsed().as_nanos() as f64 / (rounds * queries.len()) as f64
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    batches[batches.len() / 2]
}

fn per_million(mib: u64, guardians: u64) -> f64 {
    mib as f64 * 1_000_000.0 / guardians as f64
}

fn lookups(c: &mut Criterion) {
    let mut group = c.benchmark_group("directory");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut measured: Vec<Measured> = Vec::new();
    // Growth is counted from the process's size before the first directory:
    // a directory dropped leaves its heap resident (glibc keeps it), and the
    // next size reuses it, so growth from the size just before would miss
    // it. Sizes come in ascending order, so each reuses all of it.
    let before = rss_mib();
    for guardians in sizes() {
        let population = Population::new(guardians);
        reset_peak();
        let (memory, filled, built) = population.build();
        let after = rss_mib();
        let peak = peak_mib();
        let snapshot = memory.snapshot();
        let resident = after.saturating_sub(before);
        let peak = peak.saturating_sub(before);
        let snapshot_mib = snapshot.byte_len() as f64 / (1024.0 * 1024.0);
        eprintln!(
            "directory of {guardians} guardians: {} pupils, {} links; records generated and \
             added in {:.2?}, snapshot built in {:.2?}; snapshot {snapshot_mib:.0} MiB \
             ({:.0} MiB per million guardians); resident after the build +{resident} MiB \
             ({:.0} MiB per million guardians, VmRSS {after} MiB: the snapshot and the \
             heap the builder left), peak of the load +{peak} MiB ({:.0} MiB per million \
             guardians, VmHWM)",
            snapshot.pupil_count(),
            snapshot.link_count(),
            filled,
            built,
            snapshot_mib * 1_000_000.0 / guardians as f64,
            per_million(resident, guardians),
            per_million(peak, guardians),
        );

        // The snapshot file, written then opened as a service would.
        let dir = std::env::var_os("EDUCONNECT_BENCH_DIR")
            .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
        let path = dir.join(format!(
            "educonnect-bench-{}-{guardians}.snap",
            std::process::id()
        ));
        let start = Instant::now();
        {
            let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            snapshot.write_to(&mut file).unwrap();
            std::io::Write::flush(&mut file).unwrap();
        }
        let write = start.elapsed();
        drop(snapshot);
        drop(memory);
        let (opened_mib, fresh_ns) = open_in_child(&path);
        let start = Instant::now();
        let bytes = std::fs::read(&path).unwrap();
        let opened = DirectorySnapshot::from_bytes(bytes).unwrap();
        let open = start.elapsed();
        if std::env::var_os("EDUCONNECT_BENCH_KEEP").is_some_and(|v| v == "1") {
            eprintln!("  snapshot file kept: {}", path.display());
        } else {
            std::fs::remove_file(&path).unwrap();
        }
        eprintln!(
            "  snapshot file written in {write:.2?}, read and checked in {open:.2?}; a process \
             that opens it grows by {opened_mib} MiB ({:.0} MiB per million guardians)",
            per_million(opened_mib, guardians),
        );
        let directory: Arc<dyn Directory> = Arc::new(MemoryDirectory::new(opened));

        // 1024 guardians picked at random, so that lookups miss the cache as
        // they would in production.
        let picked: Vec<u64> = (0..1024).map(|i| mix(i ^ guardians) % guardians).collect();
        let queries = queries(&population);
        let ids: Vec<PersonId> = picked
            .iter()
            .map(|&g| PersonId::new(population.source.clone(), &format!("R{g}")).unwrap())
            .collect();
        let found: usize = queries
            .iter()
            .map(|q| ready(directory.guardian_candidates(q)).unwrap().len())
            .sum();
        let homonyms = queries
            .iter()
            .filter(|q| ready(directory.guardian_candidates(q)).unwrap().len() > 1)
            .count();
        eprintln!(
            "  {:.2} candidates per query on average; {homonyms} of 1024 queries meet homonyms",
            found as f64 / 1024.0
        );
        assert!(
            found >= 1024,
            "every guardian finds at least their own record"
        );

        let candidates_ns = candidates_ns(&*directory, &queries);
        let reference = measured.first().map_or(candidates_ns, |m| m.candidates_ns);
        let fresh_reference = measured.first().map_or(fresh_ns, |m| m.fresh_ns);
        eprintln!(
            "  candidates lookup {candidates_ns:.0} ns in this process, after the build \
             (median of 15 batches; {:.2}x the {REFERENCE} figure); {fresh_ns:.0} ns in a \
             process that opened the file ({:.2}x)",
            candidates_ns / reference,
            fresh_ns / fresh_reference,
        );
        measured.push(Measured {
            guardians,
            snapshot_mib,
            opened_mib,
            resident_mib: resident,
            peak_mib: peak,
            load: filled + built,
            write,
            open,
            candidates_ns,
            fresh_ns,
        });

        let mut i = 0;
        group.bench_function(BenchmarkId::new("guardian_candidates", guardians), |b| {
            b.iter(|| {
                i = (i + 1) % 1024;
                black_box(ready(directory.guardian_candidates(&queries[i])).unwrap())
            })
        });
        let mut i = 0;
        group.bench_function(BenchmarkId::new("pupils_of", guardians), |b| {
            b.iter(|| {
                i = (i + 1) % 1024;
                black_box(ready(directory.pupils_of(&ids[i])).unwrap())
            })
        });
        let start = Instant::now();
        drop(directory);
        eprintln!("  dropped in {:.2?}", start.elapsed());
    }
    group.finish();

    let reference = measured.first().map_or(1.0, |m| m.candidates_ns);
    let fresh_reference = measured.first().map_or(1.0, |m| m.fresh_ns);
    eprintln!(
        "\n| guardians | snapshot MiB per million | resident MiB per million of a process \
         that opens it (VmRSS growth) | after the build (VmRSS growth) | peak of the build per \
         million (VmHWM) | load (generate + build) | write | open (read + check) | candidates \
         lookup, opened file | vs first size | candidates lookup, after the build | vs first \
         size |"
    );
    eprintln!(
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for m in &measured {
        eprintln!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2?} | {:.2?} | {:.2?} | {:.0} ns | {:.2}x \
             | {:.0} ns | {:.2}x |",
            m.guardians,
            m.snapshot_mib * 1_000_000.0 / m.guardians as f64,
            per_million(m.opened_mib, m.guardians),
            per_million(m.resident_mib, m.guardians),
            per_million(m.peak_mib, m.guardians),
            m.load,
            m.write,
            m.open,
            m.fresh_ns,
            m.fresh_ns / fresh_reference,
            m.candidates_ns,
            m.candidates_ns / reference,
        );
    }
}

/// The variable that makes this bench a child process opening a file.
const CHILD: &str = "EDUCONNECT_BENCH_OPEN_CHILD";

/// Runs this bench again as a child process that opens the snapshot file
/// `path`; returns its resident growth in MiB and its candidates lookup
/// time in nanoseconds.
fn open_in_child(path: &std::path::Path) -> (u64, f64) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD, path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut fields = stdout.split_whitespace();
    let resident = fields.next().unwrap().parse().unwrap();
    let lookup = fields.next().unwrap().parse().unwrap();
    (resident, lookup)
}

/// The 1024 guardians whose identities a size's lookups query, picked at
/// random so that lookups miss the cache as they would in production.
fn queries(population: &Population) -> Vec<NameQuery> {
    let guardians = population.guardians;
    (0..1024)
        .map(|i| population.guardian(mix(i ^ guardians) % guardians).query)
        .collect()
}

/// The child: reads and checks the file, prints its `VmRSS` growth, then
/// the candidates lookup time on a fresh heap, as a service that opened
/// the file at start would see it.
fn child(path: &std::ffi::OsStr) {
    let before = rss_mib();
    let snapshot = DirectorySnapshot::from_bytes(std::fs::read(path).unwrap()).unwrap();
    let population = Population::new(snapshot.person_count() as u64);
    let queries = queries(&population);
    black_box(snapshot.guardian_candidates(&queries[0]));
    let resident = rss_mib().saturating_sub(before);
    let lookup = candidates_ns(&snapshot, &queries);
    println!("{resident} {lookup}");
}

criterion_group!(benches, lookups);

fn main() {
    if let Some(path) = std::env::var_os(CHILD) {
        child(&path);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
