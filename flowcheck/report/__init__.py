"""Reports of a run: verdict JSON (rounded, sorted), Markdown summary, HTML with plots."""
