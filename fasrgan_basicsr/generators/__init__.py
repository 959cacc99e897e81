"""Trained generators outside training: recognised from their checkpoints and loaded (``loading``), run whole or
in tiles (``tiling``), on images read and written as the commands do (``image_io``, ``upscaler``)."""
