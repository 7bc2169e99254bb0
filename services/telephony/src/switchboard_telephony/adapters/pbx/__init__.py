"""PBX adapters: one module per PBX (see :mod:`.base`)."""
