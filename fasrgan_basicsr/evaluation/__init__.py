"""Evaluation beyond the test pipeline: scoring published SR images (``scoring``), results tables and their figures
(``results``, ``result_plots``, ``plots``), ImageNet object recognition (``imagenet``), and the paper's figures of
trained networks: score maps (``score_map_viewer``) and feature maps (``feature_maps``)."""
