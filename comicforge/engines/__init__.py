"""Panel engines behind one interface (protocol.py), found by name in registry.py."""
