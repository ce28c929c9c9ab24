//! Linkages (`Axon.Linkage`): handles on links between boxes, and the options a link is made
//! with.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::boxes::AnyNode;
use crate::component::{ComponentId, ComponentRef};
use crate::error::{Direction, LinkError};
use crate::scheduler::Shared;
use crate::task::write_name;

/// Which boxes a link joins (Axon's `passthrough` 0, 1 or 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Passthrough {
    /// 0: the source's outbox to the sink's inbox. The normal link.
    #[default]
    Normal,
    /// 1: the source's inbox to the sink's inbox — a parent's inbox into a child's.
    Inbound,
    /// 2: the source's outbox to the sink's outbox — a child's outbox out of its parent's.
    Outbound,
}

impl Passthrough {
    /// The sides of the source and sink boxes.
    pub fn directions(self) -> (Direction, Direction) {
        match self {
            Passthrough::Normal => (Direction::Outbox, Direction::Inbox),
            Passthrough::Inbound => (Direction::Inbox, Direction::Inbox),
            Passthrough::Outbound => (Direction::Outbox, Direction::Outbox),
        }
    }
}

impl TryFrom<u8> for Passthrough {
    type Error = LinkError;

    /// # Errors
    /// [`LinkError::BadPassthrough`] for anything but 0, 1 or 2.
    fn try_from(v: u8) -> Result<Self, LinkError> {
        match v {
            0 => Ok(Passthrough::Normal),
            1 => Ok(Passthrough::Inbound),
            2 => Ok(Passthrough::Outbound),
            n => Err(LinkError::BadPassthrough(n)),
        }
    }
}

impl From<Passthrough> for u8 {
    fn from(p: Passthrough) -> u8 {
        match p {
            Passthrough::Normal => 0,
            Passthrough::Inbound => 1,
            Passthrough::Outbound => 2,
        }
    }
}

/// How to make a link: passthrough and an optional size limit for the sink box.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkOptions {
    pub(crate) passthrough: Passthrough,
    pub(crate) pipewidth: Option<usize>,
}

impl LinkOptions {
    /// A normal link (passthrough 0, no size change).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the passthrough kind.
    pub fn passthrough(mut self, p: Passthrough) -> Self {
        self.passthrough = p;
        self
    }

    /// Sets the sink box's size limit to `n` (Axon's `pipewidth`). As in Axon the limit belongs
    /// to that box's own storage: it has no effect while the box is linked onward, nor when the
    /// sink is an outbox (passthrough 2).
    pub fn pipewidth(mut self, n: usize) -> Self {
        self.pipewidth = Some(n);
        self
    }

    /// A size limit of 1 on the sink box (Axon's `synchronous=True`).
    pub fn synchronous(self) -> Self {
        self.pipewidth(1)
    }
}

/// A handle on one link, returned by `link` (Axon's `linkage`). It names both ends; pass it to
/// `unlink` to remove the link. Only the component (or scheduler) that made it can remove it.
///
/// Two handles are equal when they name the same link (each link made gets a new id).
#[derive(Clone)]
pub struct Linkage {
    pub(crate) id: u64,
    pub(crate) source: End,
    pub(crate) sink: End,
    pub(crate) passthrough: Passthrough,
}

/// One end of a link. The component's name is made only when it is shown (a server makes
/// several links per connection, most never shown), and a declared box's name is borrowed from
/// its declaration.
#[derive(Clone)]
pub(crate) struct End {
    pub(crate) id: ComponentId,
    type_name: fn() -> &'static str,
    boxname: Cow<'static, str>,
}

impl End {
    fn new(c: &ComponentRef, boxname: Cow<'static, str>) -> End {
        End { id: c.id(), type_name: c.task.type_name, boxname }
    }
}

impl PartialEq for Linkage {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Linkage {}

impl Hash for Linkage {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl Linkage {
    /// The link from `src`'s box to `dst`'s; the box names are the nodes' own.
    pub(crate) fn new(
        from: &ComponentRef,
        src: &Rc<dyn AnyNode>,
        to: &ComponentRef,
        dst: &Rc<dyn AnyNode>,
        passthrough: Passthrough,
    ) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Linkage {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            source: End::new(from, src.name()),
            sink: End::new(to, dst.name()),
            passthrough,
        }
    }

    /// The source component and box (Axon's `sourcePair`).
    #[doc(alias = "sourcePair")]
    pub fn source_pair(&self) -> (ComponentId, &str) {
        (self.source.id, &self.source.boxname)
    }

    /// The sink component and box (Axon's `sinkPair`).
    #[doc(alias = "sinkPair")]
    pub fn sink_pair(&self) -> (ComponentId, &str) {
        (self.sink.id, &self.sink.boxname)
    }

    /// The passthrough kind.
    pub fn passthrough(&self) -> Passthrough {
        self.passthrough
    }
}

impl fmt::Display for Linkage {
    /// Axon's format: `Link( source:[name,box], sink:[name,box] )`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Link( source:[")?;
        write_name(f, self.source.type_name, self.source.id)?;
        write!(f, ",{}], sink:[", self.source.boxname)?;
        write_name(f, self.sink.type_name, self.sink.id)?;
        write!(f, ",{}] )", self.sink.boxname)
    }
}

impl fmt::Debug for Linkage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// A made link: the handle plus the two box nodes it joins.
pub(crate) struct LinkRecord {
    pub(crate) linkage: Linkage,
    pub(crate) src: Rc<dyn AnyNode>,
    pub(crate) dst: Rc<dyn AnyNode>,
}

impl LinkRecord {
    pub(crate) fn undo(self) {
        self.dst.remove_source(self.src);
    }
}

/// Makes the link `from → to` in the box graph.
pub(crate) fn make(
    from: (&ComponentRef, &str),
    to: (&ComponentRef, &str),
    opts: LinkOptions,
) -> Result<LinkRecord, LinkError> {
    let (sdir, ddir) = opts.passthrough.directions();
    let unknown = |error| LinkError::UnknownBox {
        source_box: from.0.box_name(sdir, from.1),
        sink_box: to.0.box_name(ddir, to.1),
        error,
    };
    let src = from.0.task.lookup(sdir, from.1).map_err(unknown)?;
    let dst = to.0.task.lookup(ddir, to.1).map_err(unknown)?;
    if src.msg_type() != dst.msg_type() {
        return Err(LinkError::TypeMismatch {
            source_box: src.box_name(),
            source_type: src.msg_type_name(),
            sink_box: dst.box_name(),
            sink_type: dst.msg_type_name(),
        });
    }
    dst.clone().add_source(src.clone())?;
    if let Some(n) = opts.pipewidth {
        dst.set_capacity(Some(n));
    }
    Ok(LinkRecord { linkage: Linkage::new(from.0, &src, to.0, &dst, opts.passthrough), src, dst })
}

/// Makes a link and hands its record to `register` (the owner's postoffice).
pub(crate) fn link_into(
    home: &Rc<Shared>,
    from: (&ComponentRef, &str),
    to: (&ComponentRef, &str),
    opts: LinkOptions,
    register: impl FnOnce(LinkRecord),
) -> Result<Linkage, LinkError> {
    // Both ends on the linking party's scheduler; the error names the end that is not.
    for end in [from.0, to.0] {
        if !Rc::ptr_eq(&end.task.shared, home) {
            return Err(LinkError::ForeignComponent(end.name()));
        }
    }
    let rec = make(from, to, opts)?;
    let l = rec.linkage.clone();
    register(rec);
    Ok(l)
}

/// Removes a linkage whose record `take` finds in the owner's postoffice; the record is taken
/// out before the link is undone, so no postoffice is borrowed while components are woken.
pub(crate) fn unlink_from(
    linkage: &Linkage,
    take: impl FnOnce(&Linkage) -> Option<LinkRecord>,
) -> Result<(), LinkError> {
    match take(linkage) {
        Some(r) => {
            r.undo();
            Ok(())
        }
        None => Err(LinkError::NotOwner(linkage.to_string())),
    }
}
