//! [`KeySet`]: a few key names fixed when compiled, which a key is checked against mostly
//! without reading its text.

use super::{filter_bit, is_lower_ascii, tag_of, Key};

/// A set of key names fixed when compiled: the reserved names a codec or device checks every
/// key of a message against (`signature`, `body`, `commitments`, …).
///
/// Comparing a key with `N` literals costs `N` comparisons of tags. A `KeySet` first looks up
/// one bit of a 64-bit filter, worked out from the key's length and last byte (both held in
/// its tag): most keys that are not in the set are told apart by that bit alone, and only the
/// others are compared with the names.
///
/// The names must be normalised keys (ASCII without capitals), as for [`Key::from_static`];
/// anything else stops the build (or, outside a constant, panics).
///
/// ```
/// use ferrobeam_device_api::message::KeySet;
/// use ferrobeam_device_api::Key;
///
/// const SIGNATURE_FIELDS: KeySet<2> = KeySet::new(["signature", "signature-input"]);
///
/// assert!(SIGNATURE_FIELDS.contains(&Key::new("Signature")));
/// assert!(!SIGNATURE_FIELDS.contains(&Key::new("signatures")));
/// assert_eq!(SIGNATURE_FIELDS.names(), &["signature", "signature-input"]);
/// ```
///
/// ```compile_fail,E0080
/// # use ferrobeam_device_api::message::KeySet;
/// const BAD: KeySet<1> = KeySet::new(["Body"]); // capitals: not a key's spelling
/// ```
#[derive(Clone, Copy, Debug)]
pub struct KeySet<const N: usize> {
    names: [&'static str; N],
    /// The tag of each name, as [`Key`] keeps its own.
    tags: [u32; N],
    /// [`Key::filter_bit`] of every name, or-ed.
    filter: u64,
}

impl<const N: usize> KeySet<N> {
    /// The set of `names`, which must be normalised keys.
    ///
    /// ```
    /// # use ferrobeam_device_api::message::KeySet;
    /// const BODY_KEYS: KeySet<2> = KeySet::new(["body", "data"]);
    /// assert_eq!(BODY_KEYS.names().len(), 2);
    /// ```
    pub const fn new(names: [&'static str; N]) -> Self {
        let mut tags = [0; N];
        let mut filter = 0;
        let mut i = 0;
        while i < N {
            let bytes = names[i].as_bytes();
            assert!(
                is_lower_ascii(bytes),
                "KeySet::new takes keys: ASCII without capitals"
            );
            tags[i] = tag_of(bytes);
            filter |= filter_bit(tags[i]);
            i += 1;
        }
        KeySet {
            names,
            tags,
            filter,
        }
    }

    /// Whether `key` is one of the names.
    ///
    /// ```
    /// # use ferrobeam_device_api::message::KeySet;
    /// # use ferrobeam_device_api::Key;
    /// const BODY_KEYS: KeySet<2> = KeySet::new(["body", "data"]);
    /// assert!(BODY_KEYS.contains(&Key::new("data")));
    /// assert!(!BODY_KEYS.contains(&Key::new("date")));
    /// ```
    #[inline]
    pub fn contains(&self, key: &Key) -> bool {
        self.position(key).is_some()
    }

    /// Which of the names `key` is (its place in the list the set was made of), if any.
    ///
    /// ```
    /// # use ferrobeam_device_api::message::KeySet;
    /// # use ferrobeam_device_api::Key;
    /// const SIGNATURE_FIELDS: KeySet<2> = KeySet::new(["signature", "signature-input"]);
    /// assert_eq!(SIGNATURE_FIELDS.position(&Key::new("signature-input")), Some(1));
    /// assert_eq!(SIGNATURE_FIELDS.position(&Key::new("body")), None);
    /// ```
    #[inline]
    pub fn position(&self, key: &Key) -> Option<usize> {
        if self.filter & key.filter_bit() == 0 {
            return None;
        }
        (0..N).find(|&i| key.is(self.names[i].as_bytes(), self.tags[i]))
    }

    /// The names, in the order the set was made of.
    ///
    /// ```
    /// # use ferrobeam_device_api::message::KeySet;
    /// const BODY_KEYS: KeySet<2> = KeySet::new(["body", "data"]);
    /// assert!(BODY_KEYS.names().contains(&"body"));
    /// ```
    pub const fn names(&self) -> &[&'static str; N] {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: KeySet<7> = KeySet::new([
        "signature",
        "signature-input",
        "ao-ids",
        "commitments",
        "body-keys",
        "data",
        "",
    ]);

    #[test]
    fn finds_each_name_and_only_those() {
        for (i, name) in NAMES.names().iter().enumerate() {
            assert_eq!(NAMES.position(&Key::new(name)), Some(i), "{name}");
            assert!(NAMES.contains(&Key::new(name.to_uppercase())), "{name}");
        }
        // Neighbours: a prefix, an extension, the same length and last byte.
        for other in [
            "commitment",
            "signatures",
            "ao-idz",
            "daya",
            "dat",
            "x",
            "body-keyz",
        ] {
            assert!(!NAMES.contains(&Key::new(other)), "{other}");
        }
    }

    /// `contains` answers as comparing the texts does: for every key of up to three bytes of
    /// a small alphabet, and every name with one byte changed, dropped or added.
    #[test]
    fn contains_is_text_membership() {
        let alphabet = b"abdegistuy-";
        let mut texts: Vec<String> = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = texts
                .iter()
                .flat_map(|t| alphabet.iter().map(move |&c| format!("{t}{}", c as char)))
                .collect();
            texts.extend(longer);
        }
        for name in NAMES.names() {
            for at in 0..=name.len() {
                let (head, tail) = name.split_at(at);
                texts.push(format!("{head}{}", tail.get(1..).unwrap_or("")));
                for &c in alphabet {
                    texts.push(format!("{head}{}{tail}", c as char));
                    texts.push(format!(
                        "{head}{}{}",
                        c as char,
                        tail.get(1..).unwrap_or("")
                    ));
                }
            }
        }
        for text in &texts {
            let key = Key::new(text);
            assert_eq!(
                NAMES.contains(&key),
                NAMES.names().contains(&text.as_str()),
                "{text:?}"
            );
        }
    }
}
