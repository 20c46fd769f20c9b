"""HTTP: the app factory, routes, middleware and the pages. Translates HTTP to the service and back."""
