"""Born-Again Neural Networks (Furlanello et al., ICML 2018) as a library.

Importing ``ban`` is cheap (no torch); the workflow imports ``ban.study`` at DAG time. It caps
PyTorch's CPU kernels at AVX2 before torch runs any (``ban.cpu_kernels``), so CPU results are
the same bytes on CPUs with and without AVX-512.
"""

from ban.cpu_kernels import cap_cpu_kernels

cap_cpu_kernels()

__version__ = "0.1.0"
