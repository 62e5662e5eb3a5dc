//! [`LabelMap`]: the name → value map of an alert's labels and annotations.

use std::collections::BTreeMap;
use std::fmt;

pub use compact_str::CompactString;

/// A map of names to values, ordered by name: an alert's [`Labels`](crate::Labels)
/// and [`Annotations`](crate::Annotations).
///
/// It behaves like a `BTreeMap<String, String>` (the same methods for what alerts
/// do with it, the same order, equality, hashing and serde form: a JSON object)
/// but keeps its entries in one sorted vector: an alert with a few labels and
/// annotations costs about a third of two B-tree nodes (544 bytes each, whatever
/// the number of entries). Lookups are binary searches; an insertion moves the
/// entries after it, which is nothing for the tens of labels an alert has.
///
/// Names and values are [`CompactString`]s: up to 24 bytes (most label names and
/// values: `severity`, `warning`, `10.0.0.7:9100`) are kept inline, without an
/// allocation of their own. Reads hand out `&str`.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelMap(Vec<(CompactString, CompactString)>);

/// Up to this many entries, a lookup scans rather than bisects.
const SCAN: usize = 8;

impl LabelMap {
    /// An empty map.
    pub const fn new() -> LabelMap {
        LabelMap(Vec::new())
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Where `key` is. A few entries (an alert's usual labels) are scanned, the
    /// lengths compared first, which rules out most names without reading them;
    /// more are searched.
    fn position(&self, key: &str) -> Option<usize> {
        if self.0.len() > SCAN {
            return self.find(key).ok();
        }
        let key = key.as_bytes();
        self.0
            .iter()
            .position(|(k, _)| k.len() == key.len() && k.as_bytes() == key)
    }

    /// The value of `key`.
    pub fn get<Q: AsRef<str> + ?Sized>(&self, key: &Q) -> Option<&str> {
        self.position(key.as_ref()).map(|i| self.0[i].1.as_str())
    }

    /// The value of `key`, to change it.
    pub fn get_mut<Q: AsRef<str> + ?Sized>(&mut self, key: &Q) -> Option<&mut CompactString> {
        self.position(key.as_ref()).map(|i| &mut self.0[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q: AsRef<str> + ?Sized>(&self, key: &Q) -> bool {
        self.position(key.as_ref()).is_some()
    }

    /// Makes room for `additional` more entries, and no more: for a map that is
    /// kept long and whose growth is known (a vector grows by doubling otherwise).
    pub fn reserve_exact(&mut self, additional: usize) {
        self.0.reserve_exact(additional);
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(
        &mut self,
        key: impl Into<CompactString>,
        value: impl Into<CompactString>,
    ) -> Option<CompactString> {
        let key = key.into();
        let value = value.into();
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// The value of `key`, set to `f()` first when there is none (what
    /// `entry(key).or_insert_with(f)` does on a `BTreeMap`).
    pub fn get_or_insert_with<V: Into<CompactString>>(
        &mut self,
        key: impl Into<CompactString>,
        f: impl FnOnce() -> V,
    ) -> &mut CompactString {
        let key = key.into();
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (key, f().into()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q: AsRef<str> + ?Sized>(&mut self, key: &Q) -> Option<CompactString> {
        self.position(key.as_ref()).map(|i| self.0.remove(i).1)
    }

    /// Keeps the entries for which `f` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&str, &mut CompactString) -> bool) {
        self.0.retain_mut(|(k, v)| f(k, v));
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The entries, ordered by name.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.0.iter())
    }

    /// The names, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// The values, in the order of their names.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v.as_str())
    }

    /// Builds the map from entries already sorted by name, without duplicates (as
    /// a `BTreeMap` iterates); anything else is sorted, the last value of a
    /// repeated name winning.
    fn from_entries(mut v: Vec<(CompactString, CompactString)>) -> LabelMap {
        sort_entries(&mut v);
        if v.capacity() > v.len() {
            v.shrink_to_fit();
        }
        LabelMap(v)
    }

    /// Gives back memory held beyond the entries (after [`reserve_exact`]
    /// made room that was not used, say).
    ///
    /// [`reserve_exact`]: LabelMap::reserve_exact
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

/// Iterator over a [`LabelMap`]'s entries.
#[derive(Clone, Debug)]
pub struct Iter<'a>(std::slice::Iter<'a, (CompactString, CompactString)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a LabelMap {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The entries of a [`LabelMap`], by value, ordered by name.
#[derive(Debug)]
pub struct IntoIter(std::vec::IntoIter<(CompactString, CompactString)>);

impl Iterator for IntoIter {
    type Item = (CompactString, CompactString);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for IntoIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back()
    }
}

impl ExactSizeIterator for IntoIter {}

impl IntoIterator for LabelMap {
    type Item = (CompactString, CompactString);
    type IntoIter = IntoIter;
    fn into_iter(self) -> IntoIter {
        IntoIter(self.0.into_iter())
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>> FromIterator<(K, V)> for LabelMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> LabelMap {
        LabelMap::from_entries(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>> Extend<(K, V)> for LabelMap {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>, const N: usize> From<[(K, V); N]>
    for LabelMap
{
    fn from(entries: [(K, V); N]) -> LabelMap {
        entries.into_iter().collect()
    }
}

impl From<BTreeMap<String, String>> for LabelMap {
    fn from(m: BTreeMap<String, String>) -> LabelMap {
        LabelMap::from_entries(m.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl From<LabelMap> for BTreeMap<String, String> {
    fn from(m: LabelMap) -> BTreeMap<String, String> {
        m.0.into_iter()
            .map(|(k, v)| (k.into_string(), v.into_string()))
            .collect()
    }
}

impl PartialEq<BTreeMap<String, String>> for LabelMap {
    fn eq(&self, other: &BTreeMap<String, String>) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .eq(other.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

impl<Q: AsRef<str> + ?Sized> std::ops::Index<&Q> for LabelMap {
    type Output = str;
    /// The value of `key`; panics when there is none (as `BTreeMap`'s does).
    fn index(&self, key: &Q) -> &str {
        self.get(key).expect("no entry found for key")
    }
}

impl fmt::Debug for LabelMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for LabelMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// Sorts entries by name, of equal names keeping the last value given, unless they
/// are sorted already (as a `BTreeMap` iterates).
fn sort_entries(v: &mut Vec<(CompactString, CompactString)>) {
    if !v.windows(2).all(|w| w[0].0 < w[1].0) {
        // Stable: of equal names, the last one given stays last; its value is
        // moved into the first, which is the one kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
    }
}

#[cfg(feature = "serde")]
impl LabelMap {
    /// Deserializes a map as [`Deserialize`](serde::Deserialize) does, with room
    /// for `room` more entries: for a map that gets known additions right after
    /// (an Alertmanager alert's `generatorURL` becomes an annotation).
    pub fn deserialize_with_room<'de, D: serde::Deserializer<'de>>(
        d: D,
        room: usize,
    ) -> Result<LabelMap, D::Error> {
        d.deserialize_map(MapVisitor { room })
    }
}

/// The entries of the map being read, before it gets its own vector: one
/// allocation of the final size per map, not a doubling vector then a shrink.
#[cfg(feature = "serde")]
mod scratch {
    use super::CompactString;
    use std::cell::RefCell;

    type Entries = Vec<(CompactString, CompactString)>;

    /// What the buffer keeps between maps; a larger map's buffer is let go.
    const KEEP: usize = 64;

    thread_local! {
        static BUF: RefCell<Entries> = const { RefCell::new(Vec::new()) };
    }

    /// Runs `fill` on an empty buffer (the thread's, unless it is in use) and
    /// returns it as a vector of its length plus `room`.
    pub(super) fn collect<E>(
        room: usize,
        fill: impl FnOnce(&mut Entries) -> Result<(), E>,
    ) -> Result<Entries, E> {
        let exact = |buf: &mut Entries| {
            super::sort_entries(buf);
            let mut v = Vec::with_capacity(buf.len() + room);
            v.append(buf);
            v
        };
        BUF.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                let out = fill(&mut buf).map(|()| exact(&mut buf));
                buf.clear();
                buf.shrink_to(KEEP);
                out
            }
            // A map read while another is (a deserializer calling back into one):
            // a buffer of its own.
            Err(_) => {
                let mut buf = Vec::new();
                fill(&mut buf).map(|()| exact(&mut buf))
            }
        })
    }
}

#[cfg(feature = "serde")]
struct MapVisitor {
    room: usize,
}

#[cfg(feature = "serde")]
impl<'de> serde::de::Visitor<'de> for MapVisitor {
    type Value = LabelMap;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of names to string values")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<LabelMap, A::Error> {
        scratch::collect(self.room, |buf| {
            while let Some(entry) = access.next_entry::<CompactString, CompactString>()? {
                buf.push(entry);
            }
            Ok(())
        })
        .map(LabelMap)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for LabelMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LabelMap, D::Error> {
        LabelMap::deserialize_with_room(d, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_owned()
    }

    /// The same answers as a `BTreeMap` for a mixed sequence of operations.
    #[test]
    fn behaves_like_a_btreemap() {
        let mut ours = LabelMap::new();
        let mut theirs = BTreeMap::new();
        let keys = ["m", "a", "z", "a", "q", "m", "b", "", "é", "Z"];
        let owned = |v: Option<CompactString>| v.map(String::from);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(
                owned(ours.insert(s(k), i.to_string())),
                theirs.insert(s(k), i.to_string())
            );
            assert_eq!(ours, theirs, "after inserting {k}");
        }
        for k in ["a", "nope", "Z", "a"] {
            assert_eq!(owned(ours.remove(k)), theirs.remove(k));
            assert_eq!(ours.get("m"), theirs.get("m").map(String::as_str));
            assert_eq!(ours.contains_key(k), theirs.contains_key(k));
        }
        fn pairs(m: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
            m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
        }
        assert!(ours.iter().eq(pairs(&theirs)));
        assert!(ours.iter().rev().eq(pairs(&theirs).into_iter().rev()));
        assert!(ours.keys().eq(theirs.keys().map(String::as_str)));
        assert!(ours.values().eq(theirs.values().map(String::as_str)));
        assert_eq!(ours.len(), theirs.len());
        assert_eq!(&ours["m"], theirs["m"].as_str());
        ours.get_or_insert_with(s("new"), || s("1")).push('+');
        theirs.entry(s("new")).or_insert_with(|| s("1")).push('+');
        ours.get_or_insert_with(s("new"), || s("2")).push('+');
        theirs.entry(s("new")).or_insert_with(|| s("2")).push('+');
        assert_eq!(ours, theirs);
        ours.retain(|k, _| k != "q");
        theirs.retain(|k, _| k != "q");
        assert_eq!(ours, theirs);
        assert_eq!(BTreeMap::from(ours.clone()), theirs);
        assert_eq!(LabelMap::from(theirs.clone()), ours);
        assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
    }

    /// Lookups answer alike whether they scan (small maps) or bisect (larger
    /// ones), for names of the same length too.
    #[test]
    fn lookups_agree_on_both_sides_of_the_scan_limit() {
        let names: Vec<String> = (0..20).map(|i| format!("k{:02}", (i * 7) % 20)).collect();
        for n in 0..names.len() {
            let mut ours = LabelMap::new();
            let mut theirs = BTreeMap::new();
            for (i, k) in names[..n].iter().enumerate() {
                ours.insert(k.clone(), i.to_string());
                theirs.insert(k.clone(), i.to_string());
            }
            for probe in names
                .iter()
                .map(String::as_str)
                .chain(["k2", "k000", "", "k1x"])
            {
                assert_eq!(
                    ours.get(probe),
                    theirs.get(probe).map(String::as_str),
                    "{n} {probe}"
                );
                assert_eq!(ours.contains_key(probe), theirs.contains_key(probe));
                let mut o = ours.clone();
                let mut t = theirs.clone();
                assert_eq!(o.remove(probe).map(String::from), t.remove(probe));
                assert_eq!(o, t);
                if let Some(v) = o.get_mut("k00") {
                    v.push('!');
                }
                if let Some(v) = t.get_mut("k00") {
                    v.push('!');
                }
                assert_eq!(o, t);
            }
        }
    }

    /// Short names and values are kept inline: a map of them allocates its
    /// vector and nothing else.
    #[test]
    fn short_strings_are_inline() {
        let m: LabelMap = [
            ("alertname", "AccuracyDrop"),
            ("instance", "10.0.0.7:9100"),
            ("long", "a value longer than twenty-four bytes"),
        ]
        .into_iter()
        .collect();
        let inline: Vec<bool> = m.0.iter().map(|(_, v)| !v.is_heap_allocated()).collect();
        assert_eq!(inline, [true, true, false]);
        assert!(m.0.iter().all(|(k, _)| !k.is_heap_allocated()));
    }

    #[test]
    fn built_from_unsorted_entries_sorted_and_the_last_repeat_wins() {
        let m: LabelMap = [
            ("b", "1"),
            ("a", "2"),
            ("b", "3"),
            ("c", "4"),
            ("a", "5"),
            ("b", "6"),
        ]
        .into_iter()
        .collect();
        let want: Vec<(&str, &str)> = vec![("a", "5"), ("b", "6"), ("c", "4")];
        assert!(m.iter().eq(want.into_iter()));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_form_is_a_btreemap_s() {
        let json = r#"{"z":"1","a":"2","m":"3","a":"4"}"#;
        let ours: LabelMap = serde_json::from_str(json).unwrap();
        let theirs: BTreeMap<String, String> = serde_json::from_str(json).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap()
        );
        let err = serde_json::from_str::<LabelMap>(r#"["a","b"]"#).unwrap_err();
        assert!(
            err.to_string().contains("a map of names to string values"),
            "{err}"
        );
        let err = serde_json::from_str::<LabelMap>(r#"{"a":1}"#).unwrap_err();
        assert!(err.to_string().contains("expected a string"), "{err}");
    }

    /// A read map holds its entries and the room asked for, no more; a map that
    /// failed halfway leaves nothing behind for the next one.
    #[cfg(feature = "serde")]
    #[test]
    fn read_maps_are_sized_exactly() {
        let json = r#"{"e":"1","d":"2","c":"3","b":"4","a":"5","f":"6"}"#;
        let m: LabelMap = serde_json::from_str(json).unwrap();
        assert_eq!((m.len(), m.0.capacity()), (6, 6));
        assert_eq!(m.keys().collect::<String>(), "abcdef");
        let mut de = serde_json::Deserializer::from_str(json);
        let mut roomy = LabelMap::deserialize_with_room(&mut de, 2).unwrap();
        assert_eq!(roomy, m);
        assert_eq!(roomy.0.capacity(), 8);
        roomy.insert("g", "7");
        roomy.insert("h", "8");
        assert_eq!(roomy.0.capacity(), 8, "the room was used, not grown");
        roomy.insert("i", "9");
        roomy.shrink_to_fit();
        assert_eq!(roomy.0.capacity(), roomy.len());

        assert!(serde_json::from_str::<LabelMap>(r#"{"x":"1","y":2}"#).is_err());
        let next: LabelMap = serde_json::from_str(r#"{"z":"0"}"#).unwrap();
        assert_eq!(next.iter().collect::<Vec<_>>(), [("z", "0")]);
        let many: Vec<LabelMap> = serde_json::from_str(r#"[{"a":"1"},{"b":"2","c":"3"}]"#).unwrap();
        assert_eq!(many[1].iter().collect::<Vec<_>>(), [("b", "2"), ("c", "3")]);
    }

    /// A map read while the thread's buffer is taken gets a buffer of its own.
    #[cfg(feature = "serde")]
    #[test]
    fn a_map_read_inside_another_gets_its_own_buffer() {
        let outer = scratch::collect::<()>(0, |buf| {
            buf.push(("b".into(), "outer".into()));
            let inner = scratch::collect::<()>(1, |inner| {
                inner.push(("a".into(), "inner".into()));
                Ok(())
            })
            .unwrap();
            assert_eq!((inner.len(), inner.capacity()), (1, 2));
            buf.extend(inner);
            Ok(())
        })
        .unwrap();
        assert_eq!(LabelMap(outer).keys().collect::<String>(), "ab");
    }
}
