"""Every text a person reads, per locale (``locales/<locale>.toml``)."""
