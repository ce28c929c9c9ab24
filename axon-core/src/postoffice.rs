//! The postoffice (`Axon.Postoffice`): the linkages one component (or the scheduler itself)
//! made. Linkages belong to their creator: only it removes them, and they are all removed when
//! it ends.

use crate::component::ComponentId;
use crate::linkage::{LinkRecord, Linkage};

#[derive(Default)]
pub(crate) struct Postoffice {
    links: Vec<LinkRecord>,
}

impl Postoffice {
    pub(crate) fn register(&mut self, rec: LinkRecord) {
        self.links.push(rec);
    }

    /// Takes the record of `linkage` out, if this postoffice holds it.
    pub(crate) fn take(&mut self, linkage: &Linkage) -> Option<LinkRecord> {
        let i = self.links.iter().position(|r| r.linkage.id == linkage.id)?;
        Some(self.links.remove(i))
    }

    /// Takes out every record with `id` at either end.
    pub(crate) fn take_component(&mut self, id: ComponentId) -> Vec<LinkRecord> {
        let (gone, kept) = std::mem::take(&mut self.links)
            .into_iter()
            .partition(|r| r.linkage.source.0 == id || r.linkage.sink.0 == id);
        self.links = kept;
        gone
    }

    pub(crate) fn take_all(&mut self) -> Vec<LinkRecord> {
        std::mem::take(&mut self.links)
    }

    pub(crate) fn linkages(&self) -> Vec<Linkage> {
        self.links.iter().map(|r| r.linkage.clone()).collect()
    }
}
