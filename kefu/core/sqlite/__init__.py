"""Django's SQLite backend with write transactions queued by the operating system (see base.py)."""
