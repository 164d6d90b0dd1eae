"""Optional plugins shipped with remit, loaded only when named in ``REMIT_PLUGINS``."""
