"""Build graph: keys, content-addressed store, plan, run."""
