"""The evidence REST API, versioned under /v1/districts/{district_id}/."""
