//! Directory lookups at 10 thousand, 1 million and 10 million guardians:
//! the time per lookup must stay flat (every lookup is a hash lookup).
//!
//! `cargo bench -p educonnect-core --bench directory`
//! (`EDUCONNECT_BENCH_10M=1` adds the 10 million size: 7.5 million pupils
//! and 15 million links more, about 10 GiB of memory and two minutes to
//! build; `EDUCONNECT_BENCH_SIZES=10000000` runs that size alone).
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
//! Build time and memory (resident set growth, from `/proc/self/status`)
//! are printed for each size before its measurements.
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

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use educonnect_core::directory::{
    Directory, DirectoryBuilder, LegalRank, Link, MemoryDirectory, NameQuery, PersonId, PhoneKind,
    Pupil, PupilId, RelatedPerson, Relationship, School, SourceId,
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

/// Resident set size of this process, in MiB (Linux), or 0.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
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

/// 10 thousand and 1 million guardians; 10 million with
/// `EDUCONNECT_BENCH_10M=1`; or the comma-separated list in
/// `EDUCONNECT_BENCH_SIZES` (e.g. `10000000` to look at one size alone).
fn sizes() -> Vec<u64> {
    if let Ok(list) = std::env::var("EDUCONNECT_BENCH_SIZES") {
        return list
            .split(',')
            .map(|n| n.trim().parse().expect("EDUCONNECT_BENCH_SIZES: numbers"))
            .collect();
    }
    let mut sizes = vec![10_000, 1_000_000];
    if std::env::var_os("EDUCONNECT_BENCH_10M").is_some_and(|v| v == "1") {
        sizes.push(10_000_000);
    }
    sizes
}

fn lookups(c: &mut Criterion) {
    let mut group = c.benchmark_group("directory");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for guardians in sizes() {
        let population = Population::new(guardians);
        let before = rss_mib();
        let (memory, filled, built) = population.build();
        let after = rss_mib();
        let snapshot = memory.snapshot();
        eprintln!(
            "directory of {guardians} guardians: {} pupils, {} links; records generated and \
             added in {:.2?}, indexes built in {:.2?}; resident memory +{} MiB ({} MiB total)",
            snapshot.pupil_count(),
            snapshot.link_count(),
            filled,
            built,
            after.saturating_sub(before),
            after,
        );
        drop(snapshot);
        let directory: Arc<dyn Directory> = Arc::new(memory);

        // 1024 guardians picked at random, so that lookups miss the cache as
        // they would in production.
        let picked: Vec<u64> = (0..1024).map(|i| mix(i ^ guardians) % guardians).collect();
        let queries: Vec<NameQuery> = picked
            .iter()
            .map(|&g| population.guardian(g).query)
            .collect();
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
}

criterion_group!(benches, lookups);
criterion_main!(benches);
