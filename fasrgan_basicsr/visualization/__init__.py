"""Pictures a person reads at a glance, drawn without loading any network: the score map of a discriminator
(``score_map``), its figures and panels (``score_map_panel``), and what every figure draws with (``drawing``)."""
