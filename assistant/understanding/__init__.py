"""Reading a message: normalisation, entities, redaction, safety signals, intent, retrieval and search. Imports core and knowledge."""
