//! The binary data item (ANS-104 "Binary format") and its limits.
//!
//! ```text
//! signature type   u16 LE        1 = Arweave (RSA-4096, PSS-SHA256)
//! signature        512 bytes
//! owner            512 bytes     the RSA modulus
//! target           1 + 0|32      presence byte, then the target's raw ID
//! anchor           1 + 0|32
//! tag count        u64 LE
//! tag bytes        u64 LE
//! tags             Avro array of {name: bytes, value: bytes}
//! data             every remaining byte
//! ```

use crate::{avro, Error};

/// Arweave's signature type: RSA-4096 with PSS padding over SHA-256.
pub const SIGNATURE_TYPE_ARWEAVE: u16 = 1;
/// Bytes of a type-1 signature and owner (a 4096-bit modulus).
pub const RSA_4096_BYTES: usize = 512;
/// At most this many tags (ANS-104).
pub const MAX_TAGS: usize = 128;
/// At most this many bytes in a tag name.
pub const MAX_TAG_NAME: usize = 1024;
/// At most this many bytes in a tag value.
pub const MAX_TAG_VALUE: usize = 3072;

/// One tag, in the item's order. Names keep their case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The name, as sent.
    pub name: Vec<u8>,
    /// The value, as sent.
    pub value: Vec<u8>,
}

impl Tag {
    /// A tag from its name and value.
    ///
    /// ```
    /// let tag = ferrobeam_ans104::Tag::new("Action", "Transfer");
    /// assert_eq!(tag.name, b"Action");
    /// ```
    pub fn new(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Tag {
        Tag {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A data item. Signed items carry a 512-byte `signature` and `owner`; an item being built
/// carries zeros until [`DataItem::sign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataItem {
    /// The signature (`RSA_4096_BYTES` bytes).
    pub signature: Vec<u8>,
    /// The signer's RSA modulus (`RSA_4096_BYTES` bytes).
    pub owner: Vec<u8>,
    /// The raw 32-byte target, when there is one.
    pub target: Option<[u8; 32]>,
    /// The raw 32-byte anchor, when there is one.
    pub anchor: Option<[u8; 32]>,
    /// The tags, in order.
    pub tags: Vec<Tag>,
    /// The data.
    pub data: Vec<u8>,
}

impl DataItem {
    /// An unsigned item with these fields (signature and owner zeroed).
    pub fn unsigned(tags: Vec<Tag>, data: Vec<u8>) -> Self {
        DataItem {
            signature: vec![0; RSA_4096_BYTES],
            owner: vec![0; RSA_4096_BYTES],
            target: None,
            anchor: None,
            tags,
            data,
        }
    }

    /// Parses a binary data item, checking every length and the tag limits. The signature is
    /// not checked here: see [`DataItem::verify`](crate::DataItem::verify).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Cursor { bytes, at: 0 };
        let kind = u16::from_le_bytes(r.array::<2>("signature type")?);
        if kind != SIGNATURE_TYPE_ARWEAVE {
            return Err(Error::SignatureType(kind));
        }
        let signature = r.take(RSA_4096_BYTES, "signature")?.to_vec();
        let owner = r.take(RSA_4096_BYTES, "owner")?.to_vec();
        let target = r.optional("target")?;
        let anchor = r.optional("anchor")?;
        let count = u64::from_le_bytes(r.array::<8>("tag count")?);
        if count > MAX_TAGS as u64 {
            return Err(Error::TagLimits(format!(
                "{count} tags, at most {MAX_TAGS} are allowed"
            )));
        }
        let size = u64::from_le_bytes(r.array::<8>("tag size")?);
        let size = usize::try_from(size).map_err(|_| Error::Truncated("tags"))?;
        let tags = avro::decode(r.take(size, "tags")?, count)?;
        check_tags(&tags)?;
        let data = r.rest().to_vec();
        Ok(DataItem {
            signature,
            owner,
            target,
            anchor,
            tags,
            data,
        })
    }

    /// The item's binary form.
    pub fn serialize(&self) -> Vec<u8> {
        let tags = avro::encode(&self.tags);
        let mut out = Vec::with_capacity(
            2 + self.signature.len() + self.owner.len() + 66 + 16 + tags.len() + self.data.len(),
        );
        out.extend_from_slice(&SIGNATURE_TYPE_ARWEAVE.to_le_bytes());
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.owner);
        for field in [&self.target, &self.anchor] {
            match field {
                Some(raw) => {
                    out.push(1);
                    out.extend_from_slice(raw);
                }
                None => out.push(0),
            }
        }
        out.extend_from_slice(&(self.tags.len() as u64).to_le_bytes());
        out.extend_from_slice(&(tags.len() as u64).to_le_bytes());
        out.extend_from_slice(&tags);
        out.extend_from_slice(&self.data);
        out
    }
}

/// ANS-104's tag limits.
pub fn check_tags(tags: &[Tag]) -> Result<(), Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::TagLimits(format!(
            "{} tags, at most {MAX_TAGS} are allowed",
            tags.len()
        )));
    }
    for (i, tag) in tags.iter().enumerate() {
        if tag.name.len() > MAX_TAG_NAME {
            return Err(Error::TagLimits(format!(
                "tag {} has a {}-byte name, at most {MAX_TAG_NAME} are allowed",
                i + 1,
                tag.name.len()
            )));
        }
        if tag.value.len() > MAX_TAG_VALUE {
            return Err(Error::TagLimits(format!(
                "tag {} ({}) has a {}-byte value, at most {MAX_TAG_VALUE} are allowed",
                i + 1,
                String::from_utf8_lossy(&tag.name),
                tag.value.len()
            )));
        }
    }
    Ok(())
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(Error::Truncated(what))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn optional(&mut self, what: &'static str) -> Result<Option<[u8; 32]>, Error> {
        match self.array::<1>(what)?[0] {
            0 => Ok(None),
            1 => Ok(Some(self.array::<32>(what)?)),
            other => Err(Error::Presence(what, other)),
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> DataItem {
        let mut item = DataItem::unsigned(
            vec![Tag {
                name: b"Type".to_vec(),
                value: b"Message".to_vec(),
            }],
            b"hello".to_vec(),
        );
        item.target = Some([7; 32]);
        item
    }

    #[test]
    fn serialize_then_parse_is_identity() {
        let item = item();
        assert_eq!(DataItem::parse(&item.serialize()).unwrap(), item);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = item().serialize();
        let data_start = bytes.len() - 5;
        for n in 0..data_start {
            assert!(DataItem::parse(&bytes[..n]).is_err(), "cut at {n}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let mut big = item();
        big.tags = (0..129)
            .map(|i| Tag {
                name: format!("t{i}").into_bytes(),
                value: b"v".to_vec(),
            })
            .collect();
        assert!(matches!(
            DataItem::parse(&big.serialize()),
            Err(Error::TagLimits(_))
        ));
        let mut long = item();
        long.tags[0].value = vec![b'x'; MAX_TAG_VALUE + 1];
        assert!(matches!(
            DataItem::parse(&long.serialize()),
            Err(Error::TagLimits(_))
        ));
        let mut bytes = item().serialize();
        bytes[0] = 2;
        assert_eq!(DataItem::parse(&bytes), Err(Error::SignatureType(2)));
        let mut bytes = item().serialize();
        bytes[2 + 1024] = 9;
        assert_eq!(DataItem::parse(&bytes), Err(Error::Presence("target", 9)));
    }
}
