"""Operating the service: health and readiness probes, the metrics endpoint, the request
log context middleware. An entry-point layer of its own (above the API, whose client
address rule the middleware uses)."""
