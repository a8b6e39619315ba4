//! The protobuf wire format, read-only: varints, fixed-width numbers and
//! length-delimited fields, with every length checked against the input.

use super::ProtobufError;

/// Wire types (groups, 3 and 4, are rejected).
pub(super) const VARINT: u8 = 0;
pub(super) const FIXED64: u8 = 1;
pub(super) const LEN: u8 = 2;
pub(super) const FIXED32: u8 = 5;

/// One field as read from the wire.
#[derive(Debug, Clone, Copy)]
pub(super) enum Payload<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32,
    Bytes(&'a [u8]),
}

impl Payload<'_> {
    pub(super) fn wire_type(&self) -> u8 {
        match self {
            Payload::Varint(_) => VARINT,
            Payload::Fixed64(_) => FIXED64,
            Payload::Bytes(_) => LEN,
            Payload::Fixed32 => FIXED32,
        }
    }
}

/// A cursor over one message's fields.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(super) fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some((&b, rest)) = self.buf.split_first() else {
                return Err(ProtobufError::Truncated);
            };
            self.buf = rest;
            if i == 9 && b > 1 {
                return Err(ProtobufError::Malformed("varint overflows 64 bits".into()));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::Malformed("varint longer than 10 bytes".into()))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtobufError> {
        if n > self.buf.len() {
            return Err(ProtobufError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(super) fn fixed64(&mut self) -> Result<u64, ProtobufError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn fixed32(&mut self) -> Result<(), ProtobufError> {
        self.take(4).map(|_| ())
    }

    /// The next field's tag and payload, or `None` at the end of the message.
    pub(super) fn field(&mut self) -> Result<Option<(u32, Payload<'a>)>, ProtobufError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let tag = u32::try_from(key >> 3)
            .ok()
            .filter(|t| *t != 0 && *t < (1 << 29))
            .ok_or_else(|| ProtobufError::Malformed(format!("invalid field number {}", key >> 3)))?;
        let payload = match (key & 7) as u8 {
            VARINT => Payload::Varint(self.varint()?),
            FIXED64 => Payload::Fixed64(self.fixed64()?),
            LEN => {
                let n = usize::try_from(self.varint()?).map_err(|_| ProtobufError::Truncated)?;
                Payload::Bytes(self.take(n)?)
            }
            FIXED32 => {
                self.fixed32()?;
                Payload::Fixed32
            }
            w => return Err(ProtobufError::Malformed(format!("unsupported wire type {w} for field {tag}"))),
        };
        Ok(Some((tag, payload)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varints_and_rejects_overflow() {
        assert_eq!(Reader::new(&[0x96, 0x01]).varint().ok(), Some(150));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).varint().ok(), Some(u64::MAX));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(Reader::new(&over).varint().is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
    }

    #[test]
    fn rejects_bad_keys_and_lengths() {
        assert!(Reader::new(&[0x00]).field().is_err()); // field 0
        assert!(Reader::new(&[0x0b]).field().is_err()); // group
        assert!(Reader::new(&[0x0a, 0x05, 1, 2]).field().is_err()); // short
        assert!(Reader::new(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]).field().is_err());
    }
}
