//! Text and byte-string argument encodings of protocol 0 and Python 2 strings.
