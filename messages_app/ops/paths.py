"""The operational URL paths, as Django routes (no leading slash).

Imports nothing, so the settings can name them (e.g. in ``SECURE_REDIRECT_EXEMPT``: a
load balancer probes over plain HTTP and must not be redirected).
"""

HEALTHZ_PATH = "healthz"
READYZ_PATH = "readyz"
METRICS_PATH = "metrics"

# Probes answer over plain HTTP: exempt them from the HTTPS redirect.
PROBE_PATHS = (HEALTHZ_PATH, READYZ_PATH)
OPS_PATHS = (*PROBE_PATHS, METRICS_PATH)
