//! The demo identities: fictitious people, as varied as FranceConnect's own
//! mock identities, whose families are in the [demo directory](crate::demo_directory).
//!
//! **Demo data.** Every name, date and number here is made up; it is public
//! and may appear in logs and pages.
//!
//! Tests find the identity they need by its constant, e.g.
//! [`FC_PARENT_TWO_ACADEMIES`], then read what to answer to the gateway's
//! birth-date challenge from [`DemoIdentity::challenge`].
//!
//! ```
//! use educonnect_sandbox::demo;
//!
//! let angela = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();
//! assert_eq!(angela.challenge.len(), 2);
//! assert!(angela.challenge.iter().all(|c| c.mine));
//! ```

/// Which side of the sandbox an identity logs in through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DemoProvider {
    /// The FranceConnect v2 endpoints (`{base}/api/v2`).
    FranceConnect,
    /// The EduConnect endpoints (`{base}/idp/profile/oidc`).
    EduConnect,
}

/// The identité pivot of a FranceConnect demo identity, as the userinfo
/// sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PivotClaims {
    /// All first names, separated by spaces.
    pub given_name: &'static str,
    /// The birth name, upper case.
    pub family_name: &'static str,
    /// The usage name; `""` for none.
    pub preferred_username: &'static str,
    /// The birth date as the registry holds it: `YYYY-MM-DD`, or presumed
    /// `YYYY-MM-00` / `YYYY-00-00` (sent as `idp_birthdate`, with
    /// `birthdate` completed with `01`).
    pub birthdate: &'static str,
    /// `male` or `female`.
    pub gender: &'static str,
    /// The INSEE commune code; `""` when born abroad.
    pub birthplace: &'static str,
    /// The INSEE country code (`99100` France).
    pub birthcountry: &'static str,
    /// The email.
    pub email: &'static str,
}

/// An EduConnect demo account, as its userinfo describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EduConnectClaims {
    /// `FrEduCtPersonAffiliation`.
    pub affiliations: &'static [&'static str],
    /// `FrEduCtId`.
    pub educonnect_id: &'static str,
    /// `FrEduCtRefId`: `{AAF}<academy>|<x>|<join key>` into the demo
    /// directory.
    pub ref_ids: &'static [&'static str],
    /// `given_name`.
    pub given_name: &'static str,
    /// `family_name`.
    pub family_name: &'static str,
    /// `FrEduCtDateNaissance` (`YYYY-MM-DD`), `""` if not released.
    pub birth_date: &'static str,
    /// A pupil's `FrEduCtEleveINE`, `""` for a guardian.
    pub ine: &'static str,
    /// A pupil's `FrEduCtEleveUAI`, `""` for a guardian.
    pub uai: &'static str,
    /// A pupil's `FrEduCtEleveNiveau`, `""` for a guardian.
    pub level: &'static str,
    /// `FrEduVecteur`, sent when not empty: for a guardian one value per
    /// child, `<profile>|<family name>|<given name>|<pupil id>|<UAI>` with
    /// the child's `sn` and `givenName`, the child's id in the school's own
    /// system (its `ENTEleveStructRattachId` in the demo files) and the
    /// UAI of its school. The profile digit is the legacy ATEN one (`1` a
    /// guardian of a primary-school child, `2` of a secondary one): what
    /// EduConnect really sends is not published, and the library keeps the
    /// digit without reading it. Empty for the demo pupil.
    pub vectors: &'static [&'static str],
}

/// What a demo identity says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoClaims {
    /// A FranceConnect identity.
    FranceConnect(PivotClaims),
    /// An EduConnect account.
    EduConnect(EduConnectClaims),
}

/// One child shown in the gateway's birth-date challenge to a FranceConnect
/// parent, and the right answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChallengeAnswer {
    /// The initial the challenge shows (first letter of the first name).
    pub initial: &'static str,
    /// The school's name the challenge shows.
    pub school: &'static str,
    /// Day of birth (any day fits when the school's date is presumed).
    pub day: u8,
    /// Month of birth.
    pub month: u8,
    /// Year of birth.
    pub year: u16,
    /// `false` for a homonym's child: tick "Ce n'est pas mon enfant".
    pub mine: bool,
}

/// A demo identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DemoIdentity {
    /// A stable id, used in the login form and by tests.
    pub id: &'static str,
    /// The name shown on the login page.
    pub label: &'static str,
    /// What this identity exercises (English, for developers).
    pub exercises: &'static str,
    /// The claims.
    pub claims: DemoClaims,
    /// For FranceConnect parents: every child the gateway's challenge shows
    /// them, with the answer. Empty for EduConnect accounts (no challenge)
    /// and for parents without children in the directory.
    pub challenge: &'static [ChallengeAnswer],
    /// The join keys of the directory records of this person's children
    /// (what the family claims should list once logged in).
    pub children: &'static [&'static str],
}

impl DemoIdentity {
    /// Which side of the sandbox this identity logs in through.
    pub fn provider(&self) -> DemoProvider {
        match self.claims {
            DemoClaims::FranceConnect(_) => DemoProvider::FranceConnect,
            DemoClaims::EduConnect(_) => DemoProvider::EduConnect,
        }
    }
}

/// FranceConnect: Angela Claire Louise DUBOIS (FranceConnect's own `test`
/// identity), mother of Éloïse in Rennes and of Noé in Versailles.
pub const FC_PARENT_TWO_ACADEMIES: &str = "fc-angela-dubois";
/// FranceConnect: Jean-Pierre MARTIN, father of Lucas (Rennes); a homonym
/// in Versailles is father of Chloé.
pub const FC_PARENT_WITH_HOMONYM: &str = "fc-jean-pierre-martin";
/// FranceConnect: Marie-Hélène LEFÈVRE, usage name GARNIER, mother of Zoé
/// and Hugo in the SIECLE school.
pub const FC_PARENT_USAGE_NAME: &str = "fc-marie-helene-lefevre";
/// FranceConnect: Karim Mohamed BENALI, born in Algeria (empty
/// birthplace), father of Yasmine in Versailles.
pub const FC_PARENT_BORN_ABROAD: &str = "fc-karim-benali";
/// FranceConnect: Awa DIALLO, presumed birth date `1992-11-00`, born in
/// Senegal, no child in the directory.
pub const FC_PARENT_WITHOUT_CHILDREN: &str = "fc-awa-diallo";
/// FranceConnect: Geneviève CŒURDEVEY, Maëlys's grandmother: linked to
/// her in the school's records (a contact, code 38), without legal
/// authority: she reads Maëlys's records only under
/// `ActForPolicy::FamilyMembers` or wider.
pub const FC_GRANDPARENT_WITHOUT_AUTHORITY: &str = "fc-genevieve-coeurdevey";
/// FranceConnect: Jean Marc DUPONT, father of Léa (Rennes), with legal
/// authority.
pub const FC_FATHER_WITH_NAMESAKE: &str = "fc-jean-marc-dupont";
/// FranceConnect: Jean Louis DUPONT, Léa's grandfather: the same usual name
/// as her father, linked to her as a contact without legal authority, and
/// he knows her birth date. His rights are his record's, never the
/// father's.
pub const FC_GRANDFATHER_NAMESAKE: &str = "fc-jean-louis-dupont";
/// EduConnect: Angela DUBOIS's parent account, with `{AAF}` ids in Rennes
/// and Versailles.
pub const EC_PARENT_TWO_ACADEMIES: &str = "ec-angela-dubois";
/// EduConnect: the pupil Maëlys CŒURDEVEY, Collège Jean Moulin
/// (Versailles).
pub const EC_PUPIL: &str = "ec-maelys-coeurdevey";
/// EduConnect: Thomas CŒURDEVEY, Maëlys's father, one academy.
pub const EC_PARENT_ONE_CHILD: &str = "ec-thomas-coeurdevey";
/// EduConnect: Karim BENALI's parent account, with no `{AAF}` id: Yasmine
/// is found by his `FrEduVecteur` (her school and `ELEVE_ID`).
pub const EC_PARENT_VECTOR_ONLY: &str = "ec-karim-benali";

const COLLEGE_RENNES: &str = "Collège Anne de Bretagne";
const PRIMARY_RENNES: &str = "École élémentaire Les Korrigans";
const COLLEGE_VERSAILLES: &str = "Collège Jean Moulin";
const PRIMARY_VERSAILLES: &str = "École élémentaire Les Tilleuls";

const fn answer(
    initial: &'static str,
    school: &'static str,
    (day, month, year): (u8, u8, u16),
    mine: bool,
) -> ChallengeAnswer {
    ChallengeAnswer {
        initial,
        school,
        day,
        month,
        year,
        mine,
    }
}

/// Every demo identity, FranceConnect first.
pub static IDENTITIES: &[DemoIdentity] = &[
    DemoIdentity {
        id: FC_PARENT_TWO_ACADEMIES,
        label: "Angela Claire Louise DUBOIS",
        exercises: "compound first names; a parent with children in two academies (Rennes, Versailles)",
        claims: DemoClaims::FranceConnect(PivotClaims {
            given_name: "Angela Claire Louise",
            family_name: "DUBOIS",
            preferred_username: "",
            birthdate: "1982-08-24",
            gender: "female",
            birthplace: "75107",
            birthcountry: "99100",
            email: "angela.dubois@demo.invalid",
        }),
        challenge: &[
            answer("É", COLLEGE_RENNES, (27, 3, 2012), true),
            answer("N", PRIMARY_VERSAILLES, (5, 9, 2016), true),
        ],
        children: &["E14-0001", "E25-0001"],
    },
    DemoIdentity {
        id: FC_PARENT_WITH_HOMONYM,
        label: "Jean-Pierre MARTIN",
        exercises: "a homonym: two different guardians named Jean-Pierre MARTIN, told apart by their children's birth dates",
        claims: DemoClaims::FranceConnect(PivotClaims {
            given_name: "Jean-Pierre",
            family_name: "MARTIN",
            preferred_username: "",
            birthdate: "1979-02-11",
            gender: "male",
            birthplace: "35238",
            birthcountry: "99100",
            email: "jean-pierre.martin@demo.invalid",
        }),
        challenge: &[
            answer("L", PRIMARY_RENNES, (19, 6, 2014), true),
            answer("C", COLLEGE_VERSAILLES, (2, 11, 2011), false),
        ],
        children: &["E14-0002"],
    },
    DemoIdentity {
        id: FC_PARENT_USAGE_NAME,
        label: "Marie-Hélène LEFÈVRE (nom d'usage GARNIER)",
        exercises: "a usage name different from the birth name; accents; children in a SIECLE school, one with a presumed birth date (year only)",
        claims: DemoClaims::FranceConnect(PivotClaims {
            given_name: "Marie-Hélène",
            family_name: "LEFÈVRE",
            preferred_username: "GARNIER",
            birthdate: "1984-04-30",
            gender: "female",
            birthplace: "59350",
            birthcountry: "99100",
            email: "mh.garnier@demo.invalid",
        }),
        challenge: &[
            answer(
                "Z",
                crate::directory::DEMO_SIECLE_SCHOOL,
                (15, 1, 2010),
                true,
            ),
            answer(
                "H",
                crate::directory::DEMO_SIECLE_SCHOOL,
                (1, 1, 2013),
                true,
            ),
        ],
        children: &["1001", "1002"],
    },
    DemoIdentity {
        id: FC_PARENT_BORN_ABROAD,
        label: "Karim Mohamed BENALI",
        exercises: "born abroad (Algeria): empty birthplace, birthcountry 99352; the school knows only his first first name",
        claims: DemoClaims::FranceConnect(PivotClaims {
            given_name: "Karim Mohamed",
            family_name: "BENALI",
            preferred_username: "",
            birthdate: "1980-12-03",
            gender: "male",
            birthplace: "",
            birthcountry: "99352",
            email: "karim.benali@demo.invalid",
        }),
        challenge: &[answer("Y", COLLEGE_VERSAILLES, (20, 5, 2013), true)],
        children: &["E25-0003"],
    },
    DemoIdentity {
        id: FC_PARENT_WITHOUT_CHILDREN,
        label: "Awa DIALLO",
        exercises: "a presumed birth date (1992-11-00), born in Senegal; no child in the directory",
        claims: DemoClaims::FranceConnect(PivotClaims {
            given_name: "Awa",
            family_name: "DIALLO",
            preferred_username: "",
            birthdate: "1992-11-00",
            gender: "female",
            birthplace: "",
            birthcountry: "99341",
            email: "awa.diallo@demo.invalid",
        }),
        challenge: &[],
        children: &[],
    },
    DemoIdentity {
        id: FC_GRANDPARENT_WITHOUT_AUTHORITY,
        label: "Geneviève CŒURDEVEY",
        exercises: "a grandparent linked to a pupil without legal authority: she may follow Maëlys where the service admits family members (ActForPolicy::FamilyMembers), never sign for her; œ in the name",
        claims: DemoClaims::FranceConnect(PivotClaims {
            given_name: "Geneviève Marie",
            family_name: "CŒURDEVEY",
            preferred_username: "",
            birthdate: "1956-07-09",
            gender: "female",
            birthplace: "78646",
            birthcountry: "99100",
            email: "genevieve.coeurdevey@demo.invalid",
        }),
        challenge: &[answer("M", COLLEGE_VERSAILLES, (14, 2, 2012), true)],
        children: &["E25-0004"],
    },
    DemoIdentity {
        id: FC_FATHER_WITH_NAMESAKE,
        label: "Jean Marc DUPONT",
        exercises: "a father whose own father has the same usual name (Jean DUPONT) and a link to the same child",
        claims: DemoClaims::FranceConnect(PivotClaims {
            given_name: "Jean Marc",
            family_name: "DUPONT",
            preferred_username: "",
            birthdate: "1981-03-30",
            gender: "male",
            birthplace: "35238",
            birthcountry: "99100",
            email: "jean.dupont@demo.invalid",
        }),
        challenge: &[answer("L", COLLEGE_RENNES, (12, 4, 2013), true)],
        children: &["E14-0003"],
    },
    DemoIdentity {
        id: FC_GRANDFATHER_NAMESAKE,
        label: "Jean Louis DUPONT",
        exercises: "the father's namesake who knows the child's birth date: linked through his own record only, without legal authority",
        claims: DemoClaims::FranceConnect(PivotClaims {
            given_name: "Jean Louis",
            family_name: "DUPONT",
            preferred_username: "",
            birthdate: "1948-10-02",
            gender: "male",
            birthplace: "35238",
            birthcountry: "99100",
            email: "jean.dupont.1948@demo.invalid",
        }),
        challenge: &[answer("L", COLLEGE_RENNES, (12, 4, 2013), true)],
        children: &["E14-0003"],
    },
    DemoIdentity {
        id: EC_PARENT_TWO_ACADEMIES,
        label: "Angela DUBOIS (responsable)",
        exercises: "an EduConnect guardian with {AAF} ids in two academies; children found in both",
        claims: DemoClaims::EduConnect(EduConnectClaims {
            affiliations: &["resp1d", "resp2d"],
            educonnect_id: "ECT-DEMO-0001",
            ref_ids: &["{AAF}14||P14-0001", "{AAF}25||P25-0001"],
            given_name: "Angela",
            family_name: "DUBOIS",
            birth_date: "",
            ine: "",
            uai: "",
            level: "",
            // Éloïse's school-local id is her SIECLE `ELEVE_ID`, which the
            // AAF export carries; Noé is in primary school, whose export
            // (ONDE) carries no such id: the directory cannot find him by
            // his vector, only by the `{AAF}` id.
            vectors: &[
                "2|DUBOIS|Éloïse|104211|0350710G",
                "1|DUBOIS|Noé|ONDE-9201-0042|0920131T",
            ],
        }),
        challenge: &[],
        children: &["E14-0001", "E25-0001"],
    },
    DemoIdentity {
        id: EC_PUPIL,
        label: "Maëlys CŒURDEVEY (élève)",
        exercises: "an EduConnect pupil: INE, UAI, level; œ in the name",
        claims: DemoClaims::EduConnect(EduConnectClaims {
            affiliations: &["eleve2d"],
            educonnect_id: "ECT-DEMO-0002",
            ref_ids: &["{AAF}25||E25-0004"],
            given_name: "Maëlys",
            family_name: "CŒURDEVEY",
            birth_date: "2012-02-14",
            ine: "120987654FK",
            uai: "0780422K",
            level: "2113",
            vectors: &[],
        }),
        challenge: &[],
        children: &[],
    },
    DemoIdentity {
        id: EC_PARENT_ONE_CHILD,
        label: "Thomas CŒURDEVEY (responsable)",
        exercises: "an EduConnect guardian in one academy; his mother also has a link to the child, without legal authority",
        claims: DemoClaims::EduConnect(EduConnectClaims {
            affiliations: &["resp2d"],
            educonnect_id: "ECT-DEMO-0003",
            ref_ids: &["{AAF}25||P25-0004"],
            given_name: "Thomas",
            family_name: "CŒURDEVEY",
            birth_date: "",
            ine: "",
            uai: "",
            level: "",
            vectors: &["2|CŒURDEVEY|Maëlys|208977|0780422K"],
        }),
        challenge: &[],
        children: &["E25-0004"],
    },
    DemoIdentity {
        id: EC_PARENT_VECTOR_ONLY,
        label: "Karim BENALI (responsable)",
        exercises: "an EduConnect guardian without {AAF} ids: his child is found by the FrEduVecteur (school and ELEVE_ID), his link by his name among the child's guardians",
        claims: DemoClaims::EduConnect(EduConnectClaims {
            affiliations: &["resp2d"],
            educonnect_id: "ECT-DEMO-0004",
            ref_ids: &[],
            given_name: "Karim",
            family_name: "BENALI",
            birth_date: "",
            ine: "",
            uai: "",
            level: "",
            vectors: &["2|BENALI|Yasmine|209140|0780422K"],
        }),
        challenge: &[],
        children: &["E25-0003"],
    },
];

/// The demo identity `id`.
pub fn identity(id: &str) -> Option<&'static DemoIdentity> {
    IDENTITIES.iter().find(|i| i.id == id)
}

/// The demo identities of one side of the sandbox.
pub fn of(provider: DemoProvider) -> impl Iterator<Item = &'static DemoIdentity> {
    IDENTITIES.iter().filter(move |i| i.provider() == provider)
}
