"""Every query the API makes (see records.py, counters.py, users.py)."""
