//! The message queue inside an inbox's storage: its front message held in place, the rest in a
//! `VecDeque`, both in `UnsafeCell`s, so that a push or a pop costs no borrow-flag bookkeeping.
//! This and [`prefetch`](crate::prefetch) are the crate's only `unsafe` code.
//!
//! # Layout
//! A message pushed into an empty queue goes into [`Queue`]'s own `front` slot, next to the
//! length; one pushed behind others goes into the `VecDeque` and its heap buffer. A box that
//! holds at most one message at a time — the common case between components that keep up, a
//! request and its reply — never touches the buffer: its push and its pop read and write only
//! the header, which [`Storage`](crate::boxes) lays out in its first cache line. (With every
//! message in the `VecDeque` each delivery also touched the buffer's slot, a second line per box
//! that moved round the ring; at a thousand connections those lines did not stay in the cache.)
//! Invariant: a message in `front` is older than every message in the `VecDeque`, since it was
//! pushed when the queue was empty and `front` is filled again only once the queue is empty
//! again; so a pop takes `front` if it holds one and the `VecDeque`'s first otherwise, and no
//! message ever moves from one to the other.
//!
//! # Soundness
//! Every method of [`Queue`] makes a `&mut` (or a `&`) from a cell and lets go of it before
//! returning, and while it holds it runs only `Option` and `VecDeque` code that can run **no
//! code of the crate's users**: it never drops a `T` (elements are only moved in and out; an
//! assignment writes only over a `None`), never wakes a component, takes no callback, and never
//! hands out a reference into the queue. A `T`'s `Drop` is the one way user code could run
//! inside a queue operation and come back to the same queue (say, a message holding an `Outbox`
//! that sends into it); no method drops a `T` while a reference lives:
//! - [`push_back`](Queue::push_back) first makes room if the `VecDeque` is full (the only step
//!   that can fail: capacity overflow panics) in a call that holds no `T`, so if it panics the
//!   message is dropped by the unwinding caller after the reference is gone; the push itself then
//!   cannot grow or fail.
//! - [`pop_front`](Queue::pop_front) moves one message out, from `front` or the `VecDeque`.
//! - [`append`](Queue::append) makes room for all of the caller's `VecDeque` first (which keeps
//!   them if that panics), then moves them; nothing is dropped inside.
//! - [`take_all`](Queue::take_all) moves the whole contents out, so a box emptied in bulk (a
//!   component ending, messages migrating on a link) drops them after the borrows have ended;
//!   it puts the front message back at the head of the result outside them too, since that may
//!   allocate.
//! - Dropping the `Queue` drops its messages through `&mut self`: nobody else can reach it then.
//!
//! So no two references made from one cell ever overlap, on one thread, and the type is `!Sync`
//! (`UnsafeCell`), so no other thread can reach it either. (Growing the queue calls the global
//! allocator while the reference lives; an allocator that sent messages through boxes would
//! break this, as it would break any container without a borrow flag. None here does.)
//!
//! # Checking it with Miri
//! The unit tests below exercise every method, the drop paths with `Drop` types (`Rc`, `String`)
//! and the re-entrancy the API rules out. Run them under Miri (nightly toolchain with the `miri`
//! component; a separate target directory keeps Miri's artifacts apart):
//!
//! ```text
//! CARGO_TARGET_DIR=target-miri cargo +nightly miri test -p axon-core --lib queue
//! ```
#![allow(unsafe_code)]

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::fmt;

/// A FIFO queue that can be changed through a shared reference; see the module docs.
///
/// `repr(C)`: the front slot and the length first, the `VecDeque` after them, so that a
/// [`Storage`](crate::boxes) can end its first cache line with the first two.
#[repr(C)]
pub(crate) struct Queue<T> {
    /// The oldest message, if it was pushed into an empty queue and is still here.
    front: UnsafeCell<Option<T>>,
    /// How many messages are queued, `front` included.
    len: Cell<usize>,
    /// The other messages, oldest first (all younger than `front`'s).
    rest: UnsafeCell<VecDeque<T>>,
}

impl<T> Queue<T> {
    /// The bytes from the start of a queue to the end of what a push or a pop reads when it
    /// holds at most one message: the front slot and the length.
    #[cfg(test)]
    pub(crate) const HEADER_SIZE: usize = std::mem::offset_of!(Queue<T>, len) + std::mem::size_of::<usize>();

    /// An empty queue (allocates nothing).
    pub(crate) const fn new() -> Self {
        Queue { front: UnsafeCell::new(None), len: Cell::new(0), rest: UnsafeCell::new(VecDeque::new()) }
    }

    /// Appends `msg` at the back.
    #[inline]
    pub(crate) fn push_back(&self, msg: T) {
        let len = self.len.get();
        if len == 0 {
            // SAFETY: the only reference made from the cell while it lives (module docs). The
            // queue is empty, so the slot is `None`: the assignment drops nothing.
            let front = unsafe { &mut *self.front.get() };
            debug_assert!(front.is_none());
            *front = Some(msg);
        } else {
            self.push_behind(msg);
        }
        self.len.set(len + 1);
    }

    /// Appends `msg` behind the front message, in the `VecDeque`.
    #[inline]
    fn push_behind(&self, msg: T) {
        if self.rest_len() == self.room() {
            self.grow();
        }
        // SAFETY: the only reference made from the cell while it lives (module docs). There is
        // room for one more, so `push_back` cannot grow, fail or drop anything.
        let rest = unsafe { &mut *self.rest.get() };
        rest.push_back(msg);
    }

    /// How many messages the `VecDeque` holds.
    #[inline]
    fn rest_len(&self) -> usize {
        // SAFETY: no `&mut` from the cell is alive (each method lets go of its own before
        // returning), and `len` runs no other code.
        let rest = unsafe { &*self.rest.get() };
        rest.len()
    }

    /// How many messages fit in the `VecDeque` before it must grow.
    #[inline]
    fn room(&self) -> usize {
        // SAFETY: as in `rest_len`; `capacity` runs no other code.
        let rest = unsafe { &*self.rest.get() };
        rest.capacity()
    }

    /// Makes room for one more message. Holds no `T`: if it panics (capacity overflow), the
    /// message being pushed is dropped by the unwinding caller, with no reference left.
    #[cold]
    #[inline(never)]
    fn grow(&self) {
        // SAFETY: the only reference made from the cell while it lives; `reserve` moves
        // elements (a copy of their bytes) and drops none.
        let rest = unsafe { &mut *self.rest.get() };
        rest.reserve(1);
    }

    /// Takes the message at the front, if any.
    #[inline]
    pub(crate) fn pop_front(&self) -> Option<T> {
        // SAFETY: the only reference made from the cell while it lives; `take` moves the message
        // out and leaves `None`, dropping and running nothing.
        let front = unsafe { &mut *self.front.get() };
        if front.is_some() {
            self.len.set(self.len.get() - 1);
            return front.take();
        }
        // Checked before the `VecDeque`, in the next cache line, is read.
        let len = self.len.get();
        if len == 0 {
            return None;
        }
        self.len.set(len - 1);
        // SAFETY: the only reference made from this other cell while it lives; `pop_front`
        // moves the message out, dropping and running nothing.
        let rest = unsafe { &mut *self.rest.get() };
        rest.pop_front()
    }

    /// How many messages are queued.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.get()
    }

    /// Moves every message out, oldest first, leaving the queue empty (and unallocated). The
    /// caller drops them, after this has returned.
    pub(crate) fn take_all(&self) -> VecDeque<T> {
        // SAFETY: the only references made from the two cells while they live; `take` swaps in
        // a `None` and an empty `VecDeque` (no allocation) and drops nothing.
        let (front, mut all) = unsafe { ((*self.front.get()).take(), std::mem::take(&mut *self.rest.get())) };
        self.len.set(0);
        // Outside the borrows: this may allocate, and if that panicked `front` would be dropped.
        if let Some(front) = front {
            all.push_front(front);
        }
        all
    }

    /// Moves every message of `more` to the back, oldest first, leaving `more` empty. If making
    /// room panics, the messages stay in `more` and nothing is dropped here.
    pub(crate) fn append(&self, more: &mut VecDeque<T>) {
        let count = more.len();
        if count == 0 {
            return;
        }
        let len = self.len.get();
        // SAFETY: the only reference made from the cell while it lives; `reserve` may panic
        // holding no `T` (they are all still in `more`), then nothing can fail: the moves below
        // drop nothing.
        let rest = unsafe { &mut *self.rest.get() };
        // Into an empty queue the first goes to the front slot: room for the others only (none
        // for a single message, which then allocates nothing).
        rest.reserve(if len == 0 { count - 1 } else { count });
        if len == 0 {
            // SAFETY: the only reference made from this other cell while it lives. The queue
            // is empty, so the slot is `None`: the assignment drops nothing.
            let front = unsafe { &mut *self.front.get() };
            *front = more.pop_front();
        }
        rest.append(more);
        self.len.set(len + count);
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue").field("len", &self.len()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::Queue;
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::rc::{Rc, Weak};

    #[test]
    fn fifo_push_pop_len() {
        let q = Queue::new();
        assert_eq!(q.len(), 0);
        assert_eq!(q.pop_front(), None::<String>);
        for i in 0..100 {
            q.push_back(i.to_string());
            assert_eq!(q.len(), i + 1);
        }
        for i in 0..50 {
            assert_eq!(q.pop_front().as_deref(), Some(i.to_string().as_str()));
        }
        // Wraps around the ring while growing.
        for i in 100..300 {
            q.push_back(i.to_string());
        }
        for i in 50..300 {
            assert_eq!(q.pop_front(), Some(i.to_string()));
        }
        assert_eq!(q.pop_front(), None);
        assert_eq!(q.len(), 0);
    }

    /// A queue that never holds two messages keeps them in its front slot: the `VecDeque`
    /// stays unallocated. A message pushed behind another waits in the `VecDeque`, and so do
    /// the ones pushed after it until the queue is empty again.
    #[test]
    fn one_message_at_a_time_stays_in_the_front_slot() {
        let q = Queue::new();
        for i in 0..10 {
            q.push_back(i);
            assert_eq!(q.len(), 1);
            assert_eq!(q.pop_front(), Some(i));
        }
        assert_eq!(q.room(), 0, "the VecDeque was never used");
        q.push_back(10);
        q.push_back(11);
        assert_eq!(q.rest_len(), 1);
        assert_eq!(q.pop_front(), Some(10));
        // The front slot is empty but 11 is queued: 12 goes behind it.
        q.push_back(12);
        assert_eq!((q.len(), q.rest_len()), (2, 2));
        assert_eq!(q.pop_front(), Some(11));
        assert_eq!(q.pop_front(), Some(12));
        assert_eq!((q.len(), q.pop_front()), (0, None));
        q.push_back(13);
        assert_eq!((q.len(), q.rest_len()), (1, 0));
        assert_eq!(q.take_all(), [13]);
    }

    #[test]
    fn append_to_an_empty_queue_fills_the_front_slot_first() {
        let q = Queue::new();
        q.append(&mut VecDeque::from([1, 2, 3]));
        assert_eq!((q.len(), q.rest_len()), (3, 2));
        q.push_back(4);
        assert_eq!(q.pop_front(), Some(1));
        let mut one = VecDeque::from([5]);
        q.append(&mut one);
        assert!(one.is_empty());
        assert_eq!(q.take_all(), [2, 3, 4, 5]);
        q.append(&mut VecDeque::from([6]));
        assert_eq!((q.len(), q.rest_len(), q.room()), (1, 0, 0), "one message needs no buffer");
        assert_eq!(q.take_all(), [6]);
    }

    #[test]
    fn take_all_moves_everything_out_in_order() {
        let q = Queue::new();
        for i in 0..5 {
            q.push_back(Rc::new(i));
        }
        let all = q.take_all();
        assert_eq!(q.len(), 0);
        assert_eq!(all.iter().map(|r| **r).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        q.push_back(Rc::new(9));
        assert_eq!(q.pop_front().map(|r| *r), Some(9));
        assert!(q.take_all().is_empty());
    }

    #[test]
    fn append_moves_in_order_and_empties_the_source() {
        let q = Queue::new();
        q.push_back("a".to_owned());
        q.pop_front();
        q.push_back("b".to_owned());
        let mut more: VecDeque<String> = ["c", "d", "e"].into_iter().map(str::to_owned).collect();
        q.append(&mut more);
        assert!(more.is_empty());
        let mut empty = VecDeque::new();
        q.append(&mut empty);
        assert_eq!(q.take_all(), ["b", "c", "d", "e"]);
    }

    #[test]
    fn dropping_the_queue_drops_each_message_once() {
        let counted = Rc::new(());
        let q = Queue::new();
        for _ in 0..10 {
            q.push_back(counted.clone());
        }
        drop(q.pop_front());
        assert_eq!(Rc::strong_count(&counted), 10);
        drop(q);
        assert_eq!(Rc::strong_count(&counted), 1);
    }

    /// A message whose `Drop` tries to reach the queue it came from: the re-entrancy the API
    /// must keep out of every method.
    struct Reentrant {
        queue: Weak<Queue<Reentrant>>,
        drops: Rc<Cell<usize>>,
        log: Rc<RefCell<Vec<usize>>>,
    }

    impl Drop for Reentrant {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
            if let Some(q) = self.queue.upgrade() {
                // Touches the queue from inside a drop: push, pop and take all.
                self.log.borrow_mut().push(q.len());
                if self.drops.get() < 4 {
                    q.push_back(Reentrant {
                        queue: Weak::new(),
                        drops: self.drops.clone(),
                        log: self.log.clone(),
                    });
                }
                let popped = q.pop_front();
                let rest = q.take_all();
                drop(popped);
                drop(rest);
            }
        }
    }

    #[test]
    fn drops_of_messages_never_run_inside_a_queue_operation() {
        let drops = Rc::new(Cell::new(0));
        let log = Rc::new(RefCell::new(Vec::new()));
        let q = Rc::new(Queue::new());
        let msg = |q: &Rc<Queue<Reentrant>>| Reentrant {
            queue: Rc::downgrade(q),
            drops: drops.clone(),
            log: log.clone(),
        };
        for _ in 0..3 {
            q.push_back(msg(&q));
        }
        // Popped messages are dropped by the caller, after `pop_front` returned: the drop may use
        // the queue freely.
        drop(q.pop_front());
        assert!(drops.get() >= 1);
        // Messages taken in bulk are dropped after `take_all` returned.
        q.push_back(msg(&q));
        let all = q.take_all();
        drop(all);
        // Appending drops nothing, even when the receiving queue must grow.
        let mut more: VecDeque<_> = (0..40).map(|_| msg(&q)).collect();
        let before = drops.get();
        q.append(&mut more);
        assert_eq!(drops.get(), before);
        assert!(more.is_empty());
        // Pushing never drops a queued message either, growing or not.
        for _ in 0..40 {
            q.push_back(msg(&q));
        }
        assert_eq!(drops.get(), before);
        // Dropping the last handle drops the rest; `upgrade` fails then, so no re-entry.
        drop(q);
        assert!(drops.get() > before);
        assert!(!log.borrow().is_empty());
    }

    #[test]
    fn zero_sized_messages() {
        let q = Queue::new();
        for _ in 0..1000 {
            q.push_back(());
        }
        assert_eq!(q.len(), 1000);
        assert_eq!(q.pop_front(), Some(()));
        assert_eq!(q.take_all().len(), 999);
        assert_eq!(format!("{q:?}"), "Queue { len: 0, .. }");
        assert_eq!(Queue::<u8>::default().len(), 0);
    }
}
