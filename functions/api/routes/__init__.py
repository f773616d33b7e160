"""One Powertools Router per resource, joined by ``api.app.build_app``."""
