"""ingest: read FSD50K, ESC-50 or a manifest CSV, bin tags into classes, split, write a manifest."""
