"""HTTP routes per service: parse the request, call the backend, serialise; no business logic."""
