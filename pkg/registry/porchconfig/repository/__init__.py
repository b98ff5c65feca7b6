"""``repositories`` (+ ``/status``) for standalone mode: the Repository CRD's rules as storage."""
