"""Chat handlers, one module per procedure: they ask, parse, validate and show."""
