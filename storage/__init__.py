"""SQLite storage: migrations, repositories, the audit trail and PTB persistence."""
