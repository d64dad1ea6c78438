"""The web chat page's static files (no external CDN: it works offline)."""
