"""Locale files: zh-Hans is the source; zh-Hant and en must carry the same keys."""
