//! The tag block: an Avro array of `{name: bytes, value: bytes}` records (ANS-104 §"Tags").
//!
//! Lengths and counts are Avro `long`s (zig-zag varints). A block of `n < 0` items is followed by
//! its size in bytes, as Avro allows; a block of 0 items ends the array. Writers produce one
//! block followed by the terminator, as `arbundles` and HyperBEAM do, and nothing at all for an
//! empty list.

use crate::item::Tag;
use crate::Error;

/// Encodes `tags` as ANS-104 writes them.
pub fn encode(tags: &[Tag]) -> Vec<u8> {
    if tags.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(
        tags.iter()
            .map(|t| t.name.len() + t.value.len() + 4)
            .sum::<usize>()
            + 4,
    );
    write_long(&mut out, tags.len() as i64);
    for tag in tags {
        write_bytes(&mut out, &tag.name);
        write_bytes(&mut out, &tag.value);
    }
    write_long(&mut out, 0);
    out
}

/// Decodes a tag block holding `expected` tags; every byte must be used.
pub fn decode(bytes: &[u8], expected: u64) -> Result<Vec<Tag>, Error> {
    let mut reader = Reader { bytes, at: 0 };
    let mut tags = Vec::new();
    if bytes.is_empty() {
        return if expected == 0 {
            Ok(tags)
        } else {
            Err(Error::Tags(format!(
                "{expected} tags declared, none present"
            )))
        };
    }
    loop {
        let count = reader.long()?;
        if count == 0 {
            break;
        }
        if count < 0 {
            // A block with its byte size: the size is informative only.
            reader.long()?;
        }
        let count = count.unsigned_abs();
        if (tags.len() as u64).saturating_add(count) > expected {
            return Err(Error::Tags(format!(
                "more tags present than the {expected} declared"
            )));
        }
        for _ in 0..count {
            let name = reader.bytes()?.to_vec();
            let value = reader.bytes()?.to_vec();
            tags.push(Tag { name, value });
        }
    }
    if reader.at != bytes.len() {
        return Err(Error::Tags(format!(
            "{} bytes follow the end of the tag array",
            bytes.len() - reader.at
        )));
    }
    if tags.len() as u64 != expected {
        return Err(Error::Tags(format!(
            "{expected} tags declared, {} present",
            tags.len()
        )));
    }
    Ok(tags)
}

fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn long(&mut self) -> Result<i64, Error> {
        let mut z: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err(Error::Tags("the tag array ends inside a number".into()));
            };
            self.at += 1;
            z |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
            }
        }
        Err(Error::Tags("a number is longer than 10 bytes".into()))
    }

    fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let len = self.long()?;
        let len =
            usize::try_from(len).map_err(|_| Error::Tags(format!("negative length {len}")))?;
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| Error::Tags(format!("a {len}-byte string runs past the tag array")))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(n: &str, v: &str) -> Tag {
        Tag::new(n, v)
    }

    #[test]
    fn round_trip() {
        let tags = vec![
            tag("Action", "Transfer"),
            tag("", ""),
            tag("x", &"y".repeat(300)),
        ];
        assert_eq!(decode(&encode(&tags), 3).unwrap(), tags);
    }

    #[test]
    fn zigzag_matches_avro() {
        let mut out = Vec::new();
        for n in [0, -1, 1, -2, 2, 63, -64, 64] {
            write_long(&mut out, n);
        }
        assert_eq!(out, [0, 1, 2, 3, 4, 0x7e, 0x7f, 0x80, 0x01]);
    }

    #[test]
    fn a_negative_block_count_carries_a_size() {
        let mut bytes = Vec::new();
        write_long(&mut bytes, -1);
        write_long(&mut bytes, 4);
        write_bytes(&mut bytes, b"a");
        write_bytes(&mut bytes, b"b");
        write_long(&mut bytes, 0);
        assert_eq!(decode(&bytes, 1).unwrap(), vec![tag("a", "b")]);
    }

    #[test]
    fn counts_and_lengths_are_checked() {
        let bytes = encode(&[tag("a", "b")]);
        assert!(decode(&bytes, 2).is_err());
        assert!(decode(&bytes, 0).is_err());
        assert!(decode(&bytes[..bytes.len() - 1], 1).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode(&long, 1).is_err());
        assert!(decode(&[0x02, 0x7f], 1).is_err());
        assert!(decode(&[0xff; 12], 1).is_err());
    }
}
