"""Small scatter and line plots drawn with OpenCV and numpy (no plotting library needed), written as PNG.

``scatter_plot`` draws the paper's LPIPS-vs-RMSE trade-off figure (one labelled point per method);
``line_plot`` its validation curves (PI or LPIPS vs iteration, one line per run).
"""
import math

import cv2
import numpy as np

PALETTE = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140),
           (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23)]  # BGR, the "tab10" colours
FONT = cv2.FONT_HERSHEY_SIMPLEX
WIDTH, HEIGHT = 900, 640
LEFT, RIGHT, TOP, BOTTOM = 100, 40, 60, 80


def nice_ticks(lo, hi, count=6):
    """Round tick values covering ``[lo, hi]`` (steps of 1, 2 or 5 × 10^k); returns ``(ticks, lo, hi)``."""
    if not hi > lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start, stop = math.floor(lo / step) * step, math.ceil(hi / step) * step
    ticks = [start + i * step for i in range(int(round((stop - start) / step)) + 1)]
    return ticks, start, stop


def _tick_label(value, step):
    digits = max(0, -int(math.floor(math.log10(step)))) if step > 0 else 0
    return f'{value:.{digits}f}'


def _text(img, text, org, scale=0.5, color=(0, 0, 0), thickness=1, anchor='left'):
    (w, h), _ = cv2.getTextSize(text, FONT, scale, thickness)
    x, y = org
    if anchor == 'center':
        x -= w // 2
    elif anchor == 'right':
        x -= w
    cv2.putText(img, text, (int(x), int(y)), FONT, scale, color, thickness, cv2.LINE_AA)
    return w, h


class Axes:
    """A white canvas with a frame, grid, ticks, axis labels and a title; maps data to pixels."""

    def __init__(self, xs, ys, x_label, y_label, title, margin=0.08):
        finite_x = [x for x in xs if math.isfinite(x)]
        finite_y = [y for y in ys if math.isfinite(y)]
        if not finite_x or not finite_y:
            raise ValueError(f'{title}: nothing to plot (no finite values).')
        self.img = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
        self.x_ticks, self.x0, self.x1 = nice_ticks(*self._padded(finite_x, margin))
        self.y_ticks, self.y0, self.y1 = nice_ticks(*self._padded(finite_y, margin))
        self._frame(x_label, y_label, title)

    @staticmethod
    def _padded(values, margin):
        lo, hi = min(values), max(values)
        pad = (hi - lo) * margin
        return lo - pad, hi + pad

    def px(self, x, y):
        u = LEFT + (x - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)
        v = HEIGHT - BOTTOM - (y - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)
        return int(round(u)), int(round(v))

    def _frame(self, x_label, y_label, title):
        img, grid, black = self.img, (225, 225, 225), (0, 0, 0)
        x_step = self.x_ticks[1] - self.x_ticks[0] if len(self.x_ticks) > 1 else 1
        y_step = self.y_ticks[1] - self.y_ticks[0] if len(self.y_ticks) > 1 else 1
        for x in self.x_ticks:
            u, _ = self.px(x, self.y0)
            cv2.line(img, (u, TOP), (u, HEIGHT - BOTTOM), grid, 1)
            _text(img, _tick_label(x, x_step), (u, HEIGHT - BOTTOM + 20), 0.45, anchor='center')
        for y in self.y_ticks:
            _, v = self.px(self.x0, y)
            cv2.line(img, (LEFT, v), (WIDTH - RIGHT, v), grid, 1)
            _text(img, _tick_label(y, y_step), (LEFT - 8, v + 5), 0.45, anchor='right')
        cv2.rectangle(img, (LEFT, TOP), (WIDTH - RIGHT, HEIGHT - BOTTOM), black, 1)
        _text(img, title, (WIDTH // 2, TOP - 22), 0.65, thickness=2, anchor='center')
        _text(img, x_label, ((LEFT + WIDTH - RIGHT) // 2, HEIGHT - 25), 0.55, anchor='center')
        (w, h), _ = cv2.getTextSize(y_label, FONT, 0.55, 1)
        label = np.full((h + 10, w + 4, 3), 255, np.uint8)
        _text(label, y_label, (2, h + 3), 0.55)
        label = cv2.rotate(label, cv2.ROTATE_90_COUNTERCLOCKWISE)
        top = max(0, (TOP + HEIGHT - BOTTOM) // 2 - label.shape[0] // 2)
        label = label[:HEIGHT - top]
        self.img[top:top + label.shape[0], 15:15 + label.shape[1]] = label

    def legend(self, entries):
        """``[(label, colour), ...]`` in a box at the top right of the plot area."""
        if not entries:
            return
        width = max(cv2.getTextSize(name, FONT, 0.45, 1)[0][0] for name, _ in entries) + 40
        x, y = WIDTH - RIGHT - width - 10, TOP + 10
        cv2.rectangle(self.img, (x, y), (x + width, y + 20 * len(entries) + 6), (255, 255, 255), -1)
        cv2.rectangle(self.img, (x, y), (x + width, y + 20 * len(entries) + 6), (160, 160, 160), 1)
        for k, (name, colour) in enumerate(entries):
            cy = y + 14 + 20 * k
            cv2.line(self.img, (x + 6, cy), (x + 26, cy), colour, 2, cv2.LINE_AA)
            _text(self.img, name, (x + 32, cy + 5), 0.45)

    def save(self, path):
        if not cv2.imwrite(str(path), self.img):
            raise OSError(f'{path}: OpenCV could not write the plot.')
        return str(path)


def scatter_plot(points, x_label, y_label, title, path):
    """One labelled marker per ``(label, x, y)`` (non-finite points are left out); writes ``path`` (PNG)."""
    points = [(name, x, y) for name, x, y in points if math.isfinite(x) and math.isfinite(y)]
    axes = Axes([p[1] for p in points], [p[2] for p in points], x_label, y_label, title, margin=0.15)
    for k, (name, x, y) in enumerate(points):
        colour = PALETTE[k % len(PALETTE)]
        u, v = axes.px(x, y)
        cv2.circle(axes.img, (u, v), 6, colour, -1, cv2.LINE_AA)
        _text(axes.img, name, (u + 9, v - 7), 0.45, colour)
    return axes.save(path)


def line_plot(series, x_label, y_label, title, path):
    """One line with markers per ``{label: [(x, y), ...]}`` and a legend; writes ``path`` (PNG)."""
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    axes = Axes(xs, ys, x_label, y_label, title, margin=0.05)
    entries = []
    for k, (name, points) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        pixels = [axes.px(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
        if len(pixels) > 1:
            cv2.polylines(axes.img, [np.array(pixels, np.int32)], False, colour, 2, cv2.LINE_AA)
        for u, v in pixels:
            cv2.circle(axes.img, (u, v), 3, colour, -1, cv2.LINE_AA)
        entries.append((name, colour))
    axes.legend(entries)
    return axes.save(path)
