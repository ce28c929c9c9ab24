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

use smallvec::SmallVec;

use crate::component::ComponentId;
use crate::linkage::{LinkRecord, Linkage};

#[derive(Default)]
pub(crate) struct Postoffice {
    /// Every record, by linkage id.
    links: HashMap<u64, LinkRecord>,
    /// The linkage ids touching each component (at either end).
    by_component: HashMap<ComponentId, Ids>,
}

/// How many linkage ids a component's entry keeps in a list before it becomes a set.
const FEW: usize = 8;

/// The linkage ids touching one component. Most components are an end of a few linkages (a
/// server's adapter and handler of five or six each): a list kept inline, with no allocation
/// of its own. The owner is often an end of all of them (a server, of two per connection), so
/// past [`FEW`] they are a set, where adding or removing one does not scan the others.
enum Ids {
    Few(SmallVec<[u64; FEW]>),
    Many(HashSet<u64>),
}

impl Default for Ids {
    fn default() -> Self {
        Ids::Few(SmallVec::new())
    }
}

impl Ids {
    fn insert(&mut self, id: u64) {
        match self {
            Ids::Few(v) if v.contains(&id) => {}
            Ids::Few(v) if v.len() < FEW => v.push(id),
            Ids::Few(v) => {
                let mut set: HashSet<u64> = v.drain(..).collect();
                set.insert(id);
                *self = Ids::Many(set);
            }
            Ids::Many(set) => {
                set.insert(id);
            }
        }
    }

    fn remove(&mut self, id: u64) {
        match self {
            Ids::Few(v) => {
                if let Some(i) = v.iter().position(|&x| x == id) {
                    v.swap_remove(i);
                }
            }
            Ids::Many(set) => {
                set.remove(&id);
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Ids::Few(v) => v.is_empty(),
            Ids::Many(set) => set.is_empty(),
        }
    }

    /// The ids, oldest first (ids are given out in order).
    fn into_sorted(self) -> SmallVec<[u64; FEW]> {
        let mut v = match self {
            Ids::Few(v) => v,
            Ids::Many(set) => set.into_iter().collect(),
        };
        v.sort_unstable();
        v
    }
}

/// The records [`Postoffice::take_component`] takes out: a connection's handler or adapter is
/// an end of five or six.
pub(crate) type Records = SmallVec<[LinkRecord; FEW]>;

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
                ids.remove(rec.linkage.id);
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
    pub(crate) fn take_component(&mut self, id: ComponentId) -> Records {
        let ids = self.by_component.remove(&id).unwrap_or_default().into_sorted();
        let recs: Records = ids.into_iter().filter_map(|i| self.links.remove(&i)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A component's ids stay a list up to `FEW`, then become a set; either way an id is held
    /// once, removals take exactly it, and they come out oldest first.
    #[test]
    fn ids_hold_each_id_once_in_a_list_or_a_set() {
        for n in [0u64, 1, 5, FEW as u64, FEW as u64 + 1, 40] {
            let mut ids = Ids::default();
            for i in (0..n).rev() {
                ids.insert(i);
                ids.insert(i); // a component at both ends of one linkage
            }
            assert_eq!(matches!(ids, Ids::Many(_)), n as usize > FEW, "{n} ids");
            assert_eq!(ids.is_empty(), n == 0);
            ids.remove(2);
            ids.remove(1000);
            let want: Vec<u64> = (0..n).filter(|&i| i != 2).collect();
            assert_eq!(ids.into_sorted().to_vec(), want, "{n} ids");
        }
    }
}
