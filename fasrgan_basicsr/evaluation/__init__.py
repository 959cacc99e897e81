"""Helpers of the evaluation tools: generator loading and tiled inference (``generators``), results tables
(``results``), plots drawn with OpenCV (``plots``), ImageNet object recognition (``imagenet``) and the
reporting of metrics that cannot run (``unavailable``)."""
