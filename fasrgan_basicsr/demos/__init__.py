"""The demos behind ``make demo`` and ``make demo-realworld``: tiny datasets from photographs shipped in
scikit-image (``photos``), the steps that run the real commands (``steps``), and each demo's own parts."""
