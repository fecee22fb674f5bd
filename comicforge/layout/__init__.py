"""Units, page formats and panel layouts (pure geometry)."""
