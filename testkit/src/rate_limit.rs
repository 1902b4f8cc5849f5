//! A rate-limit layer that answers 429 above N requests per window and logs every arrival.
