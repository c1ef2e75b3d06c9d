//! The identity a client sends after its id: an ordered dict of str keys to str or int values.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// A field value of an [`Identity`]: Python `str` or `int`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// A `str`.
    Str(&'a str),
    /// An `int`.
    Int(i64),
}

impl<'a> From<&'a str> for FieldValue<'a> {
    fn from(s: &'a str) -> Self {
        FieldValue::Str(s)
    }
}

impl From<i64> for FieldValue<'_> {
    fn from(i: i64) -> Self {
        FieldValue::Int(i)
    }
}

/// The identity dict is full: it holds `N` fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IdentityFull;

impl core::fmt::Display for IdentityFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the identity has no room for another field")
    }
}

impl core::error::Error for IdentityFull {}

/// An ordered dict of up to `N` fields, pickled as a Python dict in insertion order, e.g.
/// `{'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'student_id': 917654321,
/// 'github_username': 'jortiz'}`. Borrows its strings; allocates nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity<'a, const N: usize = 8> {
    fields: heapless::Vec<(&'a str, FieldValue<'a>), N>,
}

impl<'a, const N: usize> Identity<'a, N> {
    /// An empty identity.
    pub const fn new() -> Self {
        Identity {
            fields: heapless::Vec::new(),
        }
    }

    /// Sets `key` to `value`: replaces the value in place if the key exists (as a Python dict
    /// does), otherwise appends. Fails only when a new key finds all `N` slots taken.
    pub fn insert(
        &mut self,
        key: &'a str,
        value: impl Into<FieldValue<'a>>,
    ) -> Result<(), IdentityFull> {
        let value = value.into();
        if let Some(slot) = self.fields.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
            return Ok(());
        }
        self.fields.push((key, value)).map_err(|_| IdentityFull)
    }

    /// [`insert`](Self::insert) as a builder step.
    ///
    /// # Errors
    ///
    /// [`IdentityFull`] when `N` fields are already set and `key` is new.
    pub fn with(
        mut self,
        key: &'a str,
        value: impl Into<FieldValue<'a>>,
    ) -> Result<Self, IdentityFull> {
        self.insert(key, value)?;
        Ok(self)
    }

    /// The fields in order.
    pub fn fields(&self) -> &[(&'a str, FieldValue<'a>)] {
        &self.fields
    }
}

impl<const N: usize> Serialize for Identity<'_, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (key, value) in &self.fields {
            match value {
                FieldValue::Str(s) => map.serialize_entry(key, s)?,
                FieldValue::Int(i) => map.serialize_entry(key, i)?,
            }
        }
        map.end()
    }
}
