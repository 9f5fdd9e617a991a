"""Born-Again Neural Networks (Furlanello et al., ICML 2018) as a library.

Importing ``ban`` is cheap (no torch); the workflow imports ``ban.study`` at DAG time.
"""

__version__ = "0.1.0"
