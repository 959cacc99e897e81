"""Markdown tables that stay tables whatever their cells hold: ``|`` escaped, line breaks flattened."""


def cell(text):
    """``text`` as one Markdown table cell."""
    return str(text).replace('\\', '\\\\').replace('|', '\\|').replace('\r', ' ').replace('\n', ' ')


def row(cells):
    """``| a | b |`` of already-formatted cells (each escaped)."""
    return '| ' + ' | '.join(cell(c) for c in cells) + ' |'
