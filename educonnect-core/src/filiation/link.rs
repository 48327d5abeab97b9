//! Verified links, kept durably for a FranceConnect `sub`: which guardian
//! records the person was confirmed as, and for which pupils each.
//!
//! A link is a statement about the directory as it was when the parent
//! answered. The directory changes (a guardian loses legal authority, a
//! record is removed, a school reports a mistake), so a link is checked
//! against the directory again each time family claims are made from it
//! (at login, and when a session is refreshed): a pupil no longer linked to
//! the record is dropped from the link, a record the directory no longer
//! holds is dropped whole, and legal authority is always read from the
//! directory as it is now. A school's request to undo a link goes through
//! [`revoke_person`]: the record is then never linked to that person again
//! by the challenge.
//!
//! Records: `fc-link:{sha256(sub)}` (the link) and
//! `filiation-person:{person id}` (which `sub`s are linked to a record, for
//! revocation by record). Neither holds a name or a birth date.

use serde::{Deserialize, Serialize};

use super::Verification;
use crate::directory::{PersonId, PupilId};
use crate::store::{Store, StoreError};

/// One guardian record the person was confirmed as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LinkedRecord {
    pub(crate) person: PersonId,
    /// The pupils whose dates confirmed it: only these are granted.
    pub(crate) pupils: Vec<PupilId>,
    pub(crate) verification: Verification,
    /// Unix seconds.
    pub(crate) verified_at: i64,
    /// Pupils added to the record later that the person said were not
    /// theirs: never asked about again.
    #[serde(default)]
    pub(crate) declined: Vec<PupilId>,
    /// The export the answers were checked against
    /// ([`Directory::export_of`](crate::directory::Directory::export_of)),
    /// when the directory names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) export: Option<String>,
}

/// The verified link of one FranceConnect `sub`.
///
/// Links written before records were judged one by one (a `persons` list
/// whose rights were merged) do not read as this type: the parent is asked
/// again, which is the point of the change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredLink {
    pub(crate) records: Vec<LinkedRecord>,
    /// Records a school revoked for this person: never confirmed again.
    #[serde(default)]
    pub(crate) revoked: Vec<PersonId>,
    /// When each record of `revoked` was revoked (Unix seconds), for the
    /// audit trail; links stored before this was kept have none.
    #[serde(default)]
    pub(crate) revoked_at: Vec<(PersonId, i64)>,
}

impl StoredLink {
    /// Adds the record `record.person`, or adds its pupils to the record
    /// already linked (a child the school added since, confirmed on its
    /// own). A record confirmed in two ways keeps the weaker one.
    pub(crate) fn confirm(&mut self, record: LinkedRecord) {
        match self.records.iter_mut().find(|r| r.person == record.person) {
            Some(linked) => {
                for pupil in record.pupils {
                    if !linked.pupils.contains(&pupil) {
                        linked.pupils.push(pupil);
                    }
                }
                if linked.verification != record.verification {
                    linked.verification = Verification::BirthDates;
                }
            }
            None => self.records.push(record),
        }
    }
}

pub(crate) fn link_key(sub_hash: &str) -> String {
    format!("fc-link:{sub_hash}")
}

fn person_key(person: &PersonId) -> String {
    format!("filiation-person:{person}")
}

/// The link of `sub_hash`, if one was stored and reads.
pub(crate) async fn load(
    store: &dyn Store,
    sub_hash: &str,
) -> Result<Option<StoredLink>, StoreError> {
    let Some(bytes) = store.get_record(&link_key(sub_hash)).await? else {
        return Ok(None);
    };
    match serde_json::from_slice::<StoredLink>(&bytes) {
        Ok(link) => Ok(Some(link)),
        Err(_) => {
            tracing::warn!("unreadable or outdated verified link, asking again");
            Ok(None)
        }
    }
}

/// Stores the link of `sub_hash`, and indexes it under each record.
pub(crate) async fn save(
    store: &dyn Store,
    sub_hash: &str,
    link: &StoredLink,
) -> Result<(), StoreError> {
    let value = serde_json::to_vec(link).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
    store.put_record(&link_key(sub_hash), value).await?;
    for record in &link.records {
        let key = person_key(&record.person);
        let mut subs = read_index(store, &key).await?;
        if !subs.iter().any(|s| s == sub_hash) {
            subs.push(sub_hash.to_owned());
            let value =
                serde_json::to_vec(&subs).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
            store.put_record(&key, value).await?;
        }
    }
    Ok(())
}

async fn read_index(store: &dyn Store, key: &str) -> Result<Vec<String>, StoreError> {
    Ok(store
        .get_record(key)
        .await?
        .and_then(|bytes| serde_json::from_slice::<Vec<String>>(&bytes).ok())
        .unwrap_or_default())
}

/// Undoes every link to the guardian record `person` (a school's request):
/// the record is dropped from each person's link and marked revoked, so
/// the challenge never confirms it for them again. Sessions lose the
/// record's children at their next refresh. Returns how many persons were
/// linked to it.
pub(crate) async fn revoke_person(
    store: &dyn Store,
    person: &PersonId,
    now: i64,
) -> Result<usize, StoreError> {
    let key = person_key(person);
    let subs = read_index(store, &key).await?;
    for sub_hash in &subs {
        if let Some(mut link) = load(store, sub_hash).await? {
            link.records.retain(|r| &r.person != person);
            if !link.revoked.contains(person) {
                link.revoked.push(person.clone());
                link.revoked_at.push((person.clone(), now));
            }
            let value =
                serde_json::to_vec(&link).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
            store.put_record(&link_key(sub_hash), value).await?;
        }
    }
    store.delete_record(&key).await?;
    Ok(subs.len())
}

/// Forgets the link of `sub_hash` entirely (the person's own request, or
/// an operator's): the next login asks the challenge again. Records revoked
/// by a school stay revoked.
pub(crate) async fn forget(store: &dyn Store, sub_hash: &str) -> Result<bool, StoreError> {
    let Some(link) = load(store, sub_hash).await? else {
        return store.delete_record(&link_key(sub_hash)).await;
    };
    if link.revoked.is_empty() {
        return store.delete_record(&link_key(sub_hash)).await;
    }
    let kept = StoredLink {
        records: Vec::new(),
        revoked: link.revoked,
        revoked_at: link.revoked_at,
    };
    let value = serde_json::to_vec(&kept).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
    store.put_record(&link_key(sub_hash), value).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::SourceId;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn a_revocation_is_kept_with_its_time_and_survives_forgetting() {
        let store = MemoryStore::new();
        let source = SourceId::aaf("14").unwrap();
        let person = PersonId::new(source.clone(), "P1").unwrap();
        let link = StoredLink {
            records: vec![LinkedRecord {
                person: person.clone(),
                pupils: vec![PupilId::new(source, "E1").unwrap()],
                verification: Verification::BirthDates,
                verified_at: 1_000,
                declined: Vec::new(),
                export: None,
            }],
            ..StoredLink::default()
        };
        save(&store, "sub-hash", &link).await.unwrap();
        assert_eq!(revoke_person(&store, &person, 2_000).await.unwrap(), 1);
        let revoked = load(&store, "sub-hash").await.unwrap().unwrap();
        assert!(revoked.records.is_empty());
        assert_eq!(revoked.revoked, std::slice::from_ref(&person));
        assert_eq!(revoked.revoked_at, [(person.clone(), 2_000)]);
        assert!(forget(&store, "sub-hash").await.unwrap());
        let forgotten = load(&store, "sub-hash").await.unwrap().unwrap();
        assert_eq!(forgotten.revoked_at, [(person, 2_000)]);
    }
}
