//! Start an axum `Router` on a local port in a background thread; stops on drop.
