"""Building images from Dockerfiles on our own engine (front end, executor, cache)."""
