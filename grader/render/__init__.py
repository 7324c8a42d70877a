"""Renderers: turn results into terminal text, JSON, HTML and other formats (no grading logic here)."""
