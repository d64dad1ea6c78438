"""Every text a person reads, per locale and procedure (``locales/<locale>.<part>.toml``)."""
