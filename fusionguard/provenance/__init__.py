"""Provenance written into released outputs (C2PA Content Credentials, :mod:`.c2pa`)."""
