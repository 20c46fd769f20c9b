"""The base every layer stands on: settings, errors and the shared types. Imports nothing of the package."""
