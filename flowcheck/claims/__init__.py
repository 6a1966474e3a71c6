"""Claims: frozen YAML specs, the statistics they are judged on, and the judge (no torch)."""
