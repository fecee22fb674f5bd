"""Lettering: fonts, text fitting, balloons."""
