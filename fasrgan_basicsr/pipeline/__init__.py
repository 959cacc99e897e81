"""BasicSR's training and test pipelines as this package runs them: the option file read (``options``) and checked
(``options_check``, ``dataset_check``) before any work, training that never loses work (``resilience``), and the
runner that ends every mistake in one line and an exit status (``runner``)."""
