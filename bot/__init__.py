"""The Wuye bot process: settings, application factory, command line, i18n, error handling."""

import os

# Opt in to PTB's coming behaviour: Telegram's durations (RetryAfter.retry_after…) as
# timedelta. Without it PTB 22 warns on every 429; our code reads both forms.
os.environ.setdefault("PTB_TIMEDELTA", "1")
