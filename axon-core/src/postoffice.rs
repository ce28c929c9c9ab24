//! The postoffice (`Axon.Postoffice`): the linkages one component (or the scheduler itself)
//! made. Linkages belong to their creator: only it removes them, and they are all removed when
//! it ends.
//!
//! A server's postoffice holds several linkages per connection, and one connection's are
//! removed whenever it closes, so records are indexed by linkage and by component: removing a
//! linkage, or every linkage touching one component, costs nothing in the number of others.

// FxHash, not SipHash: the keys are link and component ids, counters of this process that no
// peer chooses, so a hash that resists chosen keys buys nothing here. A server sets up and
// tears down these maps' entries with every connection: with FxHash (here and in `task`) its
// CPU per short-lived connection went from 26.4 to 24.8 us (`echo_load --mode churn`).
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::component::ComponentId;
use crate::linkage::{LinkRecord, Linkage};

#[derive(Default)]
pub(crate) struct Postoffice {
    /// Every record, by linkage id.
    links: HashMap<u64, LinkRecord>,
    /// The linkage ids touching each component (at either end). A set: the owner is often one
    /// end of all of them, so adding or removing one must not scan the others.
    by_component: HashMap<ComponentId, HashSet<u64>>,
}

impl Postoffice {
    pub(crate) fn register(&mut self, rec: LinkRecord) {
        let id = rec.linkage.id;
        for c in [rec.linkage.source.id, rec.linkage.sink.id] {
            self.by_component.entry(c).or_default().insert(id);
        }
        self.links.insert(id, rec);
    }

    fn forget(&mut self, rec: &LinkRecord) {
        for c in [rec.linkage.source.id, rec.linkage.sink.id] {
            if let Some(ids) = self.by_component.get_mut(&c) {
                ids.remove(&rec.linkage.id);
                if ids.is_empty() {
                    self.by_component.remove(&c);
                }
            }
        }
    }

    /// Takes the record of `linkage` out, if this postoffice holds it.
    pub(crate) fn take(&mut self, linkage: &Linkage) -> Option<LinkRecord> {
        let rec = self.links.remove(&linkage.id)?;
        self.forget(&rec);
        Some(rec)
    }

    /// Takes out every record with `id` at either end, oldest first.
    pub(crate) fn take_component(&mut self, id: ComponentId) -> Vec<LinkRecord> {
        let mut ids: Vec<u64> = self.by_component.remove(&id).unwrap_or_default().into_iter().collect();
        ids.sort_unstable();
        let recs: Vec<_> = ids.into_iter().filter_map(|i| self.links.remove(&i)).collect();
        for r in &recs {
            self.forget(r);
        }
        recs
    }

    /// Takes out every record, oldest first.
    pub(crate) fn take_all(&mut self) -> Vec<LinkRecord> {
        self.by_component.clear();
        let mut recs: Vec<_> = self.links.drain().map(|(_, r)| r).collect();
        recs.sort_unstable_by_key(|r| r.linkage.id);
        recs
    }

    /// The linkages held, oldest first.
    pub(crate) fn linkages(&self) -> Vec<Linkage> {
        let mut v: Vec<_> = self.links.values().map(|r| r.linkage.clone()).collect();
        v.sort_unstable_by_key(|l| l.id);
        v
    }
}
