//! Python-repr formatting of strings, bytes, floats and integers (no allocation).
