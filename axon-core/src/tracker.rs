//! The service registry (Axon's Coordinating Assistant Tracker, the CAT): named services
//! (a component's inbox) and named values, one registry per scheduler — not a process-wide
//! singleton, so tests and schedulers never share state.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;

use crate::component::ComponentRef;
use crate::error::Direction;

/// What went wrong in the registry. Each variant is Axon's exception of the same name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    /// `register_service` with a name already taken.
    #[error("a service named {0:?} already exists")]
    ServiceAlreadyExists(String),
    /// `register_service` naming an inbox the component does not have.
    #[error("{component} has no inbox {inbox:?}")]
    BadInbox {
        /// The component.
        component: String,
        /// The missing inbox.
        inbox: String,
    },
    /// `register_service` with a component that has ended (Axon's `BadComponent`: the object
    /// could not serve).
    #[error("{0} has ended and cannot provide a service")]
    BadComponent(String),
    /// `retrieve_service` of an unknown name (Axon raised `KeyError`).
    #[error("no service named {0:?}")]
    UnknownService(String),
    /// `deregister_service` of an unknown name (Axon's `MultipleServiceDeletion`).
    #[error("no service named {0:?} to deregister")]
    MultipleServiceDeletion(String),
    /// `track_value` of a name already tracked.
    #[error("a value named {0:?} is already tracked")]
    NamespaceClash(String),
    /// `retrieve_value`/`update_value` of a name never tracked.
    #[error("no value named {0:?} is tracked")]
    AccessToUndeclaredTrackedVariable(String),
}

/// The per-scheduler registry. Reach it with
/// [`Context::tracker`](crate::Context::tracker) or [`Scheduler::tracker`](crate::Scheduler).
///
/// ```
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler, tracker::TrackerError};
/// const BOXES: &[BoxDecl] = &boxes::standard::<u8>();
///
/// let sched = Scheduler::new();
/// let svc = sched.create(from_fn(BOXES, |_| async { Ok(()) }));
/// sched.tracker().register_service("echo", &svc, "inbox").unwrap();
/// assert_eq!(sched.tracker().retrieve_service("echo").unwrap().1, "inbox");
/// assert!(matches!(
///     sched.tracker().register_service("echo", &svc, "inbox"),
///     Err(TrackerError::ServiceAlreadyExists(_))
/// ));
/// ```
#[derive(Default)]
pub struct Tracker {
    services: HashMap<String, (ComponentRef, String)>,
    values: HashMap<String, Box<dyn Any>>,
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracker")
            .field("services", &self.services.keys().collect::<Vec<_>>())
            .field("values", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Tracker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Registers `(component, inbox)` as the service `name` (Axon's `registerService`).
    ///
    /// # Errors
    /// [`TrackerError::ServiceAlreadyExists`], [`TrackerError::BadComponent`],
    /// [`TrackerError::BadInbox`].
    #[doc(alias = "registerService")]
    pub fn register_service(
        &mut self,
        name: &str,
        component: &ComponentRef,
        inbox: &str,
    ) -> Result<(), TrackerError> {
        if self.services.contains_key(name) {
            return Err(TrackerError::ServiceAlreadyExists(name.to_owned()));
        }
        if component.is_finished() {
            return Err(TrackerError::BadComponent(component.name()));
        }
        if component.task.lookup(Direction::Inbox, inbox).is_err() {
            return Err(TrackerError::BadInbox { component: component.name(), inbox: inbox.to_owned() });
        }
        self.services.insert(name.to_owned(), (component.clone(), inbox.to_owned()));
        Ok(())
    }

    /// The `(component, inbox)` registered as `name` (Axon's `retrieveService`).
    ///
    /// # Errors
    /// [`TrackerError::UnknownService`].
    #[doc(alias = "retrieveService")]
    pub fn retrieve_service(&self, name: &str) -> Result<(ComponentRef, String), TrackerError> {
        self.services.get(name).cloned().ok_or_else(|| TrackerError::UnknownService(name.to_owned()))
    }

    /// Removes the service `name` (Axon's `deRegisterService`).
    ///
    /// # Errors
    /// [`TrackerError::MultipleServiceDeletion`] if there is none.
    #[doc(alias = "deRegisterService")]
    pub fn deregister_service(&mut self, name: &str) -> Result<(), TrackerError> {
        self.services
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| TrackerError::MultipleServiceDeletion(name.to_owned()))
    }

    /// The registered service names (Axon's `servicesRegistered`).
    #[doc(alias = "servicesRegistered")]
    pub fn services_registered(&self) -> Vec<String> {
        let mut v: Vec<_> = self.services.keys().cloned().collect();
        v.sort();
        v
    }

    /// Starts tracking a named value (Axon's `trackValue`).
    ///
    /// # Errors
    /// [`TrackerError::NamespaceClash`] if the name is taken.
    #[doc(alias = "trackValue")]
    pub fn track_value<V: 'static>(&mut self, name: &str, value: V) -> Result<(), TrackerError> {
        if self.values.contains_key(name) {
            return Err(TrackerError::NamespaceClash(name.to_owned()));
        }
        self.values.insert(name.to_owned(), Box::new(value));
        Ok(())
    }

    /// Replaces a tracked value (Axon's `updateValue`).
    ///
    /// # Errors
    /// [`TrackerError::AccessToUndeclaredTrackedVariable`] if it was never tracked.
    #[doc(alias = "updateValue")]
    pub fn update_value<V: 'static>(&mut self, name: &str, value: V) -> Result<(), TrackerError> {
        match self.values.get_mut(name) {
            Some(v) => {
                *v = Box::new(value);
                Ok(())
            }
            None => Err(TrackerError::AccessToUndeclaredTrackedVariable(name.to_owned())),
        }
    }

    /// A tracked value, if it is a `V` (Axon's `retrieveValue`).
    ///
    /// # Errors
    /// [`TrackerError::AccessToUndeclaredTrackedVariable`] if it was never tracked.
    #[doc(alias = "retrieveValue")]
    pub fn retrieve_value<V: 'static>(&self, name: &str) -> Result<Option<&V>, TrackerError> {
        self.values
            .get(name)
            .map(|v| v.downcast_ref::<V>())
            .ok_or_else(|| TrackerError::AccessToUndeclaredTrackedVariable(name.to_owned()))
    }

    /// The tracked value names (Axon's `informationItemsLogged`).
    #[doc(alias = "informationItemsLogged")]
    pub fn information_items_logged(&self) -> Vec<String> {
        let mut v: Vec<_> = self.values.keys().cloned().collect();
        v.sort();
        v
    }

    /// Clears every service and value (Axon's `zap`).
    pub fn zap(&mut self) {
        self.services.clear();
        self.values.clear();
    }
}
