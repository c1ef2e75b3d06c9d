//! The reference lab server (work in progress).
