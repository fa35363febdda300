"""The HTTP API: each kind's service (what hosts call too) and the endpoints
that serve it, declared with Cornice behind one Service subclass
(``service.py``)."""
