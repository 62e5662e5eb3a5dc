//! [`Slot`]: a part of an alert that most alerts leave empty, kept out of line.

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::{Evidence, Source};

/// A part of an [`Alert`](crate::Alert) that most alerts leave empty ([`Evidence`],
/// [`Source`]), kept out of line.
///
/// An empty slot is one pointer and no allocation; a filled one holds its value in a
/// box. It reads as the value (the empty value while unset) and fills on the first
/// write, so field access looks as it would on the value itself. This keeps an
/// `Alert` at under half the size it would have with both parts inline, which counts
/// when a service holds tens of thousands of them.
///
/// ```
/// use alert_core::{Alert, Evidence, Severity};
/// let mut a = Alert::new(Severity::Error, "AccuracyDrop");
/// assert!(a.evidence.metric.is_none()); // reads see the empty value
/// assert!(a.evidence.is_empty());
/// a.evidence.metric = Some("accuracy".into()); // a write fills the slot
/// assert_eq!(a.evidence.metric.as_deref(), Some("accuracy"));
/// a.evidence = Evidence::metric("recall").observed(0.7).into(); // or assign a value
/// assert_eq!(a.evidence, Evidence::metric("recall").observed(0.7));
/// let e: Evidence = a.evidence.into_inner();
/// assert_eq!(e.observed, Some(0.7));
/// ```
pub struct Slot<T: SlotValue>(Option<Box<T>>);

/// What a [`Slot`] can hold: a value with an empty form that lives for the whole
/// program. Implemented for [`Evidence`] and [`Source`]; sealed.
pub trait SlotValue: Default + sealed::Sealed + 'static {
    /// The empty value, which an unset slot reads as.
    fn empty() -> &'static Self;
    /// Whether this value is the empty one.
    fn is_empty(&self) -> bool;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Evidence {}
    impl Sealed for crate::Source {}
}

static EMPTY_EVIDENCE: Evidence = Evidence::EMPTY;
static EMPTY_SOURCE: Source = Source::EMPTY;

impl SlotValue for Evidence {
    fn empty() -> &'static Evidence {
        &EMPTY_EVIDENCE
    }
    fn is_empty(&self) -> bool {
        Evidence::is_empty(self)
    }
}

impl SlotValue for Source {
    fn empty() -> &'static Source {
        &EMPTY_SOURCE
    }
    fn is_empty(&self) -> bool {
        Source::is_empty(self)
    }
}

impl<T: SlotValue> Slot<T> {
    /// Whether the slot holds nothing but the empty value.
    pub fn is_empty(&self) -> bool {
        self.0.as_deref().is_none_or(T::is_empty)
    }

    /// The value (the empty one for an unset slot).
    pub fn into_inner(self) -> T {
        self.0.map_or_else(T::default, |b| *b)
    }
}

impl<T: SlotValue> Default for Slot<T> {
    fn default() -> Self {
        Slot(None)
    }
}

impl<T: SlotValue> From<T> for Slot<T> {
    /// A slot holding `value`; an empty value takes no allocation.
    fn from(value: T) -> Self {
        if value.is_empty() {
            Slot(None)
        } else {
            Slot(Some(Box::new(value)))
        }
    }
}

impl<T: SlotValue> Deref for Slot<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(b) => b,
            None => T::empty(),
        }
    }
}

impl<T: SlotValue> DerefMut for Slot<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: SlotValue + Clone> Clone for Slot<T> {
    fn clone(&self) -> Self {
        // An empty value stays unboxed in the copy.
        if self.is_empty() {
            Slot(None)
        } else {
            Slot(self.0.clone())
        }
    }
}

impl<T: SlotValue + PartialEq> PartialEq for Slot<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: SlotValue + Eq> Eq for Slot<T> {}

impl<T: SlotValue + PartialEq> PartialEq<T> for Slot<T> {
    fn eq(&self, other: &T) -> bool {
        **self == *other
    }
}

impl<T: SlotValue + fmt::Debug> fmt::Debug for Slot<T> {
    /// As the value itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(feature = "serde")]
impl<T: SlotValue + serde::Serialize> serde::Serialize for Slot<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de, T: SlotValue + serde::Deserialize<'de>> serde::Deserialize<'de> for Slot<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Slot::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_slot_takes_no_allocation_and_reads_empty() {
        let s: Slot<Evidence> = Slot::default();
        assert!(s.0.is_none());
        assert!(s.is_empty());
        assert_eq!(*s, Evidence::default());
        let s = Slot::from(Source::default());
        assert!(s.0.is_none(), "an empty value is not boxed");
        assert_eq!(s, Source::default());
        assert_eq!(format!("{s:?}"), format!("{:?}", Source::default()));
    }

    #[test]
    #[allow(
        clippy::field_reassign_with_default,
        reason = "a write through an empty slot is what is tested"
    )]
    fn a_write_fills_the_slot_and_copies_keep_the_value() {
        let mut s: Slot<Source> = Slot::default();
        s.model = Some("bikes".into());
        assert!(s.0.is_some());
        assert!(!s.is_empty());
        assert_eq!(s, Source::model("bikes"));
        let c = s.clone();
        assert_eq!(c, s);
        assert_eq!(c.into_inner(), Source::model("bikes"));
        // Cleared again: empty, and its copies are not boxed.
        s.model = None;
        assert!(s.is_empty());
        assert!(s.clone().0.is_none());
        assert_eq!(s, Slot::default());
    }

    #[test]
    fn the_statics_are_the_defaults() {
        assert_eq!(*Evidence::empty(), Evidence::default());
        assert_eq!(*Source::empty(), Source::default());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_form_is_the_value_itself() {
        let s: Slot<Evidence> = Evidence::metric("accuracy").observed(0.8).into();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, serde_json::to_string(&*s).unwrap());
        let back: Slot<Evidence> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let empty: Slot<Evidence> = serde_json::from_str("{}").unwrap();
        assert!(empty.0.is_none());
        let err = serde_json::from_str::<Slot<Source>>(r#"{"modle":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `modle`"), "{err}");
    }
}
