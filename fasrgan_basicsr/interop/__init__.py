"""This project's generators in other tools: exported files (``export``) and spandrel's loader (``spandrel``)."""
