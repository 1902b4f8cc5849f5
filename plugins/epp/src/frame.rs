//! RFC 5734 framing: every EPP message is a 4-byte big-endian length that counts the four
//! header bytes too, followed by that many bytes of XML minus four.
//!
//! [`decode_frame`] is a pure function over a byte buffer so that it can be unit-tested and
//! fuzzed; [`read_frame`] and [`write_frame`] do the I/O with it.

use std::io::{self, Read, Write};

/// The parser every frame's payload goes through, public here (the `xml` module is private)
/// so that the framing and the answers it carries can be fuzzed together.
pub use crate::xml::{parse as parse_payload, Element, XmlError};

/// The length of the header.
pub const HEADER_LEN: usize = 4;

/// The largest frame we accept from a registry (header included). EPP answers are a few
/// kilobytes; anything near this is a broken or hostile peer, not a contact.
pub const MAX_FRAME_LEN: usize = 1024 * 1024;

/// Why a frame cannot be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The header announced fewer bytes than the header itself.
    #[error("EPP frame length {0} is shorter than its own 4-byte header (RFC 5734 framing)")]
    TooShort(u32),
    /// The header announced more than [`MAX_FRAME_LEN`].
    #[error("EPP frame length {0} is over the 1 MiB limit")]
    TooLong(u32),
}

/// What the start of `buffer` holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole frame: its payload, and how many bytes of `buffer` it took (header included).
    Frame {
        /// The XML.
        payload: &'a [u8],
        /// Header plus payload.
        consumed: usize,
    },
    /// Not a whole frame yet; at least this many bytes in all are needed.
    Incomplete {
        /// The buffer length at which decoding can go on.
        needed: usize,
    },
}

/// Decodes the frame at the start of `buffer`, without copying.
pub fn decode_frame(buffer: &[u8]) -> Result<Decoded<'_>, FrameError> {
    let Some(header) = buffer.first_chunk::<HEADER_LEN>() else {
        return Ok(Decoded::Incomplete { needed: HEADER_LEN });
    };
    let total = frame_len(*header)?;
    match buffer.get(HEADER_LEN..total) {
        Some(payload) => Ok(Decoded::Frame {
            payload,
            consumed: total,
        }),
        None => Ok(Decoded::Incomplete { needed: total }),
    }
}

/// The total frame length a header announces, checked.
fn frame_len(header: [u8; HEADER_LEN]) -> Result<usize, FrameError> {
    let length = u32::from_be_bytes(header);
    let total = usize::try_from(length).map_err(|_| FrameError::TooLong(length))?;
    if total < HEADER_LEN {
        Err(FrameError::TooShort(length))
    } else if total > MAX_FRAME_LEN {
        Err(FrameError::TooLong(length))
    } else {
        Ok(total)
    }
}

/// The header and payload of one frame.
pub fn encode_frame(payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    let total = payload.len() + HEADER_LEN;
    let length = u32::try_from(total).map_err(|_| FrameError::TooLong(u32::MAX))?;
    if total > MAX_FRAME_LEN {
        return Err(FrameError::TooLong(length));
    }
    let mut frame = Vec::with_capacity(total);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(payload);
    Ok(frame)
}

/// Reads one frame's payload. A bad length is `InvalidData` wrapping a [`FrameError`].
pub fn read_frame(reader: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut header = [0; HEADER_LEN];
    reader.read_exact(&mut header)?;
    let total = frame_len(header).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut payload = vec![0; total - HEADER_LEN];
    reader.read_exact(&mut payload)?;
    Ok(payload)
}

/// Writes one frame and flushes it.
pub fn write_frame(writer: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let frame =
        encode_frame(payload).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    writer.write_all(&frame)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_counts_the_header() {
        let frame = encode_frame(b"<epp/>").unwrap();
        assert_eq!(&frame[..4], &10u32.to_be_bytes());
        assert_eq!(
            decode_frame(&frame),
            Ok(Decoded::Frame {
                payload: b"<epp/>",
                consumed: 10
            })
        );
    }

    #[test]
    fn a_partial_frame_asks_for_more() {
        let frame = encode_frame(b"<epp/>").unwrap();
        let cases: [(usize, usize); 4] = [(0, 4), (3, 4), (4, 10), (9, 10)];
        for (have, needed) in cases {
            assert_eq!(
                decode_frame(&frame[..have]),
                Ok(Decoded::Incomplete { needed }),
                "{have} bytes"
            );
        }
    }

    #[test]
    fn only_the_first_frame_is_taken() {
        let mut two = encode_frame(b"a").unwrap();
        two.extend(encode_frame(b"bc").unwrap());
        assert_eq!(
            decode_frame(&two),
            Ok(Decoded::Frame {
                payload: b"a",
                consumed: 5
            })
        );
    }

    #[test]
    fn an_empty_frame_is_four_bytes() {
        assert_eq!(
            decode_frame(&4u32.to_be_bytes()),
            Ok(Decoded::Frame {
                payload: b"",
                consumed: 4
            })
        );
    }

    #[test]
    fn lengths_out_of_range_are_errors() {
        let cases = [
            (0, FrameError::TooShort(0)),
            (3, FrameError::TooShort(3)),
            (1024 * 1024 + 1, FrameError::TooLong(1024 * 1024 + 1)),
            (u32::MAX, FrameError::TooLong(u32::MAX)),
        ];
        for (length, want) in cases {
            assert_eq!(decode_frame(&length.to_be_bytes()), Err(want.clone()));
            let mut reader: &[u8] = &length.to_be_bytes();
            let err = read_frame(&mut reader).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        }
        assert_eq!(
            decode_frame(&(1024u32 * 1024).to_be_bytes()),
            Ok(Decoded::Incomplete {
                needed: 1024 * 1024
            })
        );
    }

    #[test]
    fn read_and_write_round_trip() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"<hello/>").unwrap();
        write_frame(&mut wire, b"").unwrap();
        let mut reader: &[u8] = &wire;
        assert_eq!(read_frame(&mut reader).unwrap(), b"<hello/>");
        assert_eq!(read_frame(&mut reader).unwrap(), b"");
        assert_eq!(
            read_frame(&mut reader).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn a_truncated_stream_is_an_error() {
        let frame = encode_frame(b"<epp/>").unwrap();
        let mut reader: &[u8] = &frame[..7];
        assert_eq!(
            read_frame(&mut reader).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    /// A cheap stand-in for a fuzzer: every prefix of every small buffer decodes or errs,
    /// never panics, and a frame never claims more than the buffer holds.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let bytes = seed.to_be_bytes();
            let len = (seed % 9) as usize;
            if let Ok(Decoded::Frame { consumed, payload }) = decode_frame(&bytes[..len]) {
                assert!(consumed <= len && payload.len() + 4 == consumed);
            }
        }
    }
}
