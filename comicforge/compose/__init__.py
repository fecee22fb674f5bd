"""Page composition (raster art + vector overlay) and exporters (PDF, PNG, CBZ)."""
