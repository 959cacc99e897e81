"""Score-map pictures a person can read at a glance: the paper's attention figure, with its scale.

:func:`score_map_figures` turns one image's displayed score map (``(H, W)`` values in [0, 1], the channel
mean of ``M``; see :mod:`fasrgan_basicsr.visualization.score_map`) and, for the panel, its SR and HR images
into figures. Each is a white canvas with

- a title of two lines: the one given (which run, which iteration, which image) and the map's range
  (min, max, mean — :class:`~fasrgan_basicsr.visualization.score_map.MapRange`);
- tiles with a caption above each: HR, SR, the map on the absolute scale (0 blue … 1 red, OpenCV's JET)
  and, with ``normalize``, the map stretched to its own min … max;
- beside each map a colour bar with its values; a bracket beside the absolute bar marks the map's range;
- a legend line saying how to read the colours.

Tiles whose longer side is under ``DISPLAY_LONG_SIDE`` pixels are enlarged by an integer factor with
nearest neighbour (each pixel a visible square). Text is OpenCV's Hershey font (ASCII only).
Every :class:`Figure` keeps the boxes where its tiles and bars lie, so their pixels can be read back.
"""
from dataclasses import dataclass, field

import cv2
import numpy as np

from .drawing import BLACK, FONT, LINE, MARGIN, SMALL_SCALE, Box, enlarge, put_text, text_width
from .score_map import MapRange

COLUMN_GAP = 16
BAR_GAP = 10  # between a map tile and its colour bar; the range bracket is drawn there
BAR_WIDTH = 16
TICK = 4
DISPLAY_LONG_SIDE = 384
COLORMAP = cv2.COLORMAP_JET
ABSOLUTE_TICKS = tuple((v, f'{v:.2f}') for v in (1.0, 0.75, 0.5, 0.25, 0.0))
LEGEND = 'red: judged real (M near 1)   blue: judged fake (M near 0); L_attention weighs |SR - HR| by 1 - M'


@dataclass
class Figure:
    """A rendered figure (BGR uint8 ``image``) and what it was made from.

    ``boxes``: tile name (``'hr'``, ``'sr'``, ``'map'``, ``'map_norm'``, and ``'<map>_bar'`` for colour bars)
    → :class:`Box`; ``factor``: the display enlargement of every tile.
    """
    image: np.ndarray
    title_lines: tuple
    map_range: MapRange
    factor: int
    boxes: dict = field(default_factory=dict)


@dataclass
class _Column:
    name: str
    caption: str
    tile: np.ndarray
    bar: tuple = None  # (low, high, ((value, label), ...)) of a colour bar beside the tile
    bracket: tuple = None  # (low, high) marked beside the bar


def display_factor(h, w):
    """Integer enlargement bringing an ``h × w`` tile's longer side near ``DISPLAY_LONG_SIDE`` (≥ 1)."""
    return max(1, DISPLAY_LONG_SIDE // max(h, w))


def colorize(values, low=0.0, high=1.0):
    """``(H, W)`` values → BGR uint8 colours: grey level ``round((v − low) / (high − low) · 255)`` through JET."""
    span = high - low if high > low else 1.0
    grey = np.clip(np.floor((values - low) / span * 255 + 0.5), 0, 255).astype(np.uint8)
    return cv2.applyColorMap(grey, COLORMAP)


def color_bar(height, width=BAR_WIDTH):
    """A vertical colour bar ``(height, width, 3)``: its top row is grey level 255 (red), its bottom row 0 (blue)."""
    grey = np.floor(np.linspace(255, 0, height) + 0.5).astype(np.uint8)
    return cv2.applyColorMap(np.repeat(grey[:, None], width, axis=1), COLORMAP)


def _column_width(column):
    width = column.tile.shape[1]
    if column.bar is not None:
        width += BAR_GAP + BAR_WIDTH + TICK + 2 + max(text_width(label, SMALL_SCALE) for _, label in column.bar[2])
    return max(width, text_width(column.caption))


def _bar_row(value, low, high, top, height):
    return top + int(round((high - value) / (high - low) * (height - 1)))


def _draw_bar(canvas, column, x, top, height):
    low, high, ticks = column.bar
    canvas[top:top + height, x:x + BAR_WIDTH] = color_bar(height)
    label_height = cv2.getTextSize('0', FONT, SMALL_SCALE, 1)[0][1]
    for value, label in ticks:
        row = _bar_row(value, low, high, top, height)
        cv2.line(canvas, (x + BAR_WIDTH, row), (x + BAR_WIDTH + TICK - 1, row), BLACK, 1)
        put_text(canvas, label, x + BAR_WIDTH + TICK + 2, row + label_height // 2, SMALL_SCALE)
    if column.bracket is not None:  # the map's range on this bar: a vertical line with caps pointing at the bar
        row_high, row_low = (_bar_row(v, low, high, top, height) for v in column.bracket[::-1])
        row_high, row_low = min(row_high, row_low - 2), max(row_low, row_high + 2)
        cv2.line(canvas, (x - 5, row_high), (x - 5, row_low), BLACK, 2)
        for row in (row_high, row_low):
            cv2.line(canvas, (x - 5, row), (x - 2, row), BLACK, 1)


def _render(columns, title_lines, legend):
    tile_height = max(column.tile.shape[0] for column in columns)
    widths = [_column_width(column) for column in columns]
    content_width = sum(widths) + COLUMN_GAP * (len(columns) - 1)
    title_width = max(text_width(line) for line in (*title_lines, legend))
    top = MARGIN + LINE * (len(title_lines) + 1)  # title lines, then the captions
    canvas = np.full((top + tile_height + LINE + MARGIN, 2 * MARGIN + max(content_width, title_width), 3), 255,
                     np.uint8)
    for i, line in enumerate(title_lines):
        put_text(canvas, line, MARGIN, MARGIN + LINE * (i + 1) - 6)
    boxes, x = {}, MARGIN
    for column, width in zip(columns, widths):
        put_text(canvas, column.caption, x, top - 6)
        h, w = column.tile.shape[:2]
        canvas[top:top + h, x:x + w] = column.tile
        boxes[column.name] = Box(x, top, w, h)
        if column.bar is not None:
            bar_x = x + w + BAR_GAP
            _draw_bar(canvas, column, bar_x, top, h)
            boxes[f'{column.name}_bar'] = Box(bar_x, top, BAR_WIDTH, h)
        x += width + COLUMN_GAP
    put_text(canvas, legend, MARGIN, top + tile_height + LINE - 4)
    return canvas, boxes


def score_map_figures(values, title, sr=None, hr=None, normalize=False):
    """Figures of one image's score map.

    Args:
        values: the displayed map ``(H, W)``, values in [0, 1] (the channel mean of ``M``).
        title: one line saying which run, which iteration and which image.
        sr, hr: BGR uint8 ``(H, W, 3)`` images, the SR image the map scores and its ground truth, or None.
        normalize: also show the map stretched to its own min … max, beside the absolute scale.

    Returns:
        dict of :class:`Figure`: ``'score_map'`` (the map on the absolute scale), ``'score_map_norm'`` (with
        ``normalize``: the stretched map) and, when ``sr`` is given, ``'panel'``: ``[HR |] SR | map [| stretched]``.
    """
    for name, image in (('sr', sr), ('hr', hr)):
        if image is not None and image.shape[:2] != values.shape:
            raise ValueError(f'{name} image {image.shape[:2]} and score map {values.shape} differ in size.')
    map_range = MapRange.of(values)
    factor = display_factor(*values.shape)
    lines = (title, f'score map M (mean over channels): {map_range.describe()}')
    low, high = map_range.low, max(map_range.high, map_range.low + 1e-6)
    maps = [_Column('map', 'M on the absolute scale 0..1', enlarge(colorize(values), factor),
                    bar=(0.0, 1.0, ABSOLUTE_TICKS), bracket=(map_range.low, map_range.high))]
    if normalize:
        stretched_ticks = tuple((v, f'{v:.3f}') for v in (high, (low + high) / 2, low))
        maps.append(_Column('map_norm', 'M stretched to its own min..max', enlarge(colorize(values, low, high), factor),
                            bar=(low, high, stretched_ticks)))
    figures = {}
    for column in maps:
        image, boxes = _render([column], lines, LEGEND)
        figures['score_map' if column.name == 'map' else 'score_map_norm'] = Figure(image, lines, map_range, factor,
                                                                                    boxes)
    if sr is not None:
        images = [_Column('sr', 'SR', enlarge(sr, factor))]
        if hr is not None:
            images.insert(0, _Column('hr', 'HR (ground truth)', enlarge(hr, factor)))
        image, boxes = _render(images + maps, lines, LEGEND)
        figures['panel'] = Figure(image, lines, map_range, factor, boxes)
    return figures
