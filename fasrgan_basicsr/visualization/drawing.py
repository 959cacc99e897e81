"""What every figure of this package draws with: OpenCV's Hershey font (ASCII only) in black on white, boxes
that say where a tile lies, and nearest-neighbour enlargement (each pixel a visible square)."""
from dataclasses import dataclass

import cv2

FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT_SCALE, SMALL_SCALE = 0.5, 0.4
LINE = 20  # pixels per line of text
MARGIN = 10
BLACK = (0, 0, 0)


@dataclass(frozen=True)
class Box:
    """A rectangle of a figure: left ``x``, top ``y``, width ``w``, height ``h`` in pixels."""
    x: int
    y: int
    w: int
    h: int

    def of(self, image):
        return image[self.y:self.y + self.h, self.x:self.x + self.w]


def enlarge(image, factor):
    """Nearest-neighbour enlargement by an integer factor: every pixel becomes a ``factor × factor`` square."""
    return image if factor == 1 else image.repeat(factor, axis=0).repeat(factor, axis=1)


def text_width(text, scale=TEXT_SCALE):
    """Width in pixels of ``text`` in the figures' font at ``scale``."""
    return cv2.getTextSize(text, FONT, scale, 1)[0][0]


def put_text(canvas, text, x, baseline, scale=TEXT_SCALE):
    """Draw ``text`` in black with its left end at ``x`` and its baseline at ``baseline``."""
    cv2.putText(canvas, text, (int(x), int(baseline)), FONT, scale, BLACK, 1, cv2.LINE_AA)
