"""The manual as code: rules, forms and calendars; no Telegram, no SQL."""
